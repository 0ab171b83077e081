"""Key performance indicators: pure functions of a run's tables (no SimPy here).

Scalar KPIs are declared in ``KPIS`` (name → function of a RunResult) so reports, comparisons
and CI checks all read one registry. Orders count if created in [warm-up, horizon); inventory
and utilisation are measured over the same window.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.core.emissions import air_services, shipment_co2_kg
from sim.core.inventory import LEVELS, LOST, LOST_TO_ONLINE, SOLD
from sim.core.model import RunResult, Status
from sim.core.network import ShiftCalendar

__all__ = ["KPIS", "OPTIMUM_KPIS", "ALL_KPIS", "KpiSpec", "COST_COMPONENTS", "compute_kpis",
           "window_orders", "breakdowns", "NonFiniteKpi", "check_finite"]

HOURS = 24.0


def _in_window(run: RunResult, t: np.ndarray) -> np.ndarray:
    """Mask of the times ``t`` (hours) inside the measurement window [warm-up, horizon)."""
    return (t >= run.scenario.warmup_days * HOURS) & (t < run.scenario.horizon_days * HOURS)


def window_orders(run: RunResult) -> np.ndarray:
    """Boolean mask of orders created inside the measurement window."""
    return _in_window(run, run.orders["t_created"])


def _window_rows(run: RunResult, table: dict[str, np.ndarray],
                 columns: dict[str, type]) -> dict[str, np.ndarray]:
    """The rows of a per-order event table (rejections, pickups, pre-orders) whose order was
    created in the window; empty ``columns`` for runs that have no such table."""
    if not table:
        return {c: np.zeros(0, dtype=dtype) for c, dtype in columns.items()}
    m = window_orders(run)[table["order"]]
    return {k: v[m] for k, v in table.items()}


def _ship_mask(run: RunResult) -> np.ndarray:
    win = window_orders(run)
    order = run.shipments["order"].astype(np.int64)
    return win[order] if len(order) else np.zeros(0, dtype=bool)


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else 0.0


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _orders(run):
    return int(window_orders(run).sum())


def _units(run):
    return int(run.orders["units"][window_orders(run)].sum())


def _revenue(run):
    w = window_orders(run)
    sold = float(run.orders["value"][w & (run.orders["status"] != Status.CANCELLED)].sum())
    return sold - _refunds(run)


def _refunds(run):
    """Price of the units the window's orders return (refunded to the customer)."""
    r = _window_returns(run)
    price = np.array([s.price for s in run.scenario.skus])
    return float((price[r["sku"]] * r["qty"]).sum()) if len(r["qty"]) else 0.0


def _shipped_orders(run):
    w = window_orders(run)
    return int((w & (run.orders["n_shipments"] > 0)).sum())


def _shipping_cost(run):
    return float(run.shipments["ship_cost"][_ship_mask(run)].sum())


def _handling_cost(run):
    return float(run.shipments["handling"][_ship_mask(run)].sum())


def _split_penalty(run):
    w = window_orders(run)
    extra = np.maximum(run.orders["n_shipments"][w] - 1, 0).sum()
    return float(extra * run.scenario.costs.split_penalty)


def _per_order(cost_fn):
    return lambda run: _ratio(cost_fn(run), _shipped_orders(run))


def _fulfilment_cost(run):
    return _shipping_cost(run) + _handling_cost(run) + _split_penalty(run)


def _cost_per_order(run):
    return _ratio(_fulfilment_cost(run), _shipped_orders(run))


def _delivered(run):
    return window_orders(run) & (run.orders["status"] == Status.DELIVERED)


def _on_time_pct(run):
    d = _delivered(run)
    late = run.orders["delivered_at"][d] > run.orders["deadline"][d]
    return 100.0 * _ratio(int((~late).sum()), int(d.sum()))


def _order_fill_rate(run):
    w = window_orders(run)
    return 100.0 * _mean(run.orders["first_fill"][w].astype(float))


def _line_fill_rate(run):
    w = window_orders(run)
    return 100.0 * _ratio(int(run.orders["lines_fillable"][w].sum()),
                          int(run.orders["lines"][w].sum()))


def _broker_delay(run):
    w = window_orders(run)
    o = run.orders
    return 60.0 * _mean(o["decided_at"][w] - o["t_created"][w])


def _split_rate(run):
    w = window_orders(run) & (run.orders["n_shipments"] > 0)
    return 100.0 * _mean((run.orders["n_shipments"][w] > 1).astype(float))


def _shipments_per_order(run):
    w = window_orders(run) & (run.orders["n_shipments"] > 0)
    return _mean(run.orders["n_shipments"][w].astype(float))


def _lead_hours(run):
    d = _delivered(run)
    return run.orders["delivered_at"][d] - run.orders["t_created"][d]


