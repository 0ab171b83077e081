"""The append-only event log: one row per state change, exported as an Arrow table."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["Ev", "EventLog", "SummaryLog", "NullLog", "EVENT_MODES", "make_event_log"]

#: ``--events``: every row (``full``), counts and sums per kind (``summary``), nothing (``none``).
EVENT_MODES = ("full", "summary", "none")


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


class EventSink:
    """Where a run's state changes go: every log below is one, so the model calls ``add``
    without knowing which ``--events`` mode it has."""

    mode = "none"

    def add(self, t: float, kind: Ev, order: int = -1, node: int = -1, sku: int = -1,
            qty: int = 0, value: float = 0.0) -> None:
        """Record one state change (the base records nothing)."""

    def __len__(self) -> int:
        return 0


class EventLog(EventSink):
    """Rows of ``(t, kind, order, node, sku, qty, value)``; -1 where a column does not apply."""

    __slots__ = ("rows",)
    mode = "full"

    def __init__(self):
        self.rows: list[tuple[float, Ev, int, int, int, int, float]] = []

    def add(self, t: float, kind: Ev, order: int = -1, node: int = -1, sku: int = -1,
            qty: int = 0, value: float = 0.0) -> None:
        """Append one state change."""
        self.rows.append((t, kind, order, node, sku, qty, value))

    def __len__(self) -> int:
        return len(self.rows)

    def kind_counts(self) -> np.ndarray:
        """Events of each kind (indexed by ``Ev``)."""
        kinds = np.fromiter((r[1] for r in self.rows), dtype=np.int64, count=len(self.rows))
        return np.bincount(kinds, minlength=len(Ev))

    def value_sum(self, kind: Ev) -> float:
        """Sum of the ``value`` column over events of ``kind``."""
        return sum(row[6] for row in self.rows if row[1] == kind)

    def to_arrow(self, node_names: list[str], sku_ids: list[str]) -> pa.Table:
        """Events in time order (ties keep log order) with readable names."""
        cols: list[Any] = [[]] * 7 if not self.rows else list(zip(*self.rows, strict=True))
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
            "node": pa.array(_named(node, node_names)),
            "sku": pa.array(_named(sku, sku_ids)),
            "qty": np.asarray(cols[5], dtype=np.int64)[order],
            "value": np.asarray(cols[6], dtype=float)[order],
        })


def _named(codes: np.ndarray, names: list[str]) -> Any:
    """The name of each code, None where the code is -1 (the column does not apply)."""
    return np.where(codes >= 0, np.array(names + [""])[codes], None)  # type: ignore[call-overload]


class SummaryLog(EventSink):
    """An event log that keeps only, per kind, the count and the sums of ``qty`` and ``value``
    (constant memory, for very long runs: ``--events summary``)."""

    __slots__ = ("counts", "qty", "value")
    mode = "summary"

    def __init__(self):
        n = len(Ev)
        self.counts, self.qty, self.value = [0] * n, [0] * n, [0.0] * n

    def add(self, t: float, kind: Ev, order: int = -1, node: int = -1, sku: int = -1,
            qty: int = 0, value: float = 0.0) -> None:
        """Count one state change."""
        self.counts[kind] += 1
        self.qty[kind] += qty
        self.value[kind] += value

    def __len__(self) -> int:
        return sum(self.counts)

    def kind_counts(self) -> np.ndarray:
        """Events of each kind (indexed by ``Ev``)."""
        return np.asarray(self.counts, dtype=np.int64)

    def value_sum(self, kind: Ev) -> float:
        """Sum of the ``value`` column over events of ``kind``."""
        return self.value[kind]

    def to_arrow(self, node_names: list[str] | None = None,
                 sku_ids: list[str] | None = None) -> pa.Table:
        """One row per event kind that occurred: ``event``, ``count``, ``qty``, ``value``."""
        kinds = [k for k in Ev if self.counts[k]]
        return pa.table({
            "event": pa.array([k.name.lower() for k in kinds], pa.string()),
            "count": pa.array([self.counts[k] for k in kinds], pa.int64()),
            "qty": pa.array([self.qty[k] for k in kinds], pa.int64()),
            "value": pa.array([float(self.value[k]) for k in kinds], pa.float64()),
        })


class NullLog(EventSink):
    """An event log that records nothing (``--events none``); no ``events.parquet``."""

    __slots__ = ()


def make_event_log(mode: str = "full") -> EventSink:
    """The event log of a run for ``--events mode`` (see ``EVENT_MODES``)."""
    logs: dict[str, type[EventSink]] = {"full": EventLog, "summary": SummaryLog, "none": NullLog}
    if mode not in logs:
        raise ValueError(f"--events: unknown mode '{mode}' (choose: {', '.join(EVENT_MODES)})")
    return logs[mode]()
