"""A self-contained HTML comparison report: KPI table plus every chart, inlined.

The file has inline CSS and PNG images as ``data:`` URIs: no scripts, no external URLs, so it
opens offline, attaches to an e-mail or a CI artefact as one file. ``kpi_rows`` builds the KPI
table (labels, units and "which way is better" come from the ``sim.measure.kpis.KPIS`` registry;
values, deltas and verdicts from ``sim.measure.present``, as on the command line).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from reports.charts import ALL_CHARTS, RunView, color_for, figure_png
from sim.measure.present import format_delta, format_value, relative_change, verdict
from sim.store.atomic import write_atomic

__all__ = ["kpi_rows", "render_html", "chart_caption"]

#: No visible relative change: one run against another shows no verdict for it.
_NO_CHANGE = format_delta(0.0, relative=True)


def _change(key: str, value: float | None, base: float | None) -> tuple[str, str]:
    """(relative delta text, verdict) of one run's KPI against the baseline run's. Single runs
    have no test, so a change counts when it is visible in the relative delta."""
    if value is None or base is None:
        return format_delta(None, relative=True), verdict(key, 0.0, False)
    delta = value - base
    text = format_delta(relative_change(delta, base), relative=True)
    return text, verdict(key, delta, text != _NO_CHANGE)


def kpi_rows(views: Sequence[RunView], registry: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
    """Rows of the KPI table, one per registry KPI present in any view, in registry order.

    Each row: ``kpi`` (label), ``unit``, ``values`` (formatted, one per view), ``delta``
    (``""`` for one view; else the change of views[1:] vs views[0], joined by ``" / "``), plus
    ``key``, ``better``, ``raw`` (floats or None), ``deltas`` (list) and ``trends`` (list of
    verdicts, ``sim.measure.present.verdict``) for renderers that want them. ``registry``
    defaults to ``sim.measure.kpis.KPIS`` (anything with ``.label``, ``.unit``, ``.better``;
    its keys must be ``KPIS`` names for the verdicts).
    """
    if registry is None:
        from sim.measure.kpis import KPIS
        registry = KPIS
    views = list(views)
    rows = []
    for key, spec in registry.items():
        raw = [v.kpis.get(key) for v in views]
        if all(x is None for x in raw):
            continue
        raw = [None if x is None else float(x) for x in raw]
        changes = [_change(key, x, raw[0]) for x in raw[1:]]
        deltas = [text for text, _ in changes]
        rows.append({
            "key": key, "kpi": spec.label, "unit": spec.unit, "better": spec.better,
            "values": [format_value(x, spec.unit) for x in raw], "raw": raw,
            "delta": " / ".join(deltas), "deltas": deltas,
            "trends": [trend for _, trend in changes],
        })
    return rows


def chart_caption(fn: Callable[..., Figure]) -> str:
    """A chart's caption: its docstring on one line."""
    return " ".join((fn.__doc__ or "").split())


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1180px;padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.compared{color:#57606a;margin-top:0}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.35em;
vertical-align:-.05em}
table.kpis{border-collapse:collapse;font-size:.92rem;margin-top:.8rem}
table.kpis th,table.kpis td{padding:.3rem .7rem;border-bottom:1px solid #eaeef2}
table.kpis th{background:#f6f8fa;text-align:left;position:sticky;top:0}
table.kpis td.num,table.kpis th.num{text-align:right;font-variant-numeric:tabular-nums}
table.kpis td.unit{color:#57606a}
table.kpis td.sub{padding-left:1.8rem;color:#424a53}
td.better{color:#1a7f37}td.worse{color:#cf222e}td.same,td.none{color:#57606a}
figure{margin:1.2rem 0 2rem}
figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.9rem;margin-top:.4rem}
.legend{font-size:.85rem;color:#57606a}
"""


#: CSS class of a delta cell by verdict (anything else: grey).
_TREND_CLASS = {"better": "better", "worse": "worse"}


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _scenario_label(i: int, name: str) -> str:
    return f'<span class="swatch" style="background:{color_for(i)}"></span>{_esc(name)}'


def _delta_columns(views: Sequence[RunView], rows: Sequence[Mapping[str, Any]]) -> int:
    n = len(views) - 1
    if n <= 0:
        return 0
    if rows and all(len(r.get("deltas") or []) == n for r in rows):
        return n
    return 1 if any(r.get("delta") for r in rows) else 0


def _runs_table(runs: Sequence[Mapping[str, str]]) -> list[str]:
    """The "Runs" section: one row per run, one column per fact."""
    if not runs:
        return []
    cols = list(runs[0])
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_esc(r.get(c, ''))}</td>" for c in cols) + "</tr>"
                   for r in runs)
    return ["<h2>Runs</h2>", f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            "</table>"]


def _table(views: Sequence[RunView], rows: Sequence[Mapping[str, Any]]) -> str:
    ndelta = _delta_columns(views, rows)
    base = views[0].name if views else ""
    head = ['<th>KPI</th>', '<th>Unit</th>']
    head += [f'<th class="num">{_scenario_label(i, v.name)}</th>' for i, v in enumerate(views)]
    if ndelta == len(views) - 1 and ndelta > 0:
        head += [f'<th class="num">&Delta; {_esc(v.name)} vs {_esc(base)}</th>'
                 for v in views[1:]]
    elif ndelta:
        head.append(f'<th class="num">&Delta; vs {_esc(base)}</th>')
    body = []
    for r in rows:
        label = str(r.get("kpi", ""))
        sub = ' class="sub"' if label.startswith(" ") else ""
        cells = [f"<td{sub}>{_esc(label.strip())}</td>",
                 f'<td class="unit">{_esc(r.get("unit", ""))}</td>']
        cells += [f'<td class="num">{_esc(x)}</td>' for x in r.get("values", [])]
        if ndelta == len(views) - 1 and ndelta > 0 and "deltas" in r:
            trends = list(r.get("trends") or []) + ["none"] * ndelta
            cells += [f'<td class="num {_TREND_CLASS.get(t, "same")}">{_esc(d)}</td>'
                      for d, t in zip(r["deltas"], trends, strict=False)]
        elif ndelta:
            cells.append(f'<td class="num">{_esc(r.get("delta", ""))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<table class="kpis">\n<thead><tr>' + "".join(head) + "</tr></thead>\n<tbody>\n"
            + "\n".join(body) + "\n</tbody>\n</table>")


def render_html(views: Sequence[RunView], title: str,
                kpi_table_rows: Sequence[Mapping[str, Any]],
                out_path: str | os.PathLike[str], *,
                charts: Mapping[str, Callable[[Sequence[RunView]], Figure]] | None = None,
                runs: Sequence[Mapping[str, str]] = ()) -> Path:
    """Write the report for ``views`` to ``out_path`` atomically and return its path.

    Contents: ``title``, a line naming the compared scenarios, the KPI table from
    ``kpi_table_rows`` (dicts with ``kpi``, ``unit``, ``values``, ``delta``; see ``kpi_rows``)
    and each chart of ``charts`` (default ``ALL_CHARTS``) as an inline PNG with a caption;
    ``runs`` (``run_facts`` of each run: horizon, seed, rule sets, events…) as a table of what
    each compared run was.
    """
    views = list(views)
    if not views:
        raise ValueError("render_html needs at least one run")
    charts = ALL_CHARTS if charts is None else charts
    names = [_scenario_label(i, v.name) for i, v in enumerate(views)]
    if len(views) == 1:
        compared = f"Scenario: {names[0]}"
    else:
        compared = (f"Compared: {names[0]} (baseline) vs " + ", ".join(names[1:])
                    + " &mdash; deltas are relative to the baseline; "
                    '<span style="color:#1a7f37">green</span> = better, '
                    '<span style="color:#cf222e">red</span> = worse.')
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{_esc(title)}</h1>", f'<p class="compared">{compared}</p>',
        *_runs_table(runs),
        "<h2>Key performance indicators</h2>", _table(views, kpi_table_rows),
    ]
    for chart_title, fn in charts.items():
        png = figure_png(fn(views))
        data = base64.b64encode(png).decode("ascii")
        parts += [
            f"<h2>{_esc(chart_title)}</h2>", "<figure>",
            f'<img src="data:image/png;base64,{data}" alt="{_esc(chart_title)}">',
            f"<figcaption>{_esc(chart_caption(fn))}</figcaption>", "</figure>",
        ]
    parts += ["</body>", "</html>", ""]
    return write_atomic(out_path, "\n".join(parts))
