"""The append-only event log: one row per state change, exported as an Arrow table.

``Columns`` is how a run keeps a long table it fills a row at a time (the event log, the
shipments table, the decision trace's ids): each numeric column is a ``librt`` byte writer the
row's value goes into as its 8 (or 1) little-endian bytes, a buffer's worth, and then one NumPy
chunk per column. A row then makes no Python object at all when the caller is compiled (mypyc
writes the unboxed number), and the table is 8 bytes a value, with nothing left for the garbage
collector to scan. Text columns keep their objects in a list."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Final

import numpy as np
import pyarrow as pa
from librt.strings import BytesWriter, write_f64_le, write_i64_le

__all__ = ["Ev", "EventLog", "SummaryLog", "NullLog", "EVENT_MODES", "make_event_log",
           "Columns"]

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

    def add(self, t: float, kind: int, order: int = -1, node: int = -1, sku: int = -1,
            qty: int = 0, value: float = 0.0) -> None:
        """Record one state change of ``kind`` (an ``Ev``; the base records nothing)."""

    def __len__(self) -> int:
        return 0


class Columns:
    """A table filled a row at a time; ``arrays`` gives one array per column.

    Rows come back in the order added. Each row writes every column once, in order, then
    calls ``added``:

    * a float64 column: ``write_f64_le(table.out[k], x)``;
    * an int64 column: ``write_i64_le(table.out[k], n)``;
    * a bool column: ``table.out[k].append(1 if b else 0)``;
    * an object (text) column: ``table.objects[k].append(x)``.
    """

    __slots__ = ("names", "dtypes", "out", "objects", "_chunks", "_buffered", "_rows")
    #: rows buffered before they become chunks
    BUFFER: Final = 1 << 14

    def __init__(self, dtypes: dict[str, Any]) -> None:
        self.names: list[str] = list(dtypes)
        self.dtypes: list[np.dtype] = [np.dtype(d) for d in dtypes.values()]
        kinds = {d.kind for d in self.dtypes} - {"f", "i", "b", "O"}
        if kinds or any(d.itemsize != 8 for d in self.dtypes if d.kind in "fi"):
            raise TypeError(f"Columns: float64, int64, bool or object only, not {dtypes}")
        self.out: list[BytesWriter] = [BytesWriter() for _ in self.names]
        self.objects: list[list[Any]] = [[] for _ in self.names]
        self._chunks: list[list[np.ndarray]] = [[] for _ in self.names]
        self._buffered = 0
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def added(self) -> None:
        """A row's values were written."""
        self._rows += 1
        self._buffered += 1
        if self._buffered >= self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        if self._buffered:
            for k in range(len(self.names)):
                dtype = self.dtypes[k]
                if dtype.kind == "O":
                    values = self.objects[k]
                    chunk = np.fromiter(values, dtype=dtype, count=len(values))
                    values.clear()
                else:
                    chunk = np.frombuffer(self.out[k].getvalue(), dtype=dtype.newbyteorder("<"))
                    self.out[k].truncate(0)
                self._chunks[k].append(chunk)
            self._buffered = 0

    def arrays(self) -> dict[str, np.ndarray]:
        """One array per column (of its dtype), rows in the order added: the table's own
        arrays, not to be modified. A column's chunks become that one array, so the table is
        never held twice."""
        self._flush()
        out = {}
        for name, dtype, chunks in zip(self.names, self.dtypes, self._chunks, strict=True):
            if len(chunks) > 1 or (chunks and not chunks[0].flags.owndata):
                chunks[:] = [np.concatenate(chunks).astype(dtype, copy=False)]
            out[name] = chunks[0] if chunks else np.zeros(0, dtype=dtype)
        return out


#: The event log's columns and their types.
_EVENT_COLUMNS = {"t": np.float64, "kind": np.int64, "order": np.int64, "node": np.int64,
                  "sku": np.int64, "qty": np.int64, "value": np.float64}
_KINDS = list(Ev)


class EventLog(EventSink):
    """Rows of ``(t, kind, order, node, sku, qty, value)``; -1 where a column does not apply.
    Kept in ``Columns``; ``rows`` gives them back as tuples."""

    __slots__ = ("_table",)
    mode = "full"

    def __init__(self) -> None:
        self._table = Columns(_EVENT_COLUMNS)

    def add(self, t: float, kind: int, order: int = -1, node: int = -1, sku: int = -1,
            qty: int = 0, value: float = 0.0) -> None:
        """Append one state change."""
        out = self._table.out
        write_f64_le(out[0], t)
        write_i64_le(out[1], kind)
        write_i64_le(out[2], order)
        write_i64_le(out[3], node)
        write_i64_le(out[4], sku)
        write_i64_le(out[5], qty)
        write_f64_le(out[6], value)
        self._table.added()

    def __len__(self) -> int:
        return len(self._table)

    def columns(self) -> dict[str, np.ndarray]:
        """The log as columns: ``t``, ``kind``, ``order``, ``node``, ``sku``, ``qty``,
        ``value``, rows in log order."""
        return self._table.arrays()

    @property
    def rows(self) -> list[tuple[float, Ev, int, int, int, int, float]]:
        """Every row as a tuple, in log order (built on each call: for tests and small
        runs)."""
        c = self.columns()
        kinds = [_KINDS[k] for k in c["kind"].tolist()]
        return list(zip(c["t"].tolist(), kinds, c["order"].tolist(), c["node"].tolist(),
                        c["sku"].tolist(), c["qty"].tolist(), c["value"].tolist(),
                        strict=True))

    def kind_counts(self) -> np.ndarray:
        """Events of each kind (indexed by ``Ev``)."""
        return np.bincount(self.columns()["kind"], minlength=len(Ev))

    def value_sum(self, kind: Ev) -> float:
        """Sum of the ``value`` column over events of ``kind`` (summed in log order)."""
        c = self.columns()
        return sum(c["value"][c["kind"] == kind].tolist())

    def to_arrow(self, node_names: list[str], sku_ids: list[str]) -> pa.Table:
        """Events in time order (ties keep log order) with readable names."""
        c = self.columns()
        order = np.argsort(c["t"], kind="stable")
        kind, node, sku = c["kind"][order], c["node"][order], c["sku"][order]
        names = np.array([e.name.lower() for e in Ev])
        return pa.table({
            "t_hours": c["t"][order],
            "event": pa.array(names[kind]).dictionary_encode(),
            "order_id": c["order"][order],
            "node": pa.array(_named(node, node_names)),
            "sku": pa.array(_named(sku, sku_ids)),
            "qty": c["qty"][order],
            "value": c["value"][order],
        })


def _named(codes: np.ndarray, names: list[str]) -> Any:
    """The name of each code, None where the code is -1 (the column does not apply)."""
    return np.where(codes >= 0, np.array(names + [""])[codes], None)  # type: ignore[call-overload]


class SummaryLog(EventSink):
    """An event log that keeps only, per kind, the count and the sums of ``qty`` and ``value``
    (constant memory, for very long runs: ``--events summary``)."""

    __slots__ = ("counts", "qty", "value")
    mode = "summary"

    def __init__(self) -> None:
        n = len(Ev)
        self.counts, self.qty, self.value = [0] * n, [0] * n, [0.0] * n

    def add(self, t: float, kind: int, order: int = -1, node: int = -1, sku: int = -1,
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
