"""Carrying out carrier outcomes: the carrier service a shipment takes, its rate and its
scheduled delivery (cheapest on time, fastest or cheapest among the allowed services).

Deterministic: ties break by service index. ``ServicePicker`` memoises the choice.
"""

from __future__ import annotations

import math

from rules.schema import CarrierOutcome
from sim.core.network import Network, ServiceInfo, bisect_left, next_pickup

__all__ = ["CHEAPEST_ON_TIME", "ServicePicker", "choose_service"]

#: The carrier outcome used to estimate a node's shipping cost and SLA feasibility.
CHEAPEST_ON_TIME = CarrierOutcome(strategy="cheapest_on_time")


def choose_service(out: CarrierOutcome, services: list[ServiceInfo], net: Network, node: int,
                   zone: int, weight_lb: float, ready_at: float, deadline: float
                   ) -> tuple[ServiceInfo, float, float]:
    """The service ``out`` selects, its rate and its scheduled delivery time."""
    options, fastest = service_options(out, services, net, node, zone, weight_lb, ready_at)
    return _select(out.strategy, options, fastest, deadline)


Option = tuple[float, float, int, ServiceInfo]      # rate, delivery, service index, service


def service_options(out: CarrierOutcome, services: list[ServiceInfo], net: Network, node: int,
                    zone: int, weight_lb: float, ready_at: float, offset: float = 0.0
                    ) -> tuple[list[Option], Option]:
    """The services ``out`` allows for this parcel, cheapest first (then earliest delivery,
    then service index), each with its delivery time less ``offset``; and the fastest one."""
    cutoff, weekday0 = net.cutoff_hour[node], net.weekday0
    carriers, names = out.carriers, out.services
    options = []
    for s in services:
        if not s.takes(weight_lb):
            continue
        if carriers is not None and s.carrier not in carriers:
            continue
        if names is not None and s.name not in names:
            continue
        ship = next_pickup(ready_at, cutoff, s.pickup_hour, s.pickup_days, weekday0)
        eta = ship + 24.0 * s.transit_days[zone - 1]
        options.append((s.rate(zone, weight_lb), eta - offset, s.index, s))
    if not options:
        raise ValueError(f"no carrier service is allowed by the carrier rule for a "
                         f"{weight_lb:g} lb shipment")
    options.sort()
    return options, min(options, key=lambda o: (o[1], o[0], o[2]))


def _select(strategy: str, options: list[Option], fastest: Option,
            deadline: float) -> tuple[ServiceInfo, float, float]:
    """The option a carrier outcome's ``strategy`` picks (``options`` cheapest first;
    ``deadline`` on the same clock as their delivery times)."""
    if strategy == "cheapest_on_time":
        best = fastest
        for o in options:                  # cheapest first: the first on time
            if o[1] <= deadline:
                best = o
                break
    elif strategy == "fastest":
        best = fastest
    else:
        best = options[0]
    return best[3], best[0], best[1]


class ServicePicker:
    """``choose_service`` with a memo of the options: relative to the day the parcel is ready,
    they only change with the node, zone, weight bracket, that weekday and which pickup
    cutoffs that day it beats, so those form the key; the deadline then picks among them
    (parcels over the smallest heaviest bracket are not memoised)."""

    def __init__(self, net: Network):
        self.net = net
        self._bounds: list[float] = sorted({w for s in net.services for w in s.weights})
        # Heavier shipments are not memoised: past the smallest heaviest parcel bracket, or
        # heavy enough for an LTL service (whose price grows with the weight itself).
        self._max_w = min([s.weights[-1] for s in net.services]
                          + [s.min_weight_lb for s in net.services if s.ltl])
        self._cuts: list[list[float]] = [
            sorted({min(cutoff, s.pickup_hour) for s in net.services})
            for cutoff in net.cutoff_hour]
        self._memo: dict[tuple, tuple[list[Option], Option]] = {}
        #: id(outcome) → (the outcome, the number of its (strategy, carriers, services): the
        #: part of the memo key it decides, and its strategy); holding the outcome keeps its
        #: id from being reused
        self._outcomes: dict[int, tuple[CarrierOutcome, int, str]] = {}
        #: (strategy, carriers, services) → its number (equal outcomes share memo entries)
        self._outcome_keys: dict[tuple, int] = {}
        self._weekday0 = net.weekday0

    def pick(self, out: CarrierOutcome, node: int, zone: int, weight_lb: float, ready: float,
             deadline: float, suspended: frozenset[int] = frozenset()
             ) -> tuple[ServiceInfo, float, float]:
        """Same result as ``choose_service`` over all services of the network, less any
        ``suspended`` ones (unless the outcome allows no other)."""
        if suspended:
            services = [s for s in self.net.services if s.index not in suspended]
            try:
                return choose_service(out, services, self.net, node, zone, weight_lb, ready,
                                      deadline)
            except ValueError:
                pass                     # nothing else allowed: it waits for the service
        if weight_lb >= self._max_w:
            return choose_service(out, self.net.services, self.net, node, zone, weight_lb,
                                  ready, deadline)
        day = math.floor(ready / 24.0)
        base = day * 24.0
        tod = ready - base
        known = self._outcomes.get(id(out))
        if known is None or known[0] is not out:
            what = (out.strategy, out.carriers and tuple(out.carriers),
                    out.services and tuple(out.services))
            number = self._outcome_keys.setdefault(what, len(self._outcome_keys))
            known = self._outcomes[id(out)] = (out, number, out.strategy)
        # Relative to the ready day, the options depend on the weekday, not the date.
        key = (known[1], node, zone, bisect_left(self._bounds, weight_lb),
               (self._weekday0 + day) % 7, bisect_left(self._cuts[node], tod))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = service_options(out, self.net.services, self.net, node,
                                                    zone, weight_lb, ready, base)
        svc, rate, eta = _select(known[2], hit[0], hit[1], deadline - base)
        return svc, rate, eta + base
