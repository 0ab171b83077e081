"""Customer demand, generated up front from the demand streams alone.

Arrivals are a non-homogeneous Poisson process with a piecewise-constant rate per hour
(orders/day × day-of-week × hour-of-day × weekly season multipliers). Baskets draw line counts,
SKUs (by popularity, respecting launch dates) and units per line; customers draw a region by
population weight and a service level by the channel's mix; a channel's repeat customers
(``Channel.customers``) reuse an earlier order's customer and, mostly, its address and region.
Because nothing here depends on the rules, two scenarios run with the same seed see exactly the
same orders (common random numbers). Channels a scenario's ``order_history`` replays take their
orders from the file instead (``sim.core.replay``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.replay import replay_columns, replayed_history
from sim.core.rng import stream
from sim.scenario import Channel, Scenario

__all__ = ["Demand", "WalkInDemand", "generate_demand", "generate_walk_ins",
           "expected_daily_units", "walk_in_daily_units"]


@dataclass(frozen=True)
class Demand:
    """All orders of a run, sorted by arrival time; lines of order i are
    ``sku[line_start[i]:line_start[i+1]]``."""

    t: np.ndarray            # arrival time, hours since start
    channel: np.ndarray      # index into scenario.channels
    service: np.ndarray      # index into service_table
    region: np.ndarray       # index into scenario.regions
    line_start: np.ndarray   # n + 1 offsets
    sku: np.ndarray          # index into scenario.skus
    qty: np.ndarray
    service_table: tuple[tuple[int, str, int], ...]   # (channel index, name, promise days)
    tier: np.ndarray         # index into tier_names
    tier_names: tuple[str, ...]
    customer: np.ndarray     # customer id (repeat customers share one)
    address: np.ndarray      # delivery address id (a repeat customer may ship elsewhere)

    @property
    def n(self) -> int:
        """Number of orders."""
        return len(self.t)


@dataclass(frozen=True)
class WalkInDemand:
    """Every store walk-in sale of a run, sorted by time (one SKU per sale)."""

    t: np.ndarray            # hours since start
    node: np.ndarray         # index into scenario.nodes
    sku: np.ndarray          # index into scenario.skus
    qty: np.ndarray

    @property
    def n(self) -> int:
        """Number of sales."""
        return len(self.t)


def _hourly_rates(per_day: float, hour_profile: list[float], dow_profile: list[float],
                  season: list[float], hours: int, start_weekday: int) -> np.ndarray:
    """Arrivals per hour for ``hours`` hours: the daily rate shaped by hour of day, day of
    week (mean 1) and a weekly season multiplier (cycled)."""
    h = np.arange(hours)
    day = h // 24
    hour_w = np.asarray(hour_profile) / sum(hour_profile)
    dow_w = np.asarray(dow_profile) / np.mean(dow_profile)
    rate = per_day * hour_w[h % 24] * dow_w[(start_weekday + day) % 7]
    if season:
        rate = rate * np.asarray(season)[(day // 7) % len(season)]
    return rate


def _poisson_times(rng: np.random.Generator, rate: np.ndarray, horizon_h: float) -> np.ndarray:
    """Sorted arrival times of a Poisson process with piecewise-constant hourly ``rate``."""
    counts = rng.poisson(rate)
    t = np.repeat(np.arange(len(rate), dtype=float), counts) + rng.random(counts.sum())
    return np.sort(t[t < horizon_h])


def _launch_days(scenario: Scenario) -> np.ndarray:
    """Day each SKU can first be ordered (pre-order SKUs: from the start)."""
    return np.array([(s.launch_date - scenario.start_date).days
                     if s.launch_date and not s.preorder else -10**9 for s in scenario.skus])


def _pick_skus(u: np.ndarray, day: np.ndarray, popularity: np.ndarray,
               launch: np.ndarray) -> np.ndarray:
    """SKU per line from uniforms ``u``, only among SKUs launched by the line's day."""
    out = np.empty(len(u), dtype=np.int64)
    epochs = np.unique(np.concatenate([[day.min(initial=0)], launch[launch > 0]]))
    bounds = np.searchsorted(epochs, day, side="right") - 1
    for e in np.unique(bounds):
        w = np.where(launch <= epochs[e], popularity, 0.0)
        if w.sum() <= 0:
            raise ValueError("no SKU is launched yet: every popularity is zero")
        cdf = np.cumsum(w) / w.sum()
        sel = bounds == e
        out[sel] = np.minimum(np.searchsorted(cdf, u[sel], side="right"), len(w) - 1)
    return out


