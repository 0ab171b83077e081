"""Reading scenario files into ``Scenario`` models.

``load_scenario`` reads YAML with a safe loader, resolves ``extends:`` (a scenario overrides
fields of a base scenario; lists of named items merge by ``name``), loads tables
(``{file: x.csv}``, ``{file: book.xlsx, sheet: Nodes}``; see ``sim.scenario.tables``) and the
``order_history`` file relative to the file that names them, and validates everything once (the
order history's rows included). Every problem surfaces as a ``ScenarioError`` whose message
names the file and the field path, e.g.
``omnichannel.yaml: nodes[3].capacity.pickers: Input should be greater than or equal to 1``;
a problem in a table or order-history file names the file, the row the user sees and the column
instead (``network.xlsx[Nodes] row 5: capacity.pickers: …``), and every bad row is listed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rules.files import all_errors, format_loc, listed, read_mapping
from rules.limits import MAX_EXTENDS
from sim.scenario.dists import DIST_KINDS
from sim.scenario.models import Scenario, ScenarioError
from sim.scenario.references import reference_problems
from sim.scenario.tables import Table, TableError, is_table_ref, read_table

__all__ = ["load_scenario", "scenario_from_dict", "scenario_hash", "merge"]

#: A field path at the start of a model-level message: ``nodes[3].replenished_from: …``.
_PATH_MESSAGE = re.compile(r"([A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*): (.+)", re.DOTALL)
_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _resolved(path: Path, base: Path, ref: str, loc: tuple) -> str:
    """``ref`` made absolute relative to ``base`` (symlinks resolved) for the field at ``loc``
    of ``path``; a symlink loop or an unusable path is a ``ScenarioError``."""
    try:
        return str((base / ref).resolve())
    except (OSError, RuntimeError, ValueError) as exc:      # RuntimeError: a symlink loop
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(f"{path}: {format_loc(loc)}: cannot resolve '{ref}': "
                            f"{reason}") from None


def _anchor_files(node: Any, path: Path, loc: tuple = ()) -> Any:
    """Make ``{file: x}`` references absolute, relative to the YAML that wrote them."""
    if is_table_ref(node):
        return {**node, "file": _resolved(path, path.parent, node["file"], (*loc, "file"))}
    if isinstance(node, dict):
        return {k: _anchor_files(v, path, (*loc, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_anchor_files(v, path, (*loc, i)) for i, v in enumerate(node)]
    return node


def merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base`` (``extends:``, overrides); lists of named dicts merge
    item by item by name.

    A mapping whose ``kind`` changes (a distribution, say) replaces the base one whole, and so
    does a table reference (``{file: …}``): tables are read after merging, so a table replaces
    the base's list (or table) whole, and a list replaces a base table whole."""
    if is_table_ref(over):
        return over
    if isinstance(base, dict) and isinstance(over, dict):
        if "kind" in over and base.get("kind") != over["kind"] and "name" not in over:
            return over
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and _named(base) and _named(over):
        out = list(base)
        index = {item["name"]: i for i, item in enumerate(out)}
        for item in over:
            if item["name"] in index:
                out[index[item["name"]]] = merge(out[index[item["name"]]], item)
            else:
                out.append(item)
        return out
    return over


