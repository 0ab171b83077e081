"""Customers and consolidation: repeat customers per channel, and a customer's orders to one
address merged into one parcel within a window when the rules allow."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario, run_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.core.demand import Demand, generate_demand
from sim.core.invariants import check_invariants
from sim.core.model import World
from sim.experiments.runner import prepare_engine
from sim.measure.kpis import compute_kpis

#: One web channel of single-line orders at night, when no node picks (shifts 9–17), from
#: customers who mostly come back within the hour: parcels wait, follow-ups can join them.
NIGHT = {"name": "web", "kind": "web", "orders_per_day": 40,
         "hour_profile": [1] * 6 + [0] * 18,
         "lines_per_order": {"kind": "const", "value": 1},
         "units_per_line": {"kind": "const", "value": 1},
         "service_levels": [{"name": "standard", "promise_days": 4, "share": 1.0}],
         "customers": {"repeat_share": 0.6, "recency_hours": 1.0, "same_address": 1.0}}
DAY_SHIFT = [{"start_hour": 9, "end_hour": 17}]


def _night_scenario(seed: int = 5, accuracy: float = 1.0, **overrides):
    return make_scenario(
        horizon_days=6, warmup_days=1, seed=seed, replace={"channels": [NIGHT]},
        nodes=[{"name": n, "shifts": DAY_SHIFT, "record_accuracy": accuracy}
               for n in ("DC-EAST", "DC-WEST")],
        **overrides)


def _chained(customer: np.ndarray) -> np.ndarray:
    """Mask of orders whose customer already ordered before."""
    _, first = np.unique(customer, return_index=True)
    repeat = np.ones(len(customer), dtype=bool)
    repeat[first] = False
    return repeat


def test_without_a_customer_model_every_order_is_a_new_customer(tiny):
    d = generate_demand(tiny)
    assert len(np.unique(d.customer)) == d.n == len(np.unique(d.address))


def test_repeat_share_and_same_address_within_binomial_ci():
    sc = make_scenario(horizon_days=60, warmup_days=1, channels=[{
        "name": "web", "orders_per_day": 200,
        "customers": {"repeat_share": 0.3, "recency_hours": 48, "same_address": 0.8}}])
    d = generate_demand(sc)
    repeat = _chained(d.customer)
    # Only the first few hours can lack an earlier order; their effect is far below the CI.
    lo, hi = stats.binomtest(int(repeat.sum()), d.n, 0.3).proportion_ci(0.999)
    assert lo <= 0.3 <= hi
    same = repeat & (d.address != np.arange(d.n) + 0) & _chained(d.address)
    share = same.sum() / repeat.sum()
    lo, hi = stats.binomtest(int(same.sum()), int(repeat.sum()), 0.8).proportion_ci(0.999)
    assert lo <= 0.8 <= hi, share
    # One address, one region: every order to an address goes to the same metro.
    for a in np.unique(d.address[same])[:200]:
        assert len(np.unique(d.region[d.address == a])) == 1


def test_the_customer_model_leaves_every_other_draw_unchanged(tiny):
    """Customers come from their own stream: times, baskets and promises stay the same
    (common random numbers); only a repeat order's region follows its address."""
    with_customers = make_scenario(channels=[{
        "name": "web", "customers": {"repeat_share": 0.5, "recency_hours": 6}}])
    a, b = generate_demand(tiny), generate_demand(with_customers)
    for col in ("t", "channel", "service", "line_start", "sku", "qty", "tier"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    new = b.address == np.arange(b.n)          # first order at its address: own region draw
    np.testing.assert_array_equal(a.region[new], b.region[new])


def _two_orders(sc, gap_h: float) -> Demand:
    """Two one-line orders of the same customer to the same address, ``gap_h`` apart, at
    night (before the 9:00 shift)."""
    return Demand(t=np.array([1.0, 1.0 + gap_h]), channel=np.array([0, 0]),
                  service=np.array([0, 0]), region=np.array([0, 0]),
                  line_start=np.array([0, 1, 2]), sku=np.array([0, 1]), qty=np.array([1, 2]),
                  service_table=((0, "standard", 4),), tier=np.array([0, 0]),
                  tier_names=("standard",), customer=np.array([0, 0]),
                  address=np.array([0, 0]))


def _run_two(gap_h: float, window: float, consolidate: bool = True, tmp_path=None):
    policies = {}
    if not consolidate:
        rules = tmp_path / "no_merge.yaml"
        rules.write_text("ruleset: no-merge\npoint: sourcing\nrules:\n"
                         "  - {name: apart, then: {node_types: [dc], consolidate: false}}\n")
        policies = {"policies": {"sourcing": str(rules)}}
    sc = make_scenario(horizon_days=2, warmup_days=0, seed=3,
                       nodes=[{"name": "DC-EAST", "shifts": DAY_SHIFT},
                              {"name": "DC-WEST", "closed": True},
                              {"name": "STORE-LA", "closed": True}],
                       brokering={"consolidation": {"window_hours": window}}, **policies)
    eng = prepare_engine(sc, "compiled")
    try:
        run = World(sc, eng, demand=_two_orders(sc, gap_h)).run()
    finally:
        eng.close()
    assert check_invariants(run) == []
    return run, compute_kpis(run)["kpis"]


def test_a_follow_up_order_joins_the_waiting_parcel():
    run, k = _run_two(gap_h=2.0, window=4.0)
    sh = run.shipments
    assert list(sh["host"]) == [-1, 0]                  # order 1 rides in order 0's parcel
    assert sh["node"][0] == sh["node"][1] and sh["delivered"][0] == sh["delivered"][1]
    # One parcel of 1 + 2×2 = 5 lb at the flat $5 + zone rate, shared by weight; the rider
    # pays no per-order handling ($2), only its units ($0.2 each).
    zone = int(sh["zone"][0])
    assert sh["ship_cost"].sum() == pytest.approx(5.0 + zone)
    assert sh["ship_cost"][1] == pytest.approx((5.0 + zone) * 4 / 5)
    assert sh["handling"][1] == pytest.approx(0.4)
    # Saving: its own parcel's rate plus $2 handling, less the nothing extra it cost.
    assert sh["saved"][1] == pytest.approx(2.0 + 5.0 + zone)
    assert k["parcels_saved"] == 1 and k["consolidated_orders_pct"] == 50.0
    assert k["consolidation_saving_per_order"] == pytest.approx((7.0 + zone) / 2)
    assert k["ship_cost_per_shipment"] == pytest.approx(5.0 + zone)
    # Picked together: one pick of 3 units.
    assert sh["pick_start"][0] == sh["pick_start"][1] == 9.0


def test_no_merge_outside_the_window_or_when_the_rules_say_no(tmp_path):
    run, k = _run_two(gap_h=2.0, window=1.5)
    assert list(run.shipments["host"]) == [-1, -1] and k["parcels_saved"] == 0
    run, k = _run_two(gap_h=2.0, window=4.0, consolidate=False, tmp_path=tmp_path)
    assert list(run.shipments["host"]) == [-1, -1] and k["parcels_saved"] == 0


def test_no_merge_once_the_parcel_is_being_picked():
    """Order 0 is picked from 9:00; a follow-up at 9:30 gets its own parcel."""
    run, _ = _run_two(gap_h=8.5, window=12.0)
    assert list(run.shipments["host"]) == [-1, -1]


def test_night_orders_consolidate_and_save_cost():
    merged = run_checked(_night_scenario(
        brokering={"consolidation": {"window_hours": 6}})).kpis["kpis"]
    apart = run_checked(_night_scenario()).kpis["kpis"]
    assert merged["parcels_saved"] > 20
    assert merged["consolidation_saving_per_order"] > 0
    assert apart["parcels_saved"] == 0 and apart["consolidated_orders_pct"] == 0
    assert merged["orders"] == apart["orders"]
    assert merged["total_cost_per_order"] < apart["total_cost_per_order"]


def test_a_hold_delays_brokering_by_its_length():
    """Hold 2 h: a customer's first order waits exactly 2 h; a follow-up inside the hold goes
    with it (less); the KPI is the mean of the hold over the window's orders."""
    out = run_checked(_night_scenario(
        brokering={"consolidation": {"window_hours": 6, "hold_hours": 2}}))
    o = out.run.orders
    held = o["held_h"]
    np.testing.assert_allclose(o["decided_at"] - o["t_created"], held, atol=1e-9)
    assert np.all((held >= 0) & (held <= 2 + 1e-9))
    assert np.isclose(held, 2.0).sum() > 0.5 * len(held)
    w = o["t_created"] >= 24
    assert out.kpis["kpis"]["consolidation_hold_h"] == pytest.approx(float(held[w].mean()),
                                                                        abs=1e-6)


def test_hold_must_fit_in_the_window():
    with pytest.raises(ValueError, match="hold_hours"):
        _night_scenario(brokering={"consolidation": {"window_hours": 1, "hold_hours": 2}})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=st.floats(0.1, 8.0), hold=st.floats(0.0, 1.0), seed=st.integers(0, 10_000),
       accuracy=st.sampled_from([1.0, 0.9]), batch=st.booleans())
def test_a_merged_parcel_never_spans_more_than_the_window(window, hold, seed, accuracy, batch):
    """Any window, hold, seed, record accuracy (rejected parcels re-source every order in them)
    and cadence: invariants hold, and the orders in one parcel arrived within the window."""
    sc = _night_scenario(
        seed=seed, brokering={"mode": "batch" if batch else "realtime",
                              "consolidation": {"window_hours": window,
                                                "hold_hours": min(hold, window)}},
        accuracy=accuracy)
    run = run_checked(sc).run
    sh, t = run.shipments, run.orders["t_created"]
    host = sh["host"].astype(np.int64)
    ids = list(sh["id"])
    for r in np.flatnonzero(host >= 0):
        h = ids.index(host[r])
        members = [h, *np.flatnonzero(host == host[r])]
        times = t[sh["order"][members].astype(np.int64)]
        assert times.max() - times.min() <= window + 1e-9
    assert math.isfinite(run.end_time)
