"""Carrier pickup capacity: a full pickup leaves parcels for the next pickup day."""

from __future__ import annotations

import collections

from conftest import make_scenario, run_checked

from sim.measure.kpis import KPIS


def with_capacity(cap: int | None):
    return make_scenario(horizon_days=10, warmup_days=1, seed=6,
                         channels=[{"name": "web", "orders_per_day": 120}],
                         carriers=[{"name": "Post", "services": [
                             {"name": "ground", "pickup_capacity": cap},
                             {"name": "express", "pickup_capacity": cap}]}],
                         nodes=[{"name": n, "stock": {"days_of_supply": 30},
                                 "capacity": {"pickers": 6}}
                                for n in ("DC-EAST", "DC-WEST", "STORE-LA")])


def test_no_pickup_takes_more_than_its_capacity_and_the_rest_wait():
    free, capped = run_checked(with_capacity(None)), run_checked(with_capacity(15))
    sh = capped.run.shipments
    loads = collections.Counter(zip(sh["node"].tolist(), sh["service"].tolist(),
                                    sh["shipped"].tolist(), strict=True))
    assert max(loads.values()) == 15
    bumped = sh["bumped"] > 0
    assert bumped.any() and not (free.run.shipments["bumped"] > 0).any()
    # A bumped parcel left on a later pickup than its packing time allowed, one day per miss.
    assert (sh["shipped"][bumped] - sh["packed"][bumped] >= 24 * sh["bumped"][bumped] - 24).all()
    k, f = capped.kpis["kpis"], free.kpis["kpis"]
    assert k["pickup_overflow_pct"] > 0 and f["pickup_overflow_pct"] == 0
    assert k["on_time_pct"] < f["on_time_pct"]
    assert k["lead_time_mean_h"] > f["lead_time_mean_h"]
    assert KPIS["pickup_overflow_pct"].better == "lower"


def test_next_service_overflow_moves_parcels_to_a_service_with_room(tmp_path):
    """With ``overflow: next_service`` a full ground pickup sends parcels by express (which
    has room) the same day instead of waiting a day."""
    rules = tmp_path / "carrier.yaml"
    rules.write_text("ruleset: c\npoint: carrier\nrules:\n  - {name: any, then: "
                     "{strategy: cheapest, overflow: next_service}}\n")
    sc = make_scenario(horizon_days=10, warmup_days=1, seed=6,
                       channels=[{"name": "web", "orders_per_day": 120}],
                       carriers=[{"name": "Post", "services": [
                           {"name": "ground", "pickup_capacity": 15},
                           {"name": "express", "pickup_capacity": None}]}],
                       nodes=[{"name": n, "stock": {"days_of_supply": 30},
                               "capacity": {"pickers": 6}}
                              for n in ("DC-EAST", "DC-WEST", "STORE-LA")],
                       policies={"carrier": str(rules)})
    out = run_checked(sc)
    sh = out.run.shipments
    switched = sh["switched"].astype(bool)
    ground = [i for i, lab in enumerate(out.run.services) if lab.endswith("/ground")][0]
    assert switched.any() and (sh["bumped"] == 0).all()           # nobody waited a day
    assert (sh["service"][switched] != ground).all()               # they went by express
    loads = collections.Counter((n, t) for n, s, t in zip(
        sh["node"].tolist(), sh["service"].tolist(), sh["shipped"].tolist(), strict=True)
        if s == ground)
    assert max(loads.values()) <= 15
    # Express costs more: the switched parcels carry its rate.
    assert sh["ship_cost"][switched].mean() > sh["ship_cost"][~switched].mean()