def _named(items: list) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The mapping of a scenario file with its ``extends:`` chain merged in (bases first):
    a cycle, or a chain of more than ``MAX_EXTENDS`` bases, is an error naming the file."""
    if path in seen:
        raise ScenarioError(f"{path}: extends: cycle through {' -> '.join(map(str, seen))}")
    if len(seen) > MAX_EXTENDS:
        raise ScenarioError(f"{seen[0]}: extends: more than {MAX_EXTENDS} bases in a chain "
                            f"(stopped at {path})")
    raw = read_mapping(path, ScenarioError, "scenario fields")
    raw = _anchor_files(raw, path)
    policies = raw.get("policies")
    if isinstance(policies, dict):   # rule-set files, like tables, are relative to their YAML
        raw["policies"] = {k: _resolved(path, path.parent, v, ("policies", k))
                           if isinstance(v, str) and v.endswith((".yaml", ".yml", ".json"))
                           else v for k, v in policies.items()}
    history = raw.get("order_history")
    if isinstance(history, dict) and isinstance(history.get("path"), str):   # and data files
        raw["order_history"] = {**history, "path": _resolved(
            path, path.parent, history["path"], ("order_history", "path"))}
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: must be a path to a base scenario")
    base = _read_yaml(Path(_resolved(path, path.parent, parent, ("extends",))), (*seen, path))
    return merge(base, raw)


def _load_tables(node: Any, loc: tuple, sources: dict[tuple, Table], origin: Path) -> Any:
    """Replace table references with their rows, remembering which table fed which field."""
    if is_table_ref(node):
        try:
            table = read_table(node)
        except TableError as exc:
            raise ScenarioError(f"{origin}: {format_loc(loc, DIST_KINDS)}.{exc.key}: "
                                f"{exc}") from None
        sources[loc] = table
        return table.rows
    if isinstance(node, dict):
        return {k: _load_tables(v, (*loc, k), sources, origin) for k, v in node.items()}
    if isinstance(node, list):
        return [_load_tables(v, (*loc, i), sources, origin) for i, v in enumerate(node)]
    return node


def _problems(exc: ValidationError, raw: Any) -> list[tuple[tuple, str]]:
    """Every problem with a location: pydantic's errors (a model-level message's leading
    field path becomes its location) and every reference problem, which pydantic reports
    only when all fields are valid, and then only the first."""
    found = [_located(loc, msg) for loc, msg in all_errors(exc)]
    return found + [p for p in reference_problems(raw) if p not in found]


def _located(loc: tuple, msg: str) -> tuple[tuple, str]:
    """``((), "nodes[3].supplier: unknown …")`` → ``(("nodes", 3, "supplier"), "unknown …")``;
    a nested model's message is placed under its location the same way (``(("nodes", 0),
    "shifts: …")`` → ``(("nodes", 0, "shifts"), "…")``)."""
    match = _PATH_MESSAGE.fullmatch(msg)
    if match is None:
        return loc, msg
    parts = _PATH_PART.findall(match[1])
    return (*loc, *(int(index) if index else name for index, name in parts)), match[2]


def _in_table(loc: tuple, msg: str,
              sources: dict[tuple, Table]) -> tuple[tuple[int, int], str] | None:
    """``((table position, row index), line)`` for a problem inside a table, else None."""
    for pos, (prefix, table) in enumerate(sources.items()):
        if loc[: len(prefix)] != prefix:
            continue
        rest = loc[len(prefix):]
        if rest and isinstance(rest[0], int) and rest[0] < len(table.rows):
            column = format_loc(rest[1:], DIST_KINDS) if rest[1:] else ""
            return (pos, rest[0]), table.line(rest[0], column, msg)
        return (pos, -1), f"{table.source}: {format_loc(loc, DIST_KINDS)}: {msg}"
    return None


def _error_message(origin: str, exc: ValidationError, raw: Any,
                   sources: dict[tuple, Table]) -> str:
    """The scenario file's first problem and every problem in its tables (sorted by table and
    row), one line each, listed under ``origin`` when there are several."""
    in_file: list[str] = []
    in_tables: dict[str, tuple[int, int]] = {}       # line → sort key; repeats dropped
    for loc, msg in _problems(exc, raw):
        hit = _in_table(loc, msg, sources)
        if hit is not None:
            in_tables.setdefault(hit[1], hit[0])
        elif loc:
            in_file.append(f"{origin}: {format_loc(loc, DIST_KINDS)}: {msg}")
        else:
            in_file.append(f"{origin}: {msg}" if ": " in msg else f"{origin}: (top level): {msg}")
    return listed(origin, in_file[:1] + sorted(in_tables, key=in_tables.__getitem__))


def scenario_from_dict(raw: dict[str, Any], origin: Path | str = "<scenario>",
                       sources: dict[tuple, Table] | None = None) -> Scenario:
    """Validate a raw mapping into a Scenario, raising a ``ScenarioError``: one line, or, when
    ``sources`` (field location → the table that fed it) has bad rows, a list of lines."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_error_message(str(Path(origin)), exc, raw, sources or {})) from None


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge (``extends:``), resolve tables and validate a scenario file, and check its
    order-history file (``sim.scenario.history``: bad rows are refused here, the digest is
    filled in). An ``order_history`` override (``--skip-bad-rows``) is ignored by a scenario
    without one."""
    path = Path(path)
    raw = _read_yaml(path.resolve())
    if overrides and raw.get("order_history") is None:
        overrides = {k: v for k, v in overrides.items() if k != "order_history"}
    if overrides:
        raw = merge(raw, overrides)
    sources: dict[tuple, Table] = {}
    raw = _load_tables(raw, (), sources, path)
    unreadable = [line for table in sources.values() for line in table.problems]
    if unreadable:
        raise ScenarioError(listed(str(path), unreadable))
    return _with_history(scenario_from_dict(raw, path, sources))


def _with_history(scenario: Scenario) -> Scenario:
    """``attach_history`` of the scenario; its module (and the CSV and Parquet readers behind
    it) is imported only for a scenario with an order history, so validating one without
    starts faster."""
    if scenario.order_history is None:
        return scenario
    from sim.scenario.history import attach_history

    return attach_history(scenario)


def skip_bad_rows_override(skip: bool) -> dict[str, Any]:
    """The scenario override ``--skip-bad-rows`` stands for (nothing when off)."""
    return {"order_history": {"skip_bad_rows": True}} if skip else {}


def scenario_hash(scenario: Scenario) -> str:
    """Stable content hash of a resolved scenario (12 hex digits)."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
