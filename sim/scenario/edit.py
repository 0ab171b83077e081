"""Editing scenarios by field path: the one way sweeps and the app's what-ifs change a scenario.

A path names fields with ``.`` and list items with ``[name]`` (an item's ``name``, ``id`` or
``metro``) or ``[index]``: ``nodes[DC-RENO].capacity.pickers``, ``channels[web].orders_per_day``,
``carriers[SwiftShip].services[0].transit_days``, ``policies.sourcing``. A value is set as
given or, when it is a function, computed from the value it replaces (``lambda v: 2 * v``).
``edit_scenario`` sets paths on the scenario's plain form and validates the result again, so an
edit is checked exactly like a scenario file; ``set_path`` works on any nested mapping (sweeps
use it on rule files too). Errors are one line naming the origin and the path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sim.scenario.loader import scenario_from_dict
from sim.scenario.models import Scenario, ScenarioError

__all__ = ["Token", "parse_path", "set_path", "edit_scenario"]

#: One step of a path: ("key", field name) or ("item", list item name or index).
Token = tuple[str, str]

_PATH = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[^\[\]]+\])*")
_TOKEN = re.compile(r"\[([^\[\]]+)\]|\.?([^.\[\]]+)")


def parse_path(path: str) -> list[Token]:
    """``nodes[DC-RENO].capacity.pickers`` → [("key","nodes"), ("item","DC-RENO"), …]."""
    if not _PATH.fullmatch(path):
        raise ValueError(f"{path}: not a field path like nodes[DC-RENO].capacity.pickers")
    return [("item", m[1]) if m[1] is not None else ("key", m[2])
            for m in _TOKEN.finditer(path)]


def _item_index(items: list, sel: str, where: str, error: type[Exception]) -> int:
    if sel.isdigit():
        if int(sel) < len(items):
            return int(sel)
        raise error(f"{where}: index [{sel}] out of range ({len(items)} items)")
    for i, item in enumerate(items):
        if isinstance(item, dict) and sel in (item.get("name"), item.get("id"), item.get("metro")):
            return i
    known = ", ".join(str(it.get("name") or it.get("id") or it.get("metro")) for it in items
                      if isinstance(it, dict))
    raise error(f"{where}: no item '{sel}' (known: {known})")


def set_path(doc: Any, path: str | Sequence[Token], value: Any, where: str,
             error: type[Exception] = ScenarioError) -> None:
    """Set ``value`` at ``path`` inside nested dicts/lists (items chosen by name or index); a
    callable ``value`` is applied to the value it replaces.

    Only the last field may be new (and not for a callable); a missing field on the way, or
    ``[item]`` on a field that is not a list, raises ``error`` with ``where`` in front.
    """
    tokens = parse_path(path) if isinstance(path, str) else list(path)
    node = doc
    for i, (kind, tok) in enumerate(tokens):
        last = i == len(tokens) - 1
        if kind == "key":
            may_add = last and not callable(value)
            if not isinstance(node, dict) or (tok not in node and not may_add):
                raise error(f"{where}: unknown field '{tok}'")
            key: Any = tok
        else:
            if not isinstance(node, list):
                raise error(f"{where}: [{tok}] selects a list item, but this field is not a "
                            "list")
            key = _item_index(node, tok, where, error)
        if last:
            node[key] = value(node[key]) if callable(value) else value
        else:
            node = node[key]


def edit_scenario(scenario: Scenario, edits: Mapping[str, Any], origin: str, *,
                  error: type[Exception] = ScenarioError, prefix: str = "") -> Scenario:
    """``scenario`` with every ``path: value`` of ``edits`` set, validated again.

    Errors read ``<origin>: <prefix><path>: …`` (``prefix`` names where the paths came from,
    e.g. ``parameters.`` in a sweep file); path problems raise ``error``, an invalid result
    ``ScenarioError`` as for any scenario file.
    """
    raw = scenario.model_dump(mode="json")
    for path, value in edits.items():
        where = f"{origin}: {prefix}{path}"
        try:
            tokens = parse_path(path)
        except ValueError as exc:
            raise error(f"{origin}: {prefix}{exc}") from None
        set_path(raw, tokens, value, where, error)
    return scenario_from_dict(raw, origin)
