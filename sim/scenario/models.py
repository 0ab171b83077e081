"""The scenario: typed, frozen description of a DOM network and its demand (pydantic models).

Validation happens once, here; ``sim.scenario.loader`` reads files into these models.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from rules.files import format_loc
from rules.limits import (
    FINITE,
    MAX_COUNT,
    MAX_MONEY,
    MAX_NAME,
    MAX_RATE,
    MAX_WEIGHT,
    Money,
    Name,
    PathText,
    PosCount,
    Priority,
    Seed,
    Text,
    Weight,
)
from rules.vocabulary import CHANNEL_KINDS, NODE_KINDS, ChannelKind, NodeKind
from sim.scenario.dists import MEAN_RTOL, Const, Dist
from sim.scenario.opening_stock import OpeningStock, fold_opening_stock
from sim.scenario.references import reference_problems

__all__ = [
    "ScenarioError", "Sku", "Region", "ServiceLevel", "Channel", "Capacity", "Shift", "Handling",
    "StockSpec", "WalkIns", "Pickup", "Node", "RateRow", "CarrierService", "Carrier", "Supplier",
    "Policies", "Costs", "Brokering", "Consolidation", "Customers", "OpeningStock",
    "OrderHistory", "Scenario", "CHANNEL_KINDS", "NODE_KINDS", "ZONES", "ScheduledEvent",
    "NodeOutage", "NodeCapacity", "CarrierDelay", "CarrierSuspension", "DemandSurge",
    "SupplierDelay", "SupplierShortfall", "Returns",
]

ZONES = 8
#: Node×SKU cells a scenario may have, and units a day its demand may average.
MAX_CELLS = 20_000_000
MAX_UNITS_PER_DAY = 1_000_000_000


class ScenarioError(ValueError):
    """A scenario (or a file it references) is invalid; the message is one line for users."""


class _Frozen(BaseModel):
    model_config = FINITE


class Sku(_Frozen):
    """A sellable item."""

    id: Name
    weight_lb: float = Field(gt=0, le=100_000)
    price: float = Field(gt=0, le=MAX_MONEY)
    cost: Money
    popularity: Weight = Field(description="relative demand weight")
    launch_date: dt.date | None = None
    preorder: bool = Field(False, description="orders are taken before launch_date and "
                           "released at launch, most urgent first, against the stock that "
                           "arrives then")
    group: Name | None = Field(None, description="kit/item group kept together when "
                               "splitting")

    @model_validator(mode="after")
    def _preorder_needs_launch(self):
        if self.preorder and self.launch_date is None:
            raise ValueError("preorder: needs a launch_date")
        return self


class Region(_Frozen):
    """A customer region (a metro area), sampled by weight."""

    metro: Name
    state: str = Field("", max_length=MAX_NAME)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    population: float = Field(gt=0, le=MAX_WEIGHT, description="sampling weight")


class ServiceLevel(_Frozen):
    """A delivery promise offered by a channel and the share of orders choosing it."""

    name: Name
    promise_days: int = Field(ge=0, le=30)
    share: float = Field(gt=0, le=1)


def _profile(n: int):
    def check(v: list[float]) -> list[float]:
        if len(v) != n:
            raise ValueError(f"needs exactly {n} values, got {len(v)}")
        if any(x < 0 for x in v) or sum(v) <= 0:
            raise ValueError("values must be ≥ 0 with a positive sum")
        return v
    return check


class Pickup(_Frozen):
    """Buy online, pick up in store (``bopis``) or at the curb (``curbside``): the order is
    picked at the open store nearest the customer, with no carrier; it should be ready within
    ``ready_sla_hours``; the customer comes ``pickup_delay_hours`` after it is ready, or, with
    probability ``no_show_rate``, never, and after ``hold_days`` the units go back on the
    shelf."""

    mode: Literal["bopis", "curbside"] = "bopis"
    ready_sla_hours: float = Field(2.0, gt=0, le=240)
    pickup_delay_hours: Dist = Field(default_factory=lambda: Const(kind="const", value=18.0))
    no_show_rate: float = Field(0.05, ge=0, le=1)
    hold_days: float = Field(5.0, gt=0, le=60)


class Customers(_Frozen):
    """Who places a channel's orders. A share ``repeat_share`` of orders come from a customer
    who already ordered: the one who placed the channel's latest order at least a gap ago,
    the gap exponential with mean ``recency_hours`` (so follow-up orders cluster in time).
    A repeat order ships to that customer's previous address with probability
    ``same_address``, else to a new address (a region drawn by population). Every other order
    is a new customer at a new address."""

    repeat_share: float = Field(0.2, ge=0, lt=1)
    recency_hours: float = Field(24.0, gt=0, le=24 * 366)
    same_address: float = Field(0.9, ge=0, le=1)


class Channel(_Frozen):
    """A sales channel: arrival rate profile, basket shape and promise mix; ``pickup`` makes
    its orders store pickups (BOPIS or curbside) instead of parcels; ``customers`` makes some
    orders come from repeat customers (consolidation merges theirs)."""

    name: Name
    kind: ChannelKind
    orders_per_day: float = Field(gt=0, le=MAX_RATE)
    hour_profile: list[Weight] = Field(default_factory=lambda: [1.0] * 24,
                                       description="relative weights of hours 0..23")
    dow_profile: list[Weight] = Field(default_factory=lambda: [1.0] * 7,
                                      description="relative weights Monday..Sunday")
    season_multipliers: list[float] = Field(default_factory=list, max_length=1000,
                                            description="per-week demand multiplier, cycled")
    lines_per_order: Dist
    units_per_line: Dist
    service_levels: list[ServiceLevel] = Field(min_length=1)
    tier_mix: dict[Name, float] = Field(default_factory=lambda: {"standard": 1.0},
                                       description="customer tier → share of orders")
    pickup: Pickup | None = Field(None, description="orders are picked up at a store")
    customers: Customers | None = Field(None, description="repeat-customer model (None: every "
                                        "order is a new customer)")

    _hours = field_validator("hour_profile")(_profile(24))
    _dows = field_validator("dow_profile")(_profile(7))

    @field_validator("season_multipliers")
    @classmethod
    def _season(cls, v):
        if any(not 0 <= x <= 1000 for x in v):
            raise ValueError("multipliers must be between 0 and 1000")
        return v

    @model_validator(mode="after")
    def _shares(self):
        total = sum(s.share for s in self.service_levels)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"service_levels shares must sum to 1 (got {total:g})")
        tiers = sum(self.tier_mix.values())
        if not self.tier_mix or any(v < 0 for v in self.tier_mix.values()) or \
                not math.isclose(tiers, 1.0, abs_tol=1e-6):
            raise ValueError(f"tier_mix shares must be ≥ 0 and sum to 1 (got {tiers:g})")
        return self


class Capacity(_Frozen):
    """Pick/pack capacity: ``pickers`` parallel servers, each taking a random time per shipment."""

    pickers: int = Field(ge=1, le=100_000)
    minutes_per_order: float = Field(ge=1e-6, le=100_000)
    minutes_per_unit: float = Field(0.0, ge=0, le=100_000)
    time_cv: float = Field(1.0, ge=0.01, le=100, description="coefficient of variation "
                           "(1 = exponential)")

    @property
    def orders_per_hour(self) -> float:
        """Nominal throughput for single-unit orders."""
        return self.pickers * 60.0 / (self.minutes_per_order + self.minutes_per_unit)


class Shift(_Frozen):
    """Hours pickers work (``end_hour`` may be 24); ``days`` are 0=Monday..6=Sunday."""

    start_hour: float = Field(ge=0, lt=24)
    end_hour: float = Field(gt=0, le=24)
    days: list[int] = Field(default_factory=lambda: list(range(7)), max_length=100)

    @model_validator(mode="after")
    def _order(self):
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        if any(d < 0 or d > 6 for d in self.days):
            raise ValueError("days must be 0..6 (Monday..Sunday)")
        return self


class Handling(_Frozen):
    """Node handling cost per shipment and per unit."""

    per_order: float = Field(ge=0)
    per_unit: float = Field(0.0, ge=0)


class WalkIns(_Frozen):
    """Shoppers buying off a store's shelf (point-of-sale demand): sales arrive as a Poisson
    stream shaped by hour of day and day of week; each sale picks a SKU by popularity among
    those the store carries. A sale takes stock available to promise (on hand not reserved for
    online orders) or is lost."""

    units_per_day: float = Field(gt=0, le=MAX_RATE)
    hour_profile: list[Weight] = Field(default_factory=lambda: [1.0] * 24,
                                       description="relative weights of hours 0..23")
    dow_profile: list[Weight] = Field(default_factory=lambda: [1.0] * 7,
                                      description="relative weights Monday..Sunday")
    units_per_sale: Dist = Field(default_factory=lambda: Const(kind="const", value=1))

    _hours = field_validator("hour_profile")(_profile(24))
    _dows = field_validator("dow_profile")(_profile(7))


class StockSpec(_Frozen):
    """Opening stock: days of forecast supply, an assortment limit and explicit overrides."""

    days_of_supply: float = Field(0.0, ge=0, le=1000)
    assortment_top_n: PosCount | None = Field(None, description="carry only the N most "
                                              "popular")
    units: dict[Name, int] = Field(default_factory=dict, description="explicit SKU → units "
                                  "(the scenario's opening_stock rows override entries)")
    unlimited: bool = Field(False, description="drop-shippers: stock never runs out")

    @field_validator("units")
    @classmethod
    def _nonneg(cls, v):
        bad = [k for k, q in v.items() if q < 0]
        if bad:
            raise ValueError(f"units must be ≥ 0 (SKU {bad[0]})")
        big = [k for k, q in v.items() if q > MAX_COUNT]
        if big:
            raise ValueError(f"units must be ≤ {MAX_COUNT:,} (SKU {big[0]})")
        return v


class Node(_Frozen):
    """A fulfilment node: DC, store, 3PL or drop-shipper."""

    name: Name
    kind: NodeKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    capacity: Capacity
    shifts: list[Shift] = Field(default_factory=lambda: [Shift(start_hour=0, end_hour=24)],
                                max_length=100, description="at least one shift on some day")
    cutoff_hour: float = Field(16.0, ge=0, le=24, description="packed by then ships same day")
    handling: Handling
    stock: StockSpec = StockSpec()
    supplier: Name
    priority: Priority = Field(0, description="for rank_by node_priority; higher first")
    daily_order_capacity: PosCount | None = Field(None, description="shipments a day the DOM "
                                                  "may assign (rules opt in to respecting it)")
    closed: bool = False
    forecast_share: float | None = Field(None, ge=0, le=1)
    replenished_from: Name | None = Field(None, description="another node whose stock feeds "
                                         "this one (multi-echelon); None = the supplier")
    walk_ins: WalkIns | None = Field(None, description="store shoppers buying off the shelf")
    record_accuracy: float = Field(1.0, gt=0, le=1, description="chance a picker finds each "
                                   "reserved line on the shelf; a missing line is phantom "
                                   "stock: the node rejects the shipment")

    @model_validator(mode="after")
    def _walk_ins_at_stores(self):
        if self.walk_ins is not None and self.kind != "store":
            raise ValueError("walk_ins: only stores have walk-in shoppers")
        if not any(s.days for s in self.shifts):
            raise ValueError("shifts: needs at least one shift with days: pickers never work")
        return self


class RateRow(_Frozen):
    """One weight bracket of a rate card: price by zone for parcels up to ``weight_lb_max``."""

    weight_lb_max: float = Field(gt=0, le=1e6)
    z1: Money
    z2: Money
    z3: Money
    z4: Money
    z5: Money
    z6: Money
    z7: Money
    z8: Money

    def by_zone(self) -> tuple[float, ...]:
        """Rates for zones 1..8."""
        return (self.z1, self.z2, self.z3, self.z4, self.z5, self.z6, self.z7, self.z8)


class CarrierService(_Frozen):
    """A carrier service: zone × weight prices, scheduled transit days by zone, lateness.

    ``parcel`` pricing: a rate card row is the price of one parcel up to ``weight_lb_max``
    (heavier shipments go as several parcels of the heaviest bracket). ``ltl`` pricing (pallet
    freight): a row is the price per 100 lb for shipments up to ``weight_lb_max`` (the heaviest
    row beyond), at least ``min_charge``; the service takes only shipments of at least
    ``min_weight_lb``. ``mode`` (ground or air) selects the emission factor of its shipments
    (``sim.core.emissions``)."""

    name: Name
    pricing: Literal["parcel", "ltl"] = "parcel"
    # Left out of dumps when ground, so scenarios that never set it keep their hash.
    mode: Literal["ground", "air"] = Field("ground", exclude_if=lambda v: v == "ground",
                                           description="how shipments travel: by road or by "
                                           "air (the emission factor; overnight services fly)")
    min_charge: float = Field(0.0, ge=0, le=1e6)
    min_weight_lb: float = Field(0.0, ge=0, le=1e6)
    rate_card: list[RateRow] = Field(min_length=1, max_length=1000)
    transit_days: list[int] = Field(description="scheduled days for zones 1..8")
    delay_days: Dist = Field(description="extra days beyond schedule (0 most of the time)")
    pickup_hour: float = Field(18.0, ge=0, lt=24)
    pickup_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5], max_length=100)
    pickup_capacity: int | None = Field(None, ge=1, le=10_000_000, description="parcels one "
                                        "pickup takes from a node; the rest wait for the next "
                                        "pickup day (None: unlimited)")

    @field_validator("transit_days")
    @classmethod
    def _transit(cls, v):
        if len(v) != ZONES or any(not 0 <= d <= 366 for d in v):
            raise ValueError(f"needs {ZONES} values from 0 to 366 (zones 1..8)")
        return v

    @field_validator("rate_card")
    @classmethod
    def _ascending(cls, v):
        w = [r.weight_lb_max for r in v]
        if w != sorted(w) or len(set(w)) != len(w):
            raise ValueError("weight_lb_max must be strictly ascending")
        return v

    @field_validator("pickup_days")
    @classmethod
    def _days(cls, v):
        if not v or any(d < 0 or d > 6 for d in v):
            raise ValueError("needs at least one day in 0..6")
        return v


class Carrier(_Frozen):
    """A parcel carrier and its services."""

    name: Name
    services: list[CarrierService] = Field(min_length=1, max_length=100)


class Supplier(_Frozen):
    """A replenishment lane: lead time, order costs and lot-sizing terms.

    An external supplier sells at ``price_factor`` × the SKU's cost. A node with
    ``replenished_from`` gets its stock from another node along this lane instead: the units
    already belong to the retailer, so only ``unit_cost`` (freight, handling) and ``order_cost``
    are charged."""

    name: Name
    lead_time_days: Dist
    order_cost: Money = Field(0.0, description="fixed cost per replenishment order "
                              "(one node×SKU order line)")
    price_factor: float = Field(1.0, ge=0, le=1000, description="purchase price per unit = "
                                "factor × SKU cost (not charged on transfers between nodes)")
    unit_cost: Money = Field(0.0, description="freight/handling per unit ordered")
    moq: PosCount = Field(1, description="minimum order quantity (units)")
    order_multiple: PosCount = Field(1, description="order quantities are rounded up to this")
    capacity_per_day: float | None = Field(None, gt=0, le=MAX_COUNT, description="units a day "
                                           "the lane can ship; orders queue first come, first "
                                           "served")

    def lot(self, qty: int) -> int:
        """The quantity actually ordered for a need of ``qty`` units (MOQ, then multiple)."""
        qty = max(qty, self.moq)
        return -(-qty // self.order_multiple) * self.order_multiple


class Policies(_Frozen):
    """Which rule set decides at each decision point (library name or path)."""

    sourcing: PathText
    split: PathText
    carrier: PathText
    reorder: PathText
    priority: PathText | None = None
    backorder: PathText | None = None


class Costs(_Frozen):
    """Cost parameters outside rate cards and handling."""

    split_penalty: Money = Field(1.5, description="per shipment beyond the first")
    holding_rate_per_year: float = Field(0.25, ge=0, le=10, description="holding cost per "
                                         "year as a share of the unit cost, charged on the "
                                         "exact time-average on hand")
    backorder_per_unit_day: Money = Field(1.0, description="cost per customer unit "
                                          "backordered per day")
    lost_sale_per_unit: Money | None = Field(None, description="cost per unit of a "
                                             "cancelled (lost) order line; None = the SKU's "
                                             "margin, price − cost")


class Consolidation(_Frozen):
    """Merge a customer's orders into one parcel. An order whose customer already has a parcel
    going to the same address, still waiting to be picked at a node that can fill the whole
    order, joins that parcel when every order in it arrived within ``window_hours`` of each
    other, the parcel's service still meets the order's promise, and the sourcing rules allow
    (``consolidate``). ``hold_hours`` (≤ window) holds each order of a repeat-customer channel
    that long before brokering so a follow-up can catch it: the delay consolidation adds."""

    window_hours: float = Field(gt=0, le=24 * 14)
    hold_hours: float = Field(0.0, ge=0, le=24 * 14)

    @model_validator(mode="after")
    def _hold_in_window(self):
        if self.hold_hours > self.window_hours:
            raise ValueError("hold_hours: must be ≤ window_hours")
        return self


class Brokering(_Frozen):
    """When the DOM decides orders. ``realtime``: each order on arrival. ``batch``: orders wait
    and are decided together every ``interval_minutes`` (and at the horizon), in priority
    order, so scarce stock goes to the most urgent orders rather than the first to arrive.
    ``order_by`` keys, in turn: ``promise`` (shortest promise first), ``tier`` (by
    ``tier_rank``, unlisted tiers last), ``value`` (highest order value first), ``arrival``.
    With priority rules, ``reprioritise_minutes`` re-decides queued shipments' pick priority.
    ``atp_sync_minutes`` makes inventory visibility periodic: the DOM allocates against stock as
    of the last sync (less its own allocations since), so sales it does not see (walk-ins,
    transfers) can oversell a node, which then rejects the shipment at pick."""

    mode: Literal["realtime", "batch"] = "realtime"
    interval_minutes: float = Field(15.0, ge=1, le=24 * 60)
    order_by: list[Literal["promise", "tier", "value", "arrival"]] = Field(
        default_factory=lambda: ["promise", "tier", "arrival"], min_length=1)
    tier_rank: list[Name] = Field(default_factory=lambda: ["gold", "silver", "standard"],
                                  max_length=1000)
    atp_sync_minutes: float | None = Field(None, ge=1, le=7 * 24 * 60, description="the DOM "
                                           "sees stock as synced this often (plus its own "
                                           "allocations); None: real-time visibility")
    reprioritise_minutes: float | None = Field(None, ge=1, le=24 * 60, description="decide "
                                               "the pick priority of queued shipments again "
                                               "this often, so age-based priority rules take "
                                               "effect while orders wait (None: only once)")
    consolidation: Consolidation | None = Field(None, description="merge a repeat customer's "
                                                "orders into one parcel (None: never)")


class _Window(_Frozen):
    """A dated disruption: from ``start`` to ``end`` (date-times in the scenario's local time;
    a bare date means midnight), with an optional ``label`` for logs and charts."""

    start: dt.datetime
    end: dt.datetime
    label: str = Field("", max_length=100)

    @field_validator("start", "end")
    @classmethod
    def _local(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is not None:
            raise ValueError("a time zone is not allowed: times are the scenario's local time")
        return v

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self

    def hours(self, start_date: dt.date) -> tuple[float, float]:
        """The window as hours since the scenario's first midnight."""
        t0 = dt.datetime.combine(start_date, dt.time())
        return ((self.start - t0).total_seconds() / 3600.0,
                (self.end - t0).total_seconds() / 3600.0)


