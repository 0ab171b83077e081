"""Run directories and reports: save a run with its report view, load views back, and render
HTML + Markdown from them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from reports.view import RunView
from sim.store.rundir import write_run

__all__ = ["VIEW_FILE", "save_run", "load_view", "report_for_runs", "run_facts"]

#: The file of a run directory holding its chart data (``RunView.to_dict``).
VIEW_FILE = "view.json"


def save_run(outcome: Any, view: RunView, out_dir: Path, register: bool = False) -> Path:
    """Write ``outcome``'s run directory with its report view (``sim.store.rundir.write_run``,
    the one run writer; ``register`` adds the registry row), so ``domlab report`` and the app
    can chart it; returns the directory."""
    files = {VIEW_FILE: json.dumps(view.to_dict(), sort_keys=True)}
    return write_run(outcome, Path(out_dir), files, register=register, label=view.name)


def load_view(run_dir: Path) -> RunView:
    """The chart data a run directory saved (``view.json``)."""
    path = Path(run_dir) / VIEW_FILE
    try:
        return RunView.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not a run directory (no view.json)") from None


def run_facts(run_dir: Path, label: str) -> dict[str, str]:
    """What a saved run was, for a report's "Runs" table: its label (with what-ifs), run id,
    start date, horizon and warm-up, seed, engine, rule set per decision point and scheduled
    events (from the run directory's ``kpis.json`` and ``scenario.yaml``)."""
    kpis = json.loads((Path(run_dir) / "kpis.json").read_text())
    sc = yaml.safe_load((Path(run_dir) / "scenario.yaml").read_text()) or {}
    events = "; ".join(e.get("label") or e.get("kind", "") for e in sc.get("events") or [])
    return {"run": label, "run id": kpis.get("run_id", ""),
            "start": str(sc.get("start_date", "")),
            "days (warm-up)": f"{float(sc.get('horizon_days', 0)):g} "
                              f"({float(sc.get('warmup_days', 0)):g})",
            "seed": str(kpis.get("seed", "")), "engine": kpis.get("engine", ""),
            "rule sets": ", ".join(f"{p}: {k}" for p, k in sorted(
                (kpis.get("rulesets") or {}).items())),
            "events": events or "none"}


def report_for_runs(run_dirs: Sequence[Path], out_dir: Path, title: str) -> Path:
    """Write ``report.html`` (self-contained) and ``report.md`` comparing the runs; returns the
    HTML path. The first run is the baseline for deltas."""
    from reports.html import kpi_rows, render_html  # matplotlib: only for reports
    from reports.markdown import write_markdown
    from sim.measure.kpis import ALL_KPIS

    views = [load_view(d) for d in run_dirs]
    rows = kpi_rows(views, ALL_KPIS)       # the optimum's KPIs too, when the runs have them
    out_dir = Path(out_dir)
    runs = [run_facts(d, v.name) for d, v in zip(run_dirs, views, strict=True)]
    html = render_html(views, title, rows, out_dir / "report.html", runs=runs)
    write_markdown(views, title, rows, out_dir / "report.md")
    return html