def _status_count(status):
    return lambda run: int((window_orders(run) & (run.orders["status"] == status)).sum())


def _backorders(run):
    w = window_orders(run)
    return int((w & ~np.isnan(run.orders["backordered_at"])).sum())


# -- inventory: exact time averages over the window ---------------------------------------


def _window_hours(run) -> float:
    return (run.scenario.horizon_days - run.scenario.warmup_days) * HOURS


def _stocked(run) -> np.ndarray:
    """[node, sku] mask of the stock the KPIs measure: carried at nodes with finite stock."""
    inv = run.inventory
    return inv["carried"] & ~inv["unlimited"][:, None]


def _area(run, level: str) -> np.ndarray:
    """[node, sku] integral of ``level`` over the window (units × hours)."""
    return run.inventory["window_area"][LEVELS.index(level)]


def _avg(run, level: str) -> float:
    return float(_area(run, level)[_stocked(run)].sum()) / _window_hours(run)


def _avg_position(run):
    net = sum(sign * _avg(run, lv) for sign, lv in ((1, "on_hand"), (-1, "reserved"),
                                                    (1, "on_order"), (-1, "backorders"),
                                                    (-1, "owed")))
    return float(net)


def _units_per_day(run) -> float:
    return _units(run) / (_window_hours(run) / HOURS)


def _days_of_cover(run):
    return _ratio(_avg(run, "on_hand"), _units_per_day(run))


def _cycle_service(run):
    inv, m = run.inventory, _stocked(run)
    cycles = int(inv["cycles"][m].sum())
    return 100.0 * (1.0 - _ratio(int(inv["short_cycles"][m].sum()), cycles))


def _unit_fill_rate(run):
    w = window_orders(run)
    units = run.orders["units"][w]
    return 100.0 * _ratio(int(units[run.orders["first_fill"][w]].sum()), int(units.sum()))


def _stockout_hours(run):
    m = _stocked(run)
    return _ratio(float(_area(run, "stockout")[m].sum()), int(m.sum()))


def _inventory_value(run) -> float:
    """Time-average value at cost of the stock on hand at stocked nodes."""
    area = np.where(_stocked(run), _area(run, "on_hand"), 0.0)
    return float(area.sum(axis=0) @ run.inventory["unit_cost"]) / _window_hours(run)


def _turns(run):
    """Annualised inventory turns over the window: cost of goods packed in the window at
    stocked nodes / time-average inventory value at cost, scaled to a year."""
    t0 = run.scenario.warmup_days * HOURS
    t1 = run.scenario.horizon_days * HOURS
    sh = run.shipments
    if not len(sh["node"]):
        return 0.0
    packed = sh["packed"].astype(float)
    in_window = (packed >= t0) & (packed < t1) & \
        ~run.inventory["unlimited"][sh["node"].astype(np.int64)]
    cogs = float(sh["cogs"][in_window].astype(float).sum())
    return _ratio(cogs, _inventory_value(run)) * 365.0 / (_window_hours(run) / HOURS)


# -- costs ------------------------------------------------------------------------------------


def _holding_cost(run):
    rate = run.scenario.costs.holding_rate_per_year
    return _inventory_value(run) * _window_hours(run) * rate / (365.0 * HOURS)


def _window_pos(run) -> np.ndarray:
    return _in_window(run, run.inventory["po_t"])


def _lanes(run):
    by_name = {s.name: s for s in run.scenario.suppliers}
    return [by_name[n.supplier] for n in run.scenario.nodes]


def _ordering_cost(run):
    lanes = _lanes(run)
    nodes = run.inventory["po_node"][_window_pos(run)]
    return float(sum(lanes[n].order_cost for n in nodes.tolist()))


def _root_price(run) -> np.ndarray:
    """[node, sku] purchase price of the goods at each node: its own supplier's price, or
    for a node replenished from another node, the price its source paid (up the chain)."""
    sc, inv = run.scenario, run.inventory
    by_name = {n.name: i for i, n in enumerate(sc.nodes)}
    lanes = _lanes(run)

    def root(i: int) -> int:
        src = sc.nodes[i].replenished_from
        return i if src is None else root(by_name[src])

    factor = np.array([lanes[root(i)].price_factor for i in range(len(sc.nodes))])
    return factor[:, None] * inv["unit_cost"][None, :]


