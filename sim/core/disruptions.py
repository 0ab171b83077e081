"""Scheduled events of a run (``Scenario.events``) as the model reads them: which nodes are
down or short of pickers, which carrier services are delayed or suspended, which suppliers
are late or short, at a given simulated hour. Demand surges act on demand before the clock
starts (``sim.core.demand``).

Windows are hours since the scenario's first midnight. Effects with a chance (a carrier delay's
``probability``) draw from stream ``event/<k>`` of the event, so other draws never shift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import simpy

from sim.core.events import Ev, EventSink
from sim.core.network import Network
from sim.core.rng import BlockSampler, stream
from sim.scenario import (
    CarrierDelay,
    CarrierSuspension,
    NodeCapacity,
    NodeOutage,
    Scenario,
    SupplierDelay,
    SupplierShortfall,
)
from sim.scenario.dists import Uniform

__all__ = ["Disruptions", "NodeChange"]


@dataclass(frozen=True, slots=True)
class NodeChange:
    """A node event as the model applies it: ``pickers`` None means an outage."""

    event: int
    node: int
    start: float
    end: float
    pickers: int | None
    reroute: bool


class Disruptions:
    """The dated events of one scenario, indexed for the model's lookups."""

    def __init__(self, scenario: Scenario, net: Network):
        self.sc = scenario
        self.windows = [ev.hours(scenario.start_date) for ev in scenario.events]
        nodes = {n.name: i for i, n in enumerate(scenario.nodes)}
        self.node_changes: list[NodeChange] = []
        self._delays: list[tuple[float, float, frozenset[int], float, float, BlockSampler]] = []
        self._suspensions: list[tuple[float, float, frozenset[int]]] = []
        self._supply: dict[str, list[tuple[float, float, float, float]]] = {}
        for k, (ev, (a, b)) in enumerate(zip(scenario.events, self.windows, strict=True)):
            if isinstance(ev, NodeOutage | NodeCapacity):
                outage = isinstance(ev, NodeOutage)
                self.node_changes.append(NodeChange(
                    k, nodes[ev.node], a, b, None if outage else ev.pickers,
                    outage and ev.queued == "reroute"))
            elif isinstance(ev, CarrierDelay):
                draw = BlockSampler(Uniform(kind="uniform", low=0.0, high=1.0),
                                    stream(scenario.seed, f"event/{k}"))
                self._delays.append((a, b, self._services(net, ev), ev.extra_days,
                                     ev.probability, draw))
            elif isinstance(ev, CarrierSuspension):
                self._suspensions.append((a, b, self._services(net, ev)))
            elif isinstance(ev, SupplierDelay):
                self._supply.setdefault(ev.supplier, []).append((a, b, ev.extra_days * 24, 1.0))
            elif isinstance(ev, SupplierShortfall):
                self._supply.setdefault(ev.supplier, []).append((a, b, 0.0, ev.fill_rate))
        self.has_carrier_events = bool(self._delays or self._suspensions)

    @staticmethod
    def _services(net: Network, ev: CarrierDelay | CarrierSuspension) -> frozenset[int]:
        return frozenset(s.index for s in net.services if s.carrier == ev.carrier
                         and (ev.service is None or s.name == ev.service))

    def start(self, env: simpy.Environment, log: EventSink,
              on_node: Callable[[NodeChange, bool], None]) -> None:
        """Log every event's start and end, and call ``on_node(change, active)`` when a node
        event starts (True) and ends (False)."""
        node_events = {c.event: c for c in self.node_changes}
        for k, (a, b) in enumerate(self.windows):
            env.process(self._run(env, log, k, max(a, 0.0), b, node_events.get(k), on_node))

    def _run(self, env, log, k: int, a: float, b: float, change: NodeChange | None, on_node):
        if b <= env.now:
            return
        yield env.timeout(a - env.now)
        node = change.node if change else -1
        log.add(env.now, Ev.EVENT_START, node=node, value=k)
        if change:
            on_node(change, True)
        yield env.timeout(b - env.now)
        log.add(env.now, Ev.EVENT_END, node=node, value=k)
        if change:
            on_node(change, False)

    def extra_transit_days(self, service: int, t: float) -> float:
        """Days a parcel of ``service`` collected at ``t`` arrives late because of carrier
        delays (each applying with its probability)."""
        extra = 0.0
        for a, b, services, days, p, draw in self._delays:
            if a <= t < b and service in services and draw.next() < p:
                extra += days
        return extra

    @property
    def suspensions(self) -> list[tuple[float, float, frozenset[int]]]:
        """(start, end, services) of every carrier suspension."""
        return list(self._suspensions)

    def suspended(self, t: float) -> frozenset[int]:
        """Services that collect nothing at ``t``."""
        out: frozenset[int] = frozenset()
        for a, b, services in self._suspensions:
            if a <= t < b:
                out |= services
        return out

    def resumes(self, service: int, t: float) -> float:
        """First hour at or after ``t`` when ``service`` is not suspended."""
        moved = True
        while moved:
            moved = False
            for a, b, services in self._suspensions:
                if service in services and a <= t < b:
                    t, moved = b, True
        return t

    def supply_terms(self, supplier: str, t: float) -> tuple[float, float]:
        """(extra lead hours, share of units confirmed) for an order placed with ``supplier``
        at ``t``."""
        extra, fill = 0.0, 1.0
        for a, b, hours, rate in self._supply.get(supplier, ()):
            if a <= t < b:
                extra += hours
                fill *= rate
        return extra, fill
