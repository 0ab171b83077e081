"""The offline problem: which orders to re-decide, what each must keep (its lines, its release
time, its latest scheduled delivery), the stock they may draw on over time, each node's pick
capacity per day and when nodes are down, plus the rule's own plan for comparison.

``make_problem`` builds one from plain arrays (tests build tiny ones by hand);
``sim.measure.optimum.from_run.problem_from_run`` builds one from a finished run.

**Pick capacity** of node n on day k, in pick hours: pickers × shift hours that day
(``ShiftCalendar.open_hours``), less the pickers a ``node_capacity`` event removes (or adds)
and all of it during a ``node_outage``, over the event's share of the day's shift hours. A
shipment uses its expected pick time (``PlanModel.pick``) on the day its pick starts, so
capacity in shipments is pickers × shift hours / expected pick time, per shipment size. With
the rules' plan given, a node-day's capacity is at least the hours that plan puts on it: the
run's pick queues carried such overload into the next shift, which a per-day model cannot, and
the rules' plan must stay a feasible plan of the problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core.disruptions import Disruptions
from sim.core.network import Network, build_network
from sim.measure.optimum.pricing import PlanModel
from sim.measure.optimum.supply import Headroom, Supply
from sim.scenario import Scenario

__all__ = ["Orders", "RulePlan", "Problem", "make_problem", "pick_capacity"]

HOURS = 24.0


@dataclass(frozen=True)
class Orders:
    """The orders to plan, one element per order; lines of order i are
    ``sku[line_start[i]:line_start[i + 1]]`` (with ``qty``)."""

    order_id: np.ndarray     # the run's order id
    release: np.ndarray      # hour from which the plan may allocate it
    region: np.ndarray
    deadline: np.ndarray     # promised delivery (hour)
    line_start: np.ndarray
    sku: np.ndarray
    qty: np.ndarray
    in_window: np.ndarray    # created in the KPI window (counted in the gap)

    @property
    def n(self) -> int:
        """Number of orders."""
        return len(self.order_id)

    @property
    def line_order(self) -> np.ndarray:
        """The order (index into these orders) of each line."""
        return np.repeat(np.arange(self.n), np.diff(self.line_start))


@dataclass(frozen=True)
class RulePlan:
    """What the rules did for the planned orders: one row per shipment (``order`` indexes
    ``Orders``) with what it actually cost in the run, and the units it took per node×SKU."""

    order: np.ndarray
    node: np.ndarray
    service: np.ndarray
    weight: np.ndarray
    units: np.ndarray
    cost: np.ndarray           # the run's ship cost + handling of the shipment
    carrier_rule: np.ndarray   # object: the carrier rule that chose the service
    use_order: np.ndarray      # units taken: order, node, sku, qty
    use_node: np.ndarray
    use_sku: np.ndarray
    use_qty: np.ndarray


@dataclass(frozen=True)
class Problem:
    """Everything the solver and the comparison need about one run's orders."""

    scenario: Scenario
    net: Network
    model: PlanModel
    orders: Orders
    weight: np.ndarray        # per order, lb
    units: np.ndarray         # per order
    latest: np.ndarray        # per order: latest scheduled delivery a plan may have
    supply: Supply
    capacity: np.ndarray      # [node, day] pick hours
    down: list[tuple[int, float, float]]      # (node, start, end) outages
    rule: RulePlan | None
    headroom: Headroom | None     # stock kept for the rule's plan of later orders
    rule_day: np.ndarray | None   # per rule shipment: the day its pick starts
    rule_hours: np.ndarray | None  # and its pick hours

    def node_open(self, node: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether each node is open (not closed, not in an outage) at time t."""
        closed = np.array([n.closed for n in self.scenario.nodes])
        ok = ~closed[node]
        for n, a, b in self.down:
            ok &= ~((node == n) & (t >= a) & (t < b))
        return ok


def pick_capacity(scenario: Scenario, net: Network, days: int) -> np.ndarray:
    """[node, day] pick hours for ``days`` days (see the module docstring)."""
    cap = np.zeros((len(scenario.nodes), days))
    for n, (spec, cal) in enumerate(zip(scenario.nodes, net.calendars, strict=True)):
        for k in range(days):
            cap[n, k] = spec.capacity.pickers * cal.open_hours(k * HOURS, (k + 1) * HOURS)
    for ch in Disruptions(scenario, net).node_changes:
        spec, cal = scenario.nodes[ch.node], net.calendars[ch.node]
        change = (ch.pickers if ch.pickers is not None else 0) - spec.capacity.pickers
        for k in range(max(0, math.floor(ch.start / HOURS)), min(days, math.ceil(ch.end / HOURS))):
            hours = cal.open_hours(max(ch.start, k * HOURS), min(ch.end, (k + 1) * HOURS))
            cap[ch.node, k] = max(0.0, cap[ch.node, k] + change * hours)
    return cap


def _line_sums(orders: Orders, per_line: np.ndarray) -> np.ndarray:
    return np.bincount(orders.line_order, weights=per_line, minlength=orders.n)


def make_problem(scenario: Scenario, orders: Orders, stock: tuple[np.ndarray, ...],
                 rule: RulePlan | None = None, net: Network | None = None) -> Problem:
    """A problem over ``orders`` (sorted by release, one line per SKU) with stock changes
    ``stock = (node, sku, t, delta)`` (opening stock included, at t = 0) that the plan does not
    decide.

    Each order must be delivered (scheduled) by its promise, or, when the rule's own plan was
    scheduled later, by then: the plan keeps every promise the rule kept and is never later
    than the rule (``latest``). With a rule plan, a node-day's pick capacity is at least the
    hours the rule's plan puts on it (the run's queues carried that work; the model has no
    queue), so the rule's plan fits the problem, and the stock the rule's plan of later orders
    needs is kept for them (``Headroom``)."""
    if np.any(np.diff(orders.release) < 0):
        raise ValueError("orders must be sorted by release time")
    lines = pd.DataFrame({"o": orders.line_order, "s": orders.sku})
    if lines.duplicated().any():
        raise ValueError("an order has two lines of the same SKU; merge them")
    net = net if net is not None else build_network(scenario)
    model = PlanModel(scenario, net)
    weight_lb = np.array([s.weight_lb for s in scenario.skus])
    weight = _line_sums(orders, weight_lb[orders.sku] * orders.qty)
    units = _line_sums(orders, orders.qty.astype(float)).astype(np.int64)
    latest = orders.deadline.astype(float).copy()
    unlimited = np.array([n.stock.unlimited for n in scenario.nodes])
    supply = Supply(*stock, n_skus=len(scenario.skus), unlimited=unlimited)
    last = float(orders.release.max()) if orders.n else 0.0
    # a pick starts at most a week after the release (the longest wait for a shift)
    capacity = pick_capacity(scenario, net, math.floor(last / HOURS) + 9)
    headroom = rule_day = rule_hours = None
    if rule is not None and len(rule.order):
        eta, rule_day, rule_hours = model.schedule(rule.node, rule.service,
                                                   orders.region[rule.order],
                                                   orders.release[rule.order], rule.units)
        np.maximum.at(latest, rule.order, eta)
        load = np.zeros_like(capacity)
        np.add.at(load, (rule.node, rule_day), rule_hours)
        capacity = np.maximum(capacity, load)
        finite = ~unlimited[rule.use_node]
        headroom = Headroom(supply, supply.pair_of(rule.use_node[finite], rule.use_sku[finite]),
                            orders.release[rule.use_order[finite]], rule.use_qty[finite])
    down = [(c.node, c.start, c.end) for c in Disruptions(scenario, net).node_changes
            if c.pickers is None]
    return Problem(scenario, net, model, orders, weight, units, latest, supply, capacity, down,
                   rule, headroom, rule_day, rule_hours)
