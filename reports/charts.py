"""Comparison charts of 1-4 runs, drawn from plain data so saved runs render too.

Every chart function takes a list of ``RunView`` (one per scenario, compared side by side) and
returns a new ``matplotlib.figure.Figure`` on an Agg canvas; nothing touches pyplot, so no global
figure state leaks between calls. A scenario keeps the same colour (by its position in the list)
on every chart. ``figure_png`` turns a figure into deterministic PNG bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator, StrMethodFormatter

from reports import MAX_VIEWS
from reports.view import HOURS, RunView

__all__ = [
    "ALL_CHARTS", "PALETTE", "RunView", "color_for", "cost_breakdown", "event_spans",
    "figure_png",
    "inventory_over_time", "lead_time_distribution", "node_mix", "on_time_and_fill",
    "service_mix", "utilisation_heatmap",
]

#: Scenario colours by position (Okabe-Ito, colour-blind safe).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
#: Line style and marker by position, so overlapping lines stay distinguishable.
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D")
assert len(PALETTE) >= MAX_VIEWS

#: Total-cost components drawn (key in breakdowns["total_cost"], label, tint, hatch); purchase
#: is left out of the bars (it is mostly the cost of the goods sold and would hide the rest)
#: and printed under each bar instead.
_COST_PARTS = (("shipping", "Shipping", 0.0, ""),
               ("handling", "Handling", 0.4, "//"),
               ("split_penalty", "Split penalty", 0.7, ".."),
               ("holding", "Holding", 0.2, "xx"),
               ("ordering", "Ordering", 0.55, "\\\\"),
               ("backorder", "Backorder", 0.8, "++"),
               ("lost_sale", "Lost sales", 0.9, "oo"),
               ("returns", "Returns", 0.3, "--"))
_SERVICE_LEVEL_KPIS = (("on_time_pct", "On-time delivery"),
                       ("order_fill_rate_pct", "Order fill rate"),
                       ("line_fill_rate_pct", "Line fill rate"))


def color_for(i: int) -> str:
    """Colour of the scenario at position ``i`` (the same on every chart)."""
    return PALETTE[i % len(PALETTE)]


# ---------------------------------------------------------------------------------------------
# Helpers


def _check(views: Sequence[RunView]) -> list[RunView]:
    views = list(views)
    if not 1 <= len(views) <= MAX_VIEWS:
        raise ValueError(f"charts compare 1 to {MAX_VIEWS} runs, got {len(views)}")
    return views


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _tint(color: str, amount: float) -> tuple[float, float, float]:
    """``color`` mixed with white (0 = unchanged, 1 = white)."""
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _wrap(name: str, width: int = 18) -> str:
    """Break a long scenario name into lines at ``_``, ``-``, ``/`` or spaces, not mid-word."""
    lines: list[str] = []
    for part in re.split(r"(?<=[_\-/ ])", name):
        if lines and len(lines[-1]) + len(part) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return "\n".join(line.strip() for line in lines if line.strip()) or name


def _kpi(v: RunView, name: str) -> float:
    x = v.kpis.get(name, math.nan)
    return float(x) if x is not None else math.nan


def _union(views: Sequence[RunView], breakdown: str) -> list[str]:
    """Keys of one breakdown across views, in first-seen order."""
    seen: dict[str, None] = {}
    for v in views:
        for k in v.breakdowns.get(breakdown, {}):
            seen.setdefault(k, None)
    return list(seen)


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            color="0.4", fontsize=11)


def _hgrid(ax) -> None:
    ax.set_axisbelow(True)
    ax.grid(axis="y", color="0.9", linewidth=0.8)


# ---------------------------------------------------------------------------------------------
# Charts


def _cost_part(v: RunView, key: str) -> float:
    """One total-cost component of a run per order (0 for runs saved before it existed)."""
    orders = _kpi(v, "orders")
    part = v.breakdowns.get("total_cost", {}).get(key, 0.0)
    return float(part / orders) if orders and math.isfinite(orders) else 0.0


def cost_breakdown(views: Sequence[RunView]) -> Figure:
    """Total cost per order by component ($ per order created in the window), purchase cost
    excepted: fulfilment (shipping, handling, split penalty) and inventory (holding, ordering,
    backorder, lost sales) stacked, so a reorder policy's trade-offs show beside routing's."""
    views = _check(views)
    fig = _figure(max(5.5, 2.5 + 1.9 * len(views)), 4.8)
    ax = fig.add_subplot()
    x = np.arange(len(views))
    bottoms = np.zeros(len(views))
    vals = {key: np.array([_cost_part(v, key) for v in views]) for key, *_ in _COST_PARTS}
    totals = sum(vals.values())
    top = float(totals.max()) if len(totals) and totals.max() > 0 else 1.0
    for key, label, tint, hatch in _COST_PARTS:
        colors = [_tint(color_for(i), tint) for i in range(len(views))]
        ax.bar(x, vals[key], width=0.6, bottom=bottoms, color=colors, hatch=hatch,
               edgecolor="white", linewidth=0.8, label=label)
        for xi, (b, h) in enumerate(zip(bottoms, vals[key], strict=True)):
            if h >= 0.08 * top:
                ax.text(xi, b + h / 2, f"${h:,.2f}", ha="center", va="center", fontsize=9,
                        color="white" if tint < 0.3 else "0.15")
        bottoms = bottoms + vals[key]
    for xi, t in enumerate(totals):
        ax.text(xi, t + 0.015 * top, f"${t:,.2f}", ha="center", va="bottom",
                fontsize=10, fontweight="bold")
    purchase = [_cost_part(v, "purchase") for v in views]
    ax.set_xticks(x, [f"{_wrap(v.name, 16)}\n+ purchase ${p:,.2f}"
                      for v, p in zip(views, purchase, strict=True)])
    for i, lab in enumerate(ax.get_xticklabels()):
        lab.set_color(color_for(i))
    ax.set_ylim(0, top * 1.15)
    ax.set_xlim(-0.7, len(views) - 0.3)
    ax.set_ylabel("Cost per order ($, excl. purchase)")
    ax.yaxis.set_major_formatter(StrMethodFormatter("${x:,.2f}"))
    ax.set_title("Cost per order by component")
    proxies = [Patch(facecolor=_tint("#555555", tint), hatch=hatch, edgecolor="white",
                     label=label) for _, label, tint, hatch in _COST_PARTS]
    ax.legend(handles=proxies, title="Component", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    _hgrid(ax)
    return fig


def lead_time_distribution(views: Sequence[RunView]) -> Figure:
    """Order-to-delivery hours of delivered orders, and delivery against the promise.

    Left: share of orders per 4-hour bin (shaded bands are days), dashed line at each
    scenario's p95. Right: cumulative share of orders delivered by N hours after their
    promised deadline (left of the black line = on time).
    """
    views = _check(views)
    fig = _figure(11.0, 5.2 + 0.2 * len(views))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1.0]})
    lead_all = [v.lead_time_hours[np.isfinite(v.lead_time_hours)] for v in views]
    hi = max((float(a.max()) for a in lead_all if len(a)), default=HOURS)
    edge = HOURS * max(1, math.ceil(hi / HOURS))
    bins = np.arange(0.0, edge + 4.0, 4.0)                  # 4-hour bins aligned to days
    for d in range(1, int(edge / HOURS) + 1):
        ax.axvspan(d * HOURS - HOURS, d * HOURS, color="0.96" if d % 2 else "white", zorder=0)
    for i, (v, lead) in enumerate(zip(views, lead_all, strict=True)):
        c = color_for(i)
        if len(lead):
            ax.hist(lead, bins=bins, weights=np.full(len(lead), 100.0 / len(lead)),
                    histtype="stepfilled", facecolor=(*to_rgb(c), 0.30), edgecolor=c,
                    linewidth=1.4, linestyle=_LINESTYLES[i % len(_LINESTYLES)],
                    label=f"{v.name} (n={len(lead):,})")
        p95 = _kpi(v, "lead_time_p95_h")
        if not math.isfinite(p95) and len(lead):
            p95 = float(np.percentile(lead, 95))
        if math.isfinite(p95):
            ax.axvline(p95, color=c, linestyle="--", linewidth=1.6,
                       label=f"{v.name} p95 = {p95:,.1f} h")
    if not any(len(a) for a in lead_all):
        _no_data(ax, "no delivered orders in the KPI window")
    ax.set_xlim(0, edge)
    ax.xaxis.set_major_locator(MultipleLocator(HOURS))
    ax.set_xlabel("Order-to-delivery time (hours; shaded bands = days)")
    ax.set_ylabel("Share of delivered orders (% per 4 h)")
    ax.set_title("Lead time distribution")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                  ncol=min(2, len(views)), frameon=False)

    late_all = [v.lateness_hours[np.isfinite(v.lateness_hours)] for v in views]
    for i, (v, late) in enumerate(zip(views, late_all, strict=True)):
        if not len(late):
            continue
        xs = np.sort(late)
        ys = 100.0 * np.arange(1, len(xs) + 1) / len(xs)
        on_time = 100.0 * float((late <= 0).mean())
        ax2.step(xs, ys, where="post", color=color_for(i), linewidth=1.8,
                 linestyle=_LINESTYLES[i % len(_LINESTYLES)],
                 label=f"{v.name}: {on_time:.1f}% on time")
    ax2.axvline(0.0, color="0.15", linewidth=1.2, label="promised deadline")
    if any(len(a) for a in late_all):
        lo = min(float(a.min()) for a in late_all if len(a))
        top = max(float(a.max()) for a in late_all if len(a))
        ax2.set_xlim(HOURS * math.floor(min(lo, 0.0) / HOURS),
                     HOURS * math.ceil(max(top, 1.0) / HOURS))
    else:
        _no_data(ax2, "no delivered orders in the KPI window")
    ax2.xaxis.set_major_locator(MultipleLocator(HOURS))
    ax2.set_ylim(0, 101)
    ax2.set_xlabel("Delivered minus deadline (hours; < 0 = early)")
    ax2.set_ylabel("Delivered orders, cumulative (%)")
    ax2.set_title("Delivery against promise")
    ax2.grid(color="0.9", linewidth=0.8)
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return fig


def on_time_and_fill(views: Sequence[RunView]) -> Figure:
    """On-time delivery, order fill rate and line fill rate (% of orders or lines)."""
    views = _check(views)
    n = len(views)
    fig = _figure(max(8.5, 4.5 + 3 * (0.6 + 0.45 * n)), 4.8)
    ax = fig.add_subplot()
    width = 0.8 / n
    x = np.arange(len(_SERVICE_LEVEL_KPIS))
    for i, v in enumerate(views):
        vals = np.array([_kpi(v, k) for k, _ in _SERVICE_LEVEL_KPIS])
        bars = ax.bar(x + (i - (n - 1) / 2) * width, np.nan_to_num(vals), width * 0.92,
                      color=color_for(i), label=v.name)
        ax.bar_label(bars, labels=[f"{y:.1f}%" if math.isfinite(y) else "n/a" for y in vals],
                     padding=2, fontsize=8 if n > 2 else 9, rotation=90 if n > 2 else 0)
    ax.set_xticks(x, [label for _, label in _SERVICE_LEVEL_KPIS])
    ax.set_ylim(0, 122 if n > 2 else 112)
    ax.set_yticks(np.arange(0, 101, 20))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:.0f}%"))
    ax.set_ylabel("Percent")
    ax.set_title("Service level: on time and filled first time")
    ax.legend(title="Scenario", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _hgrid(ax)
    return fig


def _grouped_hbars(ax, views: Sequence[RunView], keys: list[str], breakdown: str) -> None:
    n = len(views)
    height = 0.8 / n
    y = np.arange(len(keys))
    for i, v in enumerate(views):
        share = v.breakdowns.get(breakdown, {})
        vals = np.array([100.0 * share.get(k, 0.0) for k in keys])
        bars = ax.barh(y + (i - (n - 1) / 2) * height, vals, height * 0.92,
                       color=color_for(i), label=v.name)
        ax.bar_label(bars, labels=[f"{x:.1f}%" for x in vals], padding=2, fontsize=7)
    ax.set_yticks(y, keys)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}%"))
    ax.set_axisbelow(True)
    ax.grid(axis="x", color="0.9", linewidth=0.8)


def node_mix(views: Sequence[RunView]) -> Figure:
    """Share of shipments (in the KPI window) sent from each node (%)."""
    views = _check(views)
    nodes = _union(views, "node_share")
    fig = _figure(9.0, max(3.5, 1.2 + len(nodes) * (0.2 + 0.14 * len(views))))
    ax = fig.add_subplot()
    if not nodes:
        _no_data(ax, "no node breakdown")
    _grouped_hbars(ax, views, nodes, "node_share")
    top = max((100.0 * max(v.breakdowns.get("node_share", {}).values(), default=0.0)
               for v in views), default=0.0)
    ax.set_xlim(0, max(top * 1.15, 5.0))
    ax.set_xlabel("Share of shipments (%)")
    ax.set_ylabel("Fulfilment node")
    ax.set_title("Node mix: where shipments were fulfilled from")
    ax.legend(title="Scenario", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def service_mix(views: Sequence[RunView]) -> Figure:
    """Share of shipments (in the KPI window) by carrier service (%)."""
    views = _check(views)
    services = _union(views, "service_share")
    n = len(views)
    fig = _figure(max(7.0, 3.5 + (0.5 + 0.4 * n) * len(services)), 4.8)
    ax = fig.add_subplot()
    width = 0.8 / n
    x = np.arange(len(services))
    for i, v in enumerate(views):
        share = v.breakdowns.get("service_share", {})
        vals = np.array([100.0 * share.get(s, 0.0) for s in services])
        bars = ax.bar(x + (i - (n - 1) / 2) * width, vals, width * 0.92, color=color_for(i),
                      label=v.name)
        ax.bar_label(bars, labels=[f"{y:.1f}%" for y in vals], padding=2,
                     fontsize=7 if n > 2 else 8, rotation=90 if n > 2 else 0)
    if not services:
        _no_data(ax, "no service breakdown")
    ax.set_xticks(x, [s.replace("/", "\n") for s in services])
    top = max((100.0 * max(v.breakdowns.get("service_share", {}).values(), default=0.0)
               for v in views), default=0.0)
    ax.set_ylim(0, max(top * (1.22 if n > 2 else 1.15), 5.0))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:.0f}%"))
    ax.set_xlabel("Carrier / service")
    ax.set_ylabel("Share of shipments (%)")
    ax.set_title("Carrier service mix")
    ax.legend(title="Scenario", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _hgrid(ax)
    return fig


def inventory_over_time(views: Sequence[RunView]) -> Figure:
    """Total on-hand units across stocked nodes at the start of each day (shaded = warm-up)."""
    views = _check(views)
    fig = _figure(9.0, 4.6)
    ax = fig.add_subplot()
    warm = max((v.warmup_days for v in views), default=0.0)
    days = max((v.on_hand_by_day.shape[0] for v in views), default=0)
    if warm > 0 and days:
        ax.axvspan(0, min(warm, days - 1) if days > 1 else warm, color="0.92", zorder=0,
                   label="warm-up (outside KPI window)")
    _shade_events(ax, views, days)
    any_data = False
    for i, v in enumerate(views):
        total = v.on_hand_by_day.sum(axis=1)
        if len(total) == 0:
            continue
        any_data = True
        ax.plot(np.arange(len(total)), total, color=color_for(i), linewidth=1.8,
                linestyle=_LINESTYLES[i % len(_LINESTYLES)],
                marker=_MARKERS[i % len(_MARKERS)], markersize=4, label=v.name)
    if not any_data:
        _no_data(ax, "no stocked nodes")
    if days:
        ax.set_xlim(-0.2, max(days - 1, 1) + 0.2)
    ax.xaxis.set_major_locator(MultipleLocator(max(1, math.ceil(days / 14))))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:,.0f}"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Day of run (snapshot at day start)")
    ax.set_ylabel("On-hand units, stocked nodes")
    ax.set_title("Inventory on hand over time")
    ax.grid(color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left")
    return fig


def event_spans(views: Sequence[RunView], days: int) -> list[tuple[float, float, str]]:
    """Each scheduled event window of ``views`` once, as (first day, end day, label) clipped to
    a time axis of ``days`` day starts; events wholly outside it are left out."""
    spans: list[tuple[float, float, str]] = []
    for v in views:
        for a, b, label in v.events:
            if (a, b, label) in spans or b <= 0 or a >= max(days, 1):
                continue
            spans.append((a, b, label))
    return [(max(a, 0.0), min(b, max(days - 1, 1)), label) for a, b, label in spans]


def _shade_events(ax, views: Sequence[RunView], days: int) -> None:
    """Shade each scheduled event's window (days of the run) once, labelled in the legend."""
    for a, b, label in event_spans(views, days):
        ax.axvspan(a, b, color="#f4a582", alpha=0.35, zorder=0, label=label)


