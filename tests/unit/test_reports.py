"""Tests for the reports package: RunView, charts, HTML and Markdown output."""

from __future__ import annotations

import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from reports.charts import (
    ALL_CHARTS,
    PALETTE,
    RunView,
    color_for,
    cost_breakdown,
    figure_png,
    inventory_over_time,
    lead_time_distribution,
    node_mix,
    on_time_and_fill,
    service_mix,
    utilisation_heatmap,
)
from reports.html import kpi_rows, render_html
from reports.markdown import render_markdown, write_markdown

NODES = ["DC-A", "DC-B", "STORE-C"]
SERVICES = ["ParcelCo/ground", "ParcelCo/two_day", "SwiftShip/ground"]


def make_view(name: str, scale: float = 1.0, seed: int = 0) -> RunView:
    rng = np.random.default_rng(seed)
    kpis = {
        "orders": 1000.0 * scale, "units": 1800.0 * scale, "revenue": 50_000.0 * scale,
        "cost_per_order": 20.0 * scale, "shipping_per_order": 15.0 * scale,
        "handling_per_order": 4.0 * scale, "split_penalty_per_order": 1.0 * scale,
        "on_time_pct": min(100.0, 90.0 * scale), "order_fill_rate_pct": 98.0,
        "line_fill_rate_pct": 99.0, "lead_time_p95_h": 100.0 * scale,
        "avg_on_hand_units": 5000.0,
    }
    breakdowns = {
        "node_share": {"DC-A": 0.5, "DC-B": 0.3, "STORE-C": 0.2},
        "node_kind_share": {"dc": 0.8, "store": 0.2},
        "service_share": {"ParcelCo/ground": 0.6, "ParcelCo/two_day": 0.1,
                          "SwiftShip/ground": 0.3},
        "node_utilisation_pct": {"DC-A": 40.0 * scale, "DC-B": 25.0, "STORE-C": 80.0},
        "total_cost": {"shipping": 15_000.0 * scale, "handling": 4_000.0 * scale,
                       "split_penalty": 1_000.0 * scale, "holding": 500.0, "ordering": 300.0,
                       "purchase": 60_000.0, "backorder": 0.0, "lost_sale": 200.0 * scale},
    }
    lead = rng.uniform(20, 130, size=200)
    return RunView(name=name, kpis=kpis, breakdowns=breakdowns, lead_time_hours=lead,
                   lateness_hours=lead - 96.0,
                   on_hand_by_day=np.array([[100, 50], [90, 45], [80, 40], [75, 38]]),
                   node_names=("DC-A", "DC-B"), warmup_days=1.0)


@pytest.fixture(scope="module")
def two_views() -> list[RunView]:
    return [make_view("baseline"), make_view("variant", scale=1.1, seed=1)]


# --- RunView ----------------------------------------------------------------------------------


def test_runview_roundtrip_is_json_safe(two_views):
    v = two_views[1]
    d = v.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = RunView.from_dict(json.loads(text))
    assert back == v
    assert back.on_hand_by_day.dtype.kind == "i"
    assert back.on_hand_by_day.shape == (4, 2)


def test_runview_roundtrip_nan_and_empty():
    v = RunView(name="empty", kpis={"on_time_pct": math.nan}, breakdowns={},
                lead_time_hours=[], lateness_hours=[], on_hand_by_day=np.zeros((0, 2)),
                node_names=("X", "Y"))
    d = v.to_dict()
    assert d["kpis"]["on_time_pct"] is None
    json.dumps(d, allow_nan=False)
    back = RunView.from_dict(d)
    assert back == v
    assert back.on_hand_by_day.shape == (0, 2)
    assert math.isnan(back.kpis["on_time_pct"])


def test_runview_is_immutable(two_views):
    v = two_views[0]
    with pytest.raises(AttributeError):
        v.name = "other"
    with pytest.raises(ValueError):
        v.lead_time_hours[0] = 1.0
    assert v != make_view("baseline", scale=1.2)


def test_runview_rejects_bad_on_hand_shape():
    with pytest.raises(ValueError, match="on_hand_by_day"):
        RunView(name="x", kpis={}, breakdowns={}, lead_time_hours=[], lateness_hours=[],
                on_hand_by_day=np.zeros((3, 4)), node_names=("a", "b"))


# --- KPI rows, formatting ---------------------------------------------------------------------


