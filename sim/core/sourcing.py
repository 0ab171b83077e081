"""Carrying out sourcing and split outcomes: filter and rank nodes, measure what they can fill,
plan shipments.

The rule engine says *which strategy* applies (an outcome); these functions carry it out over
the network tables and the current state, which they read through a ``NodeView``. They are
deterministic: ties break by node index.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol

from rules.schema import SourcingStrategy, SplitOutcome
from sim.core.network import Network

__all__ = ["Coverage", "NodeView", "Ranker", "Plan", "SplitRule", "rank_nodes", "coverage",
           "choose_plan"]

Plan = list[tuple[int, list[int]]]     # (node, line indices) per shipment


class NodeView(Protocol):
    """What ranking needs to know about node n for the order being decided."""

    def ship_cost(self, n: int, weight_lb: float) -> float:
        """Cheapest on-time rate for a parcel of ``weight_lb`` from node n."""

    def on_time(self, n: int) -> bool:
        """Whether some service can still meet the promise from node n."""

    def backlog(self, n: int) -> float:
        """Queued shipments per picker at node n."""

    def assigned_today(self, n: int) -> int:
        """Shipments assigned to node n on the current day."""

    def days_of_supply(self, n: int) -> float:
        """Smallest stock cover (days of forecast demand) among the order's lines at node n."""

    def co2_kg(self, n: int, weight_lb: float) -> float:
        """Estimated kg CO2e of a ``weight_lb`` parcel from node n by the cheapest on-time
        service."""


def _allowed(strat: SourcingStrategy, net: Network, n: int, region: int, view: NodeView,
             bypass: bool) -> bool:
    node = net.scenario.nodes[n]
    if node.closed or node.kind not in strat.node_types or node.name in strat.exclude_nodes:
        return False
    if strat.max_distance_mi is not None and net.distance[n, region] > strat.max_distance_mi:
        return False
    if not bypass:
        if strat.max_backlog_per_picker is not None and \
                view.backlog(n) > strat.max_backlog_per_picker:
            return False
        if strat.respect_daily_capacity and node.daily_order_capacity is not None and \
                view.assigned_today(n) >= node.daily_order_capacity:
            return False
    return not strat.require_on_time or view.on_time(n)


_STATIC_KEYS = frozenset({"distance", "node_priority"})


class Ranker:
    """``rank_nodes`` with a memo for strategies whose ranking cannot change during a run
    (static keys, no state-dependent filters): those depend only on the customer region."""

    def __init__(self, net: Network):
        self.net = net
        self._memo: dict[tuple, list[int]] = {}
        #: id(strategy) → (the strategy, its memo key or None when its ranking can change);
        #: holding the strategy keeps its id from being reused
        self._keys: dict[int, tuple[SourcingStrategy, tuple | None]] = {}

    def rank(self, strat: SourcingStrategy, region: int, units: int, weight_lb: float,
             view: NodeView, bypass_capacity: bool = False) -> list[int]:
        """Same result as ``rank_nodes``."""
        known = self._keys.get(id(strat))
        if known is None or known[0] is not strat:
            known = self._keys[id(strat)] = (strat, _static_key(strat))
        key = known[1]
        if key is None:
            return rank_nodes(strat, self.net, region, units, weight_lb, view, bypass_capacity)
        hit = self._memo.get((key, region))
        if hit is None:
            hit = rank_nodes(strat, self.net, region, units, weight_lb, view, bypass_capacity)
            self._memo[(key, region)] = hit
        return hit


def _static_key(strat: SourcingStrategy) -> tuple | None:
    """What a static strategy's ranking depends on besides the region, or None when the
    strategy reads state (backlog, daily capacity, on-time, state-dependent keys)."""
    static = (strat.max_backlog_per_picker is None and not strat.respect_daily_capacity
              and not strat.require_on_time and _STATIC_KEYS.issuperset(strat.rank_by))
    return ((tuple(strat.node_types), tuple(strat.rank_by), tuple(strat.exclude_nodes),
             strat.max_distance_mi) if static else None)