def utilisation_heatmap(views: Sequence[RunView]) -> Figure:
    """Pick/pack utilisation of each node over the KPI window (% of shift hours × pickers)."""
    views = _check(views)
    nodes = _union(views, "node_utilisation_pct")
    data = np.array([[v.breakdowns.get("node_utilisation_pct", {}).get(nd, np.nan)
                      for v in views] for nd in nodes], dtype=float).reshape(len(nodes),
                                                                              len(views))
    fig = _figure(max(5.0, 3.2 + 1.5 * len(views)), max(3.2, 1.3 + 0.34 * len(nodes)))
    ax = fig.add_subplot()
    finite = data[np.isfinite(data)]
    vmax = max(100.0, float(finite.max()) if finite.size else 0.0)
    if not nodes:
        _no_data(ax, "no utilisation breakdown")
        ax.set_title("Node utilisation (pick/pack)")
        return fig
    img = ax.imshow(np.ma.masked_invalid(data), cmap="YlOrRd", vmin=0.0, vmax=vmax,
                    aspect="auto", interpolation="nearest")
    for r in range(data.shape[0]):
        for c in range(data.shape[1]):
            val = data[r, c]
            ax.text(c, r, f"{val:.0f}%" if math.isfinite(val) else "n/a", ha="center",
                    va="center", fontsize=9,
                    color="white" if math.isfinite(val) and val > 0.6 * vmax else "0.1")
    ax.set_xticks(np.arange(len(views)), [_wrap(v.name, 16) for v in views])
    for i, lab in enumerate(ax.get_xticklabels()):
        lab.set_color(color_for(i))
    ax.xaxis.tick_top()
    ax.set_yticks(np.arange(len(nodes)), nodes)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_ylabel("Node")
    ax.set_title("Node utilisation (pick/pack)")
    cbar = fig.colorbar(img, ax=ax, shrink=0.9, pad=0.02)
    cbar.set_label("Utilisation (% of shift-picker hours)")
    cbar.ax.yaxis.set_major_formatter(StrMethodFormatter("{x:.0f}%"))
    return fig


#: Every chart of a report, by title, in report order.
ALL_CHARTS: dict[str, Callable[[Sequence[RunView]], Figure]] = {
    "Cost per order": cost_breakdown,
    "Lead time and delivery against promise": lead_time_distribution,
    "On-time delivery and fill rates": on_time_and_fill,
    "Node mix": node_mix,
    "Carrier service mix": service_mix,
    "Inventory on hand": inventory_over_time,
    "Node utilisation": utilisation_heatmap,
}


def figure_png(fig: Figure, *, close: bool = True) -> bytes:
    """PNG bytes of ``fig`` (dpi 100, tight box, no version metadata, so deterministic).

    With ``close`` (the default) the figure's artists are released afterwards; the figure
    cannot be drawn again.
    """
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight",
                    metadata={"Software": None})
    finally:
        if close:
            fig.clear()
    return buf.getvalue()
