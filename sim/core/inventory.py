"""Stock per node×SKU: on hand, reserved, on order, backorders; replenishment and transfers.

``Stock`` owns every stock number of a run, so conservation is one class's invariant: opening +
received = shipped + transferred out + sold to walk-ins + on hand at every node×SKU. It also
owns the replenishment policies and decides them on the textbook **inventory position**

    position = on hand − reserved + on order − backorders charged − transfers owed

reviewed on every demand event (a reservation, a backorder charged to the node, a transfer
request from a downstream node, a walk-in sale) under continuous review, and at review epochs
under periodic review. A node with ``replenished_from`` orders from another node: the
transfer takes the source's stock at once (what the source lacks is owed, in the source's
position, and sent as its own receipts arrive, after its waiting customers), travels with the
lane's lead time and counts as on order at the destination until it arrives. Store walk-ins
take available stock (on hand not reserved for online orders) or are lost.

Levels of on hand, reserved, on order, backorders, transfers owed and stock-out time are
integrated exactly over time (every change closes the previous interval), and the integrals
are read at the end of the warm-up and at the horizon, so time averages over the measurement
window come from the event stream, not from samples. After the horizon no orders are placed.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Final

import numpy as np

from rules.schema import ReorderOutcome
from sim.core.clock import Clock
from sim.core.events import Ev, EventSink
from sim.core.network import Network
from sim.core.records import HOURS
from sim.core.rng import BlockSampler, stream

__all__ = ["Stock", "nearest_units", "units_from_days", "LEVELS", "SOLD", "LOST",
           "LOST_TO_ONLINE"]

# Constants are ``Final``: compiled, a read is a constant, not a dict lookup of the module.
_NONE: Final = 0
_CONTINUOUS: Final = 1
_RQ: Final = 2
_PERIODIC: Final = 3
_FORECAST: Final = 4
_POLICY_CODES = {"none": _NONE, "sS": _CONTINUOUS, "base_stock": _CONTINUOUS, "RQ": _RQ,
                 "periodic": _PERIODIC, "RS": _PERIODIC, "forecast": _FORECAST}
#: Outcomes of a walk-in sale (``Stock.sell_walk_in``).
SOLD: Final = 0
LOST: Final = 1
LOST_TO_ONLINE: Final = 2
#: Integrated levels, in this order, in ``Stock.window_areas``.
LEVELS = ("on_hand", "reserved", "on_order", "backorders", "owed", "stockout")


def nearest_units(x: float) -> int:
    """The nearest whole number of units, halves up, with a 1e-9 tolerance so that float
    noise (3 × 18.333… = 54.999…) never moves a level by a unit."""
    return math.floor(x + 0.5 + 1e-9)


def units_from_days(days: float, daily: float) -> int:
    """Days of forecast demand → units (``nearest_units`` of days × daily forecast)."""
    return nearest_units(days * daily)


class _Forecast:
    """Per-day demand forecast of one node×SKU (mean and standard deviation per day)."""

    __slots__ = ("method", "alpha", "window", "mean", "mad", "history")

    def __init__(self, o: ReorderOutcome, daily: float):
        self.method, self.alpha = o.forecast, o.alpha
        self.window = o.window_days
        self.mean = daily
        self.mad = math.sqrt(daily) / 1.25          # Poisson-like until demand is observed
        self.history: deque[float] = deque(maxlen=o.window_days)

    def observe(self, d: float) -> None:
        """One day's demand."""
        if self.method == "moving_average":
            self.history.append(d)
            self.mean = sum(self.history) / len(self.history)
        else:
            self.mad = self.alpha * abs(d - self.mean) + (1 - self.alpha) * self.mad
            self.mean = self.alpha * d + (1 - self.alpha) * self.mean

    @property
    def sigma(self) -> float:
        """Standard deviation of daily demand (1.25 × MAD for smoothing, sample std for MA)."""
        if self.method == "moving_average" and len(self.history) >= 2:
            return float(np.std(self.history, ddof=1))
        return 1.25 * self.mad


#: Node × SKU units (a list per node).
Grid = list[list[int]]
#: One node's rows ``Stock._touch`` reads and adds to: last change, on hand and its area, ATP
#: and the stock-out hours, then (level, area) of reserved, on order, backorders and owed.
_TouchRow = tuple[list[float], list[int], list[float], list[int], list[float],
                  tuple[tuple[list[int], list[float]], ...]]