def _purchase_cost(run):
    """Cost of goods at purchase price for the window's online demand: external purchases in
    the window, less the growth of the network's inventory position valued at purchase price
    (so buying ahead of the horizon is not a cost; holding it is), less the goods store
    shoppers bought over the counter (store sales, not online orders), plus lane freight per
    unit ordered (transfers included)."""
    inv, lanes, root_price = run.inventory, _lanes(run), _root_price(run)
    w = _window_pos(run)
    node, sku, qty = inv["po_node"][w], inv["po_sku"][w], inv["po_qty"][w]
    if not len(node):
        bought = freight = 0.0
    else:
        external = inv["po_source"][w] < 0
        price = root_price[node, sku]
        bought = float((np.where(external, price, 0.0) * qty).sum())
        freight = float((np.array([lanes[n].unit_cost for n in node.tolist()]) * qty).sum())
    stocked = ~inv["unlimited"]
    start, end = inv["window_positions"]
    growth = float((((end - start) * root_price)[stocked]).sum())
    w = _walk_ins(run)
    sold = w["outcome"] == SOLD
    over_counter = float((root_price[w["node"][sold], w["sku"][sold]]
                          * w["qty"][sold]).sum())
    return max(0.0, bought - growth - over_counter) + freight


def _backorder_cost(run):
    unit_days = float(_area(run, "backorders").sum()) / HOURS
    return unit_days * run.scenario.costs.backorder_per_unit_day


def _lost_sale_cost(run):
    """Cancelled online orders and lost store walk-ins: per unit, or their margin."""
    o = run.orders
    lost = window_orders(run) & (o["status"] == Status.CANCELLED)
    w = _walk_ins(run)
    lost_w = w["outcome"] != SOLD
    per_unit = run.scenario.costs.lost_sale_per_unit
    if per_unit is None:
        margin = np.array([s.price - s.cost for s in run.scenario.skus])
        walk_in = float((margin[w["sku"][lost_w]] * w["qty"][lost_w]).sum())
        return float((o["value"][lost] - o["cogs"][lost]).sum()) + walk_in
    return float(o["units"][lost].sum() + w["qty"][lost_w].sum()) * per_unit


# -- store walk-ins ---------------------------------------------------------------------------


def _walk_ins(run) -> dict[str, np.ndarray]:
    """Walk-in sales in the window (empty arrays for runs without walk-ins)."""
    w = run.walk_ins
    if not w or not len(w["t"]):
        empty = np.zeros(0, dtype=np.int64)
        return {"t": np.zeros(0), "node": empty, "sku": empty, "qty": empty, "outcome": empty}
    m = _in_window(run, w["t"])
    return {k: v[m] for k, v in w.items()}


def _walk_in_units(run, outcomes=None) -> int:
    w = _walk_ins(run)
    m = np.ones(len(w["t"]), dtype=bool) if outcomes is None else np.isin(w["outcome"],
                                                                          outcomes)
    return int(w["qty"][m].sum())


def _walk_in_fill(run):
    demanded = _walk_in_units(run)
    return 100.0 * _ratio(_walk_in_units(run, [SOLD]), demanded) if demanded else 100.0


def _inventory_cost(run):
    return _holding_cost(run) + _ordering_cost(run) + _backorder_cost(run) + _lost_sale_cost(run)


#: Components of total cost, in report order (key, function).
def _window_returns(run) -> dict[str, np.ndarray]:
    """Returned lines of the window's orders."""
    return _window_rows(run, run.returns, {"order": np.int64, "sku": np.int64,
                                           "qty": np.int64, "restocked": np.int64,
                                           "cost": float, "arrived": bool})


def _returns_cost(run):
    """Return shipping and handling of the window's orders' returns (decided at delivery,
    charged whether or not they arrive before the run ends)."""
    return float(_window_returns(run)["cost"].sum())


COST_COMPONENTS = (
    ("shipping", _shipping_cost), ("handling", _handling_cost),
    ("split_penalty", _split_penalty), ("holding", _holding_cost),
    ("ordering", _ordering_cost), ("purchase", _purchase_cost),
    ("backorder", _backorder_cost), ("lost_sale", _lost_sale_cost),
    ("returns", _returns_cost),
)


def _total_cost(run):
    return float(sum(fn(run) for _, fn in COST_COMPONENTS))


def _per_window_order(cost_fn):
    return lambda run: _ratio(cost_fn(run), _orders(run))


# -- operations -------------------------------------------------------------------------------


def _utilisation_by_node(run) -> np.ndarray:
    """Busy share of each node's picker shift hours in the window. A pick's busy time counts
    only inside shift hours (a pick running past the shift end is overtime, not capacity), so
    the share never exceeds 100%."""
    sh, sc = run.shipments, run.scenario
    t0 = sc.warmup_days * HOURS
    t1 = sc.horizon_days * HOURS
    busy = np.zeros(len(sc.nodes))
    if len(sh["node"]):
        nodes = np.where(sh["host"].astype(np.int64) < 0, sh["node"].astype(np.int64), -1)
        # (a consolidated order rides in its host's pick: counted once, with the host)
        start = np.clip(sh["pick_start"].astype(float), t0, t1)
        end = np.clip(sh["packed"].astype(float), t0, t1)
        weekday = sc.start_date.weekday()
        for n, spec in enumerate(sc.nodes):
            mine = nodes == n
            if mine.any():
                cal = ShiftCalendar(spec.shifts, weekday)
                busy[n] = cal.open_hours_between(start[mine], end[mine]).sum()
    return np.divide(busy, run.nodes["open_hours"], out=np.zeros_like(busy),
                     where=run.nodes["open_hours"] > 0)


