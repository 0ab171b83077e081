"""The dashboard's analysis helpers: summary cards and text, the numeric KPI export, the
breakdowns and drill-down tables, the scenario YAML a configuration downloads as, and the
interactive charts' specs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from reports import app_data as ad
from reports import drilldown as dd
from reports import summary as sm
from reports.interactive import INTERACTIVE_CHARTS
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    """The default network against its cost-first variant, 4 days, 2 replications, saved."""
    root = tmp_path_factory.mktemp("runs")
    short = {"horizon_days": 4, "warmup_days": 1}
    a = load_scenario(DEFAULT, short)
    b = load_scenario(ROOT / "scenarios" / "omnichannel_cost_first.yaml", short)
    return ad.run_groups([a, b], ["base", "cost-first"], 2, "compiled",
                         lambda sc, eng: ad.simulate(sc, eng, root))


def test_the_export_holds_the_values_kpis_json_holds(groups):
    export = sm.kpi_export(groups)
    for g in groups:
        saved = [json.loads((_dir(r) / "kpis.json").read_text())["kpis"] for r in g.runs]
        rows = export[export["scenario"] == g.label].set_index("kpi")
        for k in ("orders", "total_cost_per_order", "on_time_pct", "return_rate_pct"):
            assert rows.loc[k, "value"] == pytest.approx(np.mean([s[k] for s in saved]),
                                                          abs=1e-9)
    cmp = export[export["scenario"] == "cost-first"].set_index("kpi")
    assert (cmp["delta_ci_low"] <= cmp["delta"]).all() and (cmp["delta"] <= cmp["delta_ci_high"]
                                                            + 1e-9).all()
    assert set(cmp["verdict"]) <= {"better", "worse", "changed", "no significant difference"}
    assert cmp.loc["orders", "delta"] == 0                    # common random numbers


def _dir(run):
    from pathlib import Path
    return Path(run.run_dir)


def test_cards_and_text_read_the_same_changes(groups):
    cards = sm.kpi_cards(groups)
    # (the optimum's gap only when it was solved)
    assert [c["kpi"] for c in cards] == [k for k in sm.HEADLINE
                                         if k != "cost_gap_to_optimal_pct"]
    changes = {c.kpi: c for c in sm.changes(groups, sm.HEADLINE)}
    for card in cards:
        c = changes[card["kpi"]]
        assert card["verdict"] == c.verdict and card["delta"] == c.delta_text()
    text = sm.headline_text(groups)
    assert text.startswith("**cost-first** against **base**: total cost per order")
    assert "Service:" in text and "largest cost driver is" in text
    # One run per scenario: no verdict, and the text says why.
    single = [ad.RunGroup(g.label, g.runs[:1]) for g in groups]
    assert {c["verdict"] for c in sm.kpi_cards(single)} == {sm.SINGLE_RUN}
    assert "no change is tested against noise" in sm.headline_text(single)


def test_breakdowns_add_up_to_the_kpis(groups):
    run = groups[0].runs[0]
    k = run.kpis
    for by in ("channel", "region", "promise"):
        b = dd.breakdown(run, by)
        assert b["orders"].sum() == k["orders"]
    ch = dd.breakdown(run, "channel")      # on-time % is per delivered order: weight by them
    o = run.orders
    w = (o["t_created"] >= 24) & (o["t_created"] < 96) & (o["status"].astype(str) ==
                                                         "delivered")
    per = o[w].groupby(o[w]["channel"].astype(str)).size()
    on_time = (ch.set_index("Channel")["on-time %"] * per).sum() / per.sum()
    assert on_time == pytest.approx(k["on_time_pct"], abs=0.02)
    nodes = dd.breakdown(run, "node")
    assert nodes["shipments"].sum() == pytest.approx(
        k["shipments_per_order"] * (o[(o["t_created"] >= 24) & (o["t_created"] < 96)
                                      & (o["n_shipments"] > 0)].shape[0]), rel=1e-9)
    wide = dd.breakdowns_side_by_side(groups, "channel")
    assert list(wide.columns.get_level_values(0)[1:].unique()) == ["base", "cost-first"]


def test_drilldown_tables_hold_what_they_say(groups):
    a, b = groups[0].runs[0], groups[1].runs[0]
    changed = dd.changed_orders(a, b)
    assert len(changed) > 0
    assert (changed["decision A"] != changed["decision B"]).all()
    assert (changed["Δ cost"].abs().diff().dropna() <= 1e-9).all()      # largest first
    same = dd.changed_orders(a, a)
    assert same.empty
    late = dd.late_orders(a)
    o = a.orders.set_index("order_id")
    assert (o.loc[late["order_id"], "delivered_at"].to_numpy()
            > o.loc[late["order_id"], "deadline"].to_numpy()).all()
    node = a.scenario.nodes[0].name
    mine = dd.node_orders(a, node)
    assert len(mine) > 0 and set(mine["order_id"]) <= set(
        a.shipments.loc[a.shipments["node"].astype(str) == node, "order"])
    back = dd.backordered_orders(a)
    assert o.loc[back["order_id"], "backordered_at"].notna().all()


def test_coverage_leaves_matched_blank_for_first_hit_rule_sets(groups):
    cov = ad.coverage_table(groups[0].runs[0])
    first = groups[0].runs[0].coverage["hit_policy"] == "first"
    assert first.any()
    assert cov.loc[first.to_numpy(), "Matched"].isna().all()
    assert cov.loc[~first.to_numpy(), "Matched"].notna().all()


def test_interactive_charts_are_valid_vega_lite_with_tooltips_and_cis(groups):
    views = [g.runs[0].run_view(g.label) for g in groups]
    reps = {g.label: g.frame() for g in groups}
    for title, chart in INTERACTIVE_CHARTS.items():
        spec = chart(views, reps).to_dict()
        assert "tooltip" in json.dumps(spec), title
    service = INTERACTIVE_CHARTS["Service levels"](views, reps).to_dict()
    rows = next(iter(service["datasets"].values()))
    frame = pd.DataFrame(rows)
    assert (frame["runs"] == 2).all() and (frame["low"] <= frame["mean"]).all()
    assert (frame["mean"] <= frame["high"]).all()


def test_a_downloaded_configuration_reruns_to_the_same_kpis(groups, tmp_path, domlab):
    """The scenario YAML of a what-if, run by the CLI, writes byte-identical kpis.json."""
    base = load_scenario(DEFAULT)
    sc, _ = ad.apply_whatif(base, ad.WhatIf(demand=1.2, close_node="DC-RENO"), 3, 11)
    app_run = ad.simulate(sc, "compiled", tmp_path / "app")
    path = tmp_path / "whatif.yaml"
    path.write_text(ad.scenario_yaml(sc))
    r = domlab("run", path, "--engine", "compiled", "--out", tmp_path / "cli")
    assert r.returncode == 0, r.stderr
    cli = tmp_path / "cli" / app_run.run_id / "kpis.json"
    assert cli.read_bytes() == (_dir(app_run) / "kpis.json").read_bytes()


def test_map_labels_take_a_free_offset_and_states_are_drawn(groups):
    data = ad.map_layers_data(groups[0].runs[0])
    assert len(data["states"]["features"]) >= 50
    placed = [n for n in data["nodes"] if n["label"]]
    assert len(placed) >= len(data["nodes"]) // 2
    # a label sits at one of the four offsets, named after its node
    assert all(n["label"] == n["name"] and tuple(n["offset"]) in ad._LABEL_OFFSETS
               for n in placed)
    busiest = max(data["nodes"], key=lambda n: n["shipments"])
    assert busiest["label"] == busiest["name"]


def test_sweep_grid_parsing_and_points(tmp_path):
    from reports import app_sweep as sw
    from sim.scenario import ScenarioError
    grid = sw.parse_grid([{"parameter": "nodes[DC-RENO].capacity.pickers", "values": "4, 6"},
                          {"parameter": "", "values": ""},
                          {"parameter": "policies.sourcing", "values": "routing/cost_first"}])
    assert grid == {"nodes[DC-RENO].capacity.pickers": [4, 6],
                    "policies.sourcing": ["routing/cost_first"]}
    base = load_scenario(DEFAULT)
    points = sw.grid_scenarios(base, grid, tmp_path)
    assert [p for p, _ in points] == [
        {"nodes[DC-RENO].capacity.pickers": 4, "policies.sourcing": "routing/cost_first"},
        {"nodes[DC-RENO].capacity.pickers": 6, "policies.sourcing": "routing/cost_first"}]
    reno = next(i for i, n in enumerate(base.nodes) if n.name == "DC-RENO")
    assert [sc.nodes[reno].capacity.pickers for _, sc in points] == [4, 6]
    with pytest.raises(ScenarioError, match="sweep: vary 1 to 3 parameters"):
        sw.parse_grid([])
    with pytest.raises(ScenarioError, match="more than 36"):
        sw.parse_grid([{"parameter": f"p{k}", "values": "1, 2, 3, 4"} for k in range(3)])
    with pytest.raises(ScenarioError, match=r"sweep row 1: give a parameter path"):
        sw.parse_grid([{"parameter": "seed", "values": ""}])
    with pytest.raises(ScenarioError, match="sweep point 1.*no item 'DC-X'"):
        sw.grid_scenarios(base, {"nodes[DC-X].capacity.pickers": [1]}, tmp_path)
    table = sw.pareto_points([({"a": 1}, {"cost_per_order": 10.0, "on_time_pct": 90.0}),
                              ({"a": 2}, {"cost_per_order": 12.0, "on_time_pct": 95.0}),
                              ({"a": 3}, {"cost_per_order": 12.0, "on_time_pct": 89.0})])
    assert table["pareto"].tolist() == [True, True, False]
    assert "layer" in sw.pareto_chart(table, ["a"]).to_dict()


def test_the_html_report_says_what_each_run_was(groups, tmp_path):
    from reports.build import report_for_runs
    dirs = [_dir(g.runs[0]) for g in groups]
    html = report_for_runs(dirs, tmp_path, "base vs cost-first").read_text()
    assert "<h2>Runs</h2>" in html
    for g in groups:
        assert g.runs[0].run_id in html
    assert "sourcing: " in html and "4 (1)" in html and "seed" in html
