"""Records of one run: the order book (every order's columns), the SKU catalog columns the
pipeline reads, order status and the decision-trace row.

The model's hot path reads and writes one order's fields thousands of times a second, so
``OrderBook`` keeps one Python list per field (a scalar read is a list index, no object per
order) and exports the orders table once, at the end, the way Ciw's ``DataRecord`` or Mesa's
data collector turn a run's records into a table.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from enum import IntEnum
from itertools import repeat
from operator import add
from typing import Final, NamedTuple

import numpy as np
from librt.strings import write_i64_le

from sim.core.demand import Demand
from sim.core.events import Columns
from sim.scenario import Sku

__all__ = ["HOURS", "Status", "TraceRow", "Trace", "Catalog", "OrderBook", "rounded",
           "round_to"]

HOURS: Final = 24.0


class Status(IntEnum):
    """Order state; the last three are terminal."""

    NEW = 0
    IN_PROCESS = 1
    DELIVERED = 2
    BACKORDERED = 3
    CANCELLED = 4


class TraceRow(NamedTuple):
    """One rule decision: when, for which order (-1 for none), at which point, the rule set's
    key, the winning rule, every matched rule joined by "," and the subject (e.g. "node/sku" for
    reorder). A tuple, so rows unpack and pickle like plain tuples."""

    t: float
    order: int
    point: str
    ruleset: str
    winner: str
    matched: str
    subject: str


_new_row = tuple.__new__


class Trace:
    """The decision trace: a sequence of ``TraceRow`` (iterate, index, ``len``) stored in
    columns, each row's text fields as the index of its distinct (point, rule set, winner,
    matched, subject) combination, so a long run keeps a few bytes a decision instead of a
    tuple per row. Rows read back equal the rows appended. Order ids and codes are kept in
    ``Columns``."""

    __slots__ = ("_t", "_ids", "_combos", "_codes")

    def __init__(self, rows: list[TraceRow] | None = None):
        self._t: list[float] = []               # kept as given (the clock starts at int 0)
        self._ids = Columns({"order": np.int64, "code": np.int64})
        self._combos: list[tuple[str, str, str, str, str]] = []
        self._codes: dict[tuple[str, str, str, str, str], int] = {}
        for row in rows or ():
            self.append(row)

    def code(self, point: str, ruleset: str, winner: str, matched: str, subject: str) -> int:
        """The index of a (point, rule set, winner, matched, subject) combination."""
        key = (point, ruleset, winner, matched, subject)
        c = self._codes.get(key)
        if c is None:
            c = self._codes[key] = len(self._combos)
            self._combos.append(key)
        return c

    def add(self, t: float, order: int, code: int) -> None:
        """Append a row of combination ``code`` (see ``code``)."""
        self._t.append(t)
        ids = self._ids.out
        write_i64_le(ids[0], order)
        write_i64_le(ids[1], code)
        self._ids.added()

    def append(self, row: TraceRow) -> None:
        """Append one row."""
        self.add(row[0], row[1], self.code(*row[2:]))

    def __len__(self) -> int:
        return len(self._t)

    def _row(self, k: int, order: np.ndarray, code: np.ndarray) -> TraceRow:
        return _new_row(TraceRow, (self._t[k], int(order[k]), *self._combos[int(code[k])]))

    def __getitem__(self, k):
        ids = self._ids.arrays()
        order, code = ids["order"], ids["code"]
        if isinstance(k, slice):
            return [self._row(j, order, code) for j in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError("trace index out of range")
        return self._row(k, order, code)

    def __iter__(self) -> Iterator[TraceRow]:
        # (t, order) + combination, made a TraceRow: chained C iterators, no frame a row.
        ids = self._ids.arrays()
        texts = map(self._combos.__getitem__, map(int, ids["code"]))
        return map(_new_row, repeat(TraceRow),
                   map(add, zip(self._t, map(int, ids["order"]), strict=True), texts))

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Trace | list) else NotImplemented

    def combinations(self) -> list[tuple[str, str, str, str, str]]:
        """The distinct (point, rule set, winner, matched, subject) combinations, in order of
        first appearance (a row's code indexes this list)."""
        return list(self._combos)

    def columns(self) -> tuple[list[float], np.ndarray, np.ndarray]:
        """The rows as columns: times (as given), order ids, combination codes; for building
        tables without a tuple per row."""
        ids = self._ids.arrays()
        return self._t, np.array(ids["order"]), np.array(ids["code"])

    __hash__ = None  # type: ignore[assignment]   # equal by content, so not hashable


class Catalog:
    """Per-SKU columns the pipeline reads on the hot path (lists indexed by SKU): price, weight,
    unit cost and the kit/item group a split must keep together."""

    def __init__(self, skus: list[Sku]):
        self.price = [s.price for s in skus]
        self.weight = [s.weight_lb for s in skus]
        self.cost = [s.cost for s in skus]
        #: group id per SKU (an ungrouped SKU is its own group), or None when no SKU is grouped
        self.group = ([s.group or f"#{k}" for k, s in enumerate(skus)]
                      if any(s.group for s in skus) else None)

    def groups(self, skus: list[int]) -> list[str] | None:
        """The group of each line's SKU, or None when the catalog has no groups."""
        g = self.group
        return None if g is None else [g[s] for s in skus]

    def weight_of(self, skus: list[int], qtys: list[int]) -> float:
        """Weight (lb) of these lines (summed from 0 in line order, as ``sum`` would)."""
        weight, total = self.weight, 0.0
        for j in range(len(skus)):
            total += weight[skus[j]] * qtys[j]
        return total


def rounded(x: np.ndarray, ndigits: int) -> np.ndarray:
    """``round(v, ndigits)`` of every value of ``x``, the very doubles the builtin gives, at
    array speed (an order book rounds two columns of every order).

    The builtin returns the double nearest the decimal that rounds v's exact value to
    ``ndigits`` places. With y = v × 10^ndigits in doubles (within half an ulp, at most 2^-24,
    of the exact product when |y| < 2^30): if y is more than 1e-6 from a half-integer, the
    exact product rounds to the same integer k as y, and k / 10^ndigits, an exact integer
    divided by an exact power of ten, is that nearest double. The other values (within 1e-6
    of a tie, huge, or not finite) take the builtin."""
    scale = 10.0 ** ndigits
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.asarray(x, dtype=float) * scale
        out = np.rint(y) / scale
        risky = ~(np.abs(y) < 2.0 ** 30) | (np.abs(np.abs(y - np.trunc(y)) - 0.5) <= 1e-6)
    for j in np.flatnonzero(risky).tolist():
        out[j] = round(float(x[j]), ndigits)
    return out


def round_to(x: float, ndigits: int) -> float:
    """``round(x, ndigits)``, the very double the builtin gives, for one number: the rule of
    ``rounded`` (which says why it is exact) in scalar form, without the builtin's decimal
    conversion (rules see a few rounded facts per order)."""
    scale = 10.0 ** ndigits
    y = x * scale
    if abs(y) < 1073741824.0 and abs(abs(y - math.trunc(y)) - 0.5) > 1e-6:    # 2 ** 30
        return math.copysign(float(round(y)), y) / scale        # np.rint(y), sign of zero too
    return round(x, ndigits)


#: Orders-table columns read from the book after the demand columns: (name, book column, dtype).
_COLUMNS: tuple[tuple[str, str, type | None], ...] = (
    ("units", "units", np.int64), ("value", "value", None), ("weight_lb", "weight", None),
    ("cogs", "cogs", None), ("status", "status", np.int64), ("first_fill", "first_fill", bool),
    ("lines_fillable", "lines_fillable", np.int64), ("n_shipments", "n_shipments", np.int64),
    ("deadline", "deadline", None), ("delivered_at", "delivered_at", None),
    ("backordered_at", "backordered_at", None), ("sourcing_rule", "sourcing_rule", object),
    ("split_rule", "split_rule", object), ("decided_at", "decided_at", None),
    ("held_h", "held_h", None),
)


def _typed(code: str, values: np.ndarray) -> array:
    """``values`` as an ``array`` of ``code`` (``q``: int64, ``d``: float64), copied as bytes
    rather than converted element by element."""
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64 if code == "q"
                                       else np.float64).tobytes())
    return out


