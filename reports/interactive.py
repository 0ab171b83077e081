"""Interactive comparison charts for the app (Altair / Vega-Lite, which Streamlit renders
natively): tooltips on every mark, zoom and pan on time and distribution axes, a legend that
selects a scenario, and 95% confidence intervals drawn as error bars when there are
replications. The HTML/Markdown reports keep the static ``reports.charts`` pictures.

Each function takes ``RunView``s (one per scenario, first = baseline) and returns an Altair
chart; a scenario keeps its ``reports.charts.PALETTE`` colour everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from reports.charts import PALETTE, RunView, event_spans
from sim.experiments.stats import mean_ci
from sim.measure.kpis import KPIS

__all__ = ["INTERACTIVE_CHARTS", "cost_chart", "service_chart", "lead_time_chart",
           "node_mix_chart", "service_mix_chart", "inventory_chart", "utilisation_chart"]

#: Total-cost components stacked in the cost chart (purchase is left out, as in the report).
_COST_PARTS = (("shipping", "Shipping"), ("handling", "Handling"),
               ("split_penalty", "Split penalty"), ("holding", "Holding"),
               ("ordering", "Ordering"), ("backorder", "Backorder"),
               ("lost_sale", "Lost sales"), ("returns", "Returns"))
_SERVICE_KPIS = ("on_time_pct", "order_fill_rate_pct", "line_fill_rate_pct")


def _scale(views: Sequence[RunView]) -> alt.Scale:
    names = [v.name for v in views]
    return alt.Scale(domain=names, range=list(PALETTE[:len(names)]))


def _legend_pick(views: Sequence[RunView]) -> alt.Parameter:
    """Click a scenario in the legend to highlight it (shift-click for more)."""
    return alt.selection_point(fields=["scenario"], bind="legend")


def _scenario_color(views: Sequence[RunView], pick: alt.Parameter) -> dict:
    return {"color": alt.Color("scenario:N", scale=_scale(views), title="Scenario",
                               legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)),
            "opacity": alt.condition(pick, alt.value(1.0), alt.value(0.2))}


def cost_chart(views: Sequence[RunView]) -> alt.Chart:
    """Cost per order by total-cost component (purchase shown in the tooltip only)."""
    rows = []
    for v in views:
        orders = max(v.kpis.get("orders", 0.0), 1.0)
        parts = v.breakdowns.get("total_cost", {})
        for key, label in _COST_PARTS:
            rows.append({"scenario": v.name, "component": label,
                         "per_order": parts.get(key, 0.0) / orders,
                         "purchase": parts.get("purchase", 0.0) / orders})
    data = pd.DataFrame(rows)
    pick = alt.selection_point(fields=["component"], bind="legend")
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("scenario:N", sort=[v.name for v in views], title=None,
                axis=alt.Axis(labelAngle=0, labelLimit=220)),
        y=alt.Y("sum(per_order):Q", title="$ per order (excl. purchase)"),
        color=alt.Color("component:N", sort=[p[1] for p in _COST_PARTS], title="Component",
                        legend=alt.Legend(orient="right")),
        order=alt.Order("component_order:Q"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("component:N"),
                 alt.Tooltip("per_order:Q", title="$ per order", format=",.2f"),
                 alt.Tooltip("purchase:Q", title="purchase $/order", format=",.2f")],
    ).transform_calculate(
        component_order=_order_expr([p[1] for p in _COST_PARTS])
    ).add_params(pick).properties(height=320, title="Cost per order by component")


def _order_expr(labels: Sequence[str]) -> str:
    return " + ".join(f"(datum.component == '{lab}' ? {k} : 0)" for k, lab in enumerate(labels))


def service_chart(views: Sequence[RunView],
                  replications: Mapping[str, pd.DataFrame] | None = None) -> alt.Chart:
    """On-time, order fill and line fill rates per scenario: the mean and, with replications
    (``replications[scenario]``: one row per run), its 95% CI as an error bar."""
    rows = []
    for v in views:
        reps = (replications or {}).get(v.name)
        for k in _SERVICE_KPIS:
            if reps is not None and len(reps) >= 2 and k in reps:
                e = mean_ci(reps[k].to_numpy(dtype=float))
                mean, lo, hi, n = e.mean, e.ci[0], e.ci[1], e.n
            else:
                mean = lo = hi = v.kpis.get(k, np.nan)
                n = 1
            rows.append({"scenario": v.name, "kpi": KPIS[k].label.strip(), "mean": mean,
                         "low": lo, "high": hi, "runs": n})
    data = pd.DataFrame(rows)
    pick = _legend_pick(views)
    base = alt.Chart(data).encode(
        y=alt.Y("scenario:N", sort=[v.name for v in views], title=None,
                axis=alt.Axis(labelLimit=220)),
        **_scenario_color(views, pick))
    tips = [alt.Tooltip("scenario:N"), alt.Tooltip("kpi:N", title="KPI"),
            alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("low:Q", title="95% CI low",
                                                                 format=".2f"),
            alt.Tooltip("high:Q", title="95% CI high", format=".2f"), alt.Tooltip("runs:Q")]
    points = base.mark_point(filled=True, size=90).encode(
        x=alt.X("mean:Q", title="%", scale=alt.Scale(zero=False)), tooltip=tips)
    bars = base.mark_rule(strokeWidth=2).encode(x="low:Q", x2="high:Q", tooltip=tips)
    return alt.layer(bars, points).add_params(pick).properties(
        height=alt.Step(20), width=380).facet(
        row=alt.Row("kpi:N", title=None, sort=[KPIS[k].label.strip() for k in _SERVICE_KPIS],
                    header=alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start",
                                      labelOrient="top", labelFontWeight="bold"))
    ).resolve_scale(x="independent").properties(
        title="Service levels (bars: 95% CI over replications)")


def _ecdf(hours: np.ndarray, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of ``hours`` at ``points`` evenly spaced probabilities."""
    h = np.sort(hours[np.isfinite(hours)])
    if not len(h):
        return np.zeros(0), np.zeros(0)
    p = np.linspace(0, 1, min(points, len(h)))
    return np.quantile(h, p), 100 * p