class NodeOutage(_Window):
    """A node is down: it picks nothing and no order is sourced to it. Shipments queued there
    wait for the end (``queued: wait``) or are sourced again elsewhere (``reroute``); a store's
    walk-in shoppers leave empty-handed."""

    kind: Literal["node_outage"]
    node: Name
    queued: Literal["wait", "reroute"] = "wait"


class NodeCapacity(_Window):
    """A node works with ``pickers`` pickers during the window (overtime, sickness, a strike)."""

    kind: Literal["node_capacity"]
    node: Name
    pickers: int = Field(ge=0, le=100_000)


class CarrierDelay(_Window):
    """Parcels a carrier (or one of its services) collects in the window arrive
    ``extra_days`` late, each with ``probability``."""

    kind: Literal["carrier_delay"]
    carrier: Name
    service: Name | None = None
    extra_days: float = Field(gt=0, le=60)
    probability: float = Field(1.0, gt=0, le=1)


class CarrierSuspension(_Window):
    """A carrier (or one service) collects nothing in the window: carrier rules choose among
    the other services, and parcels already assigned to it wait for its first pickup after."""

    kind: Literal["carrier_suspension"]
    carrier: Name
    service: Name | None = None


class DemandSurge(_Window):
    """Orders of ``channel`` (every channel if None) arrive ``multiplier`` times as fast in the
    window, optionally only from the metros in ``regions``. Extra orders come from their own
    stream (``surge/<k>/<channel>``) and a drop (multiplier < 1) thins orders with another, so
    every other order is unchanged."""

    kind: Literal["demand_surge"]
    channel: Name | None = None
    multiplier: float = Field(ge=0, le=100)
    regions: list[Name] = Field(default_factory=list, max_length=100_000)


