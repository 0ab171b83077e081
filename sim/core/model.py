"""The World: a SimPy model of one DOM network running one set of rules.

Read it as an outline. ``__init__`` builds everything a run needs; ``run()`` is five phases:
plan replenishment → start processes → run to horizon → drain → collect. The order pipeline is
one method per step: ``_arrive → _decide → _allocate → _reserve → (Station picks) → _packed``
(ship, transit, deliver); an order no node can fill goes ``_unfillable → _backorder/_wait`` until
a receipt releases it (``_release_backorders``).

Who owns what: ``OrderBook`` (``sim.core.records``) every order's fields and the orders table;
``Decisions`` (``sim.core.decisions``) the facts, the engine calls and the decision trace;
``Stock`` (``sim.core.inventory``) every stock number and replenishment; ``Station``
(``sim.core.fulfillment``) one node's pick floor; the ``EventLog`` every state change. Demand
is generated before the clock starts (``sim.core.demand``). ``run()`` returns a ``RunResult``.

This module and the other hot ones are compiled by mypyc (``sim.core.native``), so their
annotations are checked at run time. They read the time as ``clock.now``, a compiled
attribute the clock keeps equal to SimPy's ``env.now`` (a Python property: an order reads the
time about 20 times).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import simpy

from rules.engine import Engine
from rules.schema import SourcingOutcome
from sim.core.carrier import CHEAPEST_ON_TIME, ServicePicker
from sim.core.clock import Clock
from sim.core.decisions import Decisions, check_rule_references, check_rules, first_outcome
from sim.core.demand import Demand, generate_demand, generate_walk_ins
from sim.core.disruptions import Disruptions, NodeChange
from sim.core.emissions import shipment_co2_kg
from sim.core.errors import SimulationError
from sim.core.events import Ev, EventSink, make_event_log
from sim.core.fulfillment import Shipment, ShipmentTable, Station
from sim.core.inventory import LOST, LOST_TO_ONLINE, SOLD, Stock
from sim.core.network import Network, ServiceInfo, build_network, next_pickup
from sim.core.records import HOURS, Catalog, OrderBook, Status, Trace
from sim.core.returns import Return, ReturnDesk, return_columns
from sim.core.rng import BlockSampler, stream
from sim.core.sourcing import Ranker, SplitRule, choose_plan, coverage
from sim.scenario import Scenario
from sim.scenario.dists import Uniform

__all__ = ["Status", "World", "RunResult", "SimulationError", "check_rule_references"]

# Status values and event kinds as plain ints: the book's status column holds ints (compared
# on the hot path), and the event log takes ints. ``Final``: compiled, a read is a static, not a
# dict lookup of the module.
_IN_PROCESS: Final = int(Status.IN_PROCESS)
_DELIVERED: Final = int(Status.DELIVERED)
_BACKORDERED: Final = int(Status.BACKORDERED)
_CANCELLED: Final = int(Status.CANCELLED)
_ORDER_CREATED: Final = int(Ev.ORDER_CREATED)
_RESERVED: Final = int(Ev.RESERVED)
_PACKED: Final = int(Ev.PACKED)
_SHIPPED: Final = int(Ev.SHIPPED)
_DELIVERED_EV: Final = int(Ev.DELIVERED)
_DECIDED: Final = int(Ev.DECIDED)
_RELEASED: Final = int(Ev.RELEASED)
_NO_SERVICES: Final[frozenset[int]] = frozenset()      # no carrier service suspended


class _OrderView:
    """The state ranking reads for one order (see ``sim.core.sourcing.NodeView``): the order's
    fields from the ``OrderBook``, node state from stations and stock; ship costs cached."""

    __slots__ = ("w", "book", "i", "skus", "qtys", "region", "_costs")

    def __init__(self, world: World, i: int, skus: list[int], qtys: list[int]):
        self.w, self.book, self.i, self.skus, self.qtys = world, world.book, i, skus, qtys
        self.region = world.book.region[i]
        self._costs: dict[tuple[int, float], tuple] = {}

    def _estimate(self, n: int, weight_lb: float):
        hit = self._costs.get((n, weight_lb))
        if hit is None:
            w, book, i = self.w, self.book, self.i
            now = w.clock.now
            ready = now + w.stations[n].ready_delay(now, book.units[i])
            hit = w.picker.pick(CHEAPEST_ON_TIME, n, w._zone[n][self.region], weight_lb,
                                ready, book.deadline[i])
            self._costs[(n, weight_lb)] = hit
        return hit

    def ship_cost(self, n: int, weight_lb: float) -> float:
        return self._estimate(n, weight_lb)[1]

    def on_time(self, n: int) -> bool:
        book, i = self.book, self.i
        return self._estimate(n, book.weight[i])[2] <= book.deadline[i]

    def backlog(self, n: int) -> float:
        st = self.w.stations[n]
        return st.in_queue / st.spec.capacity.pickers

    def assigned_today(self, n: int) -> int:
        return self.w.stations[n].assigned_on(int(self.w.clock.now // HOURS))

    def days_of_supply(self, n: int) -> float:
        atp, daily = self.w.atp[n], self.w.net.daily_demand[n]
        return min(atp[s] / daily[s] if daily[s] > 0 else (math.inf if atp[s] > 0 else 0.0)
                   for s in self.skus)

    def co2_kg(self, n: int, weight_lb: float) -> float:
        svc = self._estimate(n, weight_lb)[0]
        return shipment_co2_kg(float(self.w.net.distance[n, self.region]), weight_lb,
                               svc.spec.mode == "air")

    def parcel_cost(self, n: int, lines: list[int]) -> float:
        skus, qtys = self.skus, self.qtys
        weight = self.w.catalog.weight_of([skus[j] for j in lines], [qtys[j] for j in lines])
        return self.ship_cost(n, weight)


@dataclass
class RunResult:
    """Flat tables of one run; everything reports, KPIs and stores read."""

    scenario: Scenario
    engine: str
    rulesets: dict[str, str]
    orders: dict[str, np.ndarray]
    shipments: dict[str, np.ndarray]
    events: EventSink    # per ``World(events=...)``: full, summary, none
    trace: Trace                 # a sequence of ``TraceRow``
    inventory: dict[str, np.ndarray]
    nodes: dict[str, np.ndarray]
    services: list[str]
    end_time: float
    meta: dict[str, Any] = field(default_factory=dict)
    #: (rule-set key, matched rules joined by ",") → the outcome those rules produced
    outcomes: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: store walk-in sales: t, node, sku, qty, outcome (inventory.SOLD / LOST / LOST_TO_ONLINE)
    walk_ins: dict[str, np.ndarray] = field(default_factory=dict)
    #: shipments nodes rejected at pick: order, node, missing lines, rerouted (re-sourced)
    rejections: dict[str, np.ndarray] = field(default_factory=dict)
    #: store pickup orders: order, ready (h), collected (h; NaN for a no-show), no_show
    pickups: dict[str, np.ndarray] = field(default_factory=dict)
    #: pre-orders released: order, hours from the SKU's launch to its allocation
    preorders: dict[str, np.ndarray] = field(default_factory=dict)
    #: customer returns, one row per line: order, due, node, sku, qty, restocked, cost, arrived
    returns: dict[str, np.ndarray] = field(default_factory=dict)


#: Every attribute of a World: a finished World lets go of them all (``World.run``). Compiled,
#: a World has no ``__dict__``, so this list, and ``World.__deletable__`` the same, name them
#: (tests/unit/test_run_memory.py checks both against what ``World`` assigns).
_RUN_STATE = ("sc", "engine", "net", "picker", "_handling", "_zone", "_distance", "ranker",
              "demand", "env", "clock", "log", "horizon", "weekday0", "catalog", "book",
              "decisions", "stock", "_launch_h", "_has_preorders", "_stale", "atp", "walk_ins",
              "_walk_in_outcome", "stations", "_accuracy", "_shelf", "_excluded", "_pickup_store",
              "_pickup_terms", "_pickup_draws", "_pickups", "_preorder_launch", "_preorder_release",
              "_inspected_lines", "_missing_lines", "_rejections", "_outage_reroutes", "_desk",
              "_returns", "_delay", "_live", "_shipments", "_next_shipment", "_holds",
              "_sourcing_plans", "_split_rules", "_split_penalty", "_dates", "_waiting", "_charges",
              "_rank0", "_nearest", "_closed", "disruptions", "_n_down", "_carrier_events",
              "_drained", "_pickup_loads", "_batch", "_order_by", "_consol", "_window_hours",
              "_hold_hours", "_parcels", "_held", "_holds_orders", "_walk_in_rows")


class World:
    """The SimPy model of one scenario under one engine's rules: built whole by ``__init__``,
    simulated once by ``run()``."""

    __deletable__ = ("sc", "engine", "net", "picker", "_handling", "_zone", "_distance", "ranker",
                     "demand", "env", "clock", "log", "horizon", "weekday0", "catalog", "book",
                     "decisions", "stock", "_launch_h", "_has_preorders", "_stale", "atp",
                     "walk_ins", "_walk_in_outcome", "stations", "_accuracy", "_shelf", "_excluded",
                     "_pickup_store", "_pickup_terms", "_pickup_draws", "_pickups",
                     "_preorder_launch", "_preorder_release", "_inspected_lines", "_missing_lines",
                     "_rejections", "_outage_reroutes", "_desk", "_returns", "_delay", "_live",
                     "_shipments", "_next_shipment", "_holds", "_sourcing_plans", "_split_rules",
                     "_split_penalty", "_dates", "_waiting", "_charges", "_rank0", "_nearest",
                     "_closed", "disruptions", "_n_down", "_carrier_events", "_drained",
                     "_pickup_loads", "_batch", "_order_by", "_consol", "_window_hours",
                     "_hold_hours", "_parcels", "_held", "_holds_orders", "_walk_in_rows")

    def __init__(self, scenario: Scenario, engine: Engine, demand: Demand | None = None,
                 events: str = "full"):
        """``events``: what the event log keeps, ``full`` (every row), ``summary`` (counts and
        sums per kind) or ``none``; nothing else in the run depends on it."""
        check_rules(scenario, engine)
        self.sc, self.engine = scenario, engine
        self.net: Network = build_network(scenario)
        self.picker = ServicePicker(self.net)
        # Zone and distance per node × region as Python numbers (read per shipment), and
        # each node's handling cost per order and per unit.
        self._handling = [(n.handling.per_order, n.handling.per_unit) for n in scenario.nodes]
        self._zone: list[list[int]] = self.net.zone.tolist()
        self._distance: list[list[float]] = self.net.distance.tolist()
        self.ranker = Ranker(self.net)
        self.demand = demand if demand is not None else generate_demand(scenario)
        self.env = simpy.Environment()
        self.clock = Clock(self.env)
        self.log = make_event_log(events)
        self.horizon = scenario.horizon_days * HOURS
        self.weekday0 = self.net.weekday0
        # Orders and decisions
        self.catalog = Catalog(scenario.skus)
        self.book = OrderBook(self.demand, self.catalog)
        self.decisions = Decisions(engine, self.clock, scenario, self.book, self.weekday0)
        # Stock and operations
        self.stock = Stock(self.clock, self.net, self.log, self.horizon,
                           scenario.warmup_days * HOURS, self._release_backorders)
        # Pre-orders: launch hour per pre-order SKU (0 for others); stock arrives at launch.
        self._launch_h = [max(0.0, (sku.launch_date - scenario.start_date).days * HOURS)
                          if sku.preorder and sku.launch_date is not None else 0.0
                          for sku in scenario.skus]
        self.stock.hold_until_launch(self._launch_h)
        self._has_preorders = any(self._launch_h)
        # What the DOM sees of stock: the real ATP, or a copy synced periodically.
        self._stale = scenario.brokering.atp_sync_minutes is not None
        self.atp = [row[:] for row in self.stock.atp] if self._stale else self.stock.atp
        self.walk_ins = generate_walk_ins(scenario, self.net.carried)
        self._walk_in_outcome = [SOLD] * self.walk_ins.n
        w = self.walk_ins     # time, store, SKU, units of each walk-in sale, as Python lists
        self._walk_in_rows: tuple[list[float], list[int], list[int], list[int]] = (
            w.t.tolist(), w.node.tolist(), w.sku.tolist(), w.qty.tolist())
        seed = scenario.seed
        self.stations = [Station(self.clock, n, spec, self.net.calendars[n],
                                 stream(seed, f"service/{spec.name}"), self.log, self._packed,
                                 self._shelf_check if spec.record_accuracy < 1
                                 or scenario.brokering.atp_sync_minutes else None)
                         for n, spec in enumerate(scenario.nodes)]
        # Record accuracy: each reserved line is found with the node's accuracy (stream
        # accuracy/<node>); a rejected shipment's lines are re-sourced without that node.
        self._accuracy = [spec.record_accuracy for spec in scenario.nodes]
        self._shelf = [BlockSampler(Uniform(kind="uniform", low=0.0, high=1.0),
                                    stream(seed, f"accuracy/{spec.name}"))
                       for spec in scenario.nodes]
        self._excluded: dict[int, set[int]] = {}
        # Store pickup (BOPIS/curbside): per region the nearest open store, per channel the
        # pickup terms; the customer's delay and no-show come from stream pickup/<channel>.
        stores = [n for n, spec in enumerate(scenario.nodes)
                  if spec.kind == "store" and not spec.closed]
        self._pickup_store = ([min(stores, key=lambda n: (self.net.distance[n, r], n))
                               for r in range(len(scenario.regions))] if stores
                              else [-1] * len(scenario.regions))
        self._pickup_terms = [ch.pickup for ch in scenario.channels]
        self._pickup_draws = [(BlockSampler(ch.pickup.pickup_delay_hours,
                                            stream(seed, f"pickup/{ch.name}")),
                               BlockSampler(Uniform(kind="uniform", low=0.0, high=1.0),
                                            stream(seed, f"no-show/{ch.name}")))
                              if ch.pickup else None for ch in scenario.channels]
        self._pickups: list[tuple[int, float, float, int]] = []   # order, ready, collected, no-show
        self._preorder_launch: dict[int, float] = {}     # pre-order → its latest launch hour
        self._preorder_release: list[tuple[int, float]] = []   # order, hours after launch
        self._inspected_lines = [0] * len(scenario.nodes)
        self._missing_lines = [0] * len(scenario.nodes)
        self._rejections: list[tuple[int, int, int, int]] = []  # order, node, missing, outcome
        self._outage_reroutes = [0] * len(scenario.nodes)   # moved off a node by an outage
        self._desk = ReturnDesk(scenario, self.net) if scenario.returns else None
        self._returns: list[Return] = []
        self._delay = [BlockSampler(s.spec.delay_days, stream(seed, f"transit/{s.label}"))
                       for s in self.net.services]
        # Shipments: those not done with yet by id; a done one leaves only its table row.
        self._live: dict[int, Shipment] = {}
        self._shipments = ShipmentTable()
        self._next_shipment = 0
        #: id(strategy) → (it, units each node holds back under it)
        self._holds: dict[int, tuple[Any, list[int]]] = {}
        #: id(split outcome) → (it, its fields as a ``SplitRule``)
        self._split_rules: dict[int, tuple[Any, SplitRule]] = {}
        #: id(sourcing decision) → (it, primary outcome, strategies, any bypass dates)
        self._sourcing_plans: dict[int, tuple] = {}
        self._split_penalty = scenario.costs.split_penalty
        # Calendar date of every day index the clock can reach (horizon plus the drain cap).
        self._dates = [scenario.start_date + dt.timedelta(days=k)
                       for k in range(math.ceil(scenario.horizon_days + scenario.drain_days) + 1)]
        # Waiting orders: per SKU, who waits for it; per order, the node×SKU lines it counts
        # against (see _charge_nodes), from the primary strategy's ranking or nearest first.
        self._waiting: dict[int, list[int]] = defaultdict(list)
        self._charges: dict[int, list[tuple[int, int, int]]] = {}
        self._rank0: list[int] = []
        self._nearest = np.argsort(self.net.distance, axis=0, kind="stable").T.tolist()
        self._closed = [n.closed for n in scenario.nodes]
        # Scheduled events: nodes down now (outages in force), carrier and supplier effects.
        self.disruptions = Disruptions(scenario, self.net)
        self._n_down = 0     # outages in force anywhere (each station knows its own)
        self._carrier_events = self.disruptions.has_carrier_events
        if any(s.kind.startswith("supplier") for s in scenario.events):
            self.stock.supply_terms = self.disruptions.supply_terms
        self._drained: simpy.Event | None = None       # set by _drain: queues are empty
        self._pickup_loads: dict[tuple[int, int, float], int] = defaultdict(int)
        # Batch brokering: orders waiting for the next batch (None: decided on arrival).
        bro = scenario.brokering
        self._batch: list[int] | None = [] if bro.mode == "batch" else None
        ranks = {t: k for k, t in enumerate(bro.tier_rank)}
        tier_rank = [ranks.get(t, len(ranks)) for t in self.demand.tier_names]
        b = self.book
        keys = {"promise": lambda i: b.deadline[i], "value": lambda i: -b.value[i],
                "arrival": lambda i: b.t[i], "tier": lambda i: tier_rank[b.tier[i]]}
        self._order_by = [keys[k] for k in bro.order_by]
        # Consolidation: per (customer, address) the latest parcel still waiting to be picked,
        # and orders held for a companion (repeat-customer channels that ship parcels only).
        self._consol = consol = bro.consolidation
        self._window_hours = consol.window_hours if consol is not None else 0.0
        self._hold_hours = consol.hold_hours if consol is not None else 0.0
        self._parcels: dict[tuple[int, int], Shipment] = {}
        self._held: dict[tuple[int, int], list[int]] = {}
        self._holds_orders = [bool(self._consol and self._consol.hold_hours and ch.customers
                                   and ch.pickup is None) for ch in scenario.channels]

    # -- run --------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Simulate the horizon, then let queued work drain; return the run's tables.

        A run allocates millions of small objects, none of them in reference cycles (tested:
        the cyclic garbage left after a run does not grow with its orders), so the cyclic
        garbage collector only costs time while it runs (~9% of a large run rescanning them):
        it is off for the run and back on after. Results do not depend on it.

        The model's objects form reference cycles among themselves (the clock's pending
        events call back into the model), so once the tables are out the World lets go of
        its state: its shipments and the rest are then freed by reference counting at once
        instead of waiting for a full cyclic collection (1.6 s after a 114,000-order run). A
        World runs once."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._plan_replenishment()
            self._start_processes()
            self._run_to_horizon()
            self._drain()
            return self._collect()
        finally:
            # Events still scheduled (returns and deliveries due after the end) never happen:
            # dropping them frees their objects now, not at the next collection.
            self.clock.clear()
            for name in _RUN_STATE:
                delattr(self, name)
            if collecting:
                gc.enable()

    def _plan_replenishment(self) -> None:
        """Decide the replenishment policy of every stocked node×SKU once, from forecast
        demand and lead time (closed and unlimited nodes are not replenished)."""
        sc, net, stock = self.sc, self.net, self.stock
        for n, node in enumerate(sc.nodes):
            if node.stock.unlimited or node.closed:
                continue
            for k in np.flatnonzero(net.carried[n]).tolist():
                daily = float(net.daily_demand[n, k])
                dec = self.decisions.reorder(node, sc.skus[k], net.sku_class[k], daily,
                                             stock.lead_mean[n])
                stock.set_policy(n, k, dec.outcome, daily)

    def _start_processes(self) -> None:
        """Stock's review and forecast processes, the order arrivals and store walk-ins."""
        self.stock.start()
        if self.sc.events:
            self.disruptions.start(self.env, self.log, self._node_event)
        self.clock.in_turn(self.book.t, self._arrive)         # the orders arrive
        if self.walk_ins.n:
            self.clock.in_turn(self._walk_in_rows[0], self._walk_in)
        bro, env = self.sc.brokering, self.env
        if self._batch is not None:       # most urgent first (``Brokering.order_by``)
            env.process(self._every(bro.interval_minutes, self._decide_batch))
        if bro.atp_sync_minutes is not None:      # self._stale, spelt so mypy knows the type
            env.process(self._every(bro.atp_sync_minutes, self._sync_atp))
        if bro.reprioritise_minutes and self.decisions.has_priority:
            env.process(self._every(bro.reprioritise_minutes, self._reprioritise))

    def _run_to_horizon(self) -> None:
        """Simulate until the horizon (where a last batch decides any waiting orders) and close
        the stock measurement window."""
        self.clock.run_until(self.horizon)
        for key in list(self._held):     # nothing arrives any more: stop holding
            self._release_held(key)
        if self._batch:
            self._decide_batch()
        self.stock.close_window()

    def _drain(self) -> None:
        """No orders arrive after the horizon: run on until the pick queues are empty, for at
        most ``drain_days``."""
        if not self._queued():
            return
        env = self.env
        self._drained = env.event()
        cap = env.timeout(self.sc.drain_days * HOURS)
        self.clock.run_until_processed(env.any_of([self._drained, cap]))
        if self._queued():
            busy = max(self.stations, key=lambda st: st.in_queue)
            raise SimulationError(
                f"drain_days: {self._queued()} shipments still queued {self.sc.drain_days:g} "
                f"days after the horizon (node {busy.spec.name} has {busy.in_queue}): pick "
                "capacity is too low for the demand; add pickers or raise drain_days")

    def _collect(self) -> RunResult:
        """The run's tables: orders from the book, shipments, stock, node hours, decisions."""
        sc, d = self.sc, self.decisions
        t0 = sc.warmup_days * HOURS
        nodes = {"busy_hours": np.array([st.busy_hours for st in self.stations]),
                 "open_hours": self._picker_hours(t0),
                 "inspected_lines": np.asarray(self._inspected_lines, dtype=np.int64),
                 "missing_lines": np.asarray(self._missing_lines, dtype=np.int64),
                 "outage_reroutes": np.asarray(self._outage_reroutes, dtype=np.int64)}
        pk = np.asarray(self._pickups, dtype=float).reshape(-1, 4)
        pickups = {"order": pk[:, 0].astype(np.int64), "ready": pk[:, 1],
                   "collected": pk[:, 2], "no_show": pk[:, 3].astype(bool)}
        pre = np.asarray(self._preorder_release, dtype=float).reshape(-1, 2)
        preorders = {"order": pre[:, 0].astype(np.int64), "late_hours": pre[:, 1]}
        rej = np.asarray(self._rejections, dtype=np.int64).reshape(-1, 4)
        rejections = {"order": rej[:, 0], "node": rej[:, 1], "missing_lines": rej[:, 2],
                      "rerouted": rej[:, 3].astype(bool)}
        w = self.walk_ins
        walk_ins = {"t": w.t, "node": w.node, "sku": w.sku, "qty": w.qty,
                    "outcome": np.asarray(self._walk_in_outcome, dtype=np.int64)}
        return RunResult(sc, self.engine.name, d.ruleset_keys(), self.book.table(),
                         self._shipment_columns(),
                         self.log, d.trace,
                         self.stock.tables(), nodes, [s.label for s in self.net.services],
                         self.clock.now, outcomes=d.outcomes(), walk_ins=walk_ins,
                         rejections=rejections, pickups=pickups, preorders=preorders,
                         returns=return_columns(self._returns))

    def _shipment_columns(self) -> dict[str, np.ndarray]:
        """The shipments table: every shipment not rejected, in id order (those not done with
        yet, if any, as they stand)."""
        for ship in self._live.values():
            self._shipments.add(ship)
        return self._shipments.columns()

    def _picker_hours(self, t0: float) -> np.ndarray:
        """Picker shift hours per node in the window [t0, horizon): shift hours × pickers,
        less (or plus) the pickers outages and capacity events took away (or added)."""
        sc, cal = self.sc, self.net.calendars
        hours = np.array([c.open_hours(t0, self.horizon) * n.capacity.pickers
                          for c, n in zip(cal, sc.nodes, strict=True)])
        for ch in self.disruptions.node_changes:
            a, b = max(ch.start, t0), min(ch.end, self.horizon)
            if b > a:
                change = (ch.pickers or 0) - sc.nodes[ch.node].capacity.pickers
                hours[ch.node] += change * cal[ch.node].open_hours(a, b)
        return np.maximum(hours, 0.0)

    # -- order pipeline ---------------------------------------------------------------------

    def _walk_in(self, k: int) -> None:
        """Walk-in sale ``k``: its shopper takes the units off the shelf, or leaves."""
        _, nodes, skus, qtys = self._walk_in_rows
        n, s, q = nodes[k], skus[k], qtys[k]
        stock, log, now, outcome = self.stock, self.log, self.clock.now, self._walk_in_outcome
        if self.stations[n].down:    # the store is closed: the shopper leaves
            stock.turn_away(n, s, q)
            outcome[k] = LOST
            log.add(now, Ev.WALK_IN_LOST, node=n, sku=s, qty=q)
            return
        res = outcome[k] = stock.sell_walk_in(n, s, q)
        if res == SOLD:
            log.add(now, Ev.WALK_IN_SOLD, node=n, sku=s, qty=q)
        else:
            log.add(now, Ev.WALK_IN_LOST, node=n, sku=s, qty=q,
                    value=float(res == LOST_TO_ONLINE))

    def _arrive(self, i: int) -> None:
        book = self.book
        self.log.add(self.clock.now, _ORDER_CREATED, i, -1, -1, book.units[i], book.value[i])
        if self._holds_orders[book.channel[i]]:
            key = (book.customer[i], book.address[i])
            group = self._held.get(key)
            if group is None:            # the customer's first order starts the hold
                self._held[key] = [i]
                self._later(self._hold_hours, lambda: self._release_held(key))
            else:
                group.append(i)
            return
        self._enqueue(i)

    def _enqueue(self, i: int) -> None:
        """Broker order ``i`` now, or put it in the next batch."""
        if self._batch is None:
            self._broker(i)
        else:
            self._batch.append(i)

    def _release_held(self, key: tuple[int, int]) -> None:
        """A consolidation hold ends: the customer's orders held together go to brokering, in
        arrival order (later ones can then join the first one's parcel)."""
        book, now = self.book, self.clock.now
        for i in self._held.pop(key, ()):
            book.held_h[i] = now - book.t[i]
            self._enqueue(i)

    def _broker(self, i: int) -> None:
        """The DOM's first decision for order ``i``: allocate it, or handle it as unfillable
        (a pre-order of a SKU not launched yet waits for its launch)."""
        book, now = self.book, self.clock.now
        book.decided_at[i] = now
        launch = (max(self._launch_h[s] for s in book.lines(i)[0]) if self._has_preorders
                  else 0.0)
        if launch > now:
            self._preorder_launch[i] = launch
            self._wait(i)
            for s in set(book.lines(i)[0]):
                self._waiting[s].append(i)
            return
        ok, sourcing = self._decide(i, retry=False)
        book.first_fill[i] = ok
        if not ok:
            self._unfillable(i, sourcing)

    def _every(self, minutes: float, action) -> Any:
        """A process running ``action()`` every ``minutes`` until the horizon (batch brokering,
        ATP syncs, re-prioritising)."""
        interval = minutes / 60.0
        while self.clock.now < self.horizon:
            yield self.env.timeout(interval)
            action()

    def _sync_atp(self) -> None:
        """Periodic visibility: the DOM's copy of ATP is refreshed from the real one."""
        for seen, real in zip(self.atp, self.stock.atp, strict=True):
            seen[:] = real

    def _reprioritise(self) -> None:
        """Re-decide the pick priority of every queued shipment (age-based rules see now)."""
        nodes, decide = self.sc.nodes, self.decisions.reprioritised
        for node, station in zip(nodes, self.stations, strict=True):
            station.reprioritise(functools.partial(_swapped, decide, node))

    def _decide_batch(self) -> None:
        batch, self._batch = self._batch or [], []
        for i in sorted(batch, key=self._batch_key):
            self._broker(i)

    def _batch_key(self, i: int) -> tuple:
        """Sort key of order ``i`` in a batch: the ``order_by`` keys, then the order id."""
        return (*(key(i) for key in self._order_by), i)

    def _decide(self, i: int, retry: bool,
                lines: tuple[list[int], list[int]] | None = None) -> tuple[bool, SourcingOutcome]:
        """Source, split and allocate order ``i`` (or only ``lines`` of it, re-sourcing a
        rejected shipment), trying the sourcing rule's strategies in order, never at a node
        that rejected the order. Returns whether it was allocated, and the sourcing outcome."""
        book, decisions = self.book, self.decisions
        facts, src = decisions.sourcing(i, retry)
        primary, strategies, dated = self._strategies(src)
        skus, qtys = book.lines(i) if lines is None else lines
        excluded = self._excluded.get(i)
        view = _OrderView(self, i, skus, qtys)
        groups = self.catalog.groups(skus)
        today = self._dates[int(self.clock.now // HOURS)] if dated else None
        bypass = dated and today in primary.capacity_bypass_dates
        book.sourcing_rule[i] = src.winner
        host = primary.consolidate and self._consol is not None and not retry
        if host and self._join_parcel(i, primary, facts, view, skus, qtys, bypass):
            return True, primary
        fillable = 0
        for k, strat in enumerate(strategies):
            ranked = self.ranker.rank(strat, view.region, book.units[i], book.weight[i], view,
                                      bypass or (dated and today in strat.capacity_bypass_dates))
            if self._pickup_terms[book.channel[i]] is not None:    # picked where it is collected
                store = self._pickup_store[book.region[i]]
                kinds = strat.pickup_transfer_from     # or shipped there from these kinds
                ranked = ([store] if store >= 0 else []) + (
                    [n for n in ranked if n != store and self.sc.nodes[n].kind in kinds]
                    if kinds and store >= 0 else [])
            if excluded:
                ranked = [n for n in ranked if n not in excluded]
            if self._n_down:
                stations = self.stations
                ranked = [n for n in ranked if not stations[n].down]
            if k == 0:
                self._rank0 = ranked
            hold = self._hold(strat)
            cov = coverage(ranked, skus, qtys, self.atp, hold, groups)
            fillable = max(fillable, cov.lines_fillable)
            split = decisions.split(facts, i, cov)
            so = self._split_rule(first_outcome(split.outcome))
            if groups is not None and not so.keep_groups:
                cov = coverage(ranked, skus, qtys, self.atp, hold, None)
            plan = choose_plan(cov, so, len(skus), view.parcel_cost, self._split_penalty)
            if plan is not None:
                book.split_rule[i] = split.winner
                if not retry:
                    book.lines_fillable[i] = len(skus)
                self._allocate(i, plan, skus, qtys, facts, retry, host)
                return True, primary
        if not retry:
            book.lines_fillable[i] = fillable
        return False, primary

    def _strategies(self, src) -> tuple[SourcingOutcome, tuple, bool]:
        """A sourcing decision's primary outcome, every strategy it tries in order, and whether
        any has capacity-bypass dates (worked out once per distinct decision)."""
        known = self._sourcing_plans.get(id(src))
        if known is None or known[0] is not src:
            outcomes = src.outcome if isinstance(src.outcome, tuple) else (src.outcome,)
            strategies = tuple(s for o in outcomes for s in o.strategies)
            known = self._sourcing_plans[id(src)] = (
                src, outcomes[0], strategies, any(s.capacity_bypass_dates for s in strategies))
        return known[1], known[2], known[3]

    def _allocate(self, i: int, plan, skus, qtys, facts, retry: bool, host: bool) -> None:
        """Order ``i`` is in process with one shipment per (node, lines) of ``plan``; with
        ``host``, its parcels may take the customer's later orders (consolidation)."""
        self._start_fulfilment(i, len(plan), retry)
        for node, lines in plan:
            if len(lines) == len(skus):  # every line (in order): share the lists, no copies
                ship = self._reserve(i, node, skus, qtys, facts)
            else:
                ship = self._reserve(i, node, [skus[j] for j in lines],
                                     [qtys[j] for j in lines], facts)
            if host and ship.service >= 0:
                ship.span = (self.book.t[i], self.book.t[i])
                self._parcels[(self.book.customer[i], self.book.address[i])] = ship

    def _start_fulfilment(self, i: int, shipments: int, retry: bool) -> None:
        """Book-keeping of an order leaving the waiting states with ``shipments`` parcels."""
        book, now = self.book, self.clock.now
        if self._preorder_launch:
            launch = self._preorder_launch.pop(i, None)
            if launch is not None:
                self._preorder_release.append((i, now - launch))
        if self._charges:
            self._uncharge(i)
        book.status[i] = _IN_PROCESS
        self.log.add(now, _RELEASED if retry else _DECIDED, i, -1, -1, shipments)
        book.n_shipments[i] += shipments
        book.open_shipments[i] += shipments

    # -- consolidation ----------------------------------------------------------------------

    def _join_parcel(self, i: int, strat, facts, view: _OrderView, skus: list[int],
                     qtys: list[int], bypass: bool) -> bool:
        """Put order ``i`` whole into the customer's open parcel to the same address, if the
        parcel is not picked yet, its orders stay within the window, its node is one the
        sourcing strategy would use and has the stock, the parcel's service still meets the
        promise and merging costs less than a parcel of its own. Returns whether it joined."""
        book = self.book
        host = self._parcels.get((book.customer[i], book.address[i]))
        if host is None or host.pick_start >= 0 or host.rejected:
            return False
        t = book.t[i]
        first, last = min(host.span[0], t), max(host.span[1], t)
        n = host.node
        if last - first > self._window_hours or host.eta > book.deadline[i] or \
                n in self._excluded.get(i, ()) or self.stations[n].down:
            return False
        hold = self._hold(strat)[n]
        atp = self.atp[n]
        if any(atp[skus[j]] - hold < qtys[j] for j in range(len(skus))):
            return False
        weight = book.weight[i]
        svc = self.net.services[host.service]
        before = svc.rate(host.zone, host.parcel_weight)
        extra = svc.rate(host.zone, host.parcel_weight + weight) - before
        spec = self.sc.nodes[n]
        saved = spec.handling.per_order + view.ship_cost(n, weight) - extra
        if saved <= 0 or n not in self.ranker.rank(strat, view.region, book.units[i], weight,
                                                   view, bypass):
            return False
        self._start_fulfilment(i, 1, False)
        book.split_rule[i] = "consolidated"
        book.lines_fillable[i] = len(skus)
        rider = self._new_shipment(i, n, skus, qtys)
        rider.handling = spec.handling.per_unit * rider.units
        rider.zone, rider.distance, rider.service = host.zone, host.distance, host.service
        rider.carrier_rule, rider.host, rider.saved = "consolidated", host.id, saved
        host.riders = [*host.riders, rider]
        host.span = (first, last)
        host.pick_units += rider.units
        host.parcel_weight += weight
        self._price_parcel(host)
        return True

    def _price_parcel(self, host: Shipment) -> None:
        """Share the parcel's rate among its orders in proportion to their weight."""
        if not host.riders:
            return
        rate = self.net.services[host.service].rate(host.zone, host.parcel_weight)
        for m in (host, *host.riders):
            m.ship_cost = rate * m.weight / host.parcel_weight

    def _shelf_check(self, ship: Shipment) -> bool:
        """At pick start, each reserved line of the parcel is on the shelf with the node's
        record accuracy. A missing line is phantom stock (written off); the node then rejects
        the parcel, its found units go back to available stock, and the lines of each of its
        shipments are sourced again elsewhere."""
        node = ship.node
        p, shelf = self._accuracy[node], self._shelf[node]
        if not ship.riders and ship.short is None:       # most parcels: one shipment
            self._inspected_lines[node] += len(ship.skus)
            if len(ship.skus) == 1:                      # most shipments: one line
                if shelf.next() > p:
                    self._reject(ship, [True])
                    return False
                return True
            gone = [u > p for u in shelf.take(len(ship.skus))]
            if any(g for g in gone):
                self._reject(ship, gone)
                return False
            return True
        parcel = (ship, *ship.riders)
        missing = [[u > p for u in shelf.take(len(m.skus))] for m in parcel]
        self._inspected_lines[node] += sum(len(m.skus) for m in parcel)
        if not any(any(x) for x in missing) and not any(m.short and any(m.short)
                                                         for m in parcel):
            return True
        for m, gone in zip(parcel, missing, strict=True):
            self._reject(m, gone)
        return False

    def _reject(self, ship: Shipment, missing: list[bool], record: bool = True) -> None:
        """The node rejects ``ship``: write off its missing lines, free the rest and source
        its lines again without that node (``record``: count it as a rejection at pick; an
        outage's re-route is not)."""
        node, i = ship.node, ship.order
        short = ship.short or [0] * len(missing)
        self._missing_lines[node] += sum(missing)
        now, stock, book = self.clock.now, self.stock, self.book
        for s, q, gone, lack in zip(ship.skus, ship.qtys, missing, short, strict=True):
            if q > lack:                 # the units actually reserved (all but the oversold)
                (stock.write_off if gone else stock.unreserve)(node, s, q - lack)
                self.log.add(now, Ev.REJECTED, i, node, s, q - lack, value=float(gone))
        ship.rejected = True
        del self._live[ship.id]          # re-sourced: not a row of the shipments table
        book.n_shipments[i] -= 1
        book.open_shipments[i] -= 1
        self._excluded.setdefault(i, set()).add(node)
        ok, _ = self._decide(i, retry=True, lines=(ship.skus, ship.qtys))
        if not ok:                       # no other node has it: those lines are short
            if book.n_shipments[i] == 0:
                self._cancel(i)
            elif book.open_shipments[i] == 0:
                book.status[i] = _DELIVERED
        if record:
            self._rejections.append((i, node, sum(missing), int(ok)))
        else:
            self._outage_reroutes[node] += 1

    def _reserve(self, i: int, node: int, skus: list[int], qtys: list[int],
                 facts: dict) -> Shipment:
        """Reserve stock at ``node``, choose the carrier service and queue the shipment."""
        now = self.clock.now
        ship = self._new_shipment(i, node, skus, qtys)
        units, weight = ship.units, ship.weight
        region = self.book.region[i]
        spec = self.sc.nodes[node]
        station = self.stations[node]
        per_order, per_unit = self._handling[node]
        ship.handling = per_order + per_unit * units
        if self._pickup_terms[self.book.channel[i]] is not None and \
                node == self._pickup_store[region]:      # picked at its store: no carrier
            ship.carrier_rule = "store-pickup"
            if self.decisions.has_priority:
                ship.priority = self.decisions.pick_priority(facts, i, spec)
            station.submit(ship)
            return ship
        ship.zone, ship.distance = self._zone[node][region], self._distance[node][region]
        car, prio = self.decisions.shipment(facts, i, ship, spec)
        ready = now + station.ready_delay(now, units)
        cout = car.outcome
        ship.carrier_out = cout = cout[0] if cout.__class__ is tuple else cout
        off = self.disruptions.suspended(now) if self._carrier_events else _NO_SERVICES
        svc, rate, ship.eta = self.picker.pick(cout, node, ship.zone, weight, ready,
                                               self.book.deadline[i], off)
        ship.service, ship.ship_cost, ship.carrier_rule = svc.index, rate, car.winner
        if prio is not None:
            ship.priority = first_outcome(prio.outcome).priority
        station.submit(ship)
        return ship

    def _new_shipment(self, i: int, node: int, skus: list[int], qtys: list[int]) -> Shipment:
        """A shipment of these lines of order ``i`` from ``node``, its stock reserved (on stale
        visibility only what the shelf has; the rest is marked short)."""
        now, stock, log, stale = self.clock.now, self.stock, self.log, self._stale
        ship = Shipment(self._next_shipment, i, node, skus, qtys, sum(q for q in qtys),
                        self.catalog.weight_of(skus, qtys), now)
        self._next_shipment += 1
        self._live[ship.id] = ship
        unit_cost = self.catalog.cost
        cogs = 0.0
        for j in range(len(skus)):
            s, q = skus[j], qtys[j]
            cogs += unit_cost[s] * q
            if stale:                    # the DOM's view says q; the shelf may have fewer
                self.atp[node][s] -= q
                got = min(q, max(0, stock.atp[node][s]))
                if got < q:
                    ship.short = ship.short or [0] * len(skus)
                    ship.short[j] = q - got
                q = got
            if q:
                log.add(now, _RESERVED, i, node, s, q)
                stock.reserve(node, s, q)
        ship.cogs = cogs
        return ship

    def _packed(self, ship: Shipment) -> None:
        """Units leave stock; the carrier collects at the next pickup and delivers (a pickup
        order is delivered when it is ready at the store). Riders travel with their host."""
        now = self.clock.now
        self._unstock(ship)
        ship.packed = now
        terms = self._pickup_terms[self.book.channel[ship.order]]
        if ship.service < 0:
            ship.shipped = ship.delivered = now
            self._await_customer(ship, ship.node)
        else:
            ship.shipped = _pickup = self._collect_at(ship, now)
            svc = self.net.services[ship.service]       # (overflow may have moved it)
            days = svc.transit_days[ship.zone - 1] + max(0.0, self._delay[ship.service].next())
            if self._carrier_events:
                days += self.disruptions.extra_transit_days(ship.service, ship.shipped)
            ship.delivered = _pickup + math.ceil(days - 1e-9) * HOURS
            if terms is not None:        # shipped to the pickup store: ready when it arrives
                store = self._pickup_store[self.book.region[ship.order]]
                self.clock.call_in(ship.delivered - now,
                                   functools.partial(self._await_at_store, ship, store))
        self._dispatched(ship)
        for r in ship.riders:
            self._unstock(r)
            r.pick_start, r.packed, r.shipped, r.delivered = (ship.pick_start, now,
                                                              ship.shipped, ship.delivered)
            r.service = ship.service
            self._dispatched(r)
        if self._drained is not None and not self._drained.triggered and not self._queued():
            self._drained.succeed()

    def _unstock(self, ship: Shipment) -> None:
        # Indexed loops on the hot path: compiled, ``zip(..., strict=True)`` is a generic call.
        skus, qtys = ship.skus, ship.qtys
        for j in range(len(skus)):
            self.stock.ship(ship.node, skus[j], qtys[j])

    def _dispatched(self, ship: Shipment) -> None:
        """Log a packed shipment's journey and close it on its order."""
        i, book, node, units, log = ship.order, self.book, ship.node, ship.units, self.log
        log.add(ship.packed, _PACKED, i, node, -1, units)
        log.add(ship.shipped, _SHIPPED, i, node, -1, units, ship.ship_cost)
        log.add(ship.delivered, _DELIVERED_EV, i, node, -1, units)
        book.open_shipments[i] -= 1
        prev = book.delivered_at[i]
        book.delivered_at[i] = ship.delivered if math.isnan(prev) else max(prev, ship.delivered)
        if book.open_shipments[i] == 0:
            book.status[i] = _DELIVERED
        if self._desk is not None and ship.service >= 0:
            ret = self._desk.on_delivery(i, book.channel[i], book.region[i], ship.delivered,
                                         ship.skus, ship.qtys)
            if ret is not None:
                self._returns.append(ret)
                self._later(ret.due - self.clock.now, lambda: self._returned(ret))
        if self._consol is not None and ship.host < 0:   # no longer a parcel to join
            key = (book.customer[i], book.address[i])
            if self._parcels.get(key) is ship:
                del self._parcels[key]
        self._shipments.add(ship)        # its row is final: the object can go
        del self._live[ship.id]

    def _returned(self, ret: Return) -> None:
        """A customer return arrives: its restockable units go back into stock."""
        ret.arrived = True
        for j in range(len(ret.skus)):
            s, q, k = ret.skus[j], ret.qtys[j], ret.restock[j]
            if k:
                self.stock.restock(ret.node, s, k)
            self.log.add(self.clock.now, Ev.RETURNED, ret.order, ret.node, s, q, value=k)

    def _await_at_store(self, ship: Shipment, store: int, _arrived: object) -> None:
        """``_await_customer``, called back when the parcel arrives at the pickup store."""
        self._await_customer(ship, store)

    def _await_customer(self, ship: Shipment, store: int) -> None:
        """A pickup order ready at ``store``: the customer collects it after a delay, or never
        comes and after the hold its units go on that store's shelf."""
        i, now = ship.order, self.clock.now
        terms = self._pickup_terms[self.book.channel[i]]
        draws = self._pickup_draws[self.book.channel[i]]
        assert terms is not None and draws is not None, "only a pickup channel's parcels wait"
        delay, no_show = draws
        wait, gone = max(0.0, delay.next()), no_show.next() < terms.no_show_rate
        if gone:
            def restock(_ev, ship=ship):
                for s, q in zip(ship.skus, ship.qtys, strict=True):
                    self.stock.restock(store, s, q)
                    self.log.add(self.clock.now, Ev.RESTOCKED, i, store, s, q)
            self.clock.call_in(terms.hold_days * HOURS, restock)
            self._pickups.append((i, now, math.nan, 1))
        else:
            self.log.add(now + wait, Ev.PICKED_UP, i, store, qty=ship.units)
            self._pickups.append((i, now, now + wait, 0))

    def _node_event(self, change: NodeChange, active: bool) -> None:
        """A node event starts or ends: an outage stops picking and sourcing there (queued
        shipments wait, or with ``reroute`` are sourced again elsewhere); a capacity event
        changes the pickers on shift."""
        station = self.stations[change.node]
        if change.pickers is not None:
            station.set_pickers(change.pickers if active else None)
            return
        step = 1 if active else -1
        self._n_down += step
        station.set_down(active)
        if active and change.reroute:
            for ship in station.take_queue():
                for m in (ship, *ship.riders):
                    self._reject(m, [False] * len(m.skus), record=False)

    def _queued(self) -> int:
        return sum(st.in_queue for st in self.stations)

    def _pickup(self, node: int, svc: ServiceInfo, t: float) -> float:
        return next_pickup(t, self.net.cutoff_hour[node], svc.pickup_hour, svc.pickup_days,
                           self.weekday0)

    def _pickup_after(self, ship: Shipment, svc: ServiceInfo, t: float) -> float:
        """The service's first pickup at the node from ``t`` on that is not suspended."""
        when = self._pickup(ship.node, svc, t)
        while self._carrier_events:
            resume = self.disruptions.resumes(ship.service, when)
            if resume <= when:
                break
            when = self._pickup(ship.node, svc, resume)
        return when

    def _collect_at(self, ship: Shipment, t: float) -> float:
        """When the carrier collects a parcel packed at ``t``: the next pickup with room. A
        full pickup moves the parcel to another service with room (carrier outcome
        ``overflow: next_service``) or leaves it for the service's next pickup day."""
        svc = self.net.services[ship.service]
        when = self._pickup_after(ship, svc, t)
        cap = svc.pickup_capacity
        if cap is None:
            return when
        loads = self._pickup_loads
        if loads[(ship.node, ship.service, when)] >= cap and \
                ship.carrier_out is not None and ship.carrier_out.overflow == "next_service":
            alt = self._service_with_room(ship, t)
            if alt is not None:          # the new service's pickup has room (or no cap)
                ship.service, ship.ship_cost, when = alt
                ship.switched = True
                self._price_parcel(ship)
                svc = self.net.services[ship.service]
                if svc.pickup_capacity is None:
                    return when
                cap = svc.pickup_capacity
        while loads[(ship.node, ship.service, when)] >= cap:
            ship.bumped += 1
            when = self._pickup_after(ship, svc, (math.floor(when / HOURS) + 1) * HOURS)
        loads[(ship.node, ship.service, when)] += 1
        return when

    def _service_with_room(self, ship: Shipment, t: float) -> tuple[int, float, float] | None:
        """(service, rate, pickup time) of the cheapest other allowed service whose pickup has
        room and still meets the promise, else the fastest with room; None if none has."""
        out, loads, options = ship.carrier_out, self._pickup_loads, []
        assert out is not None, "only a shipment whose carrier rule allows overflow switches"
        for s in self.net.services:
            if s.index == ship.service or not s.takes(ship.parcel_weight) or \
                    (out.carriers is not None and s.carrier not in out.carriers) or \
                    (out.services is not None and s.name not in out.services):
                continue
            when = self._pickup(ship.node, s, t)
            cap = s.pickup_capacity
            if cap is not None and loads[(ship.node, s.index, when)] >= cap:
                continue
            eta = when + HOURS * s.transit_days[ship.zone - 1]
            options.append((s.rate(ship.zone, ship.parcel_weight), eta, s.index, when))
        if not options:
            return None
        on_time = [o for o in options if o[1] <= self.book.deadline[ship.order]]
        best = min(on_time) if on_time else min(options, key=lambda o: (o[1], o[0], o[2]))
        return best[2], best[0], best[3]

    def _hold(self, strat) -> list[int]:
        """Units each node holds back under ``strat`` (store protection + safety stock), worked
        out once per strategy (holding it keeps its id from being reused)."""
        known = self._holds.get(id(strat))
        if known is None or known[0] is not strat:
            safety, protect = strat.safety_stock_units, strat.protect_store_units
            known = self._holds[id(strat)] = (
                strat, [safety + (protect if n.kind == "store" else 0) for n in self.sc.nodes])
        return known[1]

    def _split_rule(self, outcome) -> SplitRule:
        """``outcome``'s fields as a ``SplitRule``, made once per outcome."""
        known = self._split_rules.get(id(outcome))
        if known is None or known[0] is not outcome:
            known = self._split_rules[id(outcome)] = (outcome, SplitRule(outcome))
        return known[1]

    # -- orders no node can fill ------------------------------------------------------------

    def _unfillable(self, i: int, sourcing: SourcingOutcome) -> None:
        """No strategy could fill the order: cancel, retry later, or backorder it."""
        if sourcing.unfillable == "cancel":
            for n, s, _q in self._charge_nodes(i):
                self.stock.mark_shortage(n, s)
            self._cancel(i)
        elif sourcing.unfillable == "retry":
            self._wait(i)
            self._later(sourcing.retry_hours, lambda: self._retry(i, sourcing, 1))
        else:
            self._backorder(i)

    def _retry(self, i: int, sourcing: SourcingOutcome, attempt: int) -> None:
        if self.book.status[i] != _BACKORDERED or self.clock.now >= self.horizon:
            return
        ok, _ = self._decide(i, retry=True)
        if ok:
            return
        if attempt < sourcing.max_retries:
            self._later(sourcing.retry_hours, lambda: self._retry(i, sourcing, attempt + 1))
        else:
            self._backorder(i)

    def _wait(self, i: int) -> None:
        book = self.book
        if math.isnan(book.backordered_at[i]):
            book.status[i] = _BACKORDERED
            book.backordered_at[i] = self.clock.now
            self.log.add(self.clock.now, Ev.BACKORDERED, i)
            charges = self._charges[i] = self._charge_nodes(i)
            for n, s, q in charges:
                self.stock.charge_backorder(n, s, q)

    def _charge_nodes(self, i: int) -> list[tuple[int, int, int]]:
        """(node, sku, qty) each line of waiting order ``i`` counts against: the node the
        sourcing rule ranked first (primary strategy) among those that carry the SKU and
        replenish it; failing that, the nearest such open node; else the first ranked node
        carrying it. A SKU no open node carries counts nowhere."""
        carried, policy = self.net.carried, self.stock.policy
        closed = self._closed
        ranked = self._rank0
        nearest = self._nearest[self.book.region[i]]
        out = []
        for s, q in zip(*self.book.lines(i), strict=True):
            node = next((n for n in ranked if carried[n, s] and policy[n][s]), -1)
            if node < 0:
                node = next((n for n in nearest if carried[n, s] and policy[n][s]
                             and not closed[n]), -1)
            if node < 0:
                node = next((n for n in ranked if carried[n, s]), -1)
            if node >= 0:
                out.append((node, s, q))
        return out

    def _uncharge(self, i: int) -> None:
        """Order ``i`` stops waiting: its lines leave the positions they counted against."""
        for n, s, q in self._charges.pop(i, ()):
            self.stock.release_backorder(n, s, q)

    def _backorder(self, i: int) -> None:
        """Hold the order for stock (FIFO on receipt), unless the backorder rules cancel it;
        optionally re-route it after some hours and cancel it after some days."""
        skus, qtys = self.book.lines(i)
        if self.decisions.has_backorder:
            short = sum(1 for s, q in zip(skus, qtys, strict=True)
                        if not any(row[s] >= q for row in self.atp))
            o = self.decisions.backorder(i, short).outcome
            if o.action == "cancel":
                self._cancel(i)
                return
            if o.reroute_after_hours is not None:
                self._later(o.reroute_after_hours, lambda: self._reroute(i))
            if o.cancel_after_days is not None:
                self._later(o.cancel_after_days * HOURS, lambda: self._cancel_if_waiting(i))
        self._wait(i)
        for s in set(skus):
            self._waiting[s].append(i)

    def _reroute(self, i: int) -> None:
        if self.book.status[i] == _BACKORDERED and self.clock.now < self.horizon:
            self._decide(i, retry=True)

    def _cancel_if_waiting(self, i: int) -> None:
        if self.book.status[i] == _BACKORDERED:
            self._cancel(i)

    def _cancel(self, i: int) -> None:
        self._uncharge(i)
        self.book.status[i] = _CANCELLED
        self.log.add(self.clock.now, Ev.CANCELLED, i)

    def _later(self, hours: float, action) -> None:
        self.clock.call_in(hours, lambda _ev: action())

    def _release_backorders(self, node: int, s: int) -> None:
        """Stock of SKU ``s`` arrived: backordered orders waiting for it are decided again,
        first come first served."""
        waiting = self._waiting.pop(s, [])
        if self._launch_h[s]:            # pre-orders are released most urgent first
            waiting.sort(key=self._batch_key)
        still = []
        status = self.book.status
        for i in waiting:
            if status[i] != _BACKORDERED:
                continue
            ok, _ = self._decide(i, retry=True)
            if not ok and status[i] == _BACKORDERED:
                still.append(i)
        if still:
            self._waiting[s] = still + self._waiting.get(s, [])


def _swapped(decide: Callable[[Shipment, Any], int], node: Any, ship: Shipment) -> int:
    """``decide(ship, node)``: a station's priority callback with the node bound first."""
    return decide(ship, node)
