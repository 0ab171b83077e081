"""Opening stock snapshot: ``opening_stock`` rows (node, SKU, units) folded into the nodes.

A scenario may list its starting units per node×SKU in one table, e.g. a stock extract,
instead of writing ``stock.units`` on each node. Each row means exactly what the same entry in
that node's ``stock.units`` means (the node carries the SKU and starts with those units) and
takes precedence over it; every other SKU keeps the node's ``days_of_supply`` opening stock.
Rows are folded into the nodes before the nodes are validated, so the simulation only ever
reads ``nodes[i].stock.units``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["OpeningStock", "fold_opening_stock"]


class OpeningStock(BaseModel):
    """One row of an opening-stock snapshot: ``units`` of ``sku`` on hand at ``node``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    units: int = Field(ge=0)


def fold_opening_stock(data: Any) -> Any:
    """``data`` (a scenario's unvalidated mapping) with every valid ``opening_stock`` row
    written into its node's ``stock.units``, overriding the node's own entry for that SKU.

    Invalid rows, unknown nodes and malformed nodes are left alone: validation reports them.
    ``data`` is not modified; the nodes that change are copies."""
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        return data
    rows = data.get("opening_stock")
    by_node: dict[str, dict[str, int]] = {}
    for row in rows if isinstance(rows, list) else []:
        try:
            r = OpeningStock.model_validate(row)
        except ValidationError:
            continue
        by_node.setdefault(r.node, {})[r.sku] = r.units
    if not by_node:
        return data
    return {**data, "nodes": [_with_units(node, by_node) for node in data["nodes"]]}


def _with_units(node: Any, by_node: dict[str, dict[str, int]]) -> Any:
    if isinstance(node, BaseModel):
        node = node.model_dump()
    units = by_node.get(node.get("name")) if isinstance(node, dict) else None
    if not units:
        return node
    stock = node.get("stock", {})
    if isinstance(stock, BaseModel):
        stock = stock.model_dump()
    if not isinstance(stock, dict) or not isinstance(stock.get("units", {}), dict):
        return node
    return {**node, "stock": {**stock, "units": {**stock.get("units", {}), **units}}}