def _utilisation(run):
    open_nodes = np.array([not n.closed for n in run.scenario.nodes])
    return 100.0 * _mean(_utilisation_by_node(run)[open_nodes])


def _window_rejections(run) -> dict[str, np.ndarray]:
    return _window_rows(run, run.rejections, {"order": np.int64, "rerouted": bool})


def _rejection_pct(run):
    rejected = len(_window_rejections(run)["order"])
    return 100.0 * _ratio(rejected, rejected + int(_ship_mask(run).sum()))


def _rerouted_pct(run):
    rej = _window_rejections(run)
    return 100.0 * _ratio(int(rej["rerouted"].sum()), len(rej["order"])) if len(
        rej["order"]) else 100.0


def _pickup_overflow(run):
    sh = run.shipments
    bumped = sh.get("bumped")
    if bumped is None or not len(bumped):
        return 0.0
    over = bumped.astype(float) > 0
    if "switched" in sh:
        over |= sh["switched"].astype(bool)
    return 100.0 * _mean(over[_ship_mask(run)].astype(float))


def _parcel_mask(run, riders: bool = False) -> np.ndarray:
    """Shipments of the window's orders that went by carrier (not store pickups): one per
    parcel, or with ``riders`` also the orders consolidated into another order's parcel."""
    m = _ship_mask(run)
    if not len(m):
        return m
    m = m & (run.shipments["service"].astype(np.int64) >= 0)
    return m if riders else m & (run.shipments["host"].astype(np.int64) < 0)


def _mean_distance(run):
    return _mean(run.shipments["distance"][_parcel_mask(run)].astype(float))


def _co2_kg(run):
    """Kg CO2e of the window's orders' carrier shipments: each shipment's transport (its own
    weight, so riders count theirs) plus packaging once per parcel (``sim.core.emissions``)."""
    m = _parcel_mask(run, riders=True)
    if not m.any():
        return 0.0
    sh = run.shipments
    air = air_services(run.scenario)[sh["service"][m].astype(np.int64)]
    parcels = (sh["host"][m].astype(np.int64) < 0).astype(float)
    return float(shipment_co2_kg(sh["distance"][m].astype(float),
                                 sh["weight"][m].astype(float), air, parcels).sum())


def _shipped_units(run):
    return int(run.shipments["units"][_ship_mask(run)].astype(np.int64).sum())


def _ship_cost_per_shipment(run):
    cost = run.shipments["ship_cost"][_parcel_mask(run, riders=True)].astype(float)
    return _ratio(float(cost.sum()), int(_parcel_mask(run).sum()))


# -- returns ----------------------------------------------------------------------------------


def _return_rate(run):
    shipped = int(run.shipments["units"][_parcel_mask(run, riders=True)].sum())
    return 100.0 * _ratio(int(_window_returns(run)["qty"].sum()), shipped)


def _restocked_returns(run):
    r = _window_returns(run)
    return int(r["restocked"][r["arrived"]].sum())


# -- consolidation ----------------------------------------------------------------------------


def _riders(run) -> np.ndarray:
    """Mask of shipments of the window's orders that rode in another order's parcel."""
    m = _ship_mask(run)
    return m & (run.shipments["host"].astype(np.int64) >= 0) if len(m) else m


def _consolidated_pct(run):
    orders = np.unique(run.shipments["order"][_riders(run)].astype(np.int64))
    return 100.0 * _ratio(len(orders), _orders(run))


def _consolidation_saving(run):
    return float(run.shipments["saved"][_riders(run)].astype(float).sum())


def _hold_hours(run):
    return _mean(run.orders["held_h"][window_orders(run)])


# -- store pickup (BOPIS / curbside) ----------------------------------------------------------


def _pickup_orders(run) -> np.ndarray:
    """Mask of window orders placed in pickup channels."""
    pickup = np.array([ch.pickup is not None for ch in run.scenario.channels])
    return window_orders(run) & pickup[run.orders["channel"]]


def _window_pickups(run) -> dict[str, np.ndarray]:
    return _window_rows(run, run.pickups, {"order": np.int64, "ready": float, "no_show": bool})