class SupplierDelay(_Window):
    """Replenishment orders placed with ``supplier`` in the window take ``extra_days`` more."""

    kind: Literal["supplier_delay"]
    supplier: Name
    extra_days: float = Field(gt=0, le=365)


class SupplierShortfall(_Window):
    """Replenishment orders placed with ``supplier`` in the window are confirmed for only
    ``fill_rate`` of the units (rounded to the nearest unit); the rest is never shipped."""

    kind: Literal["supplier_shortfall"]
    supplier: Name
    fill_rate: float = Field(ge=0, lt=1)


ScheduledEvent = Annotated[NodeOutage | NodeCapacity | CarrierDelay | CarrierSuspension
                           | DemandSurge | SupplierDelay | SupplierShortfall,
                           Field(discriminator="kind")]


class Returns(_Frozen):
    """Customers send back part of what they receive. Each delivered unit comes back with
    the rate of its order's channel (``rate_by_channel``, else ``rate``) times its SKU
    class's factor (``class_factor``, A/B/C by popularity), ``delay_days`` after delivery,
    to the nearest open node of the first kind in ``to`` that carries the SKU. A share
    ``restock_share`` goes back into stock there; the rest is scrapped (its cost is lost).
    Each returned parcel costs ``shipping_per_return`` and each unit ``handling_per_unit``."""

    rate: float = Field(0.0, ge=0, le=1)
    rate_by_channel: dict[Name, float] = Field(default_factory=dict)
    class_factor: dict[Literal["A", "B", "C"], float] = Field(default_factory=dict)
    delay_days: Dist = Field(default_factory=lambda: Const(kind="const", value=7.0))
    to: list[NodeKind] = Field(default_factory=lambda: ["store", "dc"], min_length=1)
    restock_share: float = Field(0.8, ge=0, le=1)
    shipping_per_return: float = Field(6.0, ge=0, le=1e4)
    handling_per_unit: float = Field(1.5, ge=0, le=1e4)

    @field_validator("rate_by_channel", "class_factor")
    @classmethod
    def _shares(cls, v):
        if any(not 0 <= x <= 10 for x in v.values()):
            raise ValueError("values must be between 0 and 10")
        return v


