"""Pallet (LTL) pricing and B2B orders: heavy business orders ship complete as freight."""

from __future__ import annotations

import pytest
from conftest import DEFAULT, run_checked

from sim.core.carrier import CHEAPEST_ON_TIME, choose_service
from sim.core.network import build_network
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def net():
    return build_network(load_scenario(DEFAULT))


def test_ltl_prices_per_hundredweight_at_the_weight_break_with_a_minimum(net):
    (ltl,) = [s for s in net.services if s.spec.pricing == "ltl"]
    assert not ltl.takes(149.9) and ltl.takes(150)
    assert ltl.rate(1, 150) == 95.0                        # 150 lb × $24/cwt = $36 → minimum
    assert ltl.rate(8, 400) == pytest.approx(4 * 54.00)    # first break, zone 8
    assert ltl.rate(8, 800) == pytest.approx(8 * 43.00)    # a heavier break is cheaper per cwt
    assert ltl.rate(8, 9000) == pytest.approx(90 * 33.50)  # past the last break: its rate


def test_light_parcels_never_go_ltl_and_heavy_freight_does(net):
    light = choose_service(CHEAPEST_ON_TIME, net.services, net, 0, 5, 20.0, 10.0, 24 * 8)
    heavy = choose_service(CHEAPEST_ON_TIME, net.services, net, 0, 5, 600.0, 10.0, 24 * 8)
    assert light[0].spec.pricing == "parcel"
    assert heavy[0].spec.pricing == "ltl" and heavy[1] == pytest.approx(6 * 32.00)


def test_b2b_orders_ship_complete_and_heavy_ones_as_freight():
    sc = load_scenario(DEFAULT, {"horizon_days": 7, "warmup_days": 1})
    out = run_checked(sc, "compiled")
    o, sh = out.run.orders, out.run.shipments
    b2b = [i for i, ch in enumerate(sc.channels) if ch.kind == "b2b"][0]
    is_b2b = o["channel"] == b2b
    assert is_b2b.sum() > 20
    assert (o["n_shipments"][is_b2b] <= 1).all()                # ship complete, never split
    labels = out.run.services
    svc = [labels[s] for s in sh["service"].astype(int)]
    freight = [k for k, lab in enumerate(svc) if lab == "FreightLine/ltl"]
    assert freight and all(sh["weight"][k] >= 150 for k in freight)
    assert set(o["channel"][sh["order"][freight].astype(int)]) <= {b2b}
