"""How KPIs read: one formatter for values, changes and intervals, and one verdict per change.

Every place that shows a KPI formats it here (``domlab run``/``compare`` with or without
``--reps``, ``domlab rules diff``, ``domlab check`` summaries, the HTML/Markdown report and the
app), so one KPI reads the same everywhere. It lives in ``sim.measure`` because the CI check
(``sim.experiments``) formats too and may not import ``reports``.

* Values carry no unit symbol (every table has a unit column): counts (``orders``, ``units``)
  are whole numbers when they are integral, everything else has two decimals; NaN is ``n/a``.
* Changes are signed, in the KPI's unit or, relative, in percent with one decimal; a change
  that rounds to zero reads ``0.00`` / ``0`` / ``0.0%`` (never ``-0.00``).
* ``verdict`` turns a change and whether it is significant into ``better``, ``worse``,
  ``changed`` (a KPI without a better direction) or ``no significant difference``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from sim.measure.kpis import ALL_KPIS

__all__ = ["COUNT_UNITS", "VERDICTS", "format_value", "format_delta", "format_ci",
           "format_half_width", "format_p", "relative_change", "verdict", "text_table"]

#: Units whose integral values are shown as whole numbers.
COUNT_UNITS = frozenset({"orders", "units"})
#: Every verdict ``verdict`` returns.
VERDICTS = ("better", "worse", "changed", "no significant difference")
NA = "n/a"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _number(x: float, unit: str, sign: str) -> str:
    """``x`` in its unit's precision; a value that rounds to zero is shown unsigned."""
    places = 0 if unit in COUNT_UNITS and float(x).is_integer() else 2
    if round(x, places) == 0:
        x, sign = 0.0, ""
    return f"{x:{sign},.{places}f}"


def format_value(value: float | None, unit: str = "") -> str:
    """A KPI value for a table (``1,234``, ``20.32``), or ``n/a``; the same text everywhere."""
    return _number(float(value), unit, "") if _finite(value) else NA


def format_delta(delta: float | None, unit: str = "", relative: bool = False) -> str:
    """A signed change: in the KPI's unit (``+0.25``, ``-3``) or, with ``relative``, a fraction
    of the baseline shown in percent (``+3.1%``); zero reads ``0.00``/``0.0%``, NaN ``n/a``."""
    if not _finite(delta):
        return NA
    if relative:
        pct = 100.0 * float(delta)
        return "0.0%" if round(pct, 1) == 0 else f"{pct:+,.1f}%"
    return _number(float(delta), unit, "+")


def format_ci(low: float | None, high: float | None, unit: str = "") -> str:
    """A confidence interval of a change, ``[-0.37, +0.03]``, or ``n/a`` without one."""
    if not (_finite(low) and _finite(high)):
        return NA
    return f"[{format_delta(low, unit)}, {format_delta(high, unit)}]"


def format_half_width(half_width: float | None, unit: str = "") -> str:
    """A confidence-interval half-width, ``±0.15``, or ``n/a`` without one."""
    return f"±{format_value(half_width, unit)}" if _finite(half_width) else NA


def format_p(p: float | None) -> str:
    """A p-value: ``<0.001``, three decimals, or ``n/a``."""
    if not _finite(p):
        return NA
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def relative_change(delta: float | None, base: float | None) -> float:
    """``delta / |base|``: 0 when nothing changed, NaN when the base is 0 or either is missing,
    so a relative change is computed one way wherever it is shown."""
    if not (_finite(delta) and _finite(base)):
        return math.nan
    if delta == 0:
        return 0.0
    return delta / abs(base) if base else math.nan


def verdict(kpi: str, delta: float, significant: bool) -> str:
    """``better`` / ``worse`` (in ``ALL_KPIS[kpi].better``'s direction), ``changed`` (a KPI without
    a direction) or ``no significant difference``: the one reading of a change everywhere."""
    if not significant or not _finite(delta) or delta == 0:
        return "no significant difference"
    better = ALL_KPIS[kpi].better
    if better not in ("higher", "lower"):
        return "changed"
    return "better" if (delta > 0) == (better == "higher") else "worse"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]],
               left: int | Collection[int] = 2) -> str:
    """Aligned plain-text table with a rule under the header; ``left`` is how many leading
    columns (or which column indices) are left-aligned, the rest are right-aligned."""
    lefts = set(range(left)) if isinstance(left, int) else set(left)
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for j, r in enumerate(table):
        cells = [c.ljust(widths[i]) if i in lefts else c.rjust(widths[i])
                 for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
