"""Run directories and reports: save a run with its report view, load views back, and render
HTML + Markdown from them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports.charts import RunView
from reports.html import kpi_rows, render_html
from reports.markdown import write_markdown
from sim.store.rundir import write_run

__all__ = ["VIEW_FILE", "save_run", "load_view", "report_for_runs"]

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


def report_for_runs(run_dirs: Sequence[Path], out_dir: Path, title: str) -> Path:
    """Write ``report.html`` (self-contained) and ``report.md`` comparing the runs; returns the
    HTML path. The first run is the baseline for deltas."""
    views = [load_view(d) for d in run_dirs]
    rows = kpi_rows(views)
    out_dir = Path(out_dir)
    html = render_html(views, title, rows, out_dir / "report.html")
    write_markdown(views, title, rows, out_dir / "report.md")
    return html
