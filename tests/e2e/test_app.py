"""The Streamlit dashboard (``app.py``) through ``streamlit.testing.v1.AppTest``, its data helpers
(``reports.app_data``) and the ``domlab report`` command (``sim.cli.report``).

App runs use a 7-day horizon and the compiled engine (the app's defaults); results are cached
by the app across tests, so only the first test pays for the baseline runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from reports import app_data as ad
from reports.charts import RunView
from sim.measure.present import format_value
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
OMNI = ROOT / "scenarios" / "omnichannel.yaml"
BASE = "omnichannel"
COST_FIRST = "omnichannel_cost_first"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("app-runs")


@pytest.fixture
def app(runs_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("DOMLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def run_compare(at: AppTest) -> AppTest:
    at.button(key="run").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []
    return at


def kpi_frame(at: AppTest) -> pd.DataFrame:
    """The KPI table, indexed by KPI label."""
    tables = [t.value for t in at.table if "KPI" in t.value.columns]
    assert tables, "no KPI table on the page"
    return tables[0].set_index("KPI")


def tables_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    return [t.value for t in at.table if column in t.value.columns]


def frame_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first dataframe on the page that has ``columns``."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


# ---------------------------------------------------------------------------------------------
# App flows


def test_default_compare_runs_and_shows_kpi_table(app, runs_dir):
    assert app.selectbox(key="base_0").value == BASE
    assert app.selectbox(key="base_1").value == COST_FIRST
    assert not tables_with(app, "KPI")                 # nothing runs before the click
    at = run_compare(app)

    kpis = kpi_frame(at)
    assert list(kpis.columns) == ["Unit", BASE, COST_FIRST, f"Δ {COST_FIRST}"]
    # common random numbers: both scenarios see exactly the same orders
    assert kpis.loc["Orders", BASE] == kpis.loc["Orders", COST_FIRST]
    assert number(kpis.loc["Orders", BASE]) > 1000
    assert kpis.loc["Orders", f"Δ {COST_FIRST}"] == "0.0%"
    # the table shows what the run saved: compare with kpis.json of each run directory
    saved = {json.loads(p.read_text())["scenario"]: json.loads(p.read_text())["kpis"]
             for p in runs_dir.glob("*/kpis.json")}
    assert {BASE, COST_FIRST} <= set(saved)
    for name in (BASE, COST_FIRST):
        assert kpis.loc["Fulfilment cost per order", name] == format_value(
            saved[name]["cost_per_order"], "$")
        assert kpis.loc["On-time delivery", name] == format_value(saved[name]["on_time_pct"],
                                                                  "%")
    # every chart is on the page (interactive Vega-Lite), the summary row has its cards, and
    # the run finished
    assert len(at.get("vega_lite_chart")) == 7
    assert [m.label for m in at.metric] == ["Total cost per order",
                                            "Fulfilment cost per order", "On-time delivery",
                                            "Order-to-delivery, mean", "Order fill rate",
                                            "Backordered (ever)", "CO2e per order"]
    assert any("Done: 2 runs" in p.proto.text for p in at.get("progress"))
    # saved runs are browsable under Past runs
    past = at.dataframe[-1].value
    assert {BASE, COST_FIRST} <= set(past["scenario"])


def test_whatif_demand_and_closed_node_change_kpis(app):
    app.selectbox(key="base_1").set_value(BASE).run()
    app.slider(key=f"demand_1_{BASE}").set_value(1.5)
    app.selectbox(key=f"close_1_{BASE}").set_value("DC-RENO")
    at = run_compare(app.run())

    label = f"{BASE} (demand ×1.5, DC-RENO closed)"
    kpis = kpi_frame(at)
    assert label in kpis.columns
    ratio = number(kpis.loc["Orders", label]) / number(kpis.loc["Orders", BASE])
    assert 1.35 < ratio < 1.65
    assert kpis.loc["Orders", f"Δ {label}"].startswith("+")
    assert number(kpis.loc["Node utilisation (mean)", label]) > \
        number(kpis.loc["Node utilisation (mean)", BASE])

    at.radio(key="map_scenario").set_value(label).run()
    nodes = frame_with(at, "shipments", "closed").set_index("name")
    assert nodes.loc["DC-RENO", "shipments"] == 0
    assert bool(nodes.loc["DC-RENO", "closed"])
    assert nodes["shipments"].sum() > 0
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert "mapStyle" not in deck or deck["mapStyle"] == "__MAP_STYLE__"   # no basemap
    assert {layer["@@type"] for layer in deck["layers"]} >= {"ArcLayer", "ScatterplotLayer"}


def test_bad_upload_shows_one_line_error(app):
    bad = b"extends: omnichannel.yaml\nname: bad\nnodes:\n  - {name: DC-ALLENTOWN, " \
          b"capacity: {pickers: 0}}\n"
    app.file_uploader(key="upload").set_value(("bad.yaml", bad, "application/x-yaml")).run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        "bad.yaml: nodes[0].capacity.pickers: Input should be greater than or equal to 1"]
    assert "upload: bad" not in app.selectbox(key="base_0").options

    escape = b"extends: omnichannel.yaml\nname: esc\nskus: {file: ../../etc/passwd}\n"
    app.file_uploader(key="upload").set_value(("esc.yaml", escape, "text/yaml")).run()
    (msg,) = [e.value for e in app.error]
    assert msg == ("esc.yaml: skus.file: '../../etc/passwd' is not a file in scenarios/data "
                   "(uploads may only reference those)")


def test_good_upload_can_be_compared(app):
    good = b"extends: omnichannel.yaml\nname: uploaded\npolicies: {sourcing: routing/cost_first}\n"
    app.file_uploader(key="upload").set_value(("good.yaml", good, "text/yaml")).run()
    assert [e.value for e in app.error] == []
    assert "uploaded" in app.success[0].value
    app.selectbox(key="base_1").set_value("upload: uploaded").run()
    at = run_compare(app)
    kpis = kpi_frame(at)
    # same network and demand as the library's cost-first variant: same orders as the baseline
    assert kpis.loc["Orders", "uploaded"] == kpis.loc["Orders", BASE]


def test_order_timeline_lookup(app):
    at = run_compare(app)
    at.number_input(key="order_id").set_value(42).run()
    assert not at.exception
    summaries = tables_with(at, "Customer metro")
    assert len(summaries) == 2                              # one per compared scenario
    for s in summaries:
        assert s["Order"].tolist() == [42]
    # common random numbers: the same order in both scenarios
    cols = ["Channel", "Customer metro", "Value ($)", "Created"]
    assert summaries[0][cols].equals(summaries[1][cols])
    events = tables_with(at, "Event")[0]
    assert events["Event"].iloc[0] == "order_created"
    assert "decided" in set(events["Event"])
    assert events["Hour"].map(number).is_monotonic_increasing
    if summaries[0]["Status"].iloc[0] == "delivered":     # (a return may come back after)
        assert events["Event"][events["Event"] != "returned"].iloc[-1] == "delivered"
    decisions = tables_with(at, "Winner")[0]
    assert {"sourcing", "split"} <= set(decisions["Point"])

    at.number_input(key="order_id").set_value(10_000_000).run()
    assert any("No order 10000000" in w.value for w in at.warning)


def test_rule_coverage_visible(app):
    at = run_compare(app)
    tables = tables_with(at, "Won")
    assert len(tables) == 2
    nearest, cost_first = (t.set_index(["Point", "Rule"]) for t in tables)
    assert nearest.loc[("sourcing", "nearest-any-node"), "Won"] > 0
    assert nearest.loc[("sourcing", "marketplace-dc-only"), "Won"] > 0
    assert cost_first.loc[("sourcing", "cheapest-any-node"), "Won"] > 0
    # wins at a point add up to that point's decisions in the saved decision trace
    run_dir = Path(at.session_state["result"].groups[0].first.run_dir)
    assert json.loads((run_dir / "kpis.json").read_text())["scenario"] == BASE
    trace = pd.read_parquet(run_dir / "trace.parquet")
    for point in ("sourcing", "carrier"):
        assert nearest.loc[point, "Won"].sum() == (trace["point"] == point).sum()


def test_replications_show_confidence_intervals(app):
    app.number_input(key="horizon").set_value(4)
    app.number_input(key="reps").set_value(2)
    at = run_compare(app.run())
    kpis = kpi_frame(at)
    assert "±" in kpis.loc["Fulfilment cost per order", BASE]
    delta = kpis.loc["Fulfilment cost per order", f"Δ {COST_FIRST}"]
    assert re.fullmatch(r"[+-]?[\d.,]+ \[[+-]?[\d.,]+, [+-]?[\d.,]+\]", delta), delta
    assert kpis.loc["Orders", f"Δ {COST_FIRST}"] == "0"             # same orders: no difference
    assert any("Done: 4 runs" in p.proto.text for p in at.get("progress"))


# ---------------------------------------------------------------------------------------------
# Data helpers


def test_whatif_edits_only_what_it_names():
    base = load_scenario(OMNI)
    wi = ad.WhatIf(demand=2.0, close_node="DC-RENO", delay_carrier="SwiftShip", delay_days=2,
                   stock=0.5, policies={"sourcing": "routing/cost_first"})
    sc, notes = ad.apply_whatif(base, wi, horizon_days=7, seed=3)
    assert notes == [] and sc.horizon_days == 7 and sc.seed == 3
    assert [c.orders_per_day for c in sc.channels] == [2 * c.orders_per_day
                                                       for c in base.channels]
    assert [n.name for n in sc.nodes if n.closed] == ["DC-RENO"]
    for c_new, c_old in zip(sc.carriers, base.carriers, strict=True):
        for s_new, s_old in zip(c_new.services, c_old.services, strict=True):
            shift = 2 if c_new.name == "SwiftShip" else 0
            assert s_new.transit_days == [d + shift for d in s_old.transit_days]
    assert [n.stock.days_of_supply for n in sc.nodes] == [n.stock.days_of_supply / 2
                                                          for n in base.nodes]
    assert sc.policies.sourcing == "routing/cost_first"
    assert sc.skus == base.skus and sc.regions == base.regions
    # the identity what-if changes nothing but horizon and seed
    same, _ = ad.apply_whatif(base, ad.WhatIf())
    assert same == base
    short, notes = ad.apply_whatif(base, ad.WhatIf(), horizon_days=2)
    assert short.warmup_days == 1 and "warm-up shortened" in notes[0]
    with pytest.raises(ScenarioError, match=r"what-if\): nodes\[NOPE\].closed: no item 'NOPE'"):
        ad.apply_whatif(base, ad.WhatIf(close_node="NOPE"))
    with pytest.raises(ScenarioError, match=r"carriers\[NOPE\].services: no item 'NOPE'"):
        ad.apply_whatif(base, ad.WhatIf(delay_carrier="NOPE", delay_days=1))


def test_a_peak_beyond_the_horizon_is_flagged(app):
    """The peak scenario's holiday weeks start on day 7: a 7-day horizon never reaches them."""
    at = app.selectbox(key="base_1").set_value("omnichannel_peak").run()
    warnings = [w.value for w in at.warning]
    assert any("the run has no peak" in w for w in warnings), warnings
    at = at.number_input(key="horizon").set_value(21).run()
    assert not any("no peak" in w.value for w in at.warning)