def _preorder_late(run):
    p = _window_rows(run, run.preorders, {"order": np.int64, "late_hours": float})
    return _mean(p["late_hours"])


def _pickup_share(run):
    return 100.0 * _ratio(int(_pickup_orders(run).sum()), _orders(run))


def _ready_hours(run) -> np.ndarray:
    p = _window_pickups(run)
    return p["ready"] - run.orders["t_created"][p["order"]]


def _on_time_ready(run):
    p = _window_pickups(run)
    if not len(p["order"]):
        return 100.0
    sla = np.array([ch.pickup.ready_sla_hours if ch.pickup else 0.0
                    for ch in run.scenario.channels])[run.orders["channel"][p["order"]]]
    return 100.0 * _mean((_ready_hours(run) <= sla + 1e-9).astype(float))


def _no_show(run):
    return 100.0 * _mean(_window_pickups(run)["no_show"].astype(float))


@dataclass(frozen=True)
class KpiSpec:
    """A scalar KPI: how to compute it, which direction is better (for comparisons) and, in
    ``description``, exactly what it measures."""

    fn: Callable[[RunResult], float]
    unit: str
    better: str   # "higher" | "lower" | "none"
    label: str
    description: str = ""


def _cost_kpi(cost_fn, label: str, description: str) -> KpiSpec:
    """A cost per order created in the window ($, lower is better)."""
    return KpiSpec(_per_window_order(cost_fn), "$", "lower", label, description)


_W = "orders created in the window [warm-up, horizon)"
_T = "time-average over the window [warm-up, horizon), integrated exactly from every stock " \
     "change, over carried SKUs at nodes with finite stock"

