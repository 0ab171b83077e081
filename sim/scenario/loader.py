"""Reading scenario files into ``Scenario`` models.

``load_scenario`` reads YAML with a safe loader, resolves ``extends:`` (a scenario overrides
fields of a base scenario; lists of named items merge by ``name``), loads ``{file: x.csv}``
tables and the ``order_history`` file relative to the file that names them, and validates
everything once (the order history's rows included). Every problem surfaces as a
``ScenarioError`` whose message names the file and the field path, e.g.
``omnichannel.yaml: nodes[3].capacity.pickers: Input should be greater than or equal to 1``
(or, for an order-history file, the row and column).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rules.files import first_error, format_loc, read_mapping
from sim.scenario.dists import DIST_KINDS
from sim.scenario.history import attach_history
from sim.scenario.models import Scenario, ScenarioError

__all__ = ["load_scenario", "scenario_from_dict", "scenario_hash", "merge"]


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV with ``#`` comment lines; numbers become int/float, blanks None."""
    with path.open(newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.lstrip().startswith("#") and ln.strip()]
    rows = []
    for rec in csv.DictReader(lines):
        rows.append({k.strip(): _cell(v) for k, v in rec.items() if k is not None})
    return rows


def _cell(v: str | None) -> Any:
    if v is None or v.strip() == "":
        return None
    v = v.strip()
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def _is_file_ref(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"file"} and isinstance(v["file"], str)


def _anchor_files(node: Any, base: Path) -> Any:
    """Make ``{file: x}`` references absolute, relative to the YAML that wrote them."""
    if _is_file_ref(node):
        return {"file": str((base / node["file"]).resolve())}
    if isinstance(node, dict):
        return {k: _anchor_files(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [_anchor_files(v, base) for v in node]
    return node


def merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base`` (``extends:``, overrides); lists of named dicts merge
    item by item by name.

    A mapping whose ``kind`` changes (a distribution, say) replaces the base one whole."""
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
    if path in seen:
        raise ScenarioError(f"{path}: extends: cycle through {' -> '.join(map(str, seen))}")
    raw = read_mapping(path, ScenarioError, "scenario fields")
    raw = _anchor_files(raw, path.parent)
    policies = raw.get("policies")
    if isinstance(policies, dict):   # rule-set files, like tables, are relative to their YAML
        raw["policies"] = {k: str((path.parent / v).resolve())
                           if isinstance(v, str) and v.endswith((".yaml", ".yml", ".json"))
                           else v for k, v in policies.items()}
    history = raw.get("order_history")
    if isinstance(history, dict) and isinstance(history.get("path"), str):   # and data files
        raw["order_history"] = {**history, "path": str((path.parent / history["path"]).resolve())}
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: must be a path to a base scenario")
    base = _read_yaml((path.parent / parent).resolve(), (*seen, path))
    return merge(base, raw)


def _load_tables(node: Any, loc: tuple, sources: dict[tuple, Path], origin: Path) -> Any:
    """Replace ``{file: x.csv}`` with its rows, remembering which CSV fed which field."""
    if _is_file_ref(node):
        path = Path(node["file"])
        try:
            rows = _read_csv(path)
        except OSError as exc:
            where = format_loc(loc, DIST_KINDS)
            raise ScenarioError(f"{origin}: {where}.file: cannot read {path}: "
                                f"{exc.strerror}") from None
        sources[loc] = path
        return rows
    if isinstance(node, dict):
        return {k: _load_tables(v, (*loc, k), sources, origin) for k, v in node.items()}
    if isinstance(node, list):
        return [_load_tables(v, (*loc, i), sources, origin) for i, v in enumerate(node)]
    return node


def _error_line(origin: Path, exc: ValidationError, sources: dict[tuple, Path]) -> str:
    loc, msg = first_error(exc)
    where = origin
    for prefix, csv_path in sources.items():
        if loc[: len(prefix)] == prefix:
            where = csv_path
            if len(loc) > len(prefix) and isinstance(loc[len(prefix)], int):
                where = f"{csv_path} (data row {loc[len(prefix)] + 1})"
            break
    return f"{where}: {format_loc(loc, DIST_KINDS)}: {msg}"


def scenario_from_dict(raw: dict[str, Any], origin: Path | str = "<scenario>",
                       sources: dict[tuple, Path] | None = None) -> Scenario:
    """Validate a raw mapping into a Scenario, raising a one-line ``ScenarioError``."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        if not loc and ": " in msg:     # model-level checks put the field path in the message
            raise ScenarioError(f"{origin}: {msg}") from None
        raise ScenarioError(_error_line(Path(origin), exc, sources or {})) from None


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
    sources: dict[tuple, Path] = {}
    raw = _load_tables(raw, (), sources, path)
    return attach_history(scenario_from_dict(raw, path, sources))


def scenario_hash(scenario: Scenario) -> str:
    """Stable content hash of a resolved scenario (12 hex digits)."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