def lead_time_chart(views: Sequence[RunView]) -> alt.Chart:
    """Share of delivered orders delivered within x hours (zoom and pan on the hours axis)."""
    rows = []
    for v in views:
        x, p = _ecdf(v.lead_time_hours)
        rows += [{"scenario": v.name, "hours": a, "pct": b} for a, b in zip(x, p, strict=True)]
    pick = _legend_pick(views)
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    return alt.Chart(pd.DataFrame(rows, columns=["scenario", "hours", "pct"])).mark_line(
        interpolate="step-after", strokeWidth=2).encode(
        x=alt.X("hours:Q", title="Order to delivery (hours)"),
        y=alt.Y("pct:Q", title="% of delivered orders", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("hours:Q", format=",.1f"),
                 alt.Tooltip("pct:Q", title="% delivered within", format=".1f")],
        **_scenario_color(views, pick),
    ).add_params(pick, zoom).properties(height=320,
                                        title="Lead time (drag to pan, scroll to zoom)")


def _share_chart(views: Sequence[RunView], breakdown: str, what: str) -> alt.Chart:
    rows = [{"scenario": v.name, what: k, "share": 100 * s}
            for v in views for k, s in v.breakdowns.get(breakdown, {}).items()]
    data = pd.DataFrame(rows, columns=["scenario", what, "share"])
    keep = data.groupby(what)["share"].transform("max") > 0
    pick = _legend_pick(views)
    return alt.Chart(data[keep]).mark_bar().encode(
        y=alt.Y(f"{what}:N", title=None, axis=alt.Axis(labelLimit=200)),
        yOffset=alt.YOffset("scenario:N", sort=[v.name for v in views]),
        x=alt.X("share:Q", title="% of shipments"),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip(f"{what}:N"),
                 alt.Tooltip("share:Q", title="% of shipments", format=".1f")],
        **_scenario_color(views, pick),
    ).add_params(pick).properties(height=alt.Step(9))


