"""One formatter and one verdict for every KPI (``sim.measure.present``)."""

from __future__ import annotations

import math

from sim.measure.present import (
    format_ci,
    format_delta,
    format_half_width,
    format_p,
    format_value,
    relative_change,
    text_table,
    verdict,
)


def test_format_value_by_unit():
    assert format_value(1234.5, "$") == "1,234.50"
    assert format_value(93.456, "%") == "93.46"
    assert format_value(4672.0, "orders") == "4,672"
    assert format_value(4672.4, "units") == "4,672.40"          # a mean of counts
    assert format_value(57.84, "h") == "57.84"
    assert format_value(1.0, "") == "1.00"
    assert format_value(-0.001, "$") == "0.00"                  # never -0.00
    assert format_value(math.nan, "$") == format_value(None, "%") == "n/a"


def test_format_delta_signed_relative_and_zero():
    assert format_delta(0.25, "$") == "+0.25" and format_delta(-3.0, "orders") == "-3"
    assert format_delta(0.0, "orders") == "0" and format_delta(-0.004, "$") == "0.00"
    assert format_delta(0.031, relative=True) == "+3.1%"
    assert format_delta(-0.02, relative=True) == "-2.0%"
    assert format_delta(0.0004, relative=True) == "0.0%"
    assert format_delta(math.nan, relative=True) == format_delta(None, "$") == "n/a"


def test_relative_change():
    assert relative_change(3.1, 100.0) == 0.031
    assert relative_change(-1.0, -10.0) == -0.1               # against |base|
    assert relative_change(0.0, 0.0) == 0.0
    assert math.isnan(relative_change(1.0, 0.0)) and math.isnan(relative_change(None, 1.0))


def test_intervals_and_p_values():
    assert format_ci(-0.37, 0.031, "$") == "[-0.37, +0.03]"
    assert format_ci(0.0, 0.0, "orders") == "[0, 0]"
    assert format_ci(math.nan, 1.0) == "n/a"
    assert format_half_width(0.149, "$") == "±0.15" and format_half_width(math.nan) == "n/a"
    assert (format_p(0.0004), format_p(0.0512), format_p(math.nan)) == ("<0.001", "0.051", "n/a")


def test_verdict_uses_the_kpi_direction():
    assert verdict("cost_per_order", -0.5, True) == "better"          # lower is better
    assert verdict("cost_per_order", 0.5, True) == "worse"
    assert verdict("on_time_pct", 0.5, True) == "better"              # higher is better
    assert verdict("orders", 10.0, True) == "changed"                 # no direction
    assert verdict("on_time_pct", 0.5, False) == "no significant difference"
    assert verdict("on_time_pct", 0.0, True) == "no significant difference"


def test_text_table_alignment():
    text = text_table(["KPI", "unit", "a", "note"], [["Orders", "orders", "1,000", "x"],
                                                     ["Cost", "$", "2.50", "long"]],
                      left={0, 1, 3})
    assert text.splitlines() == ["KPI     unit        a  note",
                                 "------  ------  -----  ----",
                                 "Orders  orders  1,000  x",
                                 "Cost    $        2.50  long"]
