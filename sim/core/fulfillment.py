"""Node operations: shipments queue for pickers who work in shifts; carriers collect at cutoffs.

A ``Station`` is one node's pick/pack floor: ``pickers`` servers take shipments from a priority
queue (lower priority value first, then first-come-first-served) and work only during shifts.
Pick time is ``minutes_per_order + minutes_per_unit × units`` scaled by a unit-mean gamma draw
(exponential when ``time_cv`` is 1), so a node is an M/G/c queue with vacations.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
from librt.strings import write_f64_le, write_i64_le

from rules.schema import CarrierOutcome
from sim.core.clock import Clock
from sim.core.events import Columns, Ev, EventSink
from sim.core.network import ShiftCalendar
from sim.core.records import HOURS
from sim.core.rng import BlockSampler
from sim.scenario import Node
from sim.scenario.dists import Gamma

__all__ = ["Shipment", "Station", "SHIPMENT_COLUMNS", "ShipmentTable"]

_PICK_START: Final = int(Ev.PICK_START)
#: the heap functions as compiled statics (a module attribute is a generic lookup)
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop


class Shipment:
    """One parcel from one node: its lines, carrier choice, costs and timestamps."""

    __slots__ = ("id", "order", "node", "skus", "qtys", "units", "weight", "zone", "distance",
                 "service", "ship_cost", "handling", "priority", "created", "pick_start",
                 "packed", "shipped", "delivered", "carrier_rule", "cogs", "bumped",
                 "rejected", "short", "carrier_out", "switched", "host", "riders",
                 "pick_units", "parcel_weight", "eta", "saved", "span")

    def __init__(self, sid: int, order: int, node: int, skus: list[int], qtys: list[int],
                 units: int, weight: float, created: float):
        self.id, self.order, self.node = sid, order, node
        self.skus, self.qtys, self.units, self.weight = skus, qtys, units, weight
        self.created = created
        self.zone = 0
        self.distance = 0.0
        self.service = -1
        self.ship_cost = self.handling = 0.0
        self.priority = 0
        self.pick_start = self.packed = self.shipped = self.delivered = -1.0
        self.carrier_rule = ""
        self.cogs = 0.0
        self.bumped = 0         # pickups missed because the carrier's pickup was full
        self.rejected = False   # the node rejected it at pick (its lines were re-sourced)
        self.short: list[int] | None = None     # per line, units oversold on stale stock
        self.carrier_out: CarrierOutcome | None = None     # the outcome that chose the service
        self.switched = False       # moved to another service because the pickup was full
        # Consolidation: a rider travels in its host's parcel (same customer and address).
        self.host = -1              # id of the parcel's host shipment (-1: its own parcel)
        self.riders: Sequence[Shipment] = ()      # shipments riding in this parcel
        self.pick_units = units     # units picked for the parcel (host + riders)
        self.parcel_weight = weight
        self.eta = 0.0              # scheduled delivery when the service was chosen
        self.saved = 0.0            # a rider's saving against shipping it on its own
        self.span: tuple[float, float] = (created, created)  # parcel's first, last order time


#: Columns of the shipments table: every ``Shipment`` field except its lines.
SHIPMENT_COLUMNS = ("id", "order", "node", "units", "weight", "zone", "distance", "service",
                    "ship_cost", "handling", "priority", "created", "pick_start", "packed",
                    "shipped", "delivered", "carrier_rule", "cogs", "bumped", "switched", "host",
                    "saved")


#: dtype of each column (what ``numpy.asarray`` makes of the field's values; text as objects).
_DTYPES: dict[str, type] = {
    "id": np.int64, "order": np.int64, "node": np.int64, "units": np.int64,
    "weight": np.float64, "zone": np.int64, "distance": np.float64, "service": np.int64,
    "ship_cost": np.float64, "handling": np.float64, "priority": np.int64,
    "created": np.float64, "pick_start": np.float64, "packed": np.float64,
    "shipped": np.float64, "delivered": np.float64, "carrier_rule": object,
    "cogs": np.float64, "bumped": np.int64, "switched": bool, "host": np.int64,
    "saved": np.float64}


class ShipmentTable:
    """The shipments table, a row added when a shipment is done with: a long run then keeps
    22 typed numbers per shipment (``Columns``) instead of its object, line lists and float
    objects."""

    __slots__ = ("_table",)
    #: rows buffered before they become chunks
    BUFFER: Final = Columns.BUFFER

    def __init__(self) -> None:
        self._table = Columns({c: _DTYPES[c] for c in SHIPMENT_COLUMNS})

    def __len__(self) -> int:
        return len(self._table)

    def add(self, ship: Shipment) -> None:
        """Append ``ship``'s row (its fields must be final), written field by field in
        ``SHIPMENT_COLUMNS`` order: compiled, no number becomes an object."""
        out = self._table.out
        write_i64_le(out[0], ship.id)
        write_i64_le(out[1], ship.order)
        write_i64_le(out[2], ship.node)
        write_i64_le(out[3], ship.units)
        write_f64_le(out[4], ship.weight)
        write_i64_le(out[5], ship.zone)
        write_f64_le(out[6], ship.distance)
        write_i64_le(out[7], ship.service)
        write_f64_le(out[8], ship.ship_cost)
        write_f64_le(out[9], ship.handling)
        write_i64_le(out[10], ship.priority)
        write_f64_le(out[11], ship.created)
        write_f64_le(out[12], ship.pick_start)
        write_f64_le(out[13], ship.packed)
        write_f64_le(out[14], ship.shipped)
        write_f64_le(out[15], ship.delivered)
        self._table.objects[16].append(ship.carrier_rule)
        write_f64_le(out[17], ship.cogs)
        write_i64_le(out[18], ship.bumped)
        out[19].append(1 if ship.switched else 0)
        write_i64_le(out[20], ship.host)
        write_f64_le(out[21], ship.saved)
        self._table.added()

    def columns(self) -> dict[str, np.ndarray]:
        """One array per column of ``SHIPMENT_COLUMNS``, rows in shipment-id order."""
        if not len(self._table):
            return {c: np.zeros(0) for c in SHIPMENT_COLUMNS}
        whole = self._table.arrays()
        order = np.argsort(whole["id"], kind="stable")
        return {c: whole[c][order] for c in SHIPMENT_COLUMNS}


class Station:
    """The pick/pack floor of one node.

    Pickers are counted, not modelled as processes: a shipment goes straight to an idle picker
    or waits in a heap keyed (priority, arrival sequence); a picker that finishes takes the
    next one. Each pick is then a single scheduled call (plus one when it must wait for the
    shift), which keeps the hot path to the events that carry time."""

    def __init__(self, clock: Clock, index: int, spec: Node, calendar: ShiftCalendar,
                 rng, log: EventSink, on_packed: Callable[[Shipment], None],
                 on_pick: Callable[[Shipment], bool] | None = None):
        self.clock, self.env = clock, clock.env
        self.index, self.spec, self.calendar = index, spec, calendar
        self.log, self.on_packed = log, on_packed
        self.on_pick = on_pick          # False: the shelf check rejected the shipment
        self.busy_hours = 0.0
        self.in_queue = 0                 # shipments queued or being picked
        self._assigned: dict[int, int] = {}     # day → shipments submitted that day
        self._heap: list[tuple[int, int, Shipment]] = []
        self._idle = self.pickers = spec.capacity.pickers
        self._override: int | None = None      # pickers while a capacity event lasts
        self.down = 0                          # outages in force (no picking)
        self._seq = 0                   # arrival order in the queue (ties of priority)
        cap = spec.capacity
        self._per_order_h = cap.minutes_per_order / 60.0
        self._per_unit_h = cap.minutes_per_unit / 60.0
        self._noise = BlockSampler(Gamma(kind="gamma", mean=1.0, cv=cap.time_cv), rng)

    def expected_pick_hours(self, units: int) -> float:
        """Mean pick/pack time of a shipment of ``units``."""
        return self._per_order_h + self._per_unit_h * units

    def ready_delay(self, now: float, units: int) -> float:
        """Expected hours from ``now`` until a new shipment of ``units`` is packed (shift wait
        plus mean pick time; queueing ignored, as a DOM's promise engine would)."""
        return self.calendar.wait(now) + self.expected_pick_hours(units)

    def assigned_on(self, day: int) -> int:
        """Shipments submitted on ``day`` (days since the start; for daily order capacity)."""
        return self._assigned.get(day, 0)

    def submit(self, shipment: Shipment) -> None:
        """Queue a reserved shipment for picking."""
        day = int(self.clock.now // HOURS)
        self._assigned[day] = self._assigned.get(day, 0) + 1
        self.in_queue += 1
        if self._idle > 0 and not self._heap:       # an idle picker takes it straight away
            self._idle -= 1
            self._start(shipment)
            return
        self._seq += 1
        _heappush(self._heap, (shipment.priority, self._seq, shipment))
        if self._idle > 0:
            self._idle -= 1
            self._next()

    def set_pickers(self, pickers: int | None) -> None:
        """Work with ``pickers`` pickers from now (None: the node's own number again)."""
        self._override = pickers
        self._staff()

    def set_down(self, down: bool) -> None:
        """An outage starts (no picking) or one ends."""
        self.down += 1 if down else -1
        self._staff()

    def _staff(self) -> None:
        """Apply the pickers now on shift: more start on queued work at once; fewer means
        pickers who finish their current pick go home."""
        pickers = 0 if self.down else (self.spec.capacity.pickers if self._override is None
                                       else self._override)
        added, self.pickers = pickers - self.pickers, pickers
        self._idle += added
        while self._idle > 0 and self._heap and added > 0:
            self._idle -= 1
            added -= 1
            self._next()

    def take_queue(self) -> list[Shipment]:
        """Remove every shipment waiting for a picker (not yet started), in queue order."""
        queued = [s for _, _, s in sorted(self._heap)]
        self._heap.clear()
        self.in_queue -= len(queued)
        return queued

    def reprioritise(self, priority_of: Callable[[Shipment], int]) -> None:
        """Give every queued shipment the priority ``priority_of`` says now (arrival order
        still breaks ties)."""
        if not self._heap:
            return
        for k, (_, seq, s) in enumerate(self._heap):
            s.priority = priority_of(s)
            self._heap[k] = (s.priority, seq, s)
        heapq.heapify(self._heap)

    def _next(self) -> None:
        """A picker is free: take the best queued shipment, waiting for the shift if needed."""
        if not self._heap:
            self._idle += 1
            return
        self._start(_heappop(self._heap)[2])

    def _start(self, s: Shipment) -> None:
        """A picker takes ``s``: now, or when the shift starts."""
        wait = self.calendar.wait(self.clock.now)
        if wait > 0:
            self.clock.call_in(wait, lambda _ev: self._pick(s))
        else:
            self._pick(s)

    def _pick(self, s: Shipment) -> None:
        if self.down or self._idle < 0:     # an outage, or fewer pickers on shift, began
            self._seq += 1                                              # while it waited
            _heappush(self._heap, (s.priority, self._seq, s))
            self._free()
            return
        if self.on_pick is not None and not self.on_pick(s):
            self.in_queue -= 1              # rejected at the shelf: the picker is free again
            self._free()
            return
        s.pick_start = now = self.clock.now
        self.log.add(now, _PICK_START, s.order, self.index, -1, s.units)
        duration = (self._per_order_h + self._per_unit_h * s.pick_units) * self._noise.next()
        self.clock.call_in(duration, lambda _ev: self._done(s, duration))

    def _done(self, s: Shipment, duration: float) -> None:
        self.busy_hours += duration
        self.in_queue -= 1
        self.on_packed(s)
        self._free()

    def _free(self) -> None:
        """A picker finished: take the next shipment, or go home if fewer are on shift now."""
        if self._idle < 0:
            self._idle += 1
        else:
            self._next()
