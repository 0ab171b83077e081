"""The cost and time model every plan is priced with: the rule's decisions, the candidate plans
and any assignment fed back (``sim.measure.optimum.assignment``) all go through ``PlanModel``,
so the gap compares like with like.

A shipment from node n to region g of ``weight`` lb and ``units`` units released at hour r:

* **cost** = carrier rate (the service's rate card at the zone of n→g) + node handling
  (``per_order`` + ``per_unit`` × units); an order of k shipments also pays
  ``costs.split_penalty`` × (k − 1) (added per plan, not here);
* **pick**: it starts when pickers are next on shift (``calendar.wait(r)``) and takes the
  expected pick time ``minutes_per_order + minutes_per_unit × units`` (pick hours, the
  capacity it uses on the day it starts); queueing is ignored, as the run's own promise
  estimate ignores it;
* **scheduled delivery** = the service's next pickup after the node's cutoff (pickup days) +
  transit days of the zone, exactly as the run schedules it (``sim.core.carrier``), without the
  random carrier delay; a service suspended (``carrier_suspension``) when the shipment is
  released is not offered, as the run's carrier choice skips it.

Everything is vectorised: arguments are equal-length arrays, one element per shipment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.disruptions import Disruptions
from sim.core.emissions import air_services, shipment_co2_kg
from sim.core.network import Network, next_pickups
from sim.scenario import Scenario

__all__ = ["PlanModel", "Options"]

HOURS = 24.0


@dataclass(frozen=True)
class Options:
    """The cheapest service for each shipment and what it implies (arrays, one per shipment).
    ``service`` is -1 (and ``cost`` inf) where no service delivers by the deadline."""

    service: np.ndarray
    cost: np.ndarray
    eta: np.ndarray
    pick_day: np.ndarray
    pick_hours: np.ndarray


class PlanModel:
    """Prices and schedules shipments of one scenario (see the module docstring)."""

    def __init__(self, scenario: Scenario, net: Network):
        self.sc, self.net = scenario, net
        nodes = scenario.nodes
        self.per_order = np.array([n.handling.per_order for n in nodes])
        self.per_unit = np.array([n.handling.per_unit for n in nodes])
        self.pick_h_order = np.array([n.capacity.minutes_per_order / 60.0 for n in nodes])
        self.pick_h_unit = np.array([n.capacity.minutes_per_unit / 60.0 for n in nodes])
        self.air = air_services(scenario)
        self.transit = np.array([s.transit_days for s in net.services], dtype=float)
        self.weekday0 = net.weekday0
        self.split_penalty = scenario.costs.split_penalty
        self.suspensions = Disruptions(scenario, net).suspensions

    def zone(self, node: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Rate zone (1..8) from each node to each region."""
        return self.net.zone[node, region].astype(np.int64)

    def handling(self, node: np.ndarray, units: np.ndarray) -> np.ndarray:
        """Node handling of each shipment."""
        return self.per_order[node] + self.per_unit[node] * units

    def pick(self, node: np.ndarray, release: np.ndarray, units: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """(pick start, pick hours) of each shipment released at ``release``."""
        start = np.empty(len(node))
        for n, cal in enumerate(self.net.calendars):
            m = node == n
            if m.any():
                start[m] = release[m] + cal.waits(release[m])
        return start, self.pick_h_order[node] + self.pick_h_unit[node] * units

    def eta(self, node: np.ndarray, service: np.ndarray, ready: np.ndarray, zone: np.ndarray
            ) -> np.ndarray:
        """Scheduled delivery of each shipment packed at ``ready`` by ``service``."""
        out = np.empty(len(node))
        cutoffs = self.net.cutoff_hour
        for v, svc in enumerate(self.net.services):
            for n in np.unique(node[service == v]).tolist():
                m = (service == v) & (node == n)
                pickup = next_pickups(ready[m], cutoffs[n], svc.pickup_hour, svc.pickup_days,
                                      self.weekday0)
                out[m] = pickup + HOURS * self.transit[v, zone[m] - 1]
        return out

    def rate(self, service: np.ndarray, zone: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Carrier rate of each shipment by its service."""
        out = np.empty(len(service))
        for v, svc in enumerate(self.net.services):
            m = service == v
            if m.any():
                out[m] = svc.rate_many(zone[m], weight[m])
        return out

    def cost(self, node: np.ndarray, service: np.ndarray, region: np.ndarray,
             weight: np.ndarray, units: np.ndarray) -> np.ndarray:
        """Rate + handling of each shipment (the shipment part of a plan's cost)."""
        return self.rate(service, self.zone(node, region), weight) + self.handling(node, units)

    def schedule(self, node: np.ndarray, service: np.ndarray, region: np.ndarray,
                 release: np.ndarray, units: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scheduled delivery, pick day, pick hours) of each shipment."""
        start, hours = self.pick(node, release, units)
        eta = self.eta(node, service, start + hours, self.zone(node, region))
        return eta, np.floor(start / HOURS).astype(np.int64), hours

    def cheapest(self, node: np.ndarray, region: np.ndarray, weight: np.ndarray,
                 units: np.ndarray, release: np.ndarray, deadline: np.ndarray) -> Options:
        """For each shipment, the cheapest service scheduled to deliver by ``deadline`` (ties:
        earlier delivery, then service index, as ``sim.core.carrier.choose_service``)."""
        k = len(node)
        zone = self.zone(node, region)
        start, hours = self.pick(node, release, units)
        ready = start + hours
        best = np.full(k, -1, dtype=np.int64)
        best_rate, best_eta = np.full(k, np.inf), np.full(k, np.inf)
        for v in range(len(self.net.services)):
            service = np.full(k, v)
            rate = self.rate(service, zone, weight)
            eta = self.eta(node, service, ready, zone)
            for a, b, stopped in self.suspensions:
                if v in stopped:
                    rate = np.where((release >= a) & (release < b), np.inf, rate)
            better = (eta <= deadline) & np.isfinite(rate) & (
                (rate < best_rate) | ((rate == best_rate) & (eta < best_eta)))
            best = np.where(better, v, best)
            best_rate = np.where(better, rate, best_rate)
            best_eta = np.where(better, eta, best_eta)
        cost = best_rate + self.handling(node, units)
        return Options(best, np.where(best >= 0, cost, np.inf), best_eta,
                       np.floor(start / HOURS).astype(np.int64), hours)

    def co2_kg(self, node: np.ndarray, service: np.ndarray, region: np.ndarray,
               weight: np.ndarray) -> np.ndarray:
        """Kg CO2e of each shipment (its own parcel): ``sim.core.emissions``."""
        return shipment_co2_kg(self.net.distance[node, region], weight, self.air[service])
