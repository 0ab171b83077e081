"""Reports from run directories: load each run's saved view and render HTML + Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reports.charts import RunView
from reports.html import kpi_rows, render_html
from reports.markdown import write_markdown

__all__ = ["load_view", "report_for_runs"]


def load_view(run_dir: Path) -> RunView:
    """The chart data a run directory saved (``view.json``)."""
    path = Path(run_dir) / "view.json"
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