def test_kpi_rows_deltas(two_views):
    rows = kpi_rows(two_views)
    by_key = {r["key"]: r for r in rows}
    # only KPIs the views carry, in registry order
    assert set(by_key) == set(two_views[0].kpis)
    assert by_key["orders"]["kpi"] == "Orders"
    assert by_key["orders"]["values"] == ["1,000", "1,100"]
    assert by_key["orders"]["delta"] == "+10.0%"
    assert by_key["cost_per_order"]["values"] == ["20.00", "22.00"]
    assert by_key["cost_per_order"]["trends"] == ["worse"]          # lower is better
    assert by_key["on_time_pct"]["values"] == ["90.00", "99.00"]
    assert by_key["on_time_pct"]["delta"] == "+10.0%"
    assert by_key["on_time_pct"]["trends"] == ["better"]
    assert by_key["order_fill_rate_pct"]["delta"] == "0.0%"
    assert by_key["order_fill_rate_pct"]["trends"] == ["no significant difference"]
    assert by_key["orders"]["trends"] == ["changed"]                # no better direction


def test_kpi_rows_three_views_and_single_view():
    views = [make_view("a"), make_view("b", scale=1.1), make_view("c", scale=0.5)]
    rows = {r["key"]: r for r in kpi_rows(views)}
    assert rows["revenue"]["deltas"] == ["+10.0%", "-50.0%"]
    assert rows["revenue"]["delta"] == "+10.0% / -50.0%"
    single = kpi_rows(views[:1])
    assert all(r["delta"] == "" and r["deltas"] == [] for r in single)


def test_kpi_rows_tiny_change_is_same():
    a, b = make_view("a"), make_view("b")
    b = RunView.from_dict({**b.to_dict(), "kpis": {**b.kpis, "on_time_pct": 90.01}})
    row = {r["key"]: r for r in kpi_rows([a, b])}["on_time_pct"]
    assert row["delta"] == "0.0%" and row["trends"] == ["no significant difference"]


def test_kpi_rows_with_custom_registry():
    spec = SimpleNamespace(label="Widgets", unit="units", better="higher")
    rows = kpi_rows([make_view("a")], registry={"widgets": spec, "orders": spec})
    assert [r["key"] for r in rows] == ["orders"]


# --- charts -----------------------------------------------------------------------------------


def _bars(ax) -> int:
    return sum(len(c) for c in ax.containers)


def test_cost_breakdown_stacks_total_cost_parts_per_order(two_views):
    fig = cost_breakdown(two_views)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.containers) == 8 and _bars(ax) == 16
    shipping, handling, split, holding, ordering, backorder, lost, returns = ax.containers
    # $ per order created: the variant has 1.1× the orders (1,100) and 1.1× the fulfilment $
    assert [b.get_height() for b in shipping] == pytest.approx([15.0, 15.0])
    assert [b.get_y() for b in handling] == pytest.approx([15.0, 15.0])
    assert [b.get_y() for b in holding] == pytest.approx([20.0, 20.0])
    assert [b.get_height() for b in holding] == pytest.approx([0.5, 500 / 1100])
    assert [b.get_height() for b in backorder] == pytest.approx([0.0, 0.0])
    assert [b.get_y() + b.get_height() for b in lost] == pytest.approx(
        [21.0, 20.0 + 800 / 1100 + 0.2])
    assert [b.get_height() for b in returns] == pytest.approx([0.0, 0.0])   # none in the views
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "+ purchase $60.00" in labels[0] and "+ purchase $54.55" in labels[1]
    assert "$21.00" in [t.get_text() for t in ax.texts]
    assert ax.get_title() and ax.get_ylabel()


def test_lead_time_distribution_lines(two_views):
    fig = lead_time_distribution(two_views)
    ax, ax2 = fig.axes
    assert len(ax.patches) >= 2                        # one histogram per scenario
    p95 = [ln.get_xdata()[0] for ln in ax.lines]
    assert p95 == pytest.approx([100.0, 110.0])        # from the lead_time_p95_h KPI
    assert [ln.get_color() for ln in ax.lines] == list(PALETTE[:2])
    assert len(ax2.lines) == 3                         # two ECDFs + deadline
    for a in (ax, ax2):
        assert a.get_title() and a.get_xlabel() and a.get_ylabel()


def test_on_time_and_fill_grouped_bars(two_views):
    (ax,) = on_time_and_fill(two_views).axes
    assert len(ax.containers) == 2 and _bars(ax) == 6
    assert [b.get_height() for b in ax.containers[1]] == pytest.approx([99.0, 98.0, 99.0])
    assert ax.containers[0][0].get_facecolor()[:3] == pytest.approx(
        tuple(int(color_for(0)[i:i + 2], 16) / 255 for i in (1, 3, 5)))