def _roots(parent: np.ndarray) -> np.ndarray:
    """The root of each index in a forest where ``parent[j] ≤ j`` (a root is its own parent)."""
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _customers(scenario: Scenario, ch: Channel, t: np.ndarray, region: np.ndarray):
    """(customer, address, region) of a channel's orders, ids local to the channel. A repeat
    order takes the customer of the latest order at least an exponential gap earlier and, with
    probability ``same_address``, its address and region (stream ``customers/<channel>``)."""
    n = len(t)
    own = np.arange(n)
    if ch.customers is None or n == 0:
        return own, own, region
    c = ch.customers
    rng = stream(scenario.seed, f"customers/{ch.name}")
    repeat = rng.random(n) < c.repeat_share
    gap = rng.exponential(c.recency_hours, n)
    same = rng.random(n) < c.same_address
    prev = np.minimum(np.searchsorted(t, t - gap, side="right") - 1, own - 1)
    repeat &= prev >= 0
    customer = _roots(np.where(repeat, prev, own))
    address = _roots(np.where(repeat & same, prev, own))
    return customer, address, region[address]


def _channel_rate(scenario: Scenario, ch: Channel) -> np.ndarray:
    """The channel's orders per hour over the horizon."""
    hours = int(np.ceil(scenario.horizon_days * 24))
    return _hourly_rates(ch.orders_per_day, ch.hour_profile, ch.dow_profile,
                         ch.season_multipliers, hours, scenario.start_date.weekday())


