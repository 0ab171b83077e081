"""The app's sweep runner: a grid of 1–3 parameters over a configured scenario, each point run
on the same seed (common random numbers), and the Pareto front of cost against on-time.

Parameters are field paths as ``domlab sweep`` files write them (``nodes[DC-RENO].capacity.
pickers``, ``policies.sourcing``, ``rules.split[split-in-two].then.max_shipments``) and are
applied by ``sim.experiments.sweeps.apply_params``, so the app and the CLI vary a scenario the
same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import yaml

from sim.experiments.stats import pareto_mask
from sim.experiments.sweeps import apply_params
from sim.measure.kpis import KPIS
from sim.scenario import Scenario, ScenarioError

__all__ = ["MAX_POINTS", "DEFAULT_GRID", "parse_grid", "grid_scenarios", "pareto_points",
           "pareto_chart"]

#: Most points one sweep may run in the app.
MAX_POINTS = 36
#: The grid the sweep tab opens with.
DEFAULT_GRID = [{"parameter": "nodes[DC-RENO].capacity.pickers", "values": "4, 6, 8"},
                {"parameter": "policies.sourcing",
                 "values": "routing/nearest_first, routing/cost_first"}]


def parse_grid(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Parameter path → values from the editor's rows (values comma-separated, each read as
    YAML: ``4, 6`` are numbers, ``routing/cost_first`` text). Blank rows are skipped; 1–3
    parameters and at most ``MAX_POINTS`` points, else a ``ScenarioError`` naming the row."""
    grid: dict[str, list[Any]] = {}
    for k, row in enumerate(rows):
        path = str(row.get("parameter") or "").strip()
        text = str(row.get("values") or "").strip()
        if not path and not text:
            continue
        where = f"sweep row {k + 1}"
        if not path or not text:
            raise ScenarioError(f"{where}: give a parameter path and its values")
        try:
            values = yaml.safe_load(f"[{text}]")
        except yaml.YAMLError:
            raise ScenarioError(f"{where} ({path}): values must be comma-separated, e.g. "
                                "4, 6, 8") from None
        if path in grid:
            raise ScenarioError(f"{where}: {path} appears twice")
        grid[path] = values
    if not 1 <= len(grid) <= 3:
        raise ScenarioError(f"sweep: vary 1 to 3 parameters (got {len(grid)})")
    points = 1
    for values in grid.values():
        points *= len(values)
    if points > MAX_POINTS:
        raise ScenarioError(f"sweep: {points} points is more than {MAX_POINTS}: fewer values")
    return grid


def grid_scenarios(base: Scenario, grid: Mapping[str, Sequence[Any]], rules_dir: Path
                   ) -> list[tuple[dict[str, Any], Scenario]]:
    """Every grid point and its scenario, all validated before anything runs (a bad value is
    a ``ScenarioError`` naming the point and path)."""
    out = []
    for i, combo in enumerate(itertools.product(*grid.values())):
        params = dict(zip(grid, combo, strict=True))
        # (an ExperimentError is a ScenarioError: one line naming the point and path)
        out.append((params, apply_params(base, params, rules_dir, f"sweep point {i + 1}")))
    return out


def pareto_points(results: Sequence[tuple[Mapping[str, Any], Mapping[str, float]]],
                  x: str = "cost_per_order", y: str = "on_time_pct") -> pd.DataFrame:
    """One row per point (its parameters and KPIs) with ``pareto``: no other point is at least
    as good on both ``x`` and ``y`` and better on one."""
    rows = [{**{f"{k}": str(v) for k, v in params.items()}, **kpis}
            for params, kpis in results]
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["pareto"] = pareto_mask(frame[x], frame[y], KPIS[x].better, KPIS[y].better)
    return frame


def pareto_chart(points: pd.DataFrame, params: Sequence[str], x: str = "cost_per_order",
                 y: str = "on_time_pct") -> alt.Chart:
    """Cost against on-time per point, the Pareto front joined and highlighted."""
    tips = [alt.Tooltip(p, type="nominal") for p in params] + [
        alt.Tooltip(x, type="quantitative", title=KPIS[x].label.strip(), format=",.2f"),
        alt.Tooltip(y, type="quantitative", title=KPIS[y].label.strip(), format=".2f")]
    base = alt.Chart(points).encode(
        x=alt.X(f"{x}:Q", title=f"{KPIS[x].label.strip()} ({KPIS[x].unit})",
                scale=alt.Scale(zero=False)),
        y=alt.Y(f"{y}:Q", title=f"{KPIS[y].label.strip()} ({KPIS[y].unit})",
                scale=alt.Scale(zero=False)))
    dots = base.mark_circle(size=120).encode(
        color=alt.Color("pareto:N", title="Pareto front",
                        scale=alt.Scale(domain=[True, False], range=["#D55E00", "#999999"])),
        tooltip=tips)
    front = base.transform_filter("datum.pareto").mark_line(color="#D55E00").encode(
        order=f"{x}:Q")
    return alt.layer(front, dots).interactive().properties(
        height=380, title="Sweep: cost against on-time (hover a point for its parameters)")
