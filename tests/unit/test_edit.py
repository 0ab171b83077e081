"""Field-path edits of scenarios (``sim.scenario.edit``), shared by sweeps and the app."""

from __future__ import annotations

import pytest
from conftest import make_scenario

from sim.scenario import ScenarioError, edit_scenario, parse_path, set_path


def test_parse_path():
    assert parse_path("nodes[DC-EAST].capacity.pickers") == [
        ("key", "nodes"), ("item", "DC-EAST"), ("key", "capacity"), ("key", "pickers")]
    assert parse_path("channels[0].orders_per_day")[1] == ("item", "0")
    with pytest.raises(ValueError, match="not a field path"):
        parse_path("nodes..x")


def test_set_path_values_functions_and_errors():
    doc = {"nodes": [{"name": "A", "stock": {"days": 2}}, {"name": "B", "stock": {"days": 3}}]}
    set_path(doc, "nodes[B].stock.days", 5, "here")
    set_path(doc, "nodes[0].stock.days", lambda v: v * 10, "here")
    set_path(doc, "nodes[A].closed", True, "here")                 # the last field may be new
    assert doc["nodes"] == [{"name": "A", "stock": {"days": 20}, "closed": True},
                            {"name": "B", "stock": {"days": 5}}]
    with pytest.raises(ScenarioError, match=r"here: no item 'C' \(known: A, B\)"):
        set_path(doc, "nodes[C].closed", True, "here")
    with pytest.raises(ScenarioError, match="here: unknown field 'stok'"):
        set_path(doc, "nodes[A].stok.days", 1, "here")
    with pytest.raises(ScenarioError, match=r"index \[2\] out of range"):
        set_path(doc, "nodes[2].closed", True, "here")
    with pytest.raises(KeyError, match="here: unknown field 'missing'"):
        set_path(doc, "nodes[A].missing", lambda v: v, "here", KeyError)


def test_edit_scenario_validates_like_a_scenario_file():
    base = make_scenario()
    sc = edit_scenario(base, {"nodes[DC-EAST].capacity.pickers": 5,
                              "channels[web].orders_per_day": lambda v: 2 * v,
                              "policies.carrier": "carrier/fastest_for_express"}, "x.yaml")
    assert sc.nodes[0].capacity.pickers == 5 and sc.nodes[1] == base.nodes[1]
    assert sc.channels[0].orders_per_day == 2 * base.channels[0].orders_per_day
    assert sc.policies.carrier == "carrier/fastest_for_express"
    assert edit_scenario(base, {}, "x.yaml") == base
    with pytest.raises(ScenarioError, match=r"^x.yaml: nodes\[0\].capacity.pickers: Input"):
        edit_scenario(base, {"nodes[DC-EAST].capacity.pickers": 0}, "x.yaml")
    with pytest.raises(ScenarioError, match=r"^x.yaml: parameters.nodes\[NO\].kind: no item"):
        edit_scenario(base, {"nodes[NO].kind": "dc"}, "x.yaml", prefix="parameters.")
