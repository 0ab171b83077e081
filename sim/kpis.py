"""Key performance indicators: pure functions of a run's tables (no SimPy here).

Scalar KPIs are declared in ``KPIS`` (name → function of a RunResult) so reports, comparisons
and CI checks all read one registry. Orders count if created in [warm-up, horizon); inventory
and utilisation are measured over the same window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model import RunResult, Status

__all__ = ["KPIS", "KpiSpec", "compute_kpis", "window_orders", "breakdowns"]

HOURS = 24.0


def window_orders(run: RunResult) -> np.ndarray:
    """Boolean mask of orders created inside the measurement window."""
    t = run.orders["t_created"]
    return (t >= run.scenario.warmup_days * HOURS) & (t < run.scenario.horizon_days * HOURS)


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
    return float(run.orders["value"][w & (run.orders["status"] != Status.CANCELLED)].sum())


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


def _cost_per_order(run):
    total = _shipping_cost(run) + _handling_cost(run) + _split_penalty(run)
    return _ratio(total, _shipped_orders(run))


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


def _window_days(run) -> tuple[int, int]:
    return int(np.ceil(run.scenario.warmup_days)), int(np.ceil(run.scenario.horizon_days))


def _stocked(run) -> np.ndarray:
    return ~run.inventory["unlimited"]


def _avg_on_hand(run):
    snaps = run.inventory["snapshots"]
    a, b = _window_days(run)
    if snaps.size == 0:
        return 0.0
    return float(snaps[a:b][:, _stocked(run)].sum(axis=1).mean())


def _turns(run):
    """Annualised inventory turns over the window: cost of goods packed in the window / average
    inventory value at cost (stocked nodes), scaled to a year."""
    t0 = run.scenario.warmup_days * HOURS
    t1 = run.scenario.horizon_days * HOURS
    sh = run.shipments
    stocked = _stocked(run)
    packed = sh["packed"].astype(float) if len(sh["node"]) else np.zeros(0)
    in_window = (packed >= t0) & (packed < t1)
    if len(packed):
        in_window &= stocked[sh["node"].astype(np.int64)]
    cogs = float(sh["cogs"][in_window].astype(float).sum()) if len(packed) else 0.0
    a, b = _window_days(run)
    values = run.inventory["snapshot_value"]
    avg_value = float(values[a:b][:, stocked].sum(axis=1).mean()) if values.size else 0.0
    days = (t1 - t0) / HOURS
    return _ratio(cogs, avg_value) * 365.0 / days


def _utilisation_by_node(run) -> np.ndarray:
    sh = run.shipments
    t0 = run.scenario.warmup_days * HOURS
    t1 = run.scenario.horizon_days * HOURS
    busy = np.zeros(len(run.scenario.nodes))
    if len(sh["node"]):
        start = np.clip(sh["pick_start"].astype(float), t0, t1)
        end = np.clip(sh["packed"].astype(float), t0, t1)
        np.add.at(busy, sh["node"].astype(np.int64), np.maximum(end - start, 0))
    return np.divide(busy, run.nodes["open_hours"], out=np.zeros_like(busy),
                     where=run.nodes["open_hours"] > 0)


def _utilisation(run):
    open_nodes = np.array([not n.closed for n in run.scenario.nodes])
    return 100.0 * _mean(_utilisation_by_node(run)[open_nodes])


def _mean_distance(run):
    return _mean(run.shipments["distance"][_ship_mask(run)].astype(float))


def _ship_cost_per_shipment(run):
    return _mean(run.shipments["ship_cost"][_ship_mask(run)].astype(float))


@dataclass(frozen=True)
class KpiSpec:
    """A scalar KPI: how to compute it and which direction is better (for comparisons)."""

    fn: Callable[[RunResult], float]
    unit: str
    better: str   # "higher" | "lower" | "none"
    label: str


KPIS: dict[str, KpiSpec] = {
    "orders": KpiSpec(_orders, "orders", "none", "Orders"),
    "units": KpiSpec(_units, "units", "none", "Units"),
    "revenue": KpiSpec(_revenue, "$", "higher", "Revenue"),
    "cost_per_order": KpiSpec(_cost_per_order, "$", "lower", "Cost per order"),
    "shipping_per_order": KpiSpec(_per_order(_shipping_cost), "$", "lower", "  shipping"),
    "handling_per_order": KpiSpec(_per_order(_handling_cost), "$", "lower", "  handling"),
    "split_penalty_per_order": KpiSpec(_per_order(_split_penalty), "$", "lower",
                                       "  split penalty"),
    "ship_cost_per_shipment": KpiSpec(_ship_cost_per_shipment, "$", "lower",
                                      "Shipping cost per shipment"),
    "on_time_pct": KpiSpec(_on_time_pct, "%", "higher", "On-time delivery"),
    "order_fill_rate_pct": KpiSpec(_order_fill_rate, "%", "higher", "Order fill rate"),
    "line_fill_rate_pct": KpiSpec(_line_fill_rate, "%", "higher", "Line fill rate"),
    "split_rate_pct": KpiSpec(_split_rate, "%", "lower", "Split rate"),
    "shipments_per_order": KpiSpec(_shipments_per_order, "", "lower", "Shipments per order"),
    "lead_time_mean_h": KpiSpec(lambda r: _mean(_lead_hours(r)), "h", "lower",
                                "Order-to-delivery, mean"),
    "lead_time_p95_h": KpiSpec(lambda r: float(np.percentile(_lead_hours(r), 95))
                               if len(_lead_hours(r)) else 0.0, "h", "lower",
                               "Order-to-delivery, p95"),
    "backorders": KpiSpec(_backorders, "orders", "lower", "Backordered (ever)"),
    "open_backorders": KpiSpec(_status_count(Status.BACKORDERED), "orders", "lower",
                               "Open backorders at end"),
    "cancelled": KpiSpec(_status_count(Status.CANCELLED), "orders", "lower", "Cancelled"),
    "avg_on_hand_units": KpiSpec(_avg_on_hand, "units", "none", "Average on hand"),
    "inventory_turns": KpiSpec(_turns, "/yr", "higher", "Inventory turns"),
    "node_utilisation_pct": KpiSpec(_utilisation, "%", "none", "Node utilisation (mean)"),
    "mean_ship_distance_mi": KpiSpec(_mean_distance, "mi", "lower", "Mean shipping distance"),
}


def breakdowns(run: RunResult) -> dict[str, dict[str, float]]:
    """Shares and per-node figures: node mix, node-kind mix, service mix, utilisation."""
    sh, sc = run.shipments, run.scenario
    m = _ship_mask(run)
    nodes = sh["node"][m].astype(np.int64)
    svc = sh["service"][m].astype(np.int64)
    total = max(len(nodes), 1)
    node_counts = np.bincount(nodes, minlength=len(sc.nodes))
    kinds: dict[str, float] = {}
    for n, spec in enumerate(sc.nodes):
        kinds[spec.kind] = kinds.get(spec.kind, 0.0) + node_counts[n] / total
    svc_counts = np.bincount(svc, minlength=len(run.services))
    util = _utilisation_by_node(run)
    return {
        "node_share": {spec.name: round(float(node_counts[n] / total), 6)
                       for n, spec in enumerate(sc.nodes)},
        "node_kind_share": {k: round(float(v), 6) for k, v in sorted(kinds.items())},
        "service_share": {label: round(float(svc_counts[i] / total), 6)
                          for i, label in enumerate(run.services)},
        "node_utilisation_pct": {spec.name: round(float(100 * util[n]), 4)
                                 for n, spec in enumerate(sc.nodes)},
    }


def compute_kpis(run: RunResult) -> dict[str, Any]:
    """All scalar KPIs (rounded for stable output) plus breakdowns."""
    scalars = {name: round(float(spec.fn(run)), 6) for name, spec in KPIS.items()}
    return {"kpis": scalars, "breakdowns": breakdowns(run)}