def _channel_orders(scenario: Scenario, ci: int, ch: Channel, svc_base: int,
                    rng: np.random.Generator, rate: np.ndarray,
                    population: np.ndarray, repeat: bool = True):
    """A channel's orders drawn from ``rng``: Poisson times at hourly ``rate``, regions by
    ``population`` weight, and (with ``repeat``) repeat customers."""
    t = _poisson_times(rng, rate, scenario.horizon_days * 24)
    n = len(t)
    shares = np.cumsum([s.share for s in ch.service_levels])
    service = svc_base + np.minimum(np.searchsorted(shares / shares[-1], rng.random(n),
                                                    side="right"), len(shares) - 1)
    weights = np.cumsum(population)
    region = np.minimum(np.searchsorted(weights / weights[-1], rng.random(n), side="right"),
                        len(weights) - 1)
    lines = np.maximum(1, np.rint(ch.lines_per_order.sample(rng, n))).astype(np.int64)
    total = int(lines.sum())
    owner = np.repeat(np.arange(n), lines)
    popularity = np.array([s.popularity for s in scenario.skus], dtype=float)
    sku = _pick_skus(rng.random(total), (t // 24).astype(np.int64)[owner], popularity,
                     _launch_days(scenario))
    qty = np.maximum(1, np.rint(ch.units_per_line.sample(rng, total))).astype(np.int64)
    # The same SKU drawn twice in one basket is one line with the units added up.
    nsku = len(scenario.skus)
    keys, inverse = np.unique(owner * nsku + sku, return_inverse=True)
    qty = np.bincount(inverse, weights=qty).astype(np.int64)
    nlines = np.bincount(keys // nsku, minlength=n)
    # Drawn last, so a different tier mix leaves every other draw of the channel unchanged.
    cum = np.cumsum(list(ch.tier_mix.values()))
    tier = np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)
    own = np.arange(n)
    customer, address, region = (_customers(scenario, ch, t, region) if repeat
                                 else (own, own, region))
    return t, np.full(n, ci), service, region, nlines, keys % nsku, qty, tier, customer, address


def _surge_windows(scenario: Scenario, ch: Channel):
    """(event index, event, first hour, end hour) of the demand surges on channel ``ch``."""
    for k, ev in enumerate(scenario.events):
        if ev.kind == "demand_surge" and ev.channel in (None, ch.name):
            a, b = ev.hours(scenario.start_date)
            yield k, ev, a, b


def _surges(scenario: Scenario, ch: Channel, rate: np.ndarray, population: np.ndarray):
    """(event index, extra hourly rate, region weights) of each surge raising ``ch``'s
    demand: (multiplier − 1) × the rate inside the window, from the surge's regions only."""
    hours = np.arange(len(rate), dtype=float)
    for k, ev, a, b in _surge_windows(scenario, ch):
        if ev.multiplier <= 1:
            continue
        inside = _overlap(hours, a, b)
        weights = population
        if ev.regions:
            chosen = np.array([r.metro in ev.regions for r in scenario.regions])
            weights = np.where(chosen, population, 0.0)
            # Only those regions surge: the extra is their share of the channel's demand.
            inside = inside * weights.sum() / population.sum()
        yield k, rate * (ev.multiplier - 1) * inside, weights


def _overlap(hours: np.ndarray, a: float, b: float) -> np.ndarray:
    """Share of each hour [h, h + 1) inside the window [a, b)."""
    return np.clip(np.minimum(hours + 1, b) - np.maximum(hours, a), 0.0, 1.0)


def _thin(scenario: Scenario, ch: Channel, drawn: tuple) -> tuple:
    """Drop orders inside a demand drop (multiplier < 1): each stays with the multiplier's
    probability (stream ``surge/<k>/<channel>/thin``), from the drop's regions only."""
    t, region = drawn[0], drawn[3]
    keep = np.ones(len(t), dtype=bool)
    for k, ev, a, b in _surge_windows(scenario, ch):
        if ev.multiplier >= 1:
            continue
        u = stream(scenario.seed, f"surge/{k}/{ch.name}/thin").random(len(t))
        hit = (t >= a) & (t < b)
        if ev.regions:
            names = np.array([r.metro for r in scenario.regions])
            hit &= np.isin(names[region], ev.regions)
        keep &= ~hit | (u < ev.multiplier)
    if keep.all():
        return drawn
    t, channel, service, region, nlines, sku, qty, tier, customer, address = drawn
    line_keep = np.repeat(keep, nlines)
    # Customer and address ids stay positions in the first draw (still unique).
    return (t[keep], channel[keep], service[keep], region[keep], nlines[keep], sku[line_keep],
            qty[line_keep], tier[keep], customer[keep], address[keep])


def generate_demand(scenario: Scenario) -> Demand:
    """Every order of the horizon for ``scenario`` (deterministic in its seed). Channels an
    order-history file replays (``sim.core.replay``) take their orders from it; the others
    draw exactly what they would without it (their streams are their own)."""
    table, parts = [], []
    tier_names = sorted({name for ch in scenario.channels for name in ch.tier_mix})
    offset = 0                           # customer and address ids are unique across channels
    population = np.array([r.population for r in scenario.regions], dtype=float)
    history = replayed_history(scenario)
    for ci, ch in enumerate(scenario.channels):
        base = len(table)
        table += [(ci, s.name, s.promise_days) for s in ch.service_levels]
        if history is not None and ci in history.channels:
            continue
        to_global = np.array([tier_names.index(name) for name in ch.tier_mix], dtype=np.int64)
        rate = _channel_rate(scenario, ch)
        first = _channel_orders(scenario, ci, ch, base, stream(scenario.seed, f"demand/{ch.name}"),
                                rate, population)
        drawn = [(_thin(scenario, ch, first), len(first[0]))]    # (orders, ids used)
        for k, extra_rate, weights in _surges(scenario, ch, rate, population):
            extra = _channel_orders(scenario, ci, ch, base,
                                    stream(scenario.seed, f"surge/{k}/{ch.name}"), extra_rate,
                                    weights, repeat=False)
            drawn.append((extra, len(extra[0])))
        for (*part, local_tier, customer, address), ids in drawn:
            parts.append((*part, to_global[local_tier], customer + offset, address + offset))
            offset += ids
    if history is not None:
        part, table, tier_names = replay_columns(scenario, history, tuple(table),
                                                 tuple(tier_names), offset)
        parts.append(part)
    t, channel, service, region, nlines, sku, qty, tier, customer, address = (
        np.concatenate(x) for x in zip(*parts, strict=True))
    old_start = np.concatenate([[0], np.cumsum(nlines)[:-1]])
    perm = np.argsort(t, kind="stable")
    n_new = nlines[perm]
    line_start = np.concatenate([[0], np.cumsum(n_new)]).astype(np.int64)
    gather = np.repeat(old_start[perm] - line_start[:-1], n_new) + np.arange(line_start[-1])
    return Demand(t[perm], channel[perm].astype(np.int64), service[perm].astype(np.int64),
                  region[perm].astype(np.int64), line_start, sku[gather].astype(np.int64),
                  qty[gather].astype(np.int64), tuple(table), tier[perm].astype(np.int64),
                  tuple(tier_names), customer[perm].astype(np.int64),
                  address[perm].astype(np.int64))


def expected_daily_units(scenario: Scenario) -> np.ndarray:
    """Mean units demanded per day for each SKU (the forecast stock and reorder levels use)."""
    popularity = np.array([s.popularity for s in scenario.skus], dtype=float)
    share = popularity / popularity.sum()
    lines_per_day = 0.0
    units = 0.0
    for ch in scenario.channels:
        mult = np.mean(ch.season_multipliers) if ch.season_multipliers else 1.0
        lines = ch.orders_per_day * mult * max(1.0, ch.lines_per_order.mean)
        lines_per_day += lines
        units += lines * max(1.0, ch.units_per_line.mean)
    return share * units


def _walk_in_mix(scenario: Scenario, carried: np.ndarray) -> np.ndarray:
    """[node, sku] share of a store's walk-in sales: popularity among the SKUs it carries."""
    pop = np.array([s.popularity for s in scenario.skus], dtype=float)
    w = np.where(carried, pop[None, :], 0.0)
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


def walk_in_daily_units(scenario: Scenario, carried: np.ndarray) -> np.ndarray:
    """[node, sku] mean walk-in units a day (for stock and reorder levels)."""
    per_day = np.array([n.walk_ins.units_per_day if n.walk_ins else 0.0
                        for n in scenario.nodes])
    return per_day[:, None] * _walk_in_mix(scenario, carried)


def generate_walk_ins(scenario: Scenario, carried: np.ndarray) -> WalkInDemand:
    """Every walk-in sale of the horizon at stores with ``walk_ins`` (stream
    ``walkin/<node>``, so routing rules never change them: common random numbers)."""
    hours = int(np.ceil(scenario.horizon_days * 24))
    mix = _walk_in_mix(scenario, carried)
    parts = []
    for n, node in enumerate(scenario.nodes):
        w = node.walk_ins
        if w is None or node.closed or mix[n].sum() == 0:
            continue
        rng = stream(scenario.seed, f"walkin/{node.name}")
        sales_per_day = w.units_per_day / max(1.0, w.units_per_sale.mean)
        rate = _hourly_rates(sales_per_day, w.hour_profile, w.dow_profile, [], hours,
                             scenario.start_date.weekday())
        t = _poisson_times(rng, rate, scenario.horizon_days * 24)
        cdf = np.cumsum(mix[n])
        sku = np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(len(t)), side="right"),
                         len(cdf) - 1)
        qty = np.maximum(1, np.rint(w.units_per_sale.sample(rng, len(t)))).astype(np.int64)
        parts.append((t, np.full(len(t), n), sku, qty))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return WalkInDemand(np.zeros(0), empty, empty, empty)
    t, node, sku, qty = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.argsort(t, kind="stable")
    return WalkInDemand(t[order], node[order].astype(np.int64), sku[order].astype(np.int64),
                        qty[order])