KPIS: dict[str, KpiSpec] = {
    "orders": KpiSpec(_orders, "orders", "none", "Orders", f"Number of {_W}."),
    "units": KpiSpec(_units, "units", "none", "Units", f"Units ordered in {_W}."),
    "revenue": KpiSpec(_revenue, "$", "higher", "Revenue",
                       f"Order value (price × units) of {_W} that were not cancelled, less "
                       "the price of the units they return (refunds)."),
    "total_cost_per_order": _cost_kpi(
        _total_cost, "Total cost per order",
        f"Total cost / {_W}: shipping + handling + split penalty + holding + ordering + "
        "purchase + backorder + lost-sale + returns cost (see each component)."),
    "total_cost": KpiSpec(_total_cost, "$", "lower", "Total cost",
                          "Sum of every cost component over the window."),
    "inventory_cost_per_order": _cost_kpi(
        _inventory_cost, "  inventory (hold+order+short)",
        "Holding + ordering + backorder + lost-sale cost per order: what reorder policies "
        "trade against each other."),
    "holding_per_order": _cost_kpi(
        _holding_cost, "  holding",
        "costs.holding_rate_per_year × unit cost × exact time-average on hand (stocked "
        "nodes) × window length, per order."),
    "ordering_per_order": _cost_kpi(
        _ordering_cost, "  ordering",
        "Supplier order_cost × replenishment orders (node×SKU lines) placed in the window, "
        "per order."),
    "purchase_per_order": _cost_kpi(
        _purchase_cost, "  purchase",
        "Cost of goods at purchase price (supplier price_factor × SKU cost) for the window's "
        "online demand: purchases in the window less the growth of the network's inventory "
        "position at purchase price (stock bought ahead is not a cost; its holding is) less "
        "the goods store walk-ins bought, plus lane unit_cost (freight) per unit ordered, "
        "transfers included; per order."),
    "backorder_cost_per_order": _cost_kpi(
        _backorder_cost, "  backorder",
        "costs.backorder_per_unit_day × customer units waiting, integrated over the window "
        "(unit-days), per order."),
    "lost_sale_per_order": _cost_kpi(
        _lost_sale_cost, "  lost sales",
        f"Cancelled {_W} and store walk-ins lost in the window: costs.lost_sale_per_unit × "
        "units (default: margin, price − cost), per order."),
    "return_cost_per_order": _cost_kpi(
        _returns_cost, "  returns",
        f"Return shipping and handling of the returns of {_W}, per order."),
    "cost_per_order": KpiSpec(
        _cost_per_order, "$", "lower", "Fulfilment cost per order",
        f"(Shipping + handling + split penalty) / {_W} that shipped."),
    "shipping_per_order": KpiSpec(_per_order(_shipping_cost), "$", "lower", "  shipping",
                                  "Carrier charges of their shipments / shipped orders."),
    "handling_per_order": KpiSpec(_per_order(_handling_cost), "$", "lower", "  handling",
                                  "Node handling (per shipment + per unit) / shipped orders."),
    "split_penalty_per_order": KpiSpec(_per_order(_split_penalty), "$", "lower",
                                       "  split penalty",
                                       "costs.split_penalty × shipments beyond the first / "
                                       "shipped orders."),
    "ship_cost_per_shipment": KpiSpec(_ship_cost_per_shipment, "$", "lower",
                                      "Shipping cost per shipment",
                                      "Mean carrier charge per parcel (a consolidated "
                                      "parcel counts once)."),
    "on_time_pct": KpiSpec(_on_time_pct, "%", "higher", "On-time delivery",
                           "Delivered orders whose last parcel arrived by the promised "
                           "deadline, as % of delivered orders."),
    "order_fill_rate_pct": KpiSpec(_order_fill_rate, "%", "higher", "Order fill rate",
                                   f"Share of {_W} allocated from stock on arrival."),
    "line_fill_rate_pct": KpiSpec(_line_fill_rate, "%", "higher", "Line fill rate",
                                  "Order lines some node could fill from usable stock on "
                                  "arrival, under any strategy tried (all lines when the "
                                  "order was allocated), as % of lines."),
    "unit_fill_rate_pct": KpiSpec(_unit_fill_rate, "%", "higher", "Fill rate (type 2)",
                                  f"Units of {_W} filled from stock on arrival, as % of units "
                                  "ordered."),
    "cycle_service_pct": KpiSpec(_cycle_service, "%", "higher", "Cycle service (type 1)",
                                 "Replenishment cycles (between receipts, ended in the window) "
                                 "with no demand short at the node, as % of cycles; 100 when "
                                 "no cycle ended."),
    "broker_delay_mean_min": KpiSpec(_broker_delay, "min", "lower", "Brokering delay, mean",
                                     f"Minutes from arrival to the DOM's first decision, {_W} "
                                     "(0 with real-time brokering)."),
    "split_rate_pct": KpiSpec(_split_rate, "%", "lower", "Split rate",
                              "Shipped orders sent in more than one parcel, %."),
    "shipments_per_order": KpiSpec(_shipments_per_order, "", "lower", "Shipments per order",
                                   "Mean parcels per shipped order."),
    "lead_time_mean_h": KpiSpec(lambda r: _mean(_lead_hours(r)), "h", "lower",
                                "Order-to-delivery, mean",
                                "Hours from order to last parcel delivered, delivered orders."),
    "lead_time_p95_h": KpiSpec(lambda r: float(np.percentile(_lead_hours(r), 95))
                               if len(_lead_hours(r)) else 0.0, "h", "lower",
                               "Order-to-delivery, p95", "95th percentile of the same."),
    "backorders": KpiSpec(_backorders, "orders", "lower", "Backordered (ever)",
                          f"{_W[0].upper()}{_W[1:]} that waited for stock at some point."),
    "open_backorders": KpiSpec(_status_count(Status.BACKORDERED), "orders", "lower",
                               "Open backorders at end",
                               f"{_W[0].upper()}{_W[1:]} still waiting when the run ended."),
    "cancelled": KpiSpec(_status_count(Status.CANCELLED), "orders", "lower", "Cancelled",
                         f"{_W[0].upper()}{_W[1:]} cancelled (lost sales)."),
    "avg_on_hand_units": KpiSpec(lambda r: _avg(r, "on_hand"), "units", "none",
                                 "Average on hand", f"Physical units on hand, {_T}."),
    "avg_backorder_units": KpiSpec(lambda r: _avg(r, "backorders"), "units", "lower",
                                   "Average backordered units",
                                   f"Customer units waiting for stock, {_T} (each waiting line "
                                   "counts at the node its order was charged to)."),
    "avg_on_order_units": KpiSpec(lambda r: _avg(r, "on_order"), "units", "none",
                                  "Average on order",
                                  f"Units ordered and not yet received, {_T}."),
    "avg_inventory_position_units": KpiSpec(
        _avg_position, "units", "none", "Average inventory position",
        f"On hand − reserved + on order − backorders − transfers owed, {_T}."),
    "days_of_cover": KpiSpec(_days_of_cover, "days", "none", "Days of cover",
                             "Average on hand / units ordered per day in the window."),
    "stockout_hours": KpiSpec(_stockout_hours, "h", "lower", "Stock-out hours per item",
                              "Hours in the window with nothing available to promise, mean "
                              "per carried node×SKU at nodes with finite stock."),
    "inventory_turns": KpiSpec(_turns, "/yr", "higher", "Inventory turns",
                               "Cost of goods packed in the window / time-average inventory "
                               "value at cost, annualised."),
    "node_utilisation_pct": KpiSpec(_utilisation, "%", "none", "Node utilisation (mean)",
                                    "Picker busy hours inside shifts / picker shift hours, "
                                    "mean over open nodes."),
    "pick_rejection_pct": KpiSpec(_rejection_pct, "%", "lower", "Shipments rejected at pick",
                                  "Shipments of the window's orders a node rejected because "
                                  "a reserved line was not on the shelf (record accuracy), as "
                                  "% of the shipments assigned."),
    "rerouted_pct": KpiSpec(_rerouted_pct, "%", "higher", "  re-sourced elsewhere",
                            "Rejected shipments whose lines another node took, %."),
    "written_off_units": KpiSpec(lambda r: int(r.inventory["written_off"].sum())
                                 if "written_off" in r.inventory else 0, "units", "lower",
                                 "Phantom units written off",
                                 "Reserved units pickers did not find (whole run)."),
    "pickup_share_pct": KpiSpec(_pickup_share, "%", "none", "Store pickup orders (BOPIS)",
                                f"{_W[0].upper()}{_W[1:]} placed for store pickup (BOPIS or "
                                "curbside), %."),
    "pickup_ready_hours_mean": KpiSpec(lambda r: _mean(_ready_hours(r)), "h", "lower",
                                       "  time to ready for pickup",
                                       "Hours from order to ready at the store, pickup orders "
                                       "of the window that were picked."),
    "pickup_on_time_ready_pct": KpiSpec(_on_time_ready, "%", "higher", "  ready within SLA",
                                        "Pickup orders ready within their channel's "
                                        "ready_sla_hours, %."),
    "pickup_no_show_pct": KpiSpec(_no_show, "%", "lower", "  no-shows",
                                  "Ready pickup orders never collected (their units go back "
                                  "on the shelf after the hold), %."),
    "preorder_release_late_h": KpiSpec(_preorder_late, "h", "lower",
                                       "Pre-order release lateness, mean",
                                       "Hours from a pre-order SKU's launch to the allocation "
                                       "of the window's pre-orders released (0 without)."),
    "pickup_overflow_pct": KpiSpec(_pickup_overflow, "%", "lower", "Missed full pickups",
                                   "Shipments of the window's orders that waited for a later "
                                   "pickup or moved to another service because the carrier's "
                                   "pickup was full, %."),
    "return_rate_pct": KpiSpec(_return_rate, "%", "lower", "Return rate",
                               "Units of the window's orders customers send back, as % of "
                               "the units shipped to them by carrier."),
    "returns_restocked_units": KpiSpec(_restocked_returns, "units", "higher",
                                       "  returned units restocked",
                                       "Returned units of the window's orders back in stock "
                                       "before the run ended (the rest are scrapped or still "
                                       "on their way)."),
    "consolidated_orders_pct": KpiSpec(_consolidated_pct, "%", "none",
                                       "Orders consolidated",
                                       f"{_W[0].upper()}{_W[1:]} that travelled in a parcel "
                                       "of the same customer's earlier order, %."),
    "parcels_saved": KpiSpec(lambda r: int(_riders(r).sum()), "parcels", "higher",
                             "  parcels saved",
                             "Parcels not sent because an order of the window rode in "
                             "another order's parcel."),
    "consolidation_saving_per_order": KpiSpec(
        _per_window_order(_consolidation_saving), "$", "higher", "  saving per order",
        "Per order of the window: handling per order plus the cheapest on-time rate of a "
        "parcel of its own, less the extra the shared parcel cost, summed over consolidated "
        "orders (already netted out of shipping and handling)."),
    "consolidation_hold_h": KpiSpec(_hold_hours, "h", "lower", "  consolidation hold, mean",
                                    f"Hours {_W} were held before brokering to wait for the "
                                    "customer's next order (brokering.consolidation."
                                    "hold_hours): the delay consolidation adds."),
    "mean_ship_distance_mi": KpiSpec(_mean_distance, "mi", "lower", "Mean shipping distance",
                                     "Mean node-to-customer distance per shipment."),
    "co2_kg_per_order": KpiSpec(_per_order(_co2_kg), "kg", "lower", "CO2e per order",
                                "kg CO2e of the carrier shipments of the window's orders "
                                "(distance × weight × the service mode's emission factor, plus "
                                "packaging per parcel; sim.core.emissions) / shipped orders."),
    "co2_kg_per_unit": KpiSpec(lambda r: _ratio(_co2_kg(r), _shipped_units(r)), "kg", "lower",
                               "  CO2e per unit",
                               "The same kg CO2e / units shipped to the window's orders."),
    "walk_in_units": KpiSpec(_walk_in_units, "units", "none", "Store walk-in units",
                             "Units store shoppers asked for in the window."),
    "walk_in_fill_rate_pct": KpiSpec(_walk_in_fill, "%", "higher", "Walk-in fill rate",
                                     "Walk-in units sold off the shelf, as % of units asked "
                                     "for (100 without walk-ins)."),
    "walk_in_lost_units": KpiSpec(lambda r: _walk_in_units(r, [LOST, LOST_TO_ONLINE]),
                                  "units", "lower", "Walk-in units lost",
                                  "Walk-in units the store could not sell: too few units on "
                                  "the shelf that were not reserved."),
    "walk_in_lost_to_online_units": KpiSpec(
        lambda r: _walk_in_units(r, [LOST_TO_ONLINE]), "units", "lower",
        "  lost while reserved for online",
        "Walk-in units lost while enough units were on the shelf but reserved for online "
        "orders: sales online fulfilment took from shoppers (a lower bound: units online "
        "orders had already shipped are not counted)."),
}


