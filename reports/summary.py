"""The answer at a glance: headline KPI cards, a generated paragraph on what changed and why,
and the numeric KPI table for export.

Every comparison goes through one function, ``changes``: with one run per scenario a change is
a plain difference and carries no verdict (nothing to tell it from noise); with replications it
is the paired difference over common seeds with its 95% CI and the shared verdict of
``sim.measure.present.verdict`` (via ``sim.experiments.comparison.compare_replications``).
Groups are duck-typed: anything with ``label``, ``frame()`` (one row of KPIs per replication)
and ``runs`` whose items have ``kpis`` and ``breakdowns`` (the app's ``RunGroup``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.experiments.comparison import compare_replications
from sim.measure.kpis import ALL_KPIS as KPIS
from sim.measure.present import format_ci, format_delta, format_value, relative_change

__all__ = ["HEADLINE", "Change", "changes", "kpi_cards", "headline_text", "kpi_export",
           "SINGLE_RUN"]

#: KPIs of the summary row, most decisive first.
HEADLINE = ("total_cost_per_order", "cost_per_order", "on_time_pct", "lead_time_mean_h",
            "order_fill_rate_pct", "backorders", "co2_kg_per_order", "cost_gap_to_optimal_pct")
#: The verdict of a change measured on one run per scenario.
SINGLE_RUN = "one run: not tested"
#: Total-cost components by display name (breakdowns["total_cost"] keys).
_COMPONENTS = {"shipping": "shipping", "handling": "handling", "split_penalty": "split penalty",
               "holding": "holding", "ordering": "ordering", "purchase": "purchase",
               "backorder": "backorder cost", "lost_sale": "lost sales", "returns": "returns"}


@dataclass(frozen=True)
class Change:
    """One KPI of one scenario against the baseline."""

    kpi: str
    scenario: str
    value: float            # the scenario's value (mean over replications)
    base: float
    delta: float
    ci: tuple[float, float] | None      # 95% CI of the paired difference (replications only)
    verdict: str            # better / worse / changed / no significant difference / SINGLE_RUN

    @property
    def relative(self) -> float:
        """The change as a fraction of the baseline (NaN when the baseline is 0)."""
        return relative_change(self.delta, self.base)

    def delta_text(self) -> str:
        """``-0.42 (-1.1%) [-0.80, -0.05]``: the change, relative, and its CI if any."""
        unit = KPIS[self.kpi].unit
        text = format_delta(self.delta, unit)
        rel = self.relative
        if math.isfinite(rel) and self.delta != 0:
            text += f" ({format_delta(rel, relative=True)})"
        if self.ci is not None and self.delta != 0:
            text += f" {format_ci(*self.ci, unit)}"
        return text


def changes(groups: Sequence[Any], kpis: Sequence[str] = tuple(KPIS)) -> list[Change]:
    """Every scenario after the first against the first, for ``kpis``."""
    base = groups[0].frame()
    reps = min(len(g.runs) for g in groups)
    out = []
    for g in groups[1:]:
        frame = g.frame()
        if reps >= 2:
            cmp = compare_replications(base, frame).set_index("kpi")
            for k in kpis:
                if k in cmp.index:
                    c = cmp.loc[k]
                    out.append(Change(k, g.label, float(c["mean_b"]), float(c["mean_a"]),
                                      float(c["delta"]), (float(c["ci_low"]),
                                                          float(c["ci_high"])),
                                      str(c["verdict"])))
            continue
        for k in kpis:
            if k in frame.columns:
                a, b = float(base[k].iloc[0]), float(frame[k].iloc[0])
                out.append(Change(k, g.label, b, a, b - a, None, SINGLE_RUN))
    return out


def kpi_cards(groups: Sequence[Any], kpis: Sequence[str] = HEADLINE) -> list[dict[str, str]]:
    """The summary row: per headline KPI and compared scenario, its label, value, change and
    verdict as display text."""
    cards = []
    for c in changes(groups, kpis):
        spec = KPIS[c.kpi]
        value = format_value(c.value, spec.unit)
        value = f"${value}" if spec.unit == "$" else value if spec.unit in (
            "orders", "units", "") else f"{value} {spec.unit}"
        cards.append({"kpi": c.kpi, "label": spec.label.strip(), "scenario": c.scenario,
                      "value": value,
                      "delta": c.delta_text(), "verdict": c.verdict,
                      "better": spec.better})
    return cards


def _cost_driver(first: Any, other: Any, orders_a: float, orders_b: float) -> str:
    """The total-cost component whose cost per order moved most, as a phrase."""
    a = first.breakdowns.get("total_cost", {})
    b = other.breakdowns.get("total_cost", {})
    # Purchase is left out: it is mostly the goods themselves, moved by stock timing.
    moves = {k: b.get(k, 0.0) / max(orders_b, 1) - a.get(k, 0.0) / max(orders_a, 1)
             for k in _COMPONENTS if (k in a or k in b) and k != "purchase"}
    if not moves:
        return ""
    key = max(moves, key=lambda k: abs(moves[k]))
    if abs(moves[key]) < 0.005:
        return "no cost component moved by as much as half a cent per order"
    return f"the largest cost driver is {_COMPONENTS[key]} ({moves[key]:+,.2f} $ per order)"


def _mix_shift(first: Any, other: Any) -> str:
    """The node kind whose share of shipments moved most, as a phrase."""
    a = first.breakdowns.get("node_kind_share", {})
    b = other.breakdowns.get("node_kind_share", {})
    kinds = set(a) | set(b)
    if not kinds:
        return ""
    kind = max(sorted(kinds), key=lambda k: abs(b.get(k, 0.0) - a.get(k, 0.0)))
    da, db = 100 * a.get(kind, 0.0), 100 * b.get(kind, 0.0)
    if abs(db - da) < 0.5:
        return "the node mix is unchanged"
    names = {"dc": "DCs", "store": "stores", "3pl": "3PLs", "dropship": "drop-shippers"}
    return f"{names.get(kind, kind)} ship {db:.0f}% of parcels instead of {da:.0f}%"


def _phrase(c: Change) -> str:
    spec = KPIS[c.kpi]
    label = spec.label.strip()
    label = label[0].lower() + label[1:]
    if c.delta == 0:
        return f"{label} unchanged"
    text = f"{label} {c.delta_text()}"
    if c.verdict == SINGLE_RUN:
        return text
    if c.verdict == "no significant difference":
        return f"{text}, not significant"
    return f"{text}, {c.verdict}"


def headline_text(groups: Sequence[Any]) -> str:
    """One paragraph per compared scenario: what changed (headline KPIs with CIs and
    verdicts) and why (largest cost driver, node mix shift, service effects)."""
    if len(groups) < 2:
        return ""
    by_scenario: dict[str, list[Change]] = {}
    for c in changes(groups, HEADLINE):
        by_scenario.setdefault(c.scenario, []).append(c)
    first = groups[0].runs[0]
    orders_a = first.kpis.get("orders", 0.0)
    paragraphs = []
    for g in groups[1:]:
        cs = {c.kpi: c for c in by_scenario.get(g.label, [])}
        other = g.runs[0]
        lead = [_phrase(cs[k]) for k in ("total_cost_per_order", "on_time_pct") if k in cs]
        why = [p for p in (_cost_driver(first, other, orders_a, other.kpis.get("orders", 0.0)),
                           _mix_shift(first, other)) if p]
        service = [_phrase(cs[k]) for k in ("lead_time_mean_h", "order_fill_rate_pct")
                   if k in cs]
        text = f"**{g.label}** against **{groups[0].label}**: " + "; ".join(lead) + "."
        if why:
            why_text = "; ".join(why)
            text += f" {why_text[0].upper()}{why_text[1:]}."
        if service:
            text += " Service: " + "; ".join(service) + "."
        if any(c.verdict == SINGLE_RUN for c in cs.values()):
            text += (" One run per scenario, so no change is tested against noise: use two or "
                     "more replications for confidence intervals.")
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def kpi_export(groups: Sequence[Any]) -> pd.DataFrame:
    """Every KPI of every scenario as numbers (the values ``kpis.json`` holds; means with
    replications), with the change against the first scenario, its CI and verdict: the table
    the app exports as CSV and Excel."""
    rows = []
    first = groups[0].frame()
    for k, spec in KPIS.items():
        if k in first.columns:
            rows.append({"kpi": k, "label": spec.label.strip(), "unit": spec.unit,
                         "scenario": groups[0].label, "runs": len(first),
                         "value": float(first[k].mean())})
    for c in changes(groups):
        spec = KPIS[c.kpi]
        rows.append({"kpi": c.kpi, "label": spec.label.strip(), "unit": spec.unit,
                     "scenario": c.scenario, "runs": len(groups[0].runs), "value": c.value,
                     "delta": c.delta, "delta_ci_low": c.ci[0] if c.ci else math.nan,
                     "delta_ci_high": c.ci[1] if c.ci else math.nan, "verdict": c.verdict})
    return pd.DataFrame(rows, columns=["kpi", "label", "unit", "scenario", "runs", "value",
                                       "delta", "delta_ci_low", "delta_ci_high", "verdict"])
