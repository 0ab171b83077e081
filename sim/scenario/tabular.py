"""Reading a CSV or Parquet data file into numbered rows of text cells.

What the order-history reader needs from a file, and nothing about orders: the header (names
stripped and lower-cased), then every data row as ``{column: text}`` with its number, so a
problem can be reported as ``FILE: row N: COLUMN: message``. A CSV row's number is its line in
the file, as an editor shows it (the header is line 1 unless ``#`` comment lines come first);
a Parquet row's number is its 1-based position among the data rows. Parquet values become text
the way a CSV would spell them (dates and times in ISO 8601, integer ZIPs zero-padded).

File-level problems (unreadable, not UTF-8, not CSV or Parquet, no header, a column named
twice) raise ``ScenarioError`` naming the file; a row with more cells than the header is a row
problem, returned (with the row, cut to the header) for the caller to report with the others.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from rules.files import FileRefused, read_input_file
from rules.limits import MAX_DATA_BYTES
from sim.scenario.models import ScenarioError
from sim.scenario.tables import MAX_ROWS, TableError, utf8_text

__all__ = ["Problem", "Table", "read_table", "read_bytes", "CSV_SUFFIXES", "PARQUET_SUFFIXES"]

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


class Problem(NamedTuple):
    """One bad cell (or row, ``column`` None) of a data file."""

    row: int
    column: str | None
    message: str


@dataclass(frozen=True)
class Table:
    """A data file's columns and numbered rows (text cells, stripped; missing cells blank)."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]
    problems: list[Problem]
    numbering: str          # "line" (CSV) or "data row" (Parquet): what row numbers count


def read_table(path: Path, data: bytes) -> Table:
    """The header and rows of ``data``, the content of the CSV or Parquet file ``path`` (the
    format from its suffix; the caller reads the bytes once, e.g. to hash them too)."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path, data)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, decode_utf8(path, data))
    raise ScenarioError(f"{path}: unknown file type '{suffix}': use .csv or .parquet")


def read_bytes(path: Path, field: str) -> bytes:
    """The content of the data file ``path`` named by ``field``: a regular file of at most
    ``MAX_DATA_BYTES`` (``rules.files.read_input_file``), else ``ScenarioError``."""
    try:
        return read_input_file(path, MAX_DATA_BYTES)
    except FileRefused as exc:
        raise ScenarioError(f"{path}: {field}: cannot read: {exc}") from None


def decode_utf8(path: Path, data: bytes) -> str:
    """``data`` as text; other encodings are an error naming the first bad byte's offset."""
    try:
        return utf8_text(path, data)
    except TableError as exc:
        raise ScenarioError(str(exc)) from None


def _header(path: Path, cells: list[str]) -> tuple[str, ...]:
    names = tuple(c.strip().lower() for c in cells)
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            raise ScenarioError(f"{path}: column '{name}' appears twice in the header")
        seen.add(name)
    return names


def _read_csv(path: Path, text: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: tuple[str, ...] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    end = 0                                   # last line the previous record used
    try:
        for record in reader:
            if len(rows) > MAX_ROWS:
                raise ScenarioError(f"{path}: more than {MAX_ROWS:,} rows")
            line, end = end + 1, reader.line_num
            if not any(c.strip() for c in record):
                continue                      # blank line
            if columns is None:
                if record[0].lstrip().startswith("#"):
                    continue                  # comment lines may precede the header
                columns = _header(path, record)
                continue
            if len(record) > len(columns) and any(c.strip() for c in record[len(columns):]):
                problems.append(Problem(line, None, f"has {len(record)} cells, the header "
                                                    f"has {len(columns)}"))
            cells = [c.strip() for c in record] + [""] * (len(columns) - len(record))
            rows.append((line, dict(zip(columns, cells, strict=False))))
    except csv.Error as exc:
        raise ScenarioError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from None
    if columns is None:
        raise ScenarioError(f"{path}: no header row (the file is empty)")
    return Table(columns, rows, problems, "line")


def _text(column: str, v: Any) -> str:
    """A Parquet value spelled as in a CSV cell."""
    if v is None:
        return ""
    if hasattr(v, "isoformat"):                 # date, datetime, pandas Timestamp
        return v.isoformat()
    if isinstance(v, int) and not isinstance(v, bool) and column == "zip" and 0 <= v < 100000:
        return f"{v:05d}"
    return str(v).strip()


def _read_parquet(path: Path, data: bytes) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
        if rows > MAX_ROWS:
            raise ScenarioError(f"{path}: {rows:,} rows, more than {MAX_ROWS:,}")
        table = pq.read_table(pa.BufferReader(data))
    except (OSError, pa.ArrowException) as exc:
        raise ScenarioError(f"{path}: cannot read Parquet: {exc}") from None
    columns = _header(path, table.column_names)
    values = [[_text(name, v) for v in table.column(i).to_pylist()]
              for i, name in enumerate(columns)]
    rows = [(k + 1, dict(zip(columns, cells, strict=True)))
            for k, cells in enumerate(zip(*values, strict=True))] if values else []
    return Table(columns, rows, [], "data row")