def _optimum_kpi(name: str) -> Callable[[RunResult], float]:
    def fn(run: RunResult) -> float:
        from sim.measure.optimum import optimise  # scipy's solvers: only when asked

        return optimise(run).kpis()[name]
    return fn


#: KPIs of the offline optimum (``sim.measure.optimum``). Solving takes seconds, so they are
#: computed only when asked (``domlab run --optimum``; ``optimise(run).kpis()`` computes both
#: at once) and ``compute_kpis`` leaves them out: a plain run's kpis.json does not change.
OPTIMUM_KPIS: dict[str, KpiSpec] = {
    "cost_optimal_per_order": KpiSpec(
        _optimum_kpi("cost_optimal_per_order"), "$", "none", "Optimal fulfilment cost/order",
        "Fulfilment cost per shipped order of the window (as cost_per_order) had the orders "
        "the rules shipped by carrier been sourced, split and given a service by the offline "
        "optimum (rolling daily MILP over the same orders, stock, pick capacity and rate "
        "cards; sim.measure.optimum)."),
    "cost_gap_to_optimal_pct": KpiSpec(
        _optimum_kpi("cost_gap_to_optimal_pct"), "%", "lower", "  gap to the optimum",
        "How much more the rules paid in shipping + handling + split penalty than the "
        "offline optimum for the same orders of the window, in % of the optimum's cost."),
}