def test_two_uploads_are_kept_and_compared_side_by_side(app):
    """Two vendor policy files uploaded together stay available, and run side by side."""
    files = [("vendor_a.yaml", b"extends: omnichannel.yaml\nname: vendor_a\n"
              b"policies: {sourcing: routing/cost_first}\n", "text/yaml"),
             ("vendor_b.yaml", b"extends: omnichannel.yaml\nname: vendor_b\n"
              b"policies: {split: split/cost_based}\n", "text/yaml")]
    app.file_uploader(key="upload").set_value(files).run()
    assert [e.value for e in app.error] == []
    options = app.selectbox(key="base_0").options
    assert {"upload: vendor_a", "upload: vendor_b"} <= set(options)
    app.selectbox(key="base_0").set_value("upload: vendor_a")
    app.selectbox(key="base_1").set_value("upload: vendor_b")
    at = run_compare(app.run())
    assert list(kpi_frame(at).columns) == ["Unit", "vendor_a", "vendor_b", "Δ vendor_b"]


def test_a_shared_link_reopens_and_runs_the_comparison(runs_dir, monkeypatch):
    monkeypatch.setenv("DOMLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"a": "omnichannel_bopis", "b": BASE, "horizon": "3",
                            "run": "1"})
    at.run()
    assert not at.exception
    assert at.selectbox(key="base_0").value == "omnichannel_bopis"
    assert at.number_input(key="horizon").value == 3
    assert list(kpi_frame(at).columns)[1:3] == ["omnichannel_bopis", BASE]
    assert at.query_params["run"] == "1" and at.query_params["b"] == BASE


