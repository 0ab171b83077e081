"""Store walk-in (point-of-sale) demand: generation, and the sales online orders take from
shoppers when stores fulfil online orders."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario, run_checked

from sim.core.demand import generate_walk_ins
from sim.core.inventory import LOST, LOST_TO_ONLINE, SOLD
from sim.core.network import build_network
from sim.scenario import ScenarioError


def store_scenario(tmp_path, sourcing: str, store_days: float = 2.0, walk_ins: float = 60.0,
                   top_n: int | None = None):
    rules = tmp_path / "src.yaml"
    rules.write_text(f"ruleset: s\npoint: sourcing\nrules:\n  - {{name: any, then: {sourcing}}}\n")
    return make_scenario(
        horizon_days=14, warmup_days=1, seed=4,
        nodes=[{"name": "STORE-LA",
                 "stock": {"days_of_supply": store_days, "assortment_top_n": top_n},
                "walk_ins": {"units_per_day": walk_ins,
                             "hour_profile": [0] * 10 + [1] * 10 + [0] * 4}}],
        policies={"sourcing": str(rules)})


def test_walk_ins_are_poisson_at_carrying_stores_and_common_to_rule_sets(tmp_path):
    sc = store_scenario(tmp_path, "{node_types: [dc]}", walk_ins=80.0, top_n=2)
    carried = build_network(sc).carried
    w = generate_walk_ins(sc, carried)
    assert set(w.node.tolist()) == {2}                          # only the store with walk-ins
    assert carried[2, w.sku].all() and set(w.sku.tolist()) == {0, 1}   # its top-2 SKUs only
    hours = w.t % 24
    assert hours.min() >= 10 and hours.max() < 20                # its hour profile
    expected = 80.0 * 14
    assert abs(len(w.t) - expected) < 3.3 * math.sqrt(expected)  # Poisson, 99.9%
    other = store_scenario(tmp_path, "{node_types: [store, dc]}", walk_ins=80.0, top_n=2)
    w2 = generate_walk_ins(other, build_network(other).carried)
    np.testing.assert_array_equal(w.t, w2.t)                     # rules never change them
    np.testing.assert_array_equal(w.sku, w2.sku)


def test_no_walk_in_is_lost_to_online_when_stores_are_not_sourced(tmp_path):
    out = run_checked(store_scenario(tmp_path, "{node_types: [dc]}"))
    k, w = out.kpis["kpis"], out.run.walk_ins
    assert 2 not in set(out.run.shipments["node"].astype(int).tolist())
    assert k["walk_in_lost_to_online_units"] == 0
    assert not np.any(w["outcome"] == LOST_TO_ONLINE)
    # Sales still end when the shelf is empty: those are ordinary lost sales.
    assert k["walk_in_units"] == w["qty"][(w["t"] >= 24) & (w["t"] < 14 * 24)].sum()
    sold = int(w["qty"][w["outcome"] == SOLD].sum())
    assert out.run.inventory["sold_walk_in"].sum() == sold


def test_ship_from_store_takes_sales_from_shoppers_and_protection_gives_them_back(tmp_path):
    stores_first = "{node_types: [store], fallback: [{node_types: [dc]}]}"
    exposed = run_checked(store_scenario(tmp_path, stores_first, store_days=1.0))
    k = exposed.kpis["kpis"]
    assert k["walk_in_lost_to_online_units"] > 0
    assert k["walk_in_lost_units"] >= k["walk_in_lost_to_online_units"]
    assert k["walk_in_fill_rate_pct"] < 100.0
    protected = run_checked(store_scenario(
        tmp_path, "{node_types: [store], protect_store_units: 6, fallback: [{node_types: [dc]}]}",
        store_days=1.0))
    p = protected.kpis["kpis"]
    assert p["walk_in_lost_to_online_units"] < k["walk_in_lost_to_online_units"]
    assert p["walk_in_fill_rate_pct"] > k["walk_in_fill_rate_pct"]
    # Every lost walk-in unit is a lost sale in total cost (margin by default).
    assert exposed.kpis["breakdowns"]["total_cost"]["lost_sale"] > 0
    outcomes = set(exposed.run.walk_ins["outcome"].tolist())
    assert outcomes <= {SOLD, LOST, LOST_TO_ONLINE}


def test_walk_ins_only_at_stores():
    with pytest.raises(ScenarioError, match=r"nodes\[0\].*only stores have walk-in shoppers"):
        make_scenario(nodes=[{"name": "DC-EAST", "walk_ins": {"units_per_day": 10}}])
