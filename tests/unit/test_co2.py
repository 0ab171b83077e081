"""CO2e per shipment (``sim.core.emissions``): the cited factors, ground below air on the same
shipments, the KPIs, the ``mode`` field and sourcing by ``rank_by: [co2]``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FLAT_RATES, make_scenario, run_checked

from sim.core.emissions import PACKAGING_KG_PER_PARCEL, shipment_co2_kg, transport_co2_kg
from sim.measure.kpis import window_orders
from sim.scenario import scenario_hash

EXPRESS_FLIES = {"carriers": [{"name": "Post", "services": [{"name": "express",
                                                               "mode": "air"}]}]}


def test_factors_are_the_cited_ones():
    tonne_km = 10 * 0.00045359237 * 1000 * 1.609344          # 10 lb over 1000 miles
    assert transport_co2_kg(1000, 10, False) == pytest.approx(tonne_km * 1.20 * 0.12366)
    assert transport_co2_kg(1000, 10, True) == pytest.approx(
        10 * 0.00045359237 * (1000 * 1.609344 + 95) * 0.498)
    assert shipment_co2_kg(1000, 10, False) == pytest.approx(
        tonne_km * 1.20 * 0.12366 + PACKAGING_KG_PER_PARCEL)
    assert PACKAGING_KG_PER_PARCEL == 0.15
    assert shipment_co2_kg(1000, 10, False, parcels=0) == pytest.approx(
        transport_co2_kg(1000, 10, False))


def test_all_ground_plan_emits_less_than_all_air_on_the_same_shipments():
    sh = run_checked(make_scenario(horizon_days=3)).run.shipments
    dist, weight = sh["distance"].astype(float), sh["weight"].astype(float)
    ground = shipment_co2_kg(dist, weight, np.zeros(len(dist), dtype=bool))
    air = shipment_co2_kg(dist, weight, np.ones(len(dist), dtype=bool))
    assert len(dist) > 50 and np.all(ground < air)
    # packaging is the same either way; the trip itself emits over three times less by road
    trip = [transport_co2_kg(dist, weight, np.full(len(dist), a)).sum() for a in (False, True)]
    assert trip[0] < trip[1] / 3


def test_co2_kpis_add_up_the_window_shipments():
    out = run_checked(make_scenario(horizon_days=3, **EXPRESS_FLIES))
    run, k = out.run, out.kpis["kpis"]
    sh = run.shipments
    mine = window_orders(run)[sh["order"].astype(int)]
    air = np.array([False, True])[sh["service"][mine].astype(int)]
    assert air.any() and not air.all()
    kg = shipment_co2_kg(sh["distance"][mine].astype(float), sh["weight"][mine].astype(float),
                         air).sum()
    shipped = int((window_orders(run) & (run.orders["n_shipments"] > 0)).sum())
    assert k["co2_kg_per_order"] == pytest.approx(kg / shipped, abs=1e-6)
    assert k["co2_kg_per_unit"] == pytest.approx(kg / sh["units"][mine].sum(), abs=1e-6)


def test_ground_mode_is_left_out_of_the_scenario_dump():
    plain, flies = make_scenario(), make_scenario(**EXPRESS_FLIES)
    services = plain.model_dump(mode="json")["carriers"][0]["services"]
    assert all("mode" not in s for s in services)        # so existing hashes do not change
    assert [s.get("mode") for s in flies.model_dump(mode="json")["carriers"][0]["services"]] \
        == [None, "air"]
    assert scenario_hash(plain) != scenario_hash(flies)


def co2_world(tmp_path, rank_by: str):
    """One customer region; NEAR (100 mi) has cut off for the day, so only the air service
    still meets the 2-day promise from there; FAR (400 mi) ships today by ground in time."""
    rules = tmp_path / f"{rank_by}.yaml"
    rules.write_text(f"ruleset: by-{rank_by}\npoint: sourcing\nrules:\n"
                     f"  - {{name: r, then: {{node_types: [dc], rank_by: [{rank_by}]}}}}\n")
    node = {"kind": "dc", "lat": 40.0, "capacity": {"pickers": 5, "minutes_per_order": 2},
            "handling": {"per_order": 2.0}, "stock": {"units": {"A": 99, "B": 99, "C": 99}},
            "supplier": "vendor"}
    every_day = list(range(7))
    return make_scenario(
        horizon_days=1, warmup_days=0,
        policies={"sourcing": str(rules), "split": "split/ship_complete",
                  "carrier": "carrier/cheapest_on_time"},
        replace={
            "regions": [{"metro": "Here", "state": "PA", "lat": 40.0, "lon": -80.0,
                         "population": 1}],
            "nodes": [{**node, "name": "NEAR", "lon": -78.1, "cutoff_hour": 8},
                      {**node, "name": "FAR", "lon": -72.4, "cutoff_hour": 16}],
            "channels": [{"name": "web", "kind": "web", "orders_per_day": 40,
                          "hour_profile": [0] * 10 + [1, 1, 1] + [0] * 11,
                          "lines_per_order": {"kind": "const", "value": 1},
                          "units_per_line": {"kind": "const", "value": 1},
                          "service_levels": [{"name": "two_day", "promise_days": 2,
                                              "share": 1.0}]}],
            "carriers": [{"name": "Post", "services": [
                {"name": "ground", "rate_card": FLAT_RATES, "pickup_days": every_day,
                 "transit_days": [2, 2, 2, 2, 3, 4, 5, 5],
                 "delay_days": {"kind": "const", "value": 0}},
                {"name": "air", "mode": "air", "pickup_days": every_day,
                 "rate_card": [{"weight_lb_max": 70, **{f"z{z}": 25.0 for z in range(1, 9)}}],
                 "transit_days": [1] * 8, "delay_days": {"kind": "const", "value": 0}}]}]})


def test_rank_by_co2_picks_the_node_that_emits_less(tmp_path):
    near = run_checked(co2_world(tmp_path, "distance"))
    green = run_checked(co2_world(tmp_path, "co2"))
    assert len(near.run.orders["t_created"]) > 10
    assert near.kpis["breakdowns"]["node_share"] == {"NEAR": 1.0, "FAR": 0.0}
    assert set(near.run.shipments["service"].tolist()) == {1}          # flown from NEAR
    assert green.kpis["breakdowns"]["node_share"] == {"NEAR": 0.0, "FAR": 1.0}
    assert set(green.run.shipments["service"].tolist()) == {0}         # trucked from FAR
    assert green.kpis["kpis"]["co2_kg_per_order"] < near.kpis["kpis"]["co2_kg_per_order"]
    assert green.kpis["kpis"]["on_time_pct"] == near.kpis["kpis"]["on_time_pct"] == 100.0