def test_a_sweep_runs_its_grid_and_marks_the_pareto_front(app):
    """The default grid: DC-RENO pickers 4, 6, 8 × two routing rule sets, 2 days each."""
    at = app.number_input(key="horizon").set_value(2).run()
    assert at.button(key="sweep_run").label == "Run sweep (6 points)"
    at = at.button(key="sweep_run").click().run()
    assert not at.exception and [e.value for e in at.error] == []
    table = frame_with(at, "pareto", "cost_per_order")
    assert len(table) == 6 and table["pareto"].any()
    assert sorted(set(table["nodes[DC-RENO].capacity.pickers"])) == ["4", "6", "8"]
    assert set(table["policies.sourcing"]) == {"routing/nearest_first", "routing/cost_first"}
    # the front: no point is cheaper and at least as punctual as a front point
    front = table[table["pareto"]]
    for _, p in front.iterrows():
        better = table[(table["cost_per_order"] < p["cost_per_order"])
                       & (table["on_time_pct"] >= p["on_time_pct"])]
        assert better.empty
    assert any("Done: 6 points" in p.proto.text for p in at.get("progress"))


def test_the_offline_optimum_shows_the_gap_and_where_the_money_is(app):
    app.number_input(key="horizon").set_value(3)
    app.checkbox(key="optimum").check()
    at = run_compare(app.run())
    gaps = [m for m in at.metric if m.label == "Gap to optimal"]
    assert len(gaps) == 2 and all(number(m.value) >= 0 for m in gaps)
    kpis = kpi_frame(at)
    assert "  gap to the optimum" in kpis.index
    assert frame_with(at, "saving").shape[0] > 0


