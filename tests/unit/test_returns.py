"""Customer returns: rates by channel and SKU class, grading into restock or scrap, the node
that takes them back, their cost, and units conserved."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, run_checked
from scipy import stats

from sim.core.events import Ev
from sim.measure.kpis import window_orders

#: Two weeks of demand and returns that come back after two days, so most arrive in the run.
RETURNS = {"rate": 0.2, "delay_days": {"kind": "const", "value": 2}, "restock_share": 0.7,
           "shipping_per_return": 6.0, "handling_per_unit": 1.5}


def _run(**returns):
    sc = make_scenario(horizon_days=14, channels=[{"name": "web", "orders_per_day": 150}],
                       returns={**RETURNS, **returns})
    return run_checked(sc)


def test_returned_units_follow_the_rate_and_restocked_ones_the_share():
    out = _run()
    r, sh = out.run.returns, out.run.shipments
    shipped = int(sh["units"].sum())
    lo, hi = stats.binomtest(int(r["qty"].sum()), shipped, 0.2).proportion_ci(0.999)
    assert lo <= 0.2 <= hi
    lo, hi = stats.binomtest(int(r["restocked"].sum()), int(r["qty"].sum()),
                             0.7).proportion_ci(0.999)
    assert lo <= 0.7 <= hi
    # Due two days after delivery; everything due before the run ended arrived.
    delivered = dict(zip(sh["order"].tolist(), sh["delivered"].tolist(), strict=False))
    assert np.all(r["due"] >= np.array([delivered[o] for o in r["order"].tolist()]) + 48 - 1e-9)
    assert np.all(r["arrived"] == (r["due"] <= out.run.end_time))
    assert out.kpis["kpis"]["return_rate_pct"] == pytest.approx(
        100 * r["qty"][window_orders(out.run)[r["order"]]].sum()
        / sh["units"][window_orders(out.run)[sh["order"].astype(int)]].sum(), abs=1e-6)


def test_restocked_returns_go_back_into_stock_at_the_nearest_store_then_dc():
    out = _run()
    run = out.run
    r = run.returns
    assert set(np.unique(r["node"])) == {2}           # the only store (STORE-LA)
    restocked = int(r["restocked"][r["arrived"]].sum())
    assert restocked > 50
    assert int(run.inventory["restocked"].sum()) == restocked
    logged = sum(row[6] for row in run.events.rows if row[1] == Ev.RETURNED)
    assert logged == restocked
    dcs = _run(to=["dc"]).run.returns
    assert set(np.unique(dcs["node"])) <= {0, 1} and len(np.unique(dcs["node"])) == 2


def test_return_cost_is_shipping_per_parcel_plus_handling_per_unit():
    out = _run()
    r = out.run.returns
    w = window_orders(out.run)[r["order"]]
    parcels = np.unique(np.stack([r["order"][w], r["due"][w]]), axis=1).shape[1]
    expected = 6.0 * parcels + 1.5 * int(r["qty"][w].sum())
    k = out.kpis
    assert k["breakdowns"]["total_cost"]["returns"] == pytest.approx(expected, abs=1e-3)
    assert k["kpis"]["return_cost_per_order"] == pytest.approx(expected / k["kpis"]["orders"],
                                                               abs=1e-6)


def test_rates_by_channel_and_sku_class():
    none = _run(rate=0.3, rate_by_channel={"web": 0.0}).run.returns
    assert len(none["qty"]) == 0
    only_a = _run(rate=0.3, class_factor={"B": 0.0, "C": 0.0})
    r = only_a.run.returns
    assert len(r["qty"]) > 0 and set(r["sku"].tolist()) == {0}       # SKU A is class A


def test_without_returns_nothing_comes_back(tiny):
    out = run_checked(tiny)
    assert len(out.run.returns["qty"]) == 0
    assert out.kpis["kpis"]["return_rate_pct"] == 0.0
    assert out.kpis["breakdowns"]["total_cost"]["returns"] == 0.0


def test_revenue_is_net_of_refunds():
    out = _run()
    run, k = out.run, out.kpis["kpis"]
    w = window_orders(run)
    sold = run.orders["value"][w & (run.orders["status"] != 4)].sum()
    r = run.returns
    rw = w[r["order"]]
    price = np.array([s.price for s in run.scenario.skus])
    refunds = (price[r["sku"][rw]] * r["qty"][rw]).sum()
    assert refunds > 0
    assert k["revenue"] == pytest.approx(sold - refunds, abs=1e-4)
