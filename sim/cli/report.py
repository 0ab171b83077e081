"""``domlab report``: render saved runs as a self-contained HTML report and a Markdown table.

Usage::

    domlab report runs/omnichannel-s7-… runs/omnichannel_cost_first-s7-… --out out/report

writes ``out/report/report.html`` (inline CSS, charts as ``data:`` PNGs: no scripts, no
network) and ``out/report/report.md``. The first run is the baseline for deltas. Run
directories come from ``domlab run``/``compare`` or the app (they hold ``view.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

from reports import MAX_VIEWS
from sim.cli import UsageError

__all__ = ["cmd_report"]


def _check_run_dir(arg: str) -> Path:
    """A run directory that holds the chart data a report needs, or a one-line UsageError."""
    path = Path(arg)
    if not path.is_dir():
        raise UsageError(f"{arg}: not a run directory (no such directory)")
    for name in ("view.json", "kpis.json"):
        if not (path / name).is_file():
            raise UsageError(f"{arg}: not a run directory (no {name}; write one with "
                             "`domlab run`)")
    try:
        json.loads((path / "view.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{arg}: view.json is unreadable: "
                         f"{' '.join(str(exc).split())}") from None
    return path


def _title(run_dirs: list[Path]) -> str:
    names = []
    for d in run_dirs:
        try:
            names.append(json.loads((d / "kpis.json").read_text(encoding="utf-8"))["scenario"])
        except (OSError, ValueError, KeyError, TypeError):
            names.append(d.name)
    return " vs ".join(names)


def cmd_report(args) -> int:
    """Write report.html and report.md comparing the given run directories."""
    if len(args.run_dirs) > MAX_VIEWS:
        raise UsageError(f"report: compares at most {MAX_VIEWS} runs (got "
                         f"{len(args.run_dirs)})")
    dirs = [_check_run_dir(d) for d in args.run_dirs]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a directory")
    from reports.build import report_for_runs

    html = report_for_runs(dirs, out, args.title or _title(dirs))
    print(f"report: {html}")
    print(f"markdown: {html.with_name('report.md')}")
    return 0