def test_a_mangled_link_keeps_the_defaults(runs_dir, monkeypatch):
    monkeypatch.setenv("DOMLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"horizon": "900", "reps": "x", "engine": "gpu", "a": "nope"})
    at.run()
    assert not at.exception
    assert at.number_input(key="horizon").value == 7 and at.number_input(key="reps").value == 1
    assert at.selectbox(key="base_0").value == BASE


def test_whatif_date_windows_become_scheduled_events():
    """A node closed on some days, or a carrier delayed on some days, is a dated event (an
    outage, a carrier delay) instead of a change for the whole run; charts get its window."""
    base = load_scenario(OMNI)
    wi = ad.WhatIf(close_node="DC-RENO", close_days=(2.0, 4.5), delay_carrier="SwiftShip",
                   delay_days=2, delay_window=(1.0, 3.0))
    sc, _ = ad.apply_whatif(base, wi, horizon_days=7)
    assert not any(n.closed for n in sc.nodes) and sc.carriers == base.carriers
    outage, delay = sc.events
    assert (outage.kind, outage.node) == ("node_outage", "DC-RENO")
    assert outage.hours(sc.start_date) == (48.0, 108.0)
    assert (delay.kind, delay.carrier, delay.extra_days) == ("carrier_delay", "SwiftShip", 2)
    assert delay.hours(sc.start_date) == (24.0, 72.0)
    assert wi.describe(base) == "DC-RENO closed days 2–4.5, SwiftShip +2d days 1–3"
    view = RunView("x", {}, {}, [], [], np.zeros((0, 0)), (),
                   events=((2.0, 4.5, "what-if: DC-RENO closed"),))
    assert RunView.from_dict(view.to_dict()) == view


def test_library_rulesets_per_point():
    assert "routing/nearest_first" in ad.library_rulesets("sourcing")
    assert "carrier/cheapest_on_time" in ad.library_rulesets("carrier")
    assert not any(r.endswith(".cases") for p in ad.POINT_DIRS for r in ad.library_rulesets(p))
    assert list(ad.library_scenarios())[0] == "omnichannel"


@pytest.mark.parametrize(("payload", "message"), [
    (b"name: x\nnodes: [", "up.yaml: malformed YAML: line 2, column 9: expected the node "
     "content, but found '<stream end>'"),
    (b"- 1\n", "up.yaml: (top level): must be a mapping of scenario fields"),
    (b"extends: ../../../etc/hosts.yaml\n", "up.yaml: extends: '../../../etc/hosts.yaml' is "
     "not a library scenario in scenarios/"),
    (b"extends: omnichannel.yaml\npolicies: {sourcing: ../../etc/passwd}\n",
     "up.yaml: policies.sourcing: '../../etc/passwd' is not a rule set in rules/library "
     "(uploads may only use library rule sets)"),
    (b"extends: omnichannel.yaml\nregions: {file: /etc/passwd}\n", "up.yaml: regions.file: "
     "'/etc/passwd' is not a file in scenarios/data (uploads may only reference those)"),
    (b"extends: omnichannel.yaml\norder_history: {path: ../../secret/orders.csv}\n",
     "up.yaml: order_history.path: '../../secret/orders.csv' is not a file in scenarios/data "
     "(uploads may only reference those)"),
    (b"a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, "
     b"*c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e]\n",
     "up.yaml: (top level): too many YAML nodes (aliases expand to more than 500,000); upload "
     "a plain file"),
])
def test_upload_refusals_are_one_line(payload, message):
    with pytest.raises(ScenarioError) as exc:
        ad.parse_upload(payload, "up.yaml")
    assert str(exc.value) == message


def test_upload_size_limit_and_valid_files_accepted():
    with pytest.raises(ScenarioError, match="uploads are limited to 1,000,000 bytes"):
        ad.parse_upload(b"#" * (ad.MAX_UPLOAD_BYTES + 1), "big.yaml")
    whole = ad.parse_upload(OMNI.read_bytes(), "../../odd name.yaml")
    assert whole == load_scenario(OMNI)
    small = ad.parse_upload(yaml.safe_dump({
        "extends": "omnichannel.yaml", "name": "up",
        "policies": {"sourcing": "../rules/library/routing/cost_first.yaml"},
        "channels": [{"name": "web", "orders_per_day": 10}]}).encode(), "up.yaml")
    assert small.name == "up" and small.policies.sourcing == "routing/cost_first"
    assert small.channels[0].orders_per_day == 10


# ---------------------------------------------------------------------------------------------
# domlab report


@pytest.fixture(scope="module")
def two_run_dirs(tmp_path_factory) -> list[Path]:
    from conftest import make_scenario

    root = tmp_path_factory.mktemp("report-runs")
    a = make_scenario()
    b, _ = ad.apply_whatif(a, ad.WhatIf(demand=1.5))
    return [Path(ad.simulate(sc, "compiled", root).run_dir) for sc in (a, b.model_copy(
        update={"name": "tiny_busy"}))]


def test_report_cli_writes_self_contained_html_and_markdown(two_run_dirs, tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "report"
    assert main(["report", *map(str, two_run_dirs), "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert html.count('<img src="data:image/png;base64,') == 7
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "<title>tiny vs tiny_busy</title>" in html
    md = (out / "report.md").read_text()
    assert md.startswith("### tiny vs tiny_busy")
    assert "| Orders | orders |" in md
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed


def test_report_cli_refuses_bad_run_dirs(two_run_dirs, tmp_path, capsys):
    from sim.cli import main

    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err == f"domlab: error: {tmp_path / 'missing'}: not a run directory (no such " \
                  "directory)\n"
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "no view.json" in capsys.readouterr().err
    assert main(["report", *map(str, two_run_dirs * 3)]) == 2
    assert "at most 4 runs (got 6)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
