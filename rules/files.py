"""Safe reading of data files (YAML/JSON) and validation messages naming the field: one line
per problem, several listed under one head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

__all__ = ["read_yaml", "read_mapping", "format_loc", "first_error", "all_errors", "listed"]


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """Parse ``path`` with PyYAML's safe loader; I/O and syntax problems raise ``error``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
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
