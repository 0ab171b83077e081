"""The World: a SimPy model of one DOM network running one set of rules.

Order pipeline, one phase per method: ``_arrive → _decide → _reserve → (Station picks) →
_packed (ship, transit, deliver)``; stock and replenishment live in ``sim.core.inventory.Stock``,
whose receipts release backorders (``_release_backorders``). Demand is generated
before the clock starts (see ``sim.core.demand``); decisions call the rule ``Engine``; every state
change goes to the ``EventLog``. ``run()`` returns a ``RunResult`` of flat tables.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from enum import IntEnum
from types import SimpleNamespace
from typing import Any

import numpy as np
import simpy

from rules.engine import Engine
from rules.schema import FACT_FIELDS, RuleError, SourcingOutcome
from sim.core.carrier import CHEAPEST_ON_TIME, ServicePicker
from sim.core.demand import Demand, generate_demand
from sim.core.events import Ev, EventLog
from sim.core.fulfillment import Shipment, Station
from sim.core.inventory import Stock
from sim.core.network import Network, build_network, next_pickup
from sim.core.rng import BlockSampler, stream
from sim.core.sourcing import Ranker, choose_plan, coverage
from sim.scenario import Scenario

__all__ = ["Status", "World", "RunResult", "SimulationError", "check_rule_references"]

HOURS = 24.0


class Status(IntEnum):
    """Order state; the last three are terminal."""

    NEW = 0
    IN_PROCESS = 1
    DELIVERED = 2
    BACKORDERED = 3
    CANCELLED = 4


_PRIORITY_FACTS = set(FACT_FIELDS["priority"])


class _OrderView:
    """The state ranking reads for one order (see ``sim.core.sourcing.NodeView``); ship costs
    cached."""

    __slots__ = ("w", "i", "skus", "region", "_costs")

    def __init__(self, world: World, i: int, skus: list[int]):
        self.w, self.i, self.skus = world, i, skus
        self.region = world._o.region[i]
        self._costs: dict[tuple[int, float], tuple] = {}

    def _estimate(self, n: int, weight_lb: float):
        hit = self._costs.get((n, weight_lb))
        if hit is None:
            w = self.w
            now = w.env.now
            ready = now + w.stations[n].ready_delay(now, w.units[self.i])
            hit = w.picker.pick(CHEAPEST_ON_TIME, n, int(w.net.zone[n, self.region]), weight_lb,
                                ready, w.deadline[self.i])
            self._costs[(n, weight_lb)] = hit
        return hit

    def ship_cost(self, n: int, weight_lb: float) -> float:
        return self._estimate(n, weight_lb)[1]

    def on_time(self, n: int) -> bool:
        return self._estimate(n, self.w.weight[self.i])[2] <= self.w.deadline[self.i]

    def backlog(self, n: int) -> float:
        st = self.w.stations[n]
        return st.in_queue / st.spec.capacity.pickers

    def assigned_today(self, n: int) -> int:
        return self.w._assigned.get((n, int(self.w.env.now // HOURS)), 0)

    def days_of_supply(self, n: int) -> float:
        atp, daily = self.w.atp[n], self.w.net.daily_demand[n]
        return min(atp[s] / daily[s] if daily[s] > 0 else (math.inf if atp[s] > 0 else 0.0)
                   for s in self.skus)

    def parcel_cost(self, n: int, lines: list[int]) -> float:
        w = self.w
        a = w._starts[self.i]
        weight = sum(w._sku_weight[w._skus[a + j]] * w._qtys[a + j] for j in lines)
        return self.ship_cost(n, weight)


class SimulationError(RuntimeError):
    """The model cannot finish (e.g. a node never empties its queue)."""


@dataclass
class RunResult:
    """Flat tables of one run; everything reports, KPIs and stores read."""

    scenario: Scenario
    engine: str
    rulesets: dict[str, str]
    orders: dict[str, np.ndarray]
    shipments: dict[str, np.ndarray]
    events: EventLog
    trace: list[tuple]
    inventory: dict[str, np.ndarray]
    nodes: dict[str, np.ndarray]
    services: list[str]
    end_time: float
    meta: dict[str, Any] = field(default_factory=dict)
    #: (rule-set key, matched rules joined by ",") → the outcome those rules produced
    outcomes: dict[tuple[str, str], Any] = field(default_factory=dict)


def check_rule_references(scenario: Scenario, engine: Engine) -> None:
    """Fail early when an outcome names a node, carrier or service the scenario lacks."""
    nodes = {n.name for n in scenario.nodes}
    carriers = {c.name for c in scenario.carriers}
    services = {s.name for c in scenario.carriers for s in c.services}
    for rs in engine.rulesets.values():
        for r in rs.rules:
            t = r.then
            for attr, known, what in (("exclude_nodes", nodes, "node"),
                                      ("carriers", carriers, "carrier"),
                                      ("services", services, "service")):
                for name in getattr(t, attr, None) or ():
                    if name not in known:
                        raise RuleError(f"{rs.source}: rule '{r.name}': then.{attr}: unknown "
                                        f"{what} '{name}' in scenario '{scenario.name}'")


class World:
    """Builds the SimPy environment for a scenario and an engine, and runs it."""

    def __init__(self, scenario: Scenario, engine: Engine, demand: Demand | None = None):
        for point in ("sourcing", "split", "carrier", "reorder"):
            if point not in engine.rulesets:
                raise RuleError(f"scenario '{scenario.name}': no rule set for point '{point}'")
        check_rule_references(scenario, engine)
        self.sc, self.engine = scenario, engine
        self.net: Network = build_network(scenario)
        self.picker = ServicePicker(self.net)
        self.ranker = Ranker(self.net)
        self.demand = demand if demand is not None else generate_demand(scenario)
        self.env = simpy.Environment()
        self.log = EventLog()
        self.trace: list[tuple] = []
        self.horizon = scenario.horizon_days * HOURS
        self.weekday0 = scenario.start_date.weekday()
        self._init_orders()
        self._init_inventory()
        seed = scenario.seed
        self.stations = [Station(self.env, n, spec, self.net.calendars[n],
                                 stream(seed, f"service/{spec.name}"), self.log, self._packed)
                         for n, spec in enumerate(scenario.nodes)]
        self._delay = [BlockSampler(s.spec.delay_days, stream(seed, f"transit/{s.label}"))
                       for s in self.net.services]
        self.shipments: list[Shipment] = []
        self._waiting: dict[int, list[int]] = defaultdict(list)

    # -- setup ------------------------------------------------------------------------------

    def _init_orders(self) -> None:
        d, sc = self.demand, self.sc
        n = d.n
        self.value = self._order_sums([s.price for s in sc.skus]).tolist()
        self.weight = self._order_sums([s.weight_lb for s in sc.skus]).tolist()
        self.units = self._order_sums([1] * len(sc.skus)).astype(np.int64).tolist()
        self.status = [int(Status.NEW)] * n
        self.first_fill = [False] * n
        self.lines_fillable = [0] * n
        self.n_shipments = [0] * n
        self.open_shipments = [0] * n
        self.delivered_at = [math.nan] * n
        self.backordered_at = [math.nan] * n
        self.rule = {p: [""] * n for p in ("sourcing", "split")}
        # Per-order columns as Python lists (fast scalar reads) and facts pre-rounded once.
        o = self._o = SimpleNamespace(t=d.t.tolist(), channel=d.channel.tolist(),
                                      service=d.service.tolist(), region=d.region.tolist(),
                                      tier=d.tier.tolist(),
                                      value=[round(v, 2) for v in self.value],
                                      weight=[round(w, 3) for w in self.weight])
        self.deadline = [(math.floor(t / HOURS) + d.service_table[s][2] + 1) * HOURS
                         for t, s in zip(o.t, o.service, strict=True)]
        self._dates: list[dt.date] = []
        self._skus = d.sku.tolist()
        self._qtys = d.qty.tolist()
        self._starts = d.line_start.tolist()

    def _init_inventory(self) -> None:
        self.stock = Stock(self.env, self.net, self.log, self.horizon,
                           self.sc.warmup_days * HOURS, self._release_backorders)
        self.atp = self.stock.atp
        self._reorder_policies()
        # Where a waiting demand counts: per region, nodes nearest first (see _charge_nodes).
        self._nearest = np.argsort(self.net.distance, axis=0, kind="stable").T.tolist()
        self._closed = [n.closed for n in self.sc.nodes]
        self._charges: dict[int, list[tuple[int, int, int]]] = {}
        self._rank0: list[int] = []

    def _reorder_policies(self) -> None:
        """Decide the replenishment policy of every stocked node×SKU once, from forecast
        demand and lead time."""
        sc, net = self.sc, self.net
        for n, node in enumerate(sc.nodes):
            if node.stock.unlimited or node.closed:      # a closed node is not replenished
                continue
            for k in np.flatnonzero(net.carried[n]).tolist():
                sku = sc.skus[k]
                daily = float(net.daily_demand[n, k])
                facts = {"node": node.name, "node_kind": node.kind, "sku": sku.id,
                         "sku_class": net.sku_class[k], "daily_demand": round(daily, 4),
                         "lead_time_days": self.stock.lead_mean[n], "unit_cost": sku.cost,
                         "price": sku.price, "replenished_from": node.replenished_from or ""}
                o = self._decide_point("reorder", facts, -1, f"{node.name}/{sku.id}").outcome
                self.stock.set_policy(n, k, o, daily)

    def _decide_point(self, point: str, facts: dict, order: int, subject: str = ""):
        dec = self.engine.decide(point, facts)
        self.trace.append((self.env.now, order, point, dec.ruleset, dec.winner,
                           ",".join(dec.matched), subject))
        return dec

    # -- order pipeline ---------------------------------------------------------------------

    def _arrivals(self):
        t_all = self.demand.t.tolist()
        env = self.env
        for i, t in enumerate(t_all):
            if t > env.now:
                yield env.timeout(t - env.now)
            self._arrive(i)

    def _arrive(self, i: int) -> None:
        self.log.add(self.env.now, Ev.ORDER_CREATED, i, qty=self.units[i], value=self.value[i])
        ok, sourcing = self._decide(i, retry=False)
        self.first_fill[i] = ok
        if not ok:
            self._unfillable(i, sourcing)

    def _facts(self, i: int, retry: bool) -> dict[str, Any]:
        d, sc, o = self.demand, self.sc, self._o
        ch = sc.channels[o.channel[i]]
        _, svc_name, promise = d.service_table[o.service[i]]
        region = sc.regions[o.region[i]]
        t = o.t[i]
        return {"channel": ch.kind, "channel_name": ch.name, "service_level": svc_name,
                "promise_days": promise, "order_value": o.value[i], "units": self.units[i],
                "lines": self._starts[i + 1] - self._starts[i], "weight_lb": o.weight[i],
                "region": region.metro, "state": region.state, "hour": int(t % HOURS),
                "weekday": (self.weekday0 + int(t // HOURS)) % 7, "is_retry": retry,
                "customer_tier": d.tier_names[o.tier[i]]}

    def _decide(self, i: int, retry: bool) -> tuple[bool, SourcingOutcome]:
        """Source, split and allocate order ``i``, trying the sourcing rule's strategies in
        order. Returns whether it was allocated, and the sourcing outcome."""
        facts = self._facts(i, retry)
        src = self._decide_point("sourcing", facts, i)
        outcomes = src.outcome if isinstance(src.outcome, tuple) else (src.outcome,)
        a, b = self._starts[i], self._starts[i + 1]
        skus, qtys = self._skus[a:b], self._qtys[a:b]
        view = _OrderView(self, i, skus)
        groups = self._groups(skus)
        today = self._today()
        bypass = today in outcomes[0].capacity_bypass_dates
        self.rule["sourcing"][i] = src.winner
        fillable = 0
        for k, strat in enumerate(s for o in outcomes for s in o.strategies):
            ranked = self.ranker.rank(strat, view.region, facts["units"], self.weight[i], view,
                                      bypass or today in strat.capacity_bypass_dates)
            if k == 0:
                self._rank0 = ranked
            hold = self._hold(strat)
            cov = coverage(ranked, skus, qtys, self.atp, hold, groups)
            fillable = max(fillable, cov.lines_fillable)
            facts["single_node_fill"] = cov.single is not None
            facts["nodes_needed"] = len(cov.greedy) if cov.greedy is not None else 0
            split = self._decide_point("split", facts, i)
            so = split.outcome if not isinstance(split.outcome, tuple) else split.outcome[0]
            if groups is not None and not so.keep_groups:
                cov = coverage(ranked, skus, qtys, self.atp, hold, None)
            plan = choose_plan(cov, so, len(skus), view.parcel_cost,
                               self.sc.costs.split_penalty)
            if plan is not None:
                self.rule["split"][i] = split.winner
                if not retry:
                    self.lines_fillable[i] = len(skus)
                self._allocate(i, plan, skus, qtys, facts, retry)
                return True, outcomes[0]
        if not retry:
            self.lines_fillable[i] = fillable
        return False, outcomes[0]

    def _allocate(self, i: int, plan, skus, qtys, facts, retry: bool) -> None:
        self._uncharge(i)
        self.status[i] = int(Status.IN_PROCESS)
        self.log.add(self.env.now, Ev.RELEASED if retry else Ev.DECIDED, i, qty=len(plan))
        self.n_shipments[i] = self.open_shipments[i] = len(plan)
        for node, lines in plan:
            self._reserve(i, node, [skus[j] for j in lines], [qtys[j] for j in lines], facts)

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
        if self.status[i] != Status.BACKORDERED or self.env.now >= self.horizon:
            return
        ok, _ = self._decide(i, retry=True)
        if ok:
            return
        if attempt < sourcing.max_retries:
            self._later(sourcing.retry_hours, lambda: self._retry(i, sourcing, attempt + 1))
        else:
            self._backorder(i)

    def _wait(self, i: int) -> None:
        if math.isnan(self.backordered_at[i]):
            self.status[i] = int(Status.BACKORDERED)
            self.backordered_at[i] = self.env.now
            self.log.add(self.env.now, Ev.BACKORDERED, i)
            charges = self._charges[i] = self._charge_nodes(i)
            for n, s, q in charges:
                self.stock.charge_backorder(n, s, q)

    def _charge_nodes(self, i: int) -> list[tuple[int, int, int]]:
        """(node, sku, qty) each line of waiting order ``i`` counts against: the node the
        sourcing rule ranked first (primary strategy) among those that carry the SKU and
        replenish it; failing that, the nearest such open node; else the first ranked node
        carrying it. A SKU no open node carries counts nowhere."""
        a, b = self._starts[i], self._starts[i + 1]
        carried, policy = self.net.carried, self.stock.policy
        closed = self._closed
        ranked = self._rank0
        nearest = self._nearest[self._o.region[i]]
        out = []
        for s, q in zip(self._skus[a:b], self._qtys[a:b], strict=True):
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
        if "backorder" in self.engine.rulesets:
            a, b = self._starts[i], self._starts[i + 1]
            short = sum(1 for s, q in zip(self._skus[a:b], self._qtys[a:b], strict=True)
                        if not any(row[s] >= q for row in self.atp))
            facts = dict(self._facts(i, True), lines_short=short,
                         age_hours=round(self.env.now - self._o.t[i], 3))
            o = self._decide_point("backorder", facts, i).outcome
            if o.action == "cancel":
                self._cancel(i)
                return
            if o.reroute_after_hours is not None:
                self._later(o.reroute_after_hours, lambda: self._reroute(i))
            if o.cancel_after_days is not None:
                self._later(o.cancel_after_days * HOURS, lambda: self._cancel_if_waiting(i))
        self._wait(i)
        a, b = self._starts[i], self._starts[i + 1]
        for s in set(self._skus[a:b]):
            self._waiting[s].append(i)

    def _reroute(self, i: int) -> None:
        if self.status[i] == Status.BACKORDERED and self.env.now < self.horizon:
            self._decide(i, retry=True)

    def _cancel_if_waiting(self, i: int) -> None:
        if self.status[i] == Status.BACKORDERED:
            self._cancel(i)

    def _cancel(self, i: int) -> None:
        self._uncharge(i)
        self.status[i] = int(Status.CANCELLED)
        self.log.add(self.env.now, Ev.CANCELLED, i)

    def _later(self, hours: float, action) -> None:
        self.env.timeout(hours).callbacks.append(lambda _ev: action())

    def _today(self) -> dt.date:
        day = int(self.env.now // HOURS)
        while day >= len(self._dates):
            self._dates.append(self.sc.start_date + dt.timedelta(days=len(self._dates)))
        return self._dates[day]

    def _hold(self, strat) -> list[int]:
        """Units each node holds back under ``strat`` (store protection + safety stock)."""
        key = (strat.safety_stock_units, strat.protect_store_units)
        hold = self._holds.get(key)
        if hold is None:
            hold = [key[0] + (key[1] if n.kind == "store" else 0) for n in self.sc.nodes]
            self._holds[key] = hold
        return hold

    def _groups(self, skus: list[int]) -> list[int] | None:
        g = self._sku_group
        if not self._has_groups:
            return None
        return [g[s] for s in skus]

    def _reserve(self, i: int, node: int, skus: list[int], qtys: list[int], facts: dict) -> None:
        """Reserve stock at ``node``, choose the carrier service and queue the shipment."""
        now, net, sc = self.env.now, self.net, self.sc
        stock = self.stock
        sku_w = self._sku_weight
        units = sum(qtys)
        weight = sum(sku_w[s] * q for s, q in zip(skus, qtys, strict=True))
        ship = Shipment(len(self.shipments), i, node, skus, qtys, units, weight, now)
        self.shipments.append(ship)
        self._assigned[(node, int(now // HOURS))] += 1
        unit_cost = self._unit_cost
        for s, q in zip(skus, qtys, strict=True):
            ship.cogs += unit_cost[s] * q
            self.log.add(now, Ev.RESERVED, i, node, s, q)
            stock.reserve(node, s, q)
        region = self._o.region[i]
        ship.zone, ship.distance = int(net.zone[node, region]), float(net.distance[node, region])
        spec = sc.nodes[node]
        cfacts = dict(facts, zone=ship.zone, distance_mi=round(ship.distance, 1), node=spec.name,
                      node_kind=spec.kind, shipment_weight_lb=round(weight, 3),
                      shipment_units=units)
        car = self._decide_point("carrier", cfacts, i)
        cout = car.outcome if not isinstance(car.outcome, tuple) else car.outcome[0]
        station = self.stations[node]
        ready = now + station.ready_delay(now, units)
        svc, rate, _eta = self.picker.pick(cout, node, ship.zone, weight, ready, self.deadline[i])
        ship.service, ship.ship_cost, ship.carrier_rule = svc.index, rate, car.winner
        ship.handling = spec.handling.per_order + spec.handling.per_unit * units
        if "priority" in self.engine.rulesets:
            pfacts = {k: v for k, v in cfacts.items() if k in _PRIORITY_FACTS}
            pfacts["age_hours"] = round(now - self._o.t[i], 3)
            pout = self._decide_point("priority", pfacts, i).outcome
            ship.priority = (pout if not isinstance(pout, tuple) else pout[0]).priority
        station.submit(ship)

    def _packed(self, ship: Shipment) -> None:
        """Units leave stock; the carrier collects at the next pickup and delivers."""
        now, node = self.env.now, ship.node
        for s, q in zip(ship.skus, ship.qtys, strict=True):
            self.stock.ship(node, s, q)
        svc = self.net.services[ship.service].spec
        ship.packed = now
        ship.shipped = _pickup = self._pickup(node, svc, now)
        days = svc.transit_days[ship.zone - 1] + max(0.0, self._delay[ship.service].next())
        ship.delivered = _pickup + math.ceil(days - 1e-9) * HOURS
        i = ship.order
        self.log.add(now, Ev.PACKED, i, node, qty=ship.units)
        self.log.add(ship.shipped, Ev.SHIPPED, i, node, qty=ship.units, value=ship.ship_cost)
        self.log.add(ship.delivered, Ev.DELIVERED, i, node, qty=ship.units)
        self.open_shipments[i] -= 1
        prev = self.delivered_at[i]
        self.delivered_at[i] = ship.delivered if math.isnan(prev) else max(prev, ship.delivered)
        if self.open_shipments[i] == 0:
            self.status[i] = int(Status.DELIVERED)
        if self._drained is not None and not self._drained.triggered and not self._queued():
            self._drained.succeed()

    def _queued(self) -> int:
        return sum(st.in_queue for st in self.stations)

    def _pickup(self, node: int, svc, t: float) -> float:
        return next_pickup(t, self.sc.nodes[node].cutoff_hour, svc.pickup_hour, svc.pickup_days,
                           self.weekday0)

    # -- stock flow -------------------------------------------------------------------------

    def _release_backorders(self, node: int, s: int) -> None:
        """Stock of SKU ``s`` arrived: backordered orders waiting for it are decided again,
        first come first served."""
        waiting = self._waiting.pop(s, [])
        still = []
        for i in waiting:
            if self.status[i] != Status.BACKORDERED:
                continue
            ok, _ = self._decide(i, retry=True)
            if not ok and self.status[i] == Status.BACKORDERED:
                still.append(i)
        if still:
            self._waiting[s] = still + self._waiting.get(s, [])

    # -- run --------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Simulate the horizon, then let queued work drain; return the run's tables."""
        self._sku_weight = [s.weight_lb for s in self.sc.skus]
        self._unit_cost = [s.cost for s in self.sc.skus]
        self._sku_group = [s.group or f"#{k}" for k, s in enumerate(self.sc.skus)]
        self._has_groups = any(s.group for s in self.sc.skus)
        self._assigned: dict[tuple[int, int], int] = defaultdict(int)
        self._holds: dict[tuple[int, int], list[int]] = {}
        self._drained = None
        env = self.env
        self.stock.start()
        env.process(self._arrivals())
        env.run(until=self.horizon)
        self.stock.close_window()
        if self._queued():
            self._drained = env.event()
            cap = env.timeout(self.sc.drain_days * HOURS)
            env.run(until=env.any_of([self._drained, cap]))
            if self._queued():
                busy = max(self.stations, key=lambda st: st.in_queue)
                raise SimulationError(
                    f"scenario '{self.sc.name}': {self._queued()} shipments still queued "
                    f"{self.sc.drain_days:g} days after the horizon (node {busy.spec.name} has "
                    f"{busy.in_queue}); pick capacity is too low for the demand")
        return self._result()

    def _order_sums(self, per_unit: list[float]) -> np.ndarray:
        """Σ per_unit[sku] × qty over each order's lines."""
        d = self.demand
        if d.n == 0 or len(d.sku) == 0:
            return np.zeros(d.n)
        return np.add.reduceat(np.asarray(per_unit)[d.sku] * d.qty, d.line_start[:-1])

    def _result(self) -> RunResult:
        d, sc = self.demand, self.sc
        sh = self.shipments
        svc_labels = [s.label for s in self.net.services]
        orders = {
            "order_id": np.arange(d.n), "t_created": d.t, "channel": d.channel,
            "service": d.service, "region": d.region,
            "promise_days": np.array([d.service_table[s][2] for s in d.service.tolist()],
                                     dtype=np.int64),
            "lines": np.diff(d.line_start), "units": np.asarray(self.units, dtype=np.int64),
            "value": np.asarray(self.value), "weight_lb": np.asarray(self.weight),
            "cogs": self._order_sums([s.cost for s in sc.skus]),
            "status": np.asarray(self.status, dtype=np.int64),
            "first_fill": np.asarray(self.first_fill), "lines_fillable":
                np.asarray(self.lines_fillable, dtype=np.int64),
            "n_shipments": np.asarray(self.n_shipments, dtype=np.int64),
            "deadline": np.asarray(self.deadline), "delivered_at": np.asarray(self.delivered_at),
            "backordered_at": np.asarray(self.backordered_at),
            "sourcing_rule": np.asarray(self.rule["sourcing"], dtype=object),
            "split_rule": np.asarray(self.rule["split"], dtype=object),
        }
        cols = ("id", "order", "node", "units", "weight", "zone", "distance", "service",
                "ship_cost", "handling", "priority", "created", "pick_start", "packed",
                "shipped", "delivered", "carrier_rule", "cogs")
        shipments = {c: np.asarray([getattr(s, c) for s in sh],
                                   dtype=object if c == "carrier_rule" else None)
                     for c in cols}
        if not sh:
            shipments = {c: np.zeros(0) for c in cols}
        inventory = self.stock.tables()
        t0 = sc.warmup_days * HOURS
        nodes = {"busy_hours": np.array([st.busy_hours for st in self.stations]),
                 "open_hours": np.array([c.open_hours(t0, self.horizon) * n.capacity.pickers
                                         for c, n in zip(self.net.calendars, sc.nodes,
                                                         strict=True)])}
        outcomes = {}
        for row in self.trace:
            key = (row[3], row[5])
            if key not in outcomes:
                outcomes[key] = self.engine.outcome_record(row[3], tuple(row[5].split(",")))
        return RunResult(sc, self.engine.name, {p: rs.key for p, rs in
                                                self.engine.rulesets.items()},
                         orders, shipments, self.log, self.trace, inventory, nodes, svc_labels,
                         self.env.now, outcomes=outcomes)
