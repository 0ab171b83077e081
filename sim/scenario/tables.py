"""Tables a scenario takes lists from: CSV files and Excel worksheets, read into row mappings.

``{file: x.csv}`` or ``{file: book.xlsx, sheet: Nodes}`` (no ``sheet``: the first one) becomes
a ``Table``: one mapping per data row, plus the row number the user sees (the CSV file's line,
the worksheet's row) so validation errors can point at a row. Both formats read alike:

* the header is the first row that is neither blank nor a comment (first cell starting ``#``);
  blank and comment rows are skipped anywhere;
* a blank cell gives no value (the field keeps its default); CSV text that reads as a number
  becomes one, Excel cells keep their type (dates at midnight become dates);
* a cell ``[...]`` is a JSON list (``[1, 2, 2, 3]``, or objects: ``[{"start_hour": 6}]``);
* a dotted column name nests: ``capacity.pickers`` sets ``{"capacity": {"pickers": …}}``.

A table must be a regular file of at most ``rules.limits.MAX_DATA_BYTES`` (not a device, FIFO
or directory), UTF-8 if CSV, with at most ``MAX_ROWS`` rows; a workbook may unzip to at most
``MAX_UNZIPPED_BYTES``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.files import FileRefused, read_input_file
from rules.files import utf8_text as _utf8
from rules.limits import MAX_DATA_BYTES

__all__ = ["Table", "TableError", "is_table_ref", "read_table", "read_data_file", "utf8_text",
           "EXCEL_SUFFIXES", "MAX_ROWS"]

#: Workbook formats openpyxl reads (the old binary ``.xls`` is not one of them).
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")

#: Rows a table may have, and bytes a workbook may unzip to (a zip bomb is refused).
MAX_ROWS = 1_000_000
MAX_UNZIPPED_BYTES = 10 * MAX_DATA_BYTES

#: (row number as the user sees it, cell values) for every row of a file, header included.
Records = list[tuple[int, list[Any]]]


class TableError(ValueError):
    """A table cannot be read; ``key`` is the reference key at fault (``file`` or ``sheet``)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Table:
    """Data rows of one table, the row number of each, and cells that could not be read."""

    source: str                       # "path" for a CSV, "path[Sheet]" for a worksheet
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self, index: int, column: str, message: str) -> str:
        """One error line for data row ``index``: ``source row N: column: message``."""
        col = f"{column}: " if column else ""
        return f"{self.source} row {self.row_numbers[index]}: {col}{message}"


def is_table_ref(value: Any) -> bool:
    """Whether ``value`` is a table reference: ``{file: …}`` with an optional ``sheet``."""
    return (isinstance(value, dict) and "file" in value and set(value) <= {"file", "sheet"}
            and isinstance(value["file"], str))


def read_table(ref: dict[str, Any]) -> Table:
    """Read the CSV file or worksheet ``ref`` names (see the module docstring for the rules).

    Raises ``TableError`` when the file or sheet cannot be read; cells that cannot be read
    (a malformed JSON list) are collected in ``Table.problems`` so all are reported at once."""
    path, sheet = Path(ref["file"]), ref.get("sheet")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        source, records = _worksheet(path, sheet)
    elif sheet is not None:
        raise TableError("sheet", f"{path} is not an Excel workbook (.xlsx); only workbooks "
                         "have sheets")
    elif path.suffix.lower() == ".xls":
        raise TableError("file", f"cannot read {path}: old binary .xls workbooks are not "
                         "supported; save it as .xlsx or CSV")
    else:
        source, records = str(path), _csv_records(path)
    return _table(source, records)


def _csv_records(path: Path) -> Records:
    """CSV rows with their file line numbers; ``#`` comment lines and blank lines dropped
    before parsing; text that reads as a number becomes one."""
    text = utf8_text(path, read_data_file(path))
    kept = [(n, ln) for n, ln in enumerate(io.StringIO(text, newline=""), start=1)
            if ln.strip() and not ln.lstrip().startswith("#")]
    if len(kept) > MAX_ROWS + 1:
        raise TableError("file", f"cannot read {path}: more than {MAX_ROWS:,} rows")
    reader = csv.reader(ln for _, ln in kept)
    out: Records = []
    start = 0
    try:
        for rec in reader:
            out.append((kept[start][0], [_csv_cell(v) for v in rec]))
            start = reader.line_num   # lines consumed so far: the next record starts there
    except csv.Error as exc:          # a cell over csv's field size limit (128 KiB), say
        line = kept[min(start, len(kept) - 1)][0]
        raise TableError("file", f"{path}: line {line}: malformed CSV: {exc}") from None
    return out