def test_node_and_service_mix_bars(two_views):
    (ax,) = node_mix(two_views).axes
    assert _bars(ax) == 2 * len(NODES)
    assert [t.get_text() for t in ax.get_yticklabels()] == NODES
    assert [b.get_width() for b in ax.containers[0]] == pytest.approx([50.0, 30.0, 20.0])
    (ax,) = service_mix(two_views).axes
    assert _bars(ax) == 2 * len(SERVICES)
    assert [b.get_height() for b in ax.containers[0]] == pytest.approx([60.0, 10.0, 30.0])


def test_inventory_over_time_totals(two_views):
    (ax,) = inventory_over_time(two_views).axes
    assert len(ax.lines) == 2
    assert list(ax.lines[0].get_ydata()) == [150, 135, 120, 113]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_utilisation_heatmap_annotations(two_views):
    fig = utilisation_heatmap(two_views)
    ax, cbar = fig.axes                                # heat map + colour bar
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (3, 2)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["40%", "44%", "25%", "25%", "80%", "80%"]


@pytest.mark.parametrize("n", [1, 3, 4])
def test_every_chart_handles_1_to_4_views(n):
    views = [make_view(f"scenario_{i}", scale=1 + i / 10, seed=i) for i in range(n)]
    for fn in ALL_CHARTS.values():
        fig = fn(views)
        assert isinstance(fig, Figure)
        assert figure_png(fig).startswith(b"\x89PNG")


def test_charts_reject_too_many_views():
    with pytest.raises(ValueError, match="1 to 4"):
        cost_breakdown([make_view(str(i)) for i in range(5)])
    with pytest.raises(ValueError):
        node_mix([])


def test_charts_handle_empty_data():
    v = RunView(name="empty", kpis={}, breakdowns={}, lead_time_hours=[], lateness_hours=[],
                on_hand_by_day=np.zeros((0, 0)), node_names=())
    for fn in ALL_CHARTS.values():
        assert figure_png(fn([v])).startswith(b"\x89PNG")


def test_figure_png_deterministic(two_views):
    for fn in ALL_CHARTS.values():
        a = figure_png(fn(two_views))
        b = figure_png(fn(two_views))
        assert a.startswith(b"\x89PNG\r\n\x1a\n")
        assert a == b, fn.__name__
        assert b"Software" not in a and b"matplotlib" not in a.lower()


def test_charts_do_not_touch_pyplot(two_views):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for fn in ALL_CHARTS.values():
        figure_png(fn(two_views))
    assert plt.get_fignums() == before


# --- HTML and Markdown ------------------------------------------------------------------------


def test_render_html_self_contained(tmp_path, two_views):
    rows = kpi_rows(two_views)
    out = render_html(two_views, "Baseline vs variant <test>", rows, tmp_path / "r" / "a.html")
    assert out == tmp_path / "r" / "a.html"
    text = out.read_text(encoding="utf-8")
    assert text.count('<img src="data:image/png;base64,') == len(ALL_CHARTS)
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower()
    assert "baseline" in text and "variant" in text
    assert "Baseline vs variant &lt;test&gt;" in text
    assert text.count("<figcaption>") == len(ALL_CHARTS)
    assert "+10.0%" in text and ">22.00<" in text
    assert '<td class="num worse">+10.0%</td>' in text             # cost per order went up
    assert os.listdir(out.parent) == ["a.html"]        # no temp file left behind


def test_render_html_replaces_existing_file(tmp_path, two_views):
    out = tmp_path / "report.html"
    out.write_text("STALE REPORT")
    render_html(two_views[:1], "Only one", kpi_rows(two_views[:1]), out,
                charts={"Cost": cost_breakdown})
    text = out.read_text()
    assert text.count('<img src="data:image/png;base64,') == 1
    assert "STALE REPORT" not in text and "Only one" in text
    assert sorted(os.listdir(tmp_path)) == ["report.html"]