#: Every KPI spec by name, the optional ones included (for looking up labels and units).
ALL_KPIS: dict[str, KpiSpec] = {**KPIS, **OPTIMUM_KPIS}


def breakdowns(run: RunResult) -> dict[str, dict[str, float]]:
    """Shares and per-node figures: node mix, node-kind mix, service mix, utilisation, and
    total cost by component ($ over the window)."""
    sh, sc = run.shipments, run.scenario
    m = _ship_mask(run)
    nodes = sh["node"][m].astype(np.int64)
    svc = sh["service"][m].astype(np.int64)
    total = max(len(nodes), 1)
    node_counts = np.bincount(nodes, minlength=len(sc.nodes))
    kinds: dict[str, float] = {}
    for n, spec in enumerate(sc.nodes):
        kinds[spec.kind] = kinds.get(spec.kind, 0.0) + node_counts[n] / total
    svc_counts = np.bincount(svc[svc >= 0], minlength=len(run.services))   # pickups: none
    util = _utilisation_by_node(run)
    return {
        "node_share": {spec.name: round(float(node_counts[n] / total), 6)
                       for n, spec in enumerate(sc.nodes)},
        "node_kind_share": {k: round(float(v), 6) for k, v in sorted(kinds.items())},
        "service_share": {label: round(float(svc_counts[i] / total), 6)
                          for i, label in enumerate(run.services)},
        "node_utilisation_pct": {spec.name: round(float(100 * util[n]), 4)
                                 for n, spec in enumerate(sc.nodes)},
        "total_cost": {key: round(float(fn(run)), 4) for key, fn in COST_COMPONENTS},
    }


class NonFiniteKpi(ArithmeticError):
    """Internal error: a KPI came out NaN or infinite (inputs are validated finite and
    bounded, and every KPI is defined for the empty case, so this is a bug to report)."""


def check_finite(out: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``out`` unchanged if every number in it (nested mappings included) is finite, else
    ``NonFiniteKpi`` naming the first KPI that is not: ``kpis.json`` never holds NaN."""
    for key, value in out.items():
        name = f"{where}.{key}" if where else key
        if isinstance(value, dict):
            check_finite(value, name)
        elif isinstance(value, int | float) and not math.isfinite(value):
            raise NonFiniteKpi(f"internal error: KPI '{name}' is {value} (please report it "
                               "with the scenario)")
    return out


def compute_kpis(run: RunResult) -> dict[str, Any]:
    """All scalar KPIs (rounded for stable output) plus breakdowns, every one finite."""
    scalars = {name: round(float(spec.fn(run)), 6) for name, spec in KPIS.items()}
    return check_finite({"kpis": scalars, "breakdowns": breakdowns(run)})