def read_data_file(path: Path) -> bytes:
    """The bytes of a table or data file: a regular file of at most ``MAX_DATA_BYTES``
    (``rules.files.read_input_file``), else ``TableError``."""
    try:
        return read_input_file(path, MAX_DATA_BYTES)
    except FileRefused as exc:
        raise TableError("file", f"cannot read {path}: {exc}") from None


def utf8_text(path: Path, data: bytes) -> str:
    """``data`` as text (a UTF-8 byte-order mark dropped): any other encoding is an error
    naming the first bad byte, its offset and line, never a traceback."""
    try:
        return _utf8(data)
    except ValueError as exc:
        raise TableError("file", f"{path}: {exc}") from None


def _csv_cell(v: str) -> Any:
    v = v.strip()
    if v == "":
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def _worksheet(path: Path, sheet: Any) -> tuple[str, Records]:
    """Rows of one worksheet (values as Excel stores them, formulas as last calculated) with
    their sheet row numbers, and the ``path[Sheet]`` name used in messages."""
    if sheet is not None and not isinstance(sheet, str):
        raise TableError("sheet", "must be a sheet name")
    from openpyxl import load_workbook  # only scenarios with workbooks pay its import
    from openpyxl.utils.exceptions import InvalidFileException

    data = read_data_file(path)
    try:
        _check_unzipped_size(path, data)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise TableError("file", f"cannot read {path}: not an Excel workbook (.xlsx)") from None
    try:
        if sheet is None:
            sheet = book.sheetnames[0]
        elif sheet not in book.sheetnames:
            raise TableError("sheet", f"{path} has no sheet '{sheet}' (sheets: "
                             f"{', '.join(book.sheetnames)})")
        ws = book[sheet]
        ws.reset_dimensions()         # files from other tools may state a wrong used range
        rows = ws.iter_rows(values_only=True)
        records = []
        for n, row in enumerate(rows, start=1):
            if n > MAX_ROWS:
                raise TableError("sheet", f"{path}[{sheet}]: more than {MAX_ROWS:,} rows")
            records.append((n, [_excel_cell(v) for v in row]))
    finally:
        book.close()
    return f"{path}[{sheet}]", records


def _check_unzipped_size(path: Path, data: bytes) -> None:
    """Refuse a workbook whose parts unzip to more than ``MAX_UNZIPPED_BYTES`` (a zip bomb)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        total = sum(i.file_size for i in z.infolist())
    if total > MAX_UNZIPPED_BYTES:
        raise TableError("file", f"cannot read {path}: unzips to {total:,} bytes, more than "
                         f"{MAX_UNZIPPED_BYTES:,}")


def _excel_cell(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date()
    return v


def _table(source: str, records: Records) -> Table:
    """Header, row mappings (dotted columns nested, JSON list cells parsed) and row numbers."""
    table = Table(source)
    columns: list[tuple[str, tuple[str, ...]]] | None = None
    for number, values in records:
        if all(v is None for v in values) or _is_comment(values):
            continue
        if columns is None:
            columns = _columns(source, number, values)
            continue
        row: dict[str, Any] = {}
        for (name, path), value in zip(columns, values, strict=False):
            if value is None or not name:
                continue
            if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
                try:
                    value = json.loads(value)
                except (ValueError, RecursionError) as exc:
                    why = exc if isinstance(exc, ValueError) else "nested too deeply"
                    table.problems.append(f"{source} row {number}: {name}: not a JSON list "
                                          f"({why})")
                    continue
            _put(row, path, value)
        if row:
            table.rows.append(row)
            table.row_numbers.append(number)
    return table


def _is_comment(values: list[Any]) -> bool:
    first = next(v for v in values if v is not None)
    return isinstance(first, str) and first.startswith("#")


def _columns(source: str, number: int, header: list[Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Column names and the field path each sets; a repeated name, an empty part (``a..b``)
    or a column that is also a group (``stock`` and ``stock.units``) is an error."""
    names = ["" if h is None else str(h).strip() for h in header]
    paths = [tuple(p.strip() for p in n.split(".")) for n in names]
    named = [(n, p) for n, p in zip(names, paths, strict=True) if n]
    for i, (name, path) in enumerate(named):
        if "" in path:
            raise TableError("file", f"{source} row {number}: column '{name}': a dotted "
                             "name needs a field on each side of every dot")
        for other, other_path in named[i + 1:]:
            shorter = min(len(path), len(other_path))
            if path[:shorter] == other_path[:shorter]:
                what = "repeated" if path == other_path else "both a value and a group"
                raise TableError("file", f"{source} row {number}: columns '{name}' and "
                                 f"'{other}': {what}")
    return list(zip(names, paths, strict=True))


def _put(row: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        row = row.setdefault(part, {})
    row[path[-1]] = value