def rank_nodes(strat: SourcingStrategy, net: Network, region: int, units: int, weight_lb: float,
               view: NodeView, bypass_capacity: bool = False) -> list[int]:
    """Nodes ``strat`` allows, best first by its ``rank_by`` keys (node index breaks ties)."""
    nodes = net.scenario.nodes
    cands = [n for n in range(len(nodes)) if _allowed(strat, net, n, region, view,
                                                      bypass_capacity)]

    def key(n: int) -> tuple:
        parts: list[float] = []
        for k in strat.rank_by:
            if k == "distance":
                parts.append(float(net.distance[n, region]))
            elif k == "ship_cost":
                parts.append(view.ship_cost(n, weight_lb))
            elif k == "landed_cost":
                h = nodes[n].handling
                parts.append(view.ship_cost(n, weight_lb) + h.per_order + h.per_unit * units)
            elif k == "node_priority":
                parts.append(-nodes[n].priority)
            elif k == "backlog":
                parts.append(view.backlog(n))
            elif k == "co2":
                parts.append(view.co2_kg(n, weight_lb))
            else:  # days_of_supply: overstocked nodes first
                parts.append(-view.days_of_supply(n))
        parts.append(n)
        return tuple(parts)

    return sorted(cands, key=key)


class Coverage:
    """What the ranked nodes can fill right now (one is built per sourcing attempt)."""

    __slots__ = ("single", "greedy", "lines_fillable")

    def __init__(self, single: int | None, greedy: Plan | None, lines_fillable: int):
        self.single = single                  # best-ranked node that fills every line
        self.greedy = greedy                  # nodes in rank order taking what they can, or None
        self.lines_fillable = lines_fillable  # lines some ranked node could fill alone


def coverage(ranked: list[int], skus: list[int], qtys: list[int], atp: list[list[int]],
             hold: list[int], groups: Sequence[Hashable] | None = None) -> Coverage:
    """Single-node and greedy multi-node coverage of an order's lines from usable stock.

    ``hold[n]`` units of every SKU at node n are held back (store protection, safety stock).
    With ``groups`` (a group id per line), a node takes a group's lines only all together.
    The first node that fills every line ends the search: later nodes change nothing."""
    nlines = len(skus)
    if nlines == 1:                     # most orders: one line, no partial fills to plan
        s, q = skus[0], qtys[0]
        for n in ranked:
            if atp[n][s] - hold[n] >= q:
                return Coverage(n, [(n, [0])], 1)
        return Coverage(None, None, 0)
    remaining = list(range(nlines))
    greedy: Plan = []
    fillable = [False] * nlines
    for n in ranked:
        row, h = atp[n], hold[n]
        ok = [row[skus[j]] - h >= qtys[j] for j in range(nlines)]
        if all(ok):
            if remaining:
                greedy.append((n, remaining))
            return Coverage(n, greedy, nlines)
        fillable = [fillable[j] or ok[j] for j in range(nlines)]
        if remaining:
            if groups is not None:
                broken = {groups[i] for i in remaining if not ok[i]}
                ok = [good and groups[i] not in broken for i, good in enumerate(ok)]
            take = [i for i in remaining if ok[i]]
            if take:
                greedy.append((n, take))
                remaining = [i for i in remaining if not ok[i]]
    return Coverage(None, None if remaining else greedy, sum(fillable))


class SplitRule:
    """A split outcome's fields as compiled attributes: made once per distinct outcome, since
    reading the pydantic outcome is a generic lookup each time."""

    __slots__ = ("mode", "max_shipments", "prefer_single_node", "keep_groups")

    def __init__(self, outcome: SplitOutcome) -> None:
        self.mode: str = outcome.mode
        self.max_shipments: int = outcome.max_shipments
        self.prefer_single_node: bool = outcome.prefer_single_node
        self.keep_groups: bool = outcome.keep_groups


def choose_plan(cov: Coverage, split: SplitRule, nlines: int, parcel_cost=None,
                split_penalty: float = 0.0) -> Plan | None:
    """Shipments under the split outcome, or None when the order cannot be filled.

    ``parcel_cost(node, lines)`` prices a parcel (needed by ``cost_based`` only)."""
    everything = list(range(nlines))
    single = None if cov.single is None else [(cov.single, everything)]
    greedy = cov.greedy if cov.greedy is not None and \
        len(cov.greedy) <= split.max_shipments else None
    if split.mode == "ship_complete":
        return single
    if split.mode == "allow_split":
        return single if (split.prefer_single_node and single) else greedy
    # cost_based: split only when the parcels plus the penalty beat one parcel
    if single is None or greedy is None or len(greedy) == 1:
        return single or greedy
    cost_single = parcel_cost(*single[0])
    cost_split = sum(parcel_cost(n, lines) for n, lines in greedy) + \
        split_penalty * (len(greedy) - 1)
    return greedy if cost_split < cost_single else single
