"""Below the headline: KPIs by channel, region, node and promise, and the orders behind a
result (orders whose decision changed between two scenarios, late orders, backorders, one
node's orders).

Inputs are the app's per-run tables (``AppRun.orders`` / ``.shipments``: the Parquet columns
``domlab run`` writes, names instead of indices); only orders created inside the KPI window
count, as in ``sim.measure.kpis``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BREAKDOWNS", "breakdown", "breakdowns_side_by_side", "changed_orders",
           "late_orders", "backordered_orders", "node_orders"]

#: Breakdown keys and their column headers.
BREAKDOWNS = {"channel": "Channel", "region": "Region", "node": "Node",
              "promise": "Promise (days)"}
_ORDER_COLS = ["order_id", "channel", "region", "promise_days", "units", "value", "status"]


def _first(frame: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """The first ``limit`` rows (all without a limit), renumbered."""
    return (frame if limit is None else frame.head(limit)).reset_index(drop=True)


def _window(run: Any) -> pd.DataFrame:
    """Orders created in [warm-up, horizon)."""
    o, sc = run.orders, run.scenario
    t = o["t_created"]
    return o[(t >= sc.warmup_days * 24.0) & (t < sc.horizon_days * 24.0)]


def _parcel_costs(run: Any) -> pd.DataFrame:
    """Per order: shipping + handling, parcels, and its decision ("node/service" per parcel)."""
    sh = run.shipments
    if not len(sh):
        return pd.DataFrame(columns=["order_id", "cost", "parcels", "decision"])
    label = sh["node"].astype(str) + "/" + sh["service"].astype(str)
    frame = pd.DataFrame({"order_id": sh["order"].to_numpy(), "cost": (sh["ship_cost"]
                          + sh["handling"]).to_numpy(), "label": label.to_numpy()})
    return frame.groupby("order_id", sort=True).agg(
        cost=("cost", "sum"), parcels=("cost", "size"),
        decision=("label", lambda s: " + ".join(sorted(s)))).reset_index()


def breakdown(run: Any, by: str) -> pd.DataFrame:
    """KPIs of the window's orders grouped ``by`` channel, region or promise (orders, on-time
    %, mean lead time, shipping + handling per order), or for ``node`` per shipping node
    (shipments, units, shipping per shipment, mean distance)."""
    if by == "node":
        sh = run.shipments
        win = set(_window(run)["order_id"].tolist())
        sh = sh[sh["order"].isin(win)]
        g = sh.groupby(sh["node"].astype(str), sort=True)
        return pd.DataFrame({"shipments": g.size(), "units": g["units"].sum(),
                             "ship $/shipment": g["ship_cost"].mean().round(2),
                             "mean distance mi": g["distance"].mean().round(1)}
                            ).rename_axis(BREAKDOWNS[by]).reset_index()
    o = _window(run).merge(_parcel_costs(run)[["order_id", "cost"]], on="order_id", how="left")
    key = o["promise_days"] if by == "promise" else o[by].astype(str)
    delivered = o["status"].astype(str) == "delivered"
    o = o.assign(key=key.to_numpy(), delivered=delivered,
                 on_time=delivered & (o["delivered_at"] <= o["deadline"]),
                 lead=np.where(delivered, o["delivered_at"] - o["t_created"], np.nan))
    g = o.groupby("key", sort=True)
    out = pd.DataFrame({
        "orders": g.size(),
        "on-time %": (100 * g["on_time"].sum() / g["delivered"].sum().clip(lower=1)).round(2),
        "lead time h": g["lead"].mean().round(1),
        "ship+handling $/order": (g["cost"].sum() / g.size()).round(2)})
    return out.rename_axis(BREAKDOWNS[by]).reset_index()


def breakdowns_side_by_side(groups: Sequence[Any], by: str) -> pd.DataFrame:
    """``breakdown`` of each group's first run, one column block per scenario."""
    key = BREAKDOWNS[by]
    merged: pd.DataFrame | None = None
    for g in groups:
        b = breakdown(g.runs[0], by).set_index(key)
        b.columns = pd.MultiIndex.from_product([[g.label], b.columns])
        merged = b if merged is None else merged.join(b, how="outer")
    return merged.reset_index() if merged is not None else pd.DataFrame()


def changed_orders(a: Any, b: Any, limit: int | None = None) -> pd.DataFrame:
    """Orders of the window decided differently in ``b`` than in ``a`` (another node, service
    or split), with both decisions and their shipping + handling, largest cost change first.
    Both runs share seeds, so an order id is the same order in both."""
    ca, cb = _parcel_costs(a), _parcel_costs(b)
    both = ca.merge(cb, on="order_id", suffixes=(" A", " B"))
    diff = both[both["decision A"] != both["decision B"]]
    orders = _window(b)[["order_id", "channel", "region", "promise_days"]]
    out = orders.merge(diff, on="order_id").assign(**{"Δ cost": lambda d: (d["cost B"]
                                                                          - d["cost A"])})
    out = out.reindex(out["Δ cost"].abs().sort_values(ascending=False, kind="stable").index)
    return _first(out, limit).round({"cost A": 2, "cost B": 2, "Δ cost": 2})


def late_orders(run: Any, limit: int | None = None) -> pd.DataFrame:
    """Delivered orders of the window that arrived after their promise, latest first."""
    o = _window(run)
    late = o[(o["status"].astype(str) == "delivered") & (o["delivered_at"] > o["deadline"])]
    late = late.assign(**{"late by h": (late["delivered_at"] - late["deadline"]).round(1)})
    late = late.merge(_parcel_costs(run)[["order_id", "decision"]], on="order_id", how="left")
    return late.sort_values("late by h", ascending=False, kind="stable")[
        [*_ORDER_COLS, "late by h", "decision"]].pipe(_first, limit)


def backordered_orders(run: Any, limit: int | None = None) -> pd.DataFrame:
    """Orders of the window that waited for stock, with the hours from backorder to delivery
    (blank if never delivered: cancelled or still waiting), longest first."""
    o = _window(run)
    o = o[o["backordered_at"].notna()]
    o = o.assign(**{"to delivery h": (o["delivered_at"] - o["backordered_at"]).round(1)})
    return o.sort_values("to delivery h", ascending=False, kind="stable", na_position="first")[
        [*_ORDER_COLS, "to delivery h"]].pipe(_first, limit)


def node_orders(run: Any, node: str, limit: int | None = None) -> pd.DataFrame:
    """The window's shipments from ``node`` with their orders, in time order."""
    sh = run.shipments
    sh = sh[sh["node"].astype(str) == node]
    o = _window(run)[_ORDER_COLS]
    out = o.merge(sh[["order", "service", "units", "ship_cost", "created", "packed",
                      "delivered"]].rename(columns={"order": "order_id", "units": "shipped"}),
                  on="order_id")
    return _first(out.sort_values(["created", "order_id"], kind="stable"), limit).round(
        {"ship_cost": 2, "created": 2, "packed": 2, "delivered": 2}).reset_index(drop=True)
