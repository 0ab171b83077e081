"""Names a scenario declares and refers to: duplicates and dangling references.

One check serves two callers: the ``Scenario`` model (on itself, raising the first problem)
and the loader (on the raw mapping, after other fields failed and pydantic skipped the model's
own checks), so every bad row of a table is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["reference_problems"]

#: Lists of named items and the field that names them.
_NAMED = (("skus", "id"), ("channels", "name"), ("nodes", "name"), ("carriers", "name"),
          ("suppliers", "name"))


def reference_problems(scenario: Any) -> list[tuple[tuple, str]]:
    """Every repeated name and every reference to a supplier, SKU or node the scenario does
    not declare, as (location, message), e.g. ``(("nodes", 3, "supplier"), "unknown supplier
    'acme'")``. ``scenario`` is a ``Scenario`` or its unvalidated mapping; values that are not
    names yet (not strings), and lists that are not lists, are left to field validation."""
    problems: list[tuple[tuple, str]] = []
    names: dict[str, set[str] | None] = {}
    for field, key in _NAMED:
        items = _items(scenario, field)
        names[field] = None if items is None else set()
        for i, item in enumerate(items or []):
            name = _get(item, key)
            if isinstance(name, str) and name in names[field]:
                problems.append(((field, i, key), f"duplicate {key} '{name}'"))
            if isinstance(name, str):
                names[field].add(name)
    # before the nodes' own units: a row with an unknown SKU is folded into its node's units
    # (see ``opening_stock``), and the row is what the user has to fix
    problems += _opening_stock_problems(scenario, names)
    for i, node in enumerate(_items(scenario, "nodes") or []):
        problems += _unknown(("nodes", i, "supplier"), "supplier", _get(node, "supplier"),
                             names["suppliers"])
        units = _get(_get(node, "stock"), "units")
        if isinstance(units, Mapping) and names["skus"] is not None:
            unknown = sorted(k for k in units if isinstance(k, str) and k not in names["skus"])
            if unknown:
                problems.append((("nodes", i, "stock", "units"), f"unknown SKU '{unknown[0]}'"))
    return problems


def _opening_stock_problems(scenario: Any, names: dict[str, set[str] | None]) -> list:
    problems: list[tuple[tuple, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(_items(scenario, "opening_stock") or []):
        node, sku = _get(row, "node"), _get(row, "sku")
        problems += _unknown(("opening_stock", i, "node"), "node", node, names["nodes"])
        problems += _unknown(("opening_stock", i, "sku"), "SKU", sku, names["skus"])
        if isinstance(node, str) and isinstance(sku, str):
            if (node, sku) in seen:
                problems.append((("opening_stock", i),
                                 f"duplicate: an earlier row sets node '{node}', SKU '{sku}'"))
            seen.add((node, sku))
    return problems


def _unknown(loc: tuple, what: str, name: Any, known: set[str] | None) -> list:
    if known is None or not isinstance(name, str) or name in known:
        return []
    return [(loc, f"unknown {what} '{name}'")]


def _items(scenario: Any, field: str) -> list | None:
    items = _get(scenario, field)
    return items if isinstance(items, list) else None


def _get(item: Any, key: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(key)
    return getattr(item, key, None) if isinstance(item, BaseModel) else None
