"""A GitHub-flavoured Markdown KPI table, for CI logs and pull-request comments.

Rows are the same dicts the HTML report takes (see ``reports.html.kpi_rows``); this module does
not import matplotlib.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.store.atomic import write_atomic

__all__ = ["render_markdown", "write_markdown"]


def _cell(x: Any) -> str:
    """Text safe inside a table cell: one line, pipes escaped."""
    return " ".join(str(x).split()).replace("|", "\\|")


def _label(label: str) -> str:
    """KPI label; registry sub-items (leading spaces) become ``↳ item``."""
    return f"↳ {_cell(label)}" if label.startswith(" ") else _cell(label)


def render_markdown(views: Sequence[Any], title: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """The KPI table of ``views`` as Markdown (GitHub-flavoured).

    A heading, the compared scenarios, then a table with a header row and one row per entry of
    ``rows`` (``kpi``, ``unit``, ``values``, ``delta``; ``deltas`` gives one column per
    non-baseline view when present). ``views`` are ``RunView``s or anything with ``.name``.
    """
    names = [str(getattr(v, "name", v)) for v in views]
    if not names:
        raise ValueError("render_markdown needs at least one run")
    n_other = len(names) - 1
    per_view = n_other > 0 and bool(rows) and all(
        len(r.get("deltas") or []) == n_other for r in rows)
    one_delta = not per_view and n_other > 0 and any(r.get("delta") for r in rows)

    header = ["KPI", "Unit", *names]
    if per_view:
        header += [f"Δ {name} vs {names[0]}" for name in names[1:]]
    elif one_delta:
        header.append(f"Δ vs {names[0]}")
    align = [":--", ":--"] + ["--:"] * (len(header) - 2)

    lines = [f"### {_cell(title)}", ""]
    if n_other:
        others = ", ".join(f"`{_cell(n)}`" for n in names[1:])
        lines += [f"Compared: `{_cell(names[0])}` (baseline) vs {others}", ""]
    else:
        lines += [f"Scenario: `{_cell(names[0])}`", ""]
    lines.append("| " + " | ".join(_cell(h) for h in header) + " |")
    lines.append("| " + " | ".join(align) + " |")
    for r in rows:
        values = list(r.get("values", []))
        values += [""] * (len(names) - len(values))
        cells = [_label(str(r.get("kpi", ""))), _cell(r.get("unit", "")),
                 *(_cell(x) for x in values[:len(names)])]
        if per_view:
            cells += [_cell(d) for d in r["deltas"]]
        elif one_delta:
            cells.append(_cell(r.get("delta", "")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(views: Sequence[Any], title: str, rows: Sequence[Mapping[str, Any]],
                   out_path: str | os.PathLike[str]) -> Path:
    """Write ``render_markdown(views, title, rows)`` to ``out_path`` atomically."""
    return write_atomic(out_path, render_markdown(views, title, rows))
