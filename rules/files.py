"""Safe reading of data files (YAML/JSON) and validation messages naming the field: one line
per problem, several listed under one head.

Every input file is read through ``read_input_file``: only a regular file (not a device, a FIFO
or a directory; a symlink loop is an error), at most a size limit, so ``{file: /dev/urandom}``
is refused at once instead of read forever. YAML is parsed by ``rules.safe_yaml`` (limits on
nesting, alias expansion and number length) and must be UTF-8.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules.limits import MAX_YAML_BYTES
from rules.safe_yaml import YamlLimitError, parse_yaml

__all__ = ["read_yaml", "read_mapping", "format_loc", "first_error", "all_errors", "listed",
           "FileRefused", "read_input_file", "utf8_text", "short_loc"]

#: What ``stat`` calls the file types that are not regular files.
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"))
#: Field-path parts shown in a message before the rest is elided.
_LOC_PARTS = 8


class FileRefused(ValueError):
    """An input file cannot be read; the message is the reason (no path), e.g. ``No such
    file or directory`` or ``not a regular file: a character device``."""


def read_input_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), refusing anything else
    and files over ``limit`` bytes (``FileRefused``): the one way input files are read.

    The file is opened without blocking (a FIFO does not wait for a writer) and checked on
    the open descriptor, so it cannot be swapped between the check and the read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefused(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise FileRefused(f"not a regular file: {kind}")
        if info.st_size > limit:
            raise FileRefused(_too_large(limit))
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise FileRefused(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:                     # grew since fstat
        raise FileRefused(_too_large(limit))
    return data


def _too_large(limit: int) -> str:
    return f"larger than {limit:,} bytes (the limit for this kind of file)"


def utf8_text(data: bytes) -> str:
    """``data`` as text (a UTF-8 byte-order mark dropped); any other encoding raises
    ``ValueError`` naming the first bad byte, its offset and line."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        line = data.count(b"\n", 0, at) + 1
        raise ValueError(f"not UTF-8: byte 0x{data[at]:02X} at byte offset {at} (line "
                         f"{line}); save it as UTF-8") from None


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """Parse ``path`` (a regular UTF-8 file of at most ``MAX_YAML_BYTES``) with the limited
    safe loader of ``rules.safe_yaml``; every problem raises ``error`` with one line naming the
    file (and the field path or line where known)."""
    try:
        text = utf8_text(read_input_file(path, MAX_YAML_BYTES))
    except FileRefused as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise error(f"{path}: {exc}") from None
    try:
        return parse_yaml(text)
    except YamlLimitError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise error(f"{path}: {short_loc(exc.loc)}: {exc.problem}{where}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: malformed YAML: {where}{problem}") from None


def read_mapping(path: Path, error: type[Exception], fields: str) -> dict[str, Any]:
    """``read_yaml`` for files whose top level must be a mapping (of ``fields``)."""
    raw = read_yaml(path, error)
    if not isinstance(raw, dict):
        raise error(f"{path}: (top level): must be a mapping of {fields}")
    return raw


def short_loc(loc: tuple | list) -> str:
    """``format_loc`` of a location, elided after its first parts (a refusal of a deeply
    nested document stays one readable line)."""
    if len(loc) <= _LOC_PARTS:
        return format_loc(loc)
    return format_loc(loc[:_LOC_PARTS]) + f"… ({len(loc)} levels)"


def format_loc(loc: tuple | list, union_tags: frozenset[str] = frozenset()) -> str:
    """Render a pydantic error location as ``nodes[3].capacity.pickers``; ``union_tags`` are
    the discriminated-union tags pydantic puts in locations (e.g. distribution kinds), left out
    as noise."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in union_tags and out:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def first_error(exc: ValidationError, unknown: str = "unknown field") -> tuple[tuple, str]:
    """Location and readable message of the first validation error (extra fields are
    ``unknown``; pydantic's "Value error, " prefix dropped)."""
    return all_errors(exc, unknown)[0]


def all_errors(exc: ValidationError, unknown: str = "unknown field") -> list[tuple[tuple, str]]:
    """Location and readable message of every validation error, in pydantic's order (for
    inputs such as tables where users fix many rows at once); messages as ``first_error``."""
    return [(tuple(err["loc"]),
             (unknown if err["type"] == "extra_forbidden" else err["msg"])
             .removeprefix("Value error, "))
            for err in exc.errors()]


def listed(head: str, lines: list[str], limit: int = 20) -> str:
    """One problem as its own line; several as ``head: N problems:`` and one indented line
    each, the first ``limit`` of them then ``… and K more``."""
    if len(lines) == 1:
        return lines[0]
    shown = [f"  {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"  … and {len(lines) - limit} more")
    return "\n".join([f"{head}: {len(lines)} problems:", *shown])