class OrderBook:
    """Every order of a run, one Python list per field, indexed by order id.

    Fixed at arrival (from demand): ``t``, ``channel``, ``service``, ``region``, ``tier``,
    ``customer``, ``address``, the
    lines (``skus``/``qtys`` from ``starts[i]`` to ``starts[i + 1]``), ``value``, ``weight``,
    ``units``, ``cogs``, the promise ``deadline`` and the rounded ``fact_value``/``fact_weight``
    the rules see. Changed by the pipeline: ``status``, ``first_fill``, ``lines_fillable``,
    ``n_shipments``, ``open_shipments``, ``delivered_at``, ``backordered_at``, the winning
    ``sourcing_rule``/``split_rule``, ``decided_at`` (the first decision: on arrival, or at
    the batch) and ``held_h`` (hours held for consolidation before brokering). ``table()``
    exports the orders table.
    """

    def __init__(self, demand: Demand, catalog: Catalog):
        d = self.demand = demand
        n = d.n
        # Float and large-int columns are ``array`` columns (8 bytes an order, not a list slot
        # plus an object: a million orders keep ~300 MB less); a read gives the same value.
        self.skus: list[int] = d.sku.tolist()
        self.qtys: list[int] = d.qty.tolist()
        self.starts = _typed("q", d.line_start)
        self.t = _typed("d", d.t)
        self.channel: list[int] = d.channel.tolist()
        self.service: list[int] = d.service.tolist()
        self.region: list[int] = d.region.tolist()
        self.tier: list[int] = d.tier.tolist()
        self.customer = _typed("q", d.customer)
        self.address = _typed("q", d.address)
        value, weight = self._sums(catalog.price), self._sums(catalog.weight)
        self.value, self.weight = _typed("d", value), _typed("d", weight)
        self.units: list[int] = self._sums([1] * len(catalog.price)).astype(np.int64).tolist()
        self.cogs = self._sums(catalog.cost)
        self.fact_value = _typed("d", rounded(value, 2))         # rounded once
        self.fact_weight = _typed("d", rounded(weight, 3))
        # (⌊t / 24⌋ + promise days + 1) × 24: whole numbers until the last product, so the
        # array arithmetic gives the same doubles as the scalar formula.
        promise = np.array([row[2] for row in d.service_table] or [0], dtype=float)
        self.deadline = _typed("d", ((np.floor(d.t / HOURS) + promise[d.service] + 1.0)
                                     * HOURS))
        self.status = [int(Status.NEW)] * n
        self.first_fill = [False] * n
        self.lines_fillable = [0] * n
        self.n_shipments = [0] * n
        self.open_shipments = [0] * n
        self.delivered_at = array("d", [math.nan]) * n
        self.backordered_at = array("d", [math.nan]) * n
        self.sourcing_rule = [""] * n
        self.split_rule = [""] * n
        self.decided_at = array("d", [math.nan]) * n
        self.held_h = array("d", [0.0]) * n

    def lines(self, i: int) -> tuple[list[int], list[int]]:
        """SKUs and quantities of order ``i``'s lines."""
        a, b = self.starts[i], self.starts[i + 1]
        return self.skus[a:b], self.qtys[a:b]

    def _sums(self, per_unit: list[float]) -> np.ndarray:
        """Σ per_unit[sku] × qty over each order's lines."""
        d = self.demand
        if d.n == 0 or len(d.sku) == 0:
            return np.zeros(d.n)
        return np.add.reduceat(np.asarray(per_unit)[d.sku] * d.qty, d.line_start[:-1])

    def table(self) -> dict[str, np.ndarray]:
        """The orders table: one row per order, one array per column."""
        d = self.demand
        out = {"order_id": np.arange(d.n), "t_created": d.t, "channel": d.channel,
               "service": d.service, "region": d.region, "customer": d.customer,
               "address": d.address,
               "promise_days": np.array([d.service_table[s][2] for s in self.service],
                                        dtype=np.int64),
               "lines": np.diff(d.line_start)}
        for name, column, dtype in _COLUMNS:
            out[name] = np.asarray(getattr(self, column), dtype=dtype)
        return out