class Stock:
    """Stock levels, replenishment and exact time integrals of one run (lists of lists: fast
    scalar updates on the hot path)."""

    def __init__(self, clock: Clock, net: Network, log: EventSink, horizon: float,
                 warmup: float, on_receipt: Callable[[int, int], None]):
        sc = net.scenario
        self.clock, self.env = clock, clock.env
        self.log, self.horizon, self.warmup = log, horizon, warmup
        self.on_receipt = on_receipt
        self.opening = net.opening.copy()
        self.carried = net.carried
        n_nodes, n_skus = net.opening.shape
        opening: Grid = net.opening.tolist()

        def zeros() -> Grid:
            return [[0] * n_skus for _ in range(n_nodes)]

        self.on_hand: Grid = [row[:] for row in opening]
        self.atp: Grid = [row[:] for row in opening]      # on hand minus reserved
        self.reserved, self.on_order = zeros(), zeros()
        self.backorders, self.owed = zeros(), zeros()
        self.received, self.shipped, self.transferred = zeros(), zeros(), zeros()
        # Store walk-ins: units sold off the shelf, lost, and lost while units on the shelf were
        # reserved for online orders (the sales online fulfilment took from shoppers).
        self.sold_walk_in, self.walk_in_lost = zeros(), zeros()
        self.walk_in_lost_to_online = zeros()
        self.written_off = zeros()           # phantom units found missing at pick
        self.restocked = zeros()             # uncollected pickup orders, back on shelf
        self.unlimited = [n.stock.unlimited for n in sc.nodes]
        self.unit_cost = np.array([s.cost for s in sc.skus])
        self.snapshots: list[list[int]] = []
        self.policy = [[_NONE] * n_skus for _ in range(n_nodes)]
        self.s_level = [[-1] * n_skus for _ in range(n_nodes)]
        self.S_level = [[0] * n_skus for _ in range(n_nodes)]
        self.Q_level = [[0] * n_skus for _ in range(n_nodes)]
        self.reviews: dict[float, list[tuple[int, int]]] = defaultdict(list)
        self._forecasts: dict[tuple[int, int], _Forecast] = {}
        self._forecast_cover: dict[tuple[int, int], tuple[float, float]] = {}
        self._demand_today = [[0] * n_skus for _ in range(n_nodes)]
        # Lanes: each node's supplier (lead time, costs, lot sizes) and source node (or -1).
        names = {n.name: i for i, n in enumerate(sc.nodes)}
        suppliers = {s.name: s for s in sc.suppliers}
        self.lane = [suppliers[n.supplier] for n in sc.nodes]
        self.source = [-1 if n.replenished_from is None else names[n.replenished_from]
                       for n in sc.nodes]
        self.lead_mean = [s.lead_time_days.mean for s in self.lane]
        self._lead = {s.name: BlockSampler(s.lead_time_days, stream(sc.seed, f"supply/{s.name}"))
                      for s in sc.suppliers}
        self._busy_until: dict[str, float] = defaultdict(float)
        #: scheduled supplier events: (supplier, t) → (extra lead hours, share confirmed)
        self.supply_terms: Callable[[str, float], tuple[float, float]] | None = None
        self._owed_queue: dict[tuple[int, int], deque[list[int]]] = defaultdict(deque)
        self.in_transit = 0
        #: purchase orders: (t, node, sku, qty, source node or -1)
        self.orders: list[tuple[float, int, int, int, int]] = []
        # Exact time integrals (level × hours) and the window readings.
        self._last = [[0.0] * n_skus for _ in range(n_nodes)]
        self._area = {k: [[0.0] * n_skus for _ in range(n_nodes)] for k in LEVELS}
        self._a_oh, self._a_res, self._a_oo = (self._area[k] for k in LEVELS[:3])
        self._a_bo, self._a_owed, self._a_out = (self._area[k] for k in LEVELS[3:])
        # Per node, the rows ``_touch`` reads and adds to, in one tuple: one lookup a call.
        # The rows are only ever changed in place, so these references stay valid.
        self._touch_rows: list[_TouchRow] = [
            (self._last[n], self.on_hand[n], self._a_oh[n], self.atp[n], self._a_out[n],
             ((self.reserved[n], self._a_res[n]), (self.on_order[n], self._a_oo[n]),
              (self.backorders[n], self._a_bo[n]), (self.owed[n], self._a_owed[n])))
            for n in range(n_nodes)]
        self._window: list[np.ndarray] = []
        # Replenishment cycles (between receipts) and whether each saw a shortage (type-1).
        self._short = [[False] * n_skus for _ in range(n_nodes)]
        self.cycles = [[0] * n_skus for _ in range(n_nodes)]
        self.short_cycles = [[0] * n_skus for _ in range(n_nodes)]

    # -- policies ---------------------------------------------------------------------------

    def set_policy(self, node: int, sku: int, o: ReorderOutcome, daily: float) -> None:
        """Turn a reorder outcome (levels in units or days of forecast demand) into unit
        levels for ``node``×``sku``."""
        def level(units: int | None, days: float) -> int:
            return units if units is not None else units_from_days(days, daily)

        s_units = level(o.s_units, o.s_days)
        S_units = level(o.S_units, o.S_days)
        if o.policy in ("sS", "periodic"):
            self.s_level[node][sku] = s_units
            self.S_level[node][sku] = max(s_units + 1, S_units)
        elif o.policy in ("base_stock", "RS"):
            S_units = max(1, S_units)
            self.s_level[node][sku], self.S_level[node][sku] = S_units - 1, S_units
        elif o.policy == "RQ":
            self.s_level[node][sku] = s_units
            self.Q_level[node][sku] = max(1, level(o.Q_units, o.Q_days))
        elif o.policy == "forecast":
            f = self._forecasts[(node, sku)] = _Forecast(o, daily)
            self._forecast_cover[(node, sku)] = (self.lead_mean[node] + o.review_days, o.z)
            self._set_forecast_level(node, sku, f)
        self.policy[node][sku] = _POLICY_CODES[o.policy]
        if o.policy in ("periodic", "RS", "forecast"):
            self.reviews[o.review_days].append((node, sku))

    def _set_forecast_level(self, node: int, sku: int, f: _Forecast) -> None:
        cover, z = self._forecast_cover[(node, sku)]
        S_units = max(1, nearest_units(f.mean * cover + z * f.sigma * math.sqrt(cover)))
        self.s_level[node][sku], self.S_level[node][sku] = S_units - 1, S_units

    def hold_until_launch(self, launch_hours: list[float]) -> None:
        """Pre-order SKUs: the opening stock of a SKU launching at ``launch_hours[s]`` > 0 is
        inbound instead (on order, counted in positions) and arrives at its launch."""
        for s, t in enumerate(launch_hours):
            if t <= 0:
                continue
            for n, row in enumerate(self.on_hand):
                q = row[s]
                if q <= 0 or self.unlimited[n]:
                    continue
                self.opening[n, s] -= q
                row[s] = self.atp[n][s] = 0
                self.on_order[n][s] += q
                self.clock.call_in(t, functools.partial(self._receive_at_launch, n, s, q))

    def start(self) -> None:
        """Initial replenishment check, periodic reviews, forecasts, window and snapshots."""
        for n, row in enumerate(self.policy):
            for s, code in enumerate(row):
                if code in (_CONTINUOUS, _RQ):
                    self.reorder(n, s)
        if self._forecasts:
            self.env.process(self._observe_days())
        for days, items in sorted(self.reviews.items()):
            self.env.process(self._periodic_review(days, items))
        self.env.process(self._open_window())
        self.env.process(self._snapshots())

    def position(self, node: int, s: int) -> int:
        """Inventory position: on hand − reserved + on order − backorders − transfers owed."""
        return (self.atp[node][s] + self.on_order[node][s] - self.backorders[node][s]
                - self.owed[node][s])

    # -- stock movements --------------------------------------------------------------------

    def _touch(self, n: int, s: int, now: float) -> None:
        """Close the interval since the last change of ``n``×``s`` (up to ``now``, the clock)
        into the time integrals.

        A level at zero adds exactly nothing (``area + 0.0`` is ``area``: an area starts at
        +0.0 and never becomes −0.0), so only the levels that are not zero, mostly on hand and
        reserved, are added: the same sums as adding all six, in the same order."""
        last, on_hand, a_oh, atp, a_out, others = self._touch_rows[n]
        dt = now - last[s]
        if dt > 0:
            last[s] = now
            a_oh[s] += on_hand[s] * dt
            for levels, area in others:
                level = levels[s]
                if level:
                    area[s] += level * dt
            if atp[s] <= 0:
                a_out[s] += dt

    def reserve(self, node: int, sku: int, qty: int) -> None:
        """Promise ``qty`` units to a shipment (ATP falls; on hand stays until packed); a
        demand event, so the node's policy reviews."""
        now = self.clock.now
        self._touch(node, sku, now)
        self.atp[node][sku] -= qty
        self.reserved[node][sku] += qty
        self._demand_today[node][sku] += qty
        self.reorder(node, sku, now)

    def ship(self, node: int, sku: int, qty: int) -> None:
        """Reserved units leave the node."""
        self._issue(node, sku, qty, self.shipped, self.clock.now)

    def _issue(self, node: int, sku: int, qty: int, tally: list[list[int]], now: float) -> None:
        """Reserved units leave on hand, counted in ``tally`` (shipped or written off)."""
        self._touch(node, sku, now)
        self.on_hand[node][sku] -= qty
        self.reserved[node][sku] -= qty
        tally[node][sku] += qty

    def sell_walk_in(self, node: int, sku: int, qty: int) -> int:
        """A shopper takes ``qty`` units off the shelf if that many are available to promise
        (on hand not reserved): ``SOLD``. Otherwise the sale is lost: ``LOST_TO_ONLINE`` when
        enough units were on the shelf but reserved for online orders, else ``LOST``. A demand
        event either way."""
        self._demand_today[node][sku] += qty
        atp = self.atp[node]
        if atp[sku] >= qty:
            now = self.clock.now
            self._touch(node, sku, now)
            self.on_hand[node][sku] -= qty
            atp[sku] -= qty
            self.sold_walk_in[node][sku] += qty
            self.reorder(node, sku, now)
            return SOLD
        self._short[node][sku] = True
        self.walk_in_lost[node][sku] += qty
        if self.on_hand[node][sku] >= qty:
            self.walk_in_lost_to_online[node][sku] += qty
            return LOST_TO_ONLINE
        return LOST

    def turn_away(self, node: int, sku: int, qty: int) -> None:
        """A shopper finds the store closed (an outage): the sale is lost, stock untouched."""
        self.walk_in_lost[node][sku] += qty

    def restock(self, node: int, sku: int, qty: int) -> None:
        """Units come back on the shelf: an uncollected pickup order, or a customer return."""
        self._touch(node, sku, self.clock.now)
        self.on_hand[node][sku] += qty
        self.atp[node][sku] += qty
        self.restocked[node][sku] += qty

    def write_off(self, node: int, sku: int, qty: int) -> None:
        """Reserved units a picker did not find: phantom stock leaves the record."""
        self._issue(node, sku, qty, self.written_off, self.clock.now)

    def unreserve(self, node: int, sku: int, qty: int) -> None:
        """A rejected shipment's found units go back to available stock."""
        self._touch(node, sku, self.clock.now)
        self.atp[node][sku] += qty
        self.reserved[node][sku] -= qty

    def charge_backorder(self, node: int, sku: int, qty: int) -> None:
        """A customer demand the network could not fill now waits, counted against ``node``:
        its position falls and its policy reviews; the current cycle had a shortage."""
        now = self.clock.now
        self._touch(node, sku, now)
        self.backorders[node][sku] += qty
        self._demand_today[node][sku] += qty
        self._short[node][sku] = True
        self.reorder(node, sku, now)

    def release_backorder(self, node: int, sku: int, qty: int) -> None:
        """A waiting demand left ``node``'s position (filled, or cancelled)."""
        self._touch(node, sku, self.clock.now)
        self.backorders[node][sku] -= qty

    def mark_shortage(self, node: int, sku: int) -> None:
        """A demand counted against ``node`` was lost: the cycle had a shortage."""
        self._short[node][sku] = True

    def reorder(self, node: int, s: int, now: float | None = None) -> None:
        """Continuous review: (s,S) and base-stock order up to S, (R,Q) orders multiples of Q
        (``now``: the clock, when the caller has read it already). Cheapest test first: most
        calls find no continuous policy, or the position above s."""
        code = self.policy[node][s]
        if code != _CONTINUOUS and code != _RQ:
            return
        if (self.clock.now if now is None else now) >= self.horizon:
            return
        position = self.position(node, s)
        s_level = self.s_level[node][s]
        if position > s_level:
            return
        if code == _RQ:
            q = self.Q_level[node][s]
            qty = q * ((s_level - position) // q + 1)
        else:
            qty = self.S_level[node][s] - position
        self._place_order(node, s, qty, now)

    def _periodic_review(self, days: float, items: list[tuple[int, int]]):
        """Every ``days``: order up to S where the position is at or below s (for (R,S) and
        forecast policies s = S − 1; forecast policies first re-set S)."""
        while True:
            for node, s in items:
                f = self._forecasts.get((node, s))
                if f is not None:
                    self._set_forecast_level(node, s, f)
                position = self.position(node, s)
                if position <= self.s_level[node][s]:
                    self._place_order(node, s, self.S_level[node][s] - position)
            yield self.env.timeout(days * HOURS)
            if self.clock.now >= self.horizon:
                return

    def _observe_days(self):
        """At each midnight, forecasts see the day's demand at their node."""
        demand = self._demand_today
        while True:
            yield self.env.timeout(HOURS)
            for (n, s), f in self._forecasts.items():
                f.observe(demand[n][s])
            for row in demand:
                row[:] = [0] * len(row)
            if self.clock.now >= self.horizon:
                return

    def _place_order(self, node: int, s: int, need: int, now: float | None = None) -> None:
        """Order ``need`` units (rounded up to the lane's MOQ and multiple) from the node's
        supplier, or request them from its source node."""
        if self.unlimited[node]:
            return
        if now is None:
            now = self.clock.now
        lane = self.lane[node]
        qty = lane.lot(need)
        src = self.source[node]
        extra = 0.0
        if src < 0 and self.supply_terms is not None:     # a supplier delay or shortfall
            extra, fill = self.supply_terms(lane.name, now)
            qty = nearest_units(qty * fill)
            if qty == 0:
                return
        self._touch(node, s, now)
        self.on_order[node][s] += qty
        self.orders.append((now, node, s, qty, src))
        self.log.add(now, Ev.PO_PLACED, node=node, sku=s, qty=qty, value=src)
        if src >= 0:
            self._request_transfer(src, node, s, qty, now)
            return
        start = now
        if lane.capacity_per_day is not None:
            start = max(start, self._busy_until[lane.name])
            self._busy_until[lane.name] = start + qty / lane.capacity_per_day * HOURS
            start = self._busy_until[lane.name]
        self._deliver(node, s, qty, start - now + extra)

    def _deliver(self, node: int, s: int, qty: int, delay: float) -> None:
        lead = delay + max(0.0, self._lead[self.lane[node].name].next()) * HOURS
        self.clock.call_in(lead, lambda _ev: self._receive(node, s, qty))

    def _request_transfer(self, src: int, dest: int, s: int, qty: int, now: float) -> None:
        """Demand on the source node: send what it has, owe the rest."""
        self._demand_today[src][s] += qty
        take = min(qty, max(0, self.atp[src][s]))
        if take:
            self._send(src, dest, s, take, now)
        if qty > take:
            self._touch(src, s, now)
            self.owed[src][s] += qty - take
            self._owed_queue[(src, s)].append([dest, qty - take])
            self._short[src][s] = True
        self.reorder(src, s, now)

    def _send(self, src: int, dest: int, s: int, qty: int, now: float) -> None:
        self._touch(src, s, now)
        self.on_hand[src][s] -= qty
        self.atp[src][s] -= qty
        self.transferred[src][s] += qty
        self.in_transit += qty
        self.log.add(now, Ev.TRANSFER_OUT, node=src, sku=s, qty=qty, value=dest)
        self._deliver(dest, s, qty, 0.0)

    def _receive_at_launch(self, node: int, s: int, qty: int, _launch: object) -> None:
        """``_receive``, called back when a pre-order SKU launches."""
        self._receive(node, s, qty)

    def _receive(self, node: int, s: int, qty: int) -> None:
        now = self.clock.now
        self._touch(node, s, now)
        self.on_hand[node][s] += qty
        self.atp[node][s] += qty
        self.on_order[node][s] -= qty
        self.received[node][s] += qty
        if self.source[node] >= 0:
            self.in_transit -= qty
        if self.warmup <= now < self.horizon:
            self.cycles[node][s] += 1
            self.short_cycles[node][s] += self._short[node][s]
        self._short[node][s] = False
        self.log.add(now, Ev.RECEIVED, node=node, sku=s, qty=qty)
        self.on_receipt(node, s)
        self._pay_owed(node, s, now)
        self.reorder(node, s, now)

    def _pay_owed(self, node: int, s: int, now: float) -> None:
        """Send owed transfers, oldest first, from what the node has left."""
        queue = self._owed_queue.get((node, s))
        while queue and self.atp[node][s] > 0:
            item = queue[0]
            take = min(item[1], self.atp[node][s])
            self._touch(node, s, now)
            self.owed[node][s] -= take
            self._send(node, item[0], s, take, now)
            item[1] -= take
            if item[1] == 0:
                queue.popleft()

    # -- measurement ------------------------------------------------------------------------

    def _read_areas(self) -> np.ndarray:
        """Every integral closed at now: array [level, node, sku] of level × hours."""
        now = self.clock.now
        for n, row in enumerate(self._last):
            for s in range(len(row)):
                self._touch(n, s, now)
        return np.array([self._area[k] for k in LEVELS], dtype=float)

    def _positions(self) -> np.ndarray:
        """[node, sku] inventory positions now."""
        return (np.asarray(self.atp) + np.asarray(self.on_order) - np.asarray(self.backorders)
                - np.asarray(self.owed))

    def _open_window(self):
        yield self.env.timeout(self.warmup)
        self._window = [self._read_areas()]
        self._window_positions = [self._positions()]

    def close_window(self) -> None:
        """Read the integrals at the horizon (call with the clock at the horizon)."""
        self._window.append(self._read_areas())
        self._window_positions.append(self._positions())

    def _snapshots(self):
        """Daily totals for charts (downsampled series; KPIs use the exact integrals)."""
        while True:
            self.snapshots.append([sum(row) for row in self.on_hand])
            yield self.env.timeout(HOURS)

    def tables(self) -> dict[str, np.ndarray]:
        """Final stock tables, window integrals, orders and cycles for KPIs and invariants."""
        if len(self._window) != 2:
            raise RuntimeError("the measurement window was not closed at the horizon")
        start, end = self._window
        po = np.array(self.orders, dtype=float).reshape(-1, 5)
        return {"opening": self.opening, "received": np.asarray(self.received),
                "shipped": np.asarray(self.shipped),
                "transferred": np.asarray(self.transferred),
                "sold_walk_in": np.asarray(self.sold_walk_in),
                "written_off": np.asarray(self.written_off),
                "restocked": np.asarray(self.restocked),
                "walk_in_lost": np.asarray(self.walk_in_lost),
                "walk_in_lost_to_online": np.asarray(self.walk_in_lost_to_online),
                "on_hand": np.asarray(self.on_hand),
                "reserved": np.asarray(self.reserved), "on_order": np.asarray(self.on_order),
                "backorders": np.asarray(self.backorders), "owed": np.asarray(self.owed),
                "in_transit": np.int64(self.in_transit),
                "window_area": end - start,
                "window_positions": np.stack(self._window_positions),
                "cycles": np.asarray(self.cycles), "short_cycles": np.asarray(self.short_cycles),
                "po_t": po[:, 0], "po_node": po[:, 1].astype(np.int64),
                "po_sku": po[:, 2].astype(np.int64), "po_qty": po[:, 3].astype(np.int64),
                "po_source": po[:, 4].astype(np.int64),
                "snapshots": np.asarray(self.snapshots, dtype=np.int64),
                "carried": np.asarray(self.carried),
                "unlimited": np.asarray(self.unlimited), "unit_cost": self.unit_cost}
