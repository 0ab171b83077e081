"""Static tables derived once from a scenario: distances, zones, rates, calendars, forecasts.

Everything here is computed before the clock starts so the order pipeline only does lookups.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.core.demand import expected_daily_units, walk_in_daily_units
from sim.core.geo import haversine_mi, zone_for_miles
from sim.scenario import CarrierService, Scenario, Shift

__all__ = ["Network", "ServiceInfo", "ShiftCalendar", "bisect_left", "bisect_right",
           "next_pickup", "next_pickups", "build_network"]

UNLIMITED = 10**12


def bisect_left(a: list[float], x: float) -> int:
    """``bisect.bisect_left`` on a sorted list of floats: the first index whose value is not
    below ``x``. Compiled, it compares unboxed floats (the module's is a generic call)."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def bisect_right(a: list[float], x: float) -> int:
    """``bisect.bisect_right`` on a sorted list of floats: the first index whose value is
    above ``x``."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if x < a[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass(frozen=True)
class ServiceInfo:
    """A carrier service with its rate table ready for lookups."""

    index: int
    carrier: str
    name: str
    spec: CarrierService
    weights: tuple[float, ...]
    rates: tuple[tuple[float, ...], ...]    # [bracket][zone-1]
    # The spec's fields the order pipeline reads, as compiled attributes (reading the
    # pydantic spec is a generic lookup): pricing, pickups and schedule.
    ltl: bool
    min_weight_lb: float
    min_charge: float
    pickup_hour: float
    pickup_days: list[int] = field(compare=False)
    transit_days: list[int] = field(compare=False)      # scheduled days for zones 1..8
    pickup_capacity: int | None

    @property
    def label(self) -> str:
        """``carrier/service``."""
        return f"{self.carrier}/{self.name}"

    def takes(self, weight_lb: float) -> bool:
        """Whether the service carries a shipment this heavy (LTL has a minimum)."""
        return weight_lb >= self.min_weight_lb

    def rate(self, zone: int, weight_lb: float) -> float:
        """Price of one shipment: by parcel (over the heaviest bracket as several parcels) or,
        for LTL, per 100 lb at the weight break, at least the minimum charge."""
        if self.ltl:
            k = min(bisect.bisect_left(self.weights, weight_lb), len(self.weights) - 1)
            return max(self.min_charge, self.rates[k][zone - 1] * weight_lb / 100.0)
        weights = self.weights
        heaviest = weights[-1]
        if weight_lb > heaviest:
            parcels = math.ceil(weight_lb / heaviest)
            return parcels * self.rates[-1][zone - 1]
        for k in range(len(weights)):
            if weight_lb <= weights[k]:
                return self.rates[k][zone - 1]
        raise AssertionError("unreachable")

    def rate_many(self, zone: np.ndarray, weight_lb: np.ndarray) -> np.ndarray:
        """``rate`` element-wise over arrays of zones and weights; ``inf`` where the service
        does not take the weight (below an LTL minimum)."""
        zone = np.asarray(zone, dtype=np.int64)
        w = np.asarray(weight_lb, dtype=float)
        table = np.asarray(self.rates)
        weights = np.asarray(self.weights)
        last = len(weights) - 1
        k = np.searchsorted(weights, w, side="left")
        if self.ltl:
            out = np.maximum(self.min_charge,
                             table[np.minimum(k, last), zone - 1] * w / 100.0)
        else:
            over = k > last
            out = np.where(over, np.ceil(w / weights[-1]) * table[last, zone - 1],
                           table[np.minimum(k, last), zone - 1])
        return np.where(w >= self.min_weight_lb, out, np.inf)


class ShiftCalendar:
    """When a node's pickers work; ``wait(t)`` is the time until the next working moment."""

    def __init__(self, shifts: list[Shift], start_weekday: int):
        spans = []
        for s in shifts:
            for d in s.days:
                spans.append((d * 24 + s.start_hour, d * 24 + s.end_hour))
        spans.sort()
        merged: list[list[float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        if len(merged) > 1 and merged[0][0] == 0 and merged[-1][1] == 168:
            merged[0][0] = merged[-1][0] - 168            # wraps over Sunday midnight
            merged.pop()
        self.spans = [tuple(m) for m in merged]
        self.offset = start_weekday * 24.0
        self.always = len(self.spans) == 1 and self.spans[0][1] - self.spans[0][0] >= 168
        # The week's spans repeated over three weeks, so any week-hour finds its neighbours.
        laid = sorted((a + k, b + k) for k in (-168.0, 0.0, 168.0) for a, b in self.spans)
        self._starts: list[float] = [a for a, _ in laid]
        self._ends: list[float] = [b for _, b in laid]
        # The week's spans normalised into [0, 168) (a span wrapping over Sunday midnight is
        # split in two), with the open hours before each span: the tables behind the
        # vectorised ``open_hours_before``.
        norm = []
        for a, b in self.spans:
            if a < 0:
                norm += [(a + 168.0, 168.0), (0.0, b)]
            else:
                norm.append((a, b))
        norm.sort()
        self._wk_starts = np.array([a for a, _ in norm], dtype=float)
        self._wk_ends = np.array([b for _, b in norm], dtype=float)
        lengths = self._wk_ends - self._wk_starts
        self._wk_before = np.concatenate(([0.0], np.cumsum(lengths)[:-1])) if norm else lengths
        self._week_open = float(lengths.sum())
        self._open_at_offset = (float(self._week_hours_before(np.array(self.offset)))
                                if norm else 0.0)

    def wait(self, t: float) -> float:
        """Hours from ``t`` until pickers are on shift (0 when they are)."""
        if self.always or not self.spans:
            return 0.0 if self.always else math.inf
        w = (t + self.offset) % 168.0
        k = bisect_right(self._starts, w) - 1
        if w < self._ends[k]:
            return 0.0
        return self._starts[k + 1] - w

    def waits(self, t: np.ndarray) -> np.ndarray:
        """``wait`` element-wise over an array of times."""
        t = np.asarray(t, dtype=float)
        if self.always or not self.spans:
            return np.full(t.shape, 0.0 if self.always else math.inf)
        w = (t + self.offset) % 168.0
        starts, ends = np.asarray(self._starts), np.asarray(self._ends)
        k = np.searchsorted(starts, w, side="right") - 1
        return np.where(w < ends[k], 0.0, starts[np.minimum(k + 1, len(starts) - 1)] - w)

    def open_hours(self, t0: float, t1: float) -> float:
        """Shift hours within [t0, t1): the capacity base for utilisation."""
        total, week = 0.0, 168.0
        k0 = math.floor((t0 + self.offset) / week) - 1
        k1 = math.ceil((t1 + self.offset) / week) + 1
        for k in range(k0, k1):
            for a, b in self.spans:
                lo = max(t0, k * week + a - self.offset)
                hi = min(t1, k * week + b - self.offset)
                total += max(0.0, hi - lo)
        return total

    def _week_hours_before(self, u: np.ndarray) -> np.ndarray:
        """Open hours in [0, u) with ``u`` in week-hours from the Monday 00:00 of the run's
        first week (not shifted by ``offset``); negative before it."""
        week = 168.0
        k = np.floor(u / week)
        w = u - k * week                      # in [0, 168]; 168 only by rounding, harmless
        j = np.searchsorted(self._wk_starts, w, side="right") - 1
        jj = np.maximum(j, 0)
        inside = np.clip(w - self._wk_starts[jj], 0.0, self._wk_ends[jj] - self._wk_starts[jj])
        partial = np.where(j >= 0, self._wk_before[jj] + inside, 0.0)
        return k * self._week_open + partial

    def open_hours_before(self, t: np.ndarray) -> np.ndarray:
        """Shift hours in [0, t) for each time in ``t`` (hours since the run start; t may be any
        float ≥ 0, or negative → negative cumulative consistent with differences), so shift hours
        in [a, b) are ``open_hours_before(b) - open_hours_before(a)``."""
        t = np.asarray(t, dtype=float)
        if self.always:
            return t.copy()
        if not self.spans:
            return np.zeros_like(t)
        return self._week_hours_before(t + self.offset) - self._open_at_offset

    def open_hours_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Shift hours in [a, b) element-wise: the vectorised ``open_hours``. Clipped at 0, so
        rounding never gives a negative value and ``b < a`` gives 0 as ``open_hours`` does."""
        return np.maximum(self.open_hours_before(b) - self.open_hours_before(a), 0.0)


def next_pickup(t: float, cutoff_hour: float, pickup_hour: float, pickup_days: list[int],
                start_weekday: int) -> float:
    """Time the carrier collects a parcel packed at ``t``: today if packed by the cutoff on a
    pickup day, else the next pickup day."""
    day = math.floor(t / 24.0)
    if t - day * 24.0 <= min(cutoff_hour, pickup_hour) and (start_weekday + day) % 7 in pickup_days:
        return day * 24.0 + pickup_hour
    for d in range(day + 1, day + 8):
        if (start_weekday + d) % 7 in pickup_days:
            return d * 24.0 + pickup_hour
    raise AssertionError("pickup_days is never empty")


def next_pickups(t: np.ndarray, cutoff_hour: float, pickup_hour: float, pickup_days: list[int],
                 start_weekday: int) -> np.ndarray:
    """``next_pickup`` element-wise over an array of pack times."""
    t = np.asarray(t, dtype=float)
    day = np.floor(t / 24.0)
    weekday = (start_weekday + day.astype(np.int64)) % 7
    is_day = np.isin(np.arange(7), pickup_days)
    # days from each weekday to the next pickup day strictly after it
    after = np.array([next(k for k in range(1, 8) if is_day[(d + k) % 7]) for d in range(7)])
    today = (t - day * 24.0 <= min(cutoff_hour, pickup_hour)) & is_day[weekday]
    return np.where(today, day, day + after[weekday]) * 24.0 + pickup_hour


@dataclass
class Network:
    """Lookup tables for one scenario."""

    scenario: Scenario
    distance: np.ndarray        # [node, region] miles
    zone: np.ndarray            # [node, region] 1..8
    services: list[ServiceInfo]
    carried: np.ndarray         # [node, sku] bool
    daily_demand: np.ndarray    # [node, sku] forecast units/day
    opening: np.ndarray         # [node, sku] units
    calendars: list[ShiftCalendar]
    sku_class: list[str]        # A/B/C by popularity rank
    cutoff_hour: list[float]    # [node] the day's last hour a parcel packed makes the pickup
    weekday0: int               # weekday of day 0 (Monday 0)



def _services(scenario: Scenario) -> list[ServiceInfo]:
    out: list[ServiceInfo] = []
    for c in scenario.carriers:
        for s in c.services:
            out.append(ServiceInfo(len(out), c.name, s.name, s,
                                   tuple(r.weight_lb_max for r in s.rate_card),
                                   tuple(r.by_zone() for r in s.rate_card),
                                   s.pricing == "ltl", s.min_weight_lb, s.min_charge,
                                   s.pickup_hour, list(s.pickup_days), list(s.transit_days),
                                   s.pickup_capacity))
    return out


def _carried(scenario: Scenario) -> np.ndarray:
    pop = np.array([s.popularity for s in scenario.skus])
    rank = np.argsort(-pop, kind="stable")
    index = {s.id: i for i, s in enumerate(scenario.skus)}
    carried: Any = np.zeros((len(scenario.nodes), len(scenario.skus)), dtype=bool)
    for n, node in enumerate(scenario.nodes):
        top = node.stock.assortment_top_n
        if top is None or node.stock.unlimited:
            carried[n] = True
        else:
            carried[n, rank[:top]] = True
        for sku in node.stock.units:
            carried[n, index[sku]] = True
    return carried


def _forecast(scenario: Scenario, distance: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """Forecast units/day per node×SKU: each region's demand goes to its nearest open node
    carrying the SKU (or the node's declared ``forecast_share``)."""
    daily = expected_daily_units(scenario)
    weight = np.array([r.population for r in scenario.regions], dtype=float)
    weight /= weight.sum()
    open_ = np.array([not n.closed for n in scenario.nodes])
    share = np.zeros_like(carried, dtype=float)
    masks, inverse = np.unique(carried & open_[:, None], axis=1, return_inverse=True)
    for g in range(masks.shape[1]):
        nodes = np.flatnonzero(masks[:, g])
        if len(nodes) == 0:
            continue
        nearest = nodes[np.argmin(distance[nodes], axis=0)]
        node_share = np.bincount(nearest, weights=weight, minlength=len(scenario.nodes))
        share[:, inverse.ravel() == g] = node_share[:, None]
    for n, node in enumerate(scenario.nodes):
        if node.forecast_share is not None:
            share[n] = np.where(carried[n], node.forecast_share, 0.0)
    return share * daily[None, :]


def _feed_order(scenario: Scenario) -> list[tuple[int, int]]:
    """(node, source node) for every node replenished from another, most downstream first,
    so echelon sums can be accumulated in one pass."""
    index = {n.name: i for i, n in enumerate(scenario.nodes)}

    def depth(i: int) -> int:
        src = scenario.nodes[i].replenished_from
        return 0 if src is None else 1 + depth(index[src])

    fed: list[tuple[int, str]] = []
    for i, n in enumerate(scenario.nodes):
        if n.replenished_from is not None:
            fed.append((i, n.replenished_from))
    fed.sort(key=lambda f: depth(f[0]), reverse=True)
    return [(i, index[src]) for i, src in fed]


def build_network(scenario: Scenario) -> Network:
    """Derive every static table the run needs from ``scenario``."""
    nlat = np.array([n.lat for n in scenario.nodes])[:, None]
    nlon = np.array([n.lon for n in scenario.nodes])[:, None]
    rlat = np.array([r.lat for r in scenario.regions])[None, :]
    rlon = np.array([r.lon for r in scenario.regions])[None, :]
    distance = haversine_mi(nlat, nlon, rlat, rlon)
    zone = zone_for_miles(distance)
    carried = _carried(scenario)
    feeds = _feed_order(scenario)
    for n, src in feeds:                 # a source stocks whatever its downstream nodes carry
        carried[src] |= carried[n]
    daily = _forecast(scenario, distance, carried) + walk_in_daily_units(scenario, carried)
    for n, src in feeds:                 # and plans for their replenishment (echelon demand)
        daily[src] += np.where(carried[n], daily[n], 0.0)
    opening = np.zeros(carried.shape, dtype=np.int64)
    index = {s.id: i for i, s in enumerate(scenario.skus)}
    for n, node in enumerate(scenario.nodes):
        if node.stock.unlimited:
            opening[n] = UNLIMITED
            continue
        opening[n] = np.where(carried[n], np.ceil(daily[n] * node.stock.days_of_supply), 0)
        for sku, q in node.stock.units.items():
            opening[n, index[sku]] = q
    pop = np.array([s.popularity for s in scenario.skus])
    cum = np.cumsum(np.sort(pop)[::-1]) / pop.sum()
    rank: Any = np.empty(len(pop), dtype=int)
    rank[np.argsort(-pop, kind="stable")] = np.arange(len(pop))
    sku_class = ["A" if cum[r] <= 0.8 else "B" if cum[r] <= 0.95 else "C" for r in rank]
    weekday0 = scenario.start_date.weekday()
    calendars = [ShiftCalendar(n.shifts, weekday0) for n in scenario.nodes]
    return Network(scenario, distance, zone, _services(scenario), carried, daily, opening,
                   calendars, sku_class, [n.cutoff_hour for n in scenario.nodes], weekday0)