def node_mix_chart(views: Sequence[RunView]) -> alt.Chart:
    """Share of shipments per node, scenarios side by side."""
    return _share_chart(views, "node_share", "node").properties(title="Node mix")


def service_mix_chart(views: Sequence[RunView]) -> alt.Chart:
    """Share of shipments per carrier service."""
    return _share_chart(views, "service_share", "service").properties(
        title="Carrier service mix")


def inventory_chart(views: Sequence[RunView]) -> alt.Chart:
    """On-hand units at each day start, with the warm-up and scheduled events shaded."""
    rows = [{"scenario": v.name, "day": d, "units": float(u)}
            for v in views for d, u in enumerate(v.on_hand_by_day.sum(axis=1))]
    days = max((v.on_hand_by_day.shape[0] for v in views), default=1)
    spans = [{"start": 0.0, "end": min(max(v.warmup_days for v in views), days - 1),
              "what": "warm-up (outside KPI window)"}] if views and \
        max(v.warmup_days for v in views) > 0 else []
    spans += [{"start": a, "end": b, "what": label}
              for a, b, label in event_spans(views, days)]
    pick = _legend_pick(views)
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    lines = alt.Chart(pd.DataFrame(rows, columns=["scenario", "day", "units"])).mark_line(
        point=True).encode(
        x=alt.X("day:Q", title="Day of run (snapshot at day start)"),
        y=alt.Y("units:Q", title="On-hand units, stocked nodes"),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("day:Q"),
                 alt.Tooltip("units:Q", format=",.0f")],
        **_scenario_color(views, pick)).add_params(pick, zoom)
    layers = [lines]
    if spans:
        layers.insert(0, alt.Chart(pd.DataFrame(spans)).mark_rect(opacity=0.18).encode(
            x="start:Q", x2="end:Q",
            color=alt.Color("what:N", title="Shaded", scale=alt.Scale(scheme="set2"),
                            legend=alt.Legend(orient="top", labelLimit=320)),
            tooltip=[alt.Tooltip("what:N", title="window"), alt.Tooltip("start:Q"),
                     alt.Tooltip("end:Q")]))
    return alt.layer(*layers).resolve_scale(color="independent").properties(
        height=320, title="Inventory on hand over time")


def utilisation_chart(views: Sequence[RunView]) -> alt.Chart:
    """Picker utilisation per node and scenario (busy share of shift hours)."""
    rows = [{"scenario": v.name, "node": n, "pct": u}
            for v in views for n, u in v.breakdowns.get("node_utilisation_pct", {}).items()]
    data = pd.DataFrame(rows, columns=["scenario", "node", "pct"])
    base = alt.Chart(data).encode(
        x=alt.X("scenario:N", sort=[v.name for v in views], title=None,
                axis=alt.Axis(labelAngle=0, labelLimit=200)),
        y=alt.Y("node:N", title=None))
    cells = base.mark_rect().encode(
        color=alt.Color("pct:Q", title="% busy", scale=alt.Scale(domain=[0, 100],
                                                                 scheme="blues")),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("node:N"),
                 alt.Tooltip("pct:Q", title="% of shift hours busy", format=".1f")])
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("pct:Q", format=".0f"),
        color=alt.condition("datum.pct > 60", alt.value("white"), alt.value("black")))
    return alt.layer(cells, text).properties(height=alt.Step(20), title="Node utilisation")


#: Chart title → function of (views, replications); the app lays them out two per row.
INTERACTIVE_CHARTS = {
    "Cost per order": lambda views, reps: cost_chart(views),
    "Service levels": service_chart,
    "Lead time": lambda views, reps: lead_time_chart(views),
    "Inventory on hand": lambda views, reps: inventory_chart(views),
    "Node mix": lambda views, reps: node_mix_chart(views),
    "Carrier service mix": lambda views, reps: service_mix_chart(views),
    "Node utilisation": lambda views, reps: utilisation_chart(views),
}
