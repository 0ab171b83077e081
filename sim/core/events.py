"""The append-only event log: one row per state change, exported as an Arrow table."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pyarrow as pa

__all__ = ["Ev", "EventLog"]


class Ev(IntEnum):
    """Kinds of state change."""

    ORDER_CREATED = 0
    DECIDED = 1          # a plan was made (qty = shipments)
    BACKORDERED = 2
    RELEASED = 3         # a backordered order got a plan
    CANCELLED = 4
    RESERVED = 5         # a shipment's units were reserved at a node
    PICK_START = 6
    PACKED = 7           # units left the node's stock
    SHIPPED = 8          # carrier pickup
    DELIVERED = 9
    PO_PLACED = 10       # a replenishment order (value = source node index, -1 = supplier)
    RECEIVED = 11
    TRANSFER_OUT = 12    # units left a node for another node (value = destination index)
    WALK_IN_SOLD = 13    # a store shopper took units off the shelf
    WALK_IN_LOST = 14    # a store shopper found too few units (value 1: reserved for online)
    REJECTED = 15        # a node rejected a shipment line at pick (value 1: missing, written
                         # off; 0: found, back to available stock)
    PICKED_UP = 16       # the customer collected a pickup order at the store
    RESTOCKED = 17       # an uncollected pickup order's units went back on the shelf
    EVENT_START = 18     # a scheduled event began (value = its index in scenario.events)
    EVENT_END = 19       # a scheduled event ended
    RETURNED = 20        # a customer return arrived at a node (value = units restocked)


class EventLog:
    """Rows of ``(t, kind, order, node, sku, qty, value)``; -1 where a column does not apply."""

    __slots__ = ("rows",)

    def __init__(self):
        self.rows: list[tuple] = []

    def add(self, t: float, kind: Ev, order: int = -1, node: int = -1, sku: int = -1,
            qty: int = 0, value: float = 0.0) -> None:
        """Append one state change."""
        self.rows.append((t, kind, order, node, sku, qty, value))

    def __len__(self) -> int:
        return len(self.rows)

    def to_arrow(self, node_names: list[str], sku_ids: list[str]) -> pa.Table:
        """Events in time order (ties keep log order) with readable names."""
        if not self.rows:
            cols = [[]] * 7
        else:
            cols = list(zip(*self.rows, strict=True))
        t = np.asarray(cols[0], dtype=float)
        order = np.argsort(t, kind="stable")
        kind = np.asarray(cols[1], dtype=np.int64)[order]
        node = np.asarray(cols[3], dtype=np.int64)[order]
        sku = np.asarray(cols[4], dtype=np.int64)[order]
        names = np.array([e.name.lower() for e in Ev])
        return pa.table({
            "t_hours": t[order],
            "event": pa.array(names[kind]).dictionary_encode(),
            "order_id": np.asarray(cols[2], dtype=np.int64)[order],
            "node": pa.array(np.where(node >= 0, np.array(node_names + [""])[node], None)),
            "sku": pa.array(np.where(sku >= 0, np.array(sku_ids + [""])[sku], None)),
            "qty": np.asarray(cols[5], dtype=np.int64)[order],
            "value": np.asarray(cols[6], dtype=float)[order],
        })