class OrderHistory(_Frozen):
    """Replay an order-history file (CSV or Parquet, see ``sim.scenario.history`` for the
    columns) instead of synthetic demand for some channels. ``path`` is relative to the YAML
    that names it; ``channels`` are the channels whose orders come from the file (None: every
    channel the file names), the others stay synthetic. ``skip_bad_rows`` drops bad rows (and
    their whole orders) instead of refusing the file. ``digest`` is the file's sha256, filled
    by the loader, so the scenario hash changes when the data does."""

    path: PathText
    channels: list[Name] | None = Field(None, min_length=1)
    skip_bad_rows: bool = False
    digest: str | None = Field(None, pattern=r"^[0-9a-f]{64}$",
                               description="sha256 of the file; set by the loader")


class Scenario(_Frozen):
    """Everything a run needs besides the rule engine."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME,
                      description="letters, digits, _ . - (it names run directories)")
    description: Text = ""
    start_date: dt.date = Field(dt.date(2026, 1, 5), ge=dt.date(1900, 1, 1),
                                le=dt.date(9000, 1, 1))
    horizon_days: float = Field(gt=0, le=366)
    warmup_days: float = Field(0.0, ge=0)
    seed: Seed = 0
    drain_days: float = Field(14.0, ge=0, le=366, description="after the horizon, time to "
                              "empty queues")
    skus: list[Sku] = Field(min_length=1, max_length=100_000)
    regions: list[Region] = Field(min_length=1, max_length=100_000)
    channels: list[Channel] = Field(min_length=1, max_length=1000)
    nodes: list[Node] = Field(min_length=1, max_length=10_000)
    carriers: list[Carrier] = Field(min_length=1, max_length=100)
    suppliers: list[Supplier] = Field(min_length=1, max_length=1000)
    policies: Policies
    costs: Costs = Costs()
    brokering: Brokering = Brokering()
    # Left out of dumps when unset, so scenarios without them keep their hash.
    events: list[ScheduledEvent] = Field(default_factory=list, max_length=1000,
                                         exclude_if=lambda v: not v)
    returns: Returns | None = Field(None, exclude_if=lambda v: v is None)
    order_history: OrderHistory | None = Field(None, exclude_if=lambda v: v is None,
                                               description="replay orders from a file")
    opening_stock: list[OpeningStock] = Field(
        default_factory=list, exclude=True,
        description="starting units per node×SKU (a stock snapshot table: node, sku, units); "
        "folded into each node's stock.units, overriding its entries (so not dumped)")

    @model_validator(mode="before")
    @classmethod
    def _fold_opening_stock(cls, data):
        return fold_opening_stock(data)

    @model_validator(mode="after")
    def _cross_refs(self):
        if self.warmup_days >= self.horizon_days:
            raise ValueError("warmup_days: must be shorter than horizon_days")
        problems = reference_problems(self)
        if problems:
            loc, msg = problems[0]
            raise ValueError(f"{format_loc(loc)}: {msg}")
        _check_echelons(self.nodes)
        _check_events(self)
        names = {c.name for c in self.channels}
        for field, refs in (
                ("returns.rate_by_channel", self.returns and self.returns.rate_by_channel),
                ("order_history.channels", self.order_history and self.order_history.channels)):
            for c in refs or ():
                if c not in names:
                    raise ValueError(f"{field}: unknown channel '{c}'")
        if all(n.closed for n in self.nodes):
            raise ValueError("nodes: every node is closed")
        if self.name in (".", ".."):
            raise ValueError("name: '.' and '..' cannot name a run directory")
        _check_size(self)
        return self


def _check_size(sc: Scenario) -> None:
    """Some SKU can be ordered from the first day, demand is bounded, and the stock arrays
    (nodes × SKUs) fit in memory: a scenario the model can run, or a ``ValueError`` naming
    the field to change."""
    if not any(s.popularity > 0 and (s.preorder or s.launch_date is None
                                     or s.launch_date <= sc.start_date) for s in sc.skus):
        raise ValueError("skus: no SKU can be ordered on start_date: every SKU with "
                         "popularity > 0 launches later (or every popularity is 0)")
    cells = len(sc.nodes) * len(sc.skus)
    if cells > MAX_CELLS:
        raise ValueError(f"nodes: {len(sc.nodes):,} nodes × {len(sc.skus):,} SKUs is more "
                         f"than {MAX_CELLS:,} node×SKU cells")
    # Well below the limit the approximate means decide (no NumPy import); near or over it,
    # the exact means: the verdict and the message are always those of the exact means.
    if _daily_units(sc, exact=False) > MAX_UNITS_PER_DAY * (1 - MEAN_RTOL):
        units = _daily_units(sc, exact=True)
        if units > MAX_UNITS_PER_DAY:
            raise ValueError(f"channels: expected demand of {units:,.0f} units a day is more "
                             f"than {MAX_UNITS_PER_DAY:,}")


def _daily_units(sc: Scenario, exact: bool) -> float:
    """Expected units ordered a day (channels and store walk-ins), from the distributions'
    ``mean`` or, within ``MEAN_RTOL`` of it (every term is ≥ 0), their ``approx_mean``."""
    def mean(d: Dist) -> float:
        return d.mean if exact else d.approx_mean

    units = sum(c.orders_per_day * mean(c.lines_per_order) * mean(c.units_per_line)
                for c in sc.channels)
    units += sum(n.walk_ins.units_per_day * mean(n.walk_ins.units_per_sale)
                 for n in sc.nodes if n.walk_ins is not None)
    return units


def _check_echelons(nodes: list[Node]) -> None:
    """``replenished_from`` names another stocked node and the feeds form no cycle."""
    index = {n.name: i for i, n in enumerate(nodes)}
    for i, n in enumerate(nodes):
        src = n.replenished_from
        if src is None:
            continue
        where = f"nodes[{i}].replenished_from"
        if src not in index:
            raise ValueError(f"{where}: unknown node '{src}'")
        if src == n.name:
            raise ValueError(f"{where}: a node cannot replenish itself")
        if n.stock.unlimited:
            raise ValueError(f"{where}: an unlimited node needs no replenishment")
        seen, cur = {n.name}, src
        while cur is not None:
            if cur in seen:
                raise ValueError(f"{where}: replenishment cycle through '{cur}'")
            seen.add(cur)
            cur = nodes[index[cur]].replenished_from


def _check_events(sc: Scenario) -> None:
    """Every name a scheduled event refers to exists."""
    names = {"node": {n.name for n in sc.nodes}, "carrier": {c.name for c in sc.carriers},
             "channel": {c.name for c in sc.channels},
             "supplier": {s.name for s in sc.suppliers}}
    metros = {r.metro for r in sc.regions}
    for k, ev in enumerate(sc.events):
        for field, known in names.items():
            value = getattr(ev, field, None)
            if value is not None and value not in known:
                raise ValueError(f"events[{k}].{field}: unknown {field} '{value}'")
        service = getattr(ev, "service", None)
        if service is not None:
            carrier = next(c for c in sc.carriers if c.name == ev.carrier)
            if service not in {s.name for s in carrier.services}:
                raise ValueError(f"events[{k}].service: carrier '{ev.carrier}' has no service "
                                 f"'{service}'")
        for r in getattr(ev, "regions", ()):
            if r not in metros:
                raise ValueError(f"events[{k}].regions: unknown region '{r}'")