def test_markdown_table(tmp_path, two_views):
    rows = kpi_rows(two_views)
    md = render_markdown(two_views, "KPIs", rows)
    table = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(table) == 2 + len(rows)                 # header + separator + one per KPI
    assert table[0] == "| KPI | Unit | baseline | variant | Δ variant vs baseline |"
    assert set(table[1].replace("|", "").split()) <= {":--", "--:"}
    assert "| Orders | orders | 1,000 | 1,100 | +10.0% |" in table
    assert "| ↳ shipping | $ | 15.00 | 16.50 | +10.0% |" in table
    assert all(ln.count("|") == table[0].count("|") for ln in table)
    out = write_markdown(two_views, "KPIs", rows, tmp_path / "kpis.md")
    assert out.read_text(encoding="utf-8") == md


def test_markdown_escapes_pipes():
    rows = [{"kpi": "a|b", "unit": "", "values": ["1"], "delta": ""}]
    md = render_markdown([SimpleNamespace(name="x|y")], "T", rows)
    assert "| a\\|b |  | 1 |" in md
    assert "x\\|y" in md


# --- from a real (short) simulation run -------------------------------------------------------


@pytest.fixture(scope="module")
def real_views():
    from rules.engine import load_policies, make_engine
    from sim.core.model import World
    from sim.measure.kpis import compute_kpis
    from sim.scenario import load_scenario

    views, runs = [], []
    for path in ("scenarios/omnichannel.yaml", "scenarios/omnichannel_cost_first.yaml"):
        sc = load_scenario(path, overrides={"horizon_days": 4, "warmup_days": 1})
        eng = make_engine(load_policies(sc.policies.model_dump()), "compiled")
        try:
            run = World(sc, eng).run()
        finally:
            eng.close()
        kpis = compute_kpis(run)
        views.append(RunView.from_run(sc.name, run, kpis))
        runs.append((run, kpis))
    return views, runs


def test_from_run_extracts_window_data(real_views):
    from sim.core.model import Status
    from sim.measure.kpis import window_orders

    views, runs = real_views
    v, (run, kpis) = views[0], runs[0]
    o = run.orders
    delivered = window_orders(run) & (o["status"] == Status.DELIVERED)
    assert len(v.lead_time_hours) == int(delivered.sum()) > 0
    assert np.all(v.lead_time_hours > 0)
    assert float(np.mean(v.lead_time_hours)) == pytest.approx(
        kpis["kpis"]["lead_time_mean_h"], abs=1e-5)
    on_time = 100.0 * float(np.mean(v.lateness_hours <= 0))
    assert on_time == pytest.approx(kpis["kpis"]["on_time_pct"], abs=1e-4)
    stocked = ~run.inventory["unlimited"]
    assert v.on_hand_by_day.shape == (4, int(stocked.sum()))
    assert len(v.node_names) == v.on_hand_by_day.shape[1]
    # the chart series samples midnights; the KPI is the exact time average over the window,
    # so the two agree only roughly (the samples read the daily low point before receipts)
    sampled = float(v.on_hand_by_day[1:4].sum(axis=1).mean())
    assert sampled == pytest.approx(kpis["kpis"]["avg_on_hand_units"], rel=0.25)
    assert v.kpis == kpis["kpis"]
    assert v.breakdowns["node_share"] == kpis["breakdowns"]["node_share"]
    assert RunView.from_dict(json.loads(json.dumps(v.to_dict(), allow_nan=False))) == v


def test_from_run_accepts_flat_kpis(real_views):
    views, runs = real_views
    run, kpis = runs[0]
    v = RunView.from_run("flat", run, kpis["kpis"])
    assert v.breakdowns == views[0].breakdowns


def test_real_run_report(tmp_path, real_views):
    views, _ = real_views
    rows = kpi_rows(views)
    assert len(rows) == len(views[0].kpis)
    out = render_html(views, "Omnichannel: nearest vs cost-first", rows,
                      tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    assert text.count('<img src="data:image/png;base64,') == len(ALL_CHARTS)
    assert "http://" not in text and "https://" not in text
    for v in views:
        assert v.name in text
    md = render_markdown(views, "KPIs", rows)
    assert len([ln for ln in md.splitlines() if ln.startswith("|")]) == 2 + len(rows)



def test_the_inventory_chart_shades_scheduled_event_windows():
    from reports.charts import RunView, inventory_over_time
    view = RunView("a", {}, {}, [], [], np.ones((7, 1), dtype=np.int64), ("N",),
                   events=((2.0, 4.0, "DC down"),))
    ax = inventory_over_time([view]).axes[0]
    assert "DC down" in ax.get_legend_handles_labels()[1]
    spans = [p for p in ax.patches if p.get_label() == "DC down"]
    assert len(spans) == 1 and spans[0].get_x() == 2.0 and spans[0].get_width() == 2.0
