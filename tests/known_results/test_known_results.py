"""Known-result tests: the model reproduces queueing theory and deterministic answers."""

from __future__ import annotations

import math

import numpy as np
from conftest import make_scenario, run_checked, single_item_scenario
from scipy import stats

from sim.core.model import Status
from sim.measure.kpis import window_orders


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean queue wait Wq of an M/M/c queue (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def mmc_scenario(lam_per_hour: float, minutes: float, pickers: int, days: int):
    return make_scenario(
        horizon_days=days, warmup_days=2, seed=11,
        skus=[{"id": "A", "weight_lb": 1.0, "price": 10.0, "cost": 5.0, "popularity": 1}],
        regions=[{"metro": "Here", "state": "IL", "lat": 41.88, "lon": -87.63, "population": 1}],
        replace={"channels": [{"name": "web", "kind": "web", "orders_per_day": lam_per_hour * 24,
                   "lines_per_order": {"kind": "const", "value": 1},
                   "units_per_line": {"kind": "const", "value": 1},
                   "service_levels": [{"name": "standard", "promise_days": 4, "share": 1.0}]}]},
        nodes=[{"name": "DC-EAST", "lat": 41.9, "lon": -87.6,
                "capacity": {"pickers": pickers, "minutes_per_order": minutes,
                             "minutes_per_unit": 0, "time_cv": 1.0},
                "stock": {"unlimited": True}},
               {"name": "DC-WEST", "closed": True},
               {"name": "STORE-LA", "closed": True}],
    )


def test_mmc_queue_wait_matches_erlang_c():
    lam, minutes, c, days = 15.0, 10.0, 3, 60          # rho = 0.833
    out = run_checked(mmc_scenario(lam, minutes, c, days))
    run = out.run
    sh = run.shipments
    created = run.orders["t_created"][sh["order"].astype(int)]
    wait = sh["pick_start"].astype(float) - created
    in_window = window_orders(run)[sh["order"].astype(int)]
    t = created[in_window]
    w = wait[in_window]
    # Batch means over 29 two-day batches: nearly independent at this utilisation.
    edges = np.arange(2 * 24, days * 24 + 1, 48)
    batch = np.digitize(t, edges) - 1
    means = np.array([w[batch == b].mean() for b in range(len(edges) - 1)])
    half = stats.t.ppf(0.975, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
    expected = erlang_c_wait(lam, 60.0 / minutes, c)
    assert abs(means.mean() - expected) <= half, (means.mean(), expected, half)
    # The CI is informative, not vacuous: narrower than the wait itself.
    assert half < 0.35 * expected


def test_single_location_ships_everything_from_nearest_node():
    sc = make_scenario(
        regions=[{"metro": "Chicago", "state": "IL", "lat": 41.88, "lon": -87.63,
                  "population": 1}],
        nodes=[{"name": "DC-EAST", "stock": {"days_of_supply": 200}},
               {"name": "DC-WEST", "stock": {"days_of_supply": 200}},
               {"name": "STORE-LA", "stock": {"days_of_supply": 200}}],
        policies={"split": "split/ship_complete"},
    )
    out = run_checked(sc)
    k = out.kpis
    # DC-EAST (Allentown-ish) is ~640 miles from Chicago; DC-WEST and the LA store are farther.
    assert k["breakdowns"]["node_share"] == {"DC-EAST": 1.0, "DC-WEST": 0.0, "STORE-LA": 0.0}
    assert set(out.run.shipments["zone"].tolist()) == {5}
    assert k["kpis"]["order_fill_rate_pct"] == 100.0
    assert k["kpis"]["split_rate_pct"] == 0.0
    assert k["kpis"]["backorders"] == 0


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of an M/G/c/c loss system (Erlang B), by the stable recursion."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def test_lost_sales_base_stock_matches_erlang_b(tmp_path):
    """Base-stock S, Poisson demand, fixed lead time L, unmet demand lost (cancelled): units on
    order form an M/D/S/S loss system, so the stock-out share of orders is Erlang B(S, λL)."""
    lam, lead, base = 50.0, 2.0, 100
    days = 80
    sc = single_item_scenario(tmp_path, {"policy": "base_stock", "S_units": base}, lam, lead,
                              days, warmup=5, opening=base, seed=3, unfillable="cancel")
    run = run_checked(sc).run
    assert run.inventory["opening"][0, 0] == base
    o = run.orders
    t = o["t_created"]
    lost = (o["status"] == Status.CANCELLED).astype(float)
    edges = np.arange(5 * 24, days * 24 + 1, 5 * 24)       # 15 batches of 5 days
    batch = np.digitize(t, edges) - 1
    means = np.array([lost[batch == b].mean() for b in range(len(edges) - 1)])
    half = stats.t.ppf(0.975, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
    expected = erlang_b(base, lam * lead)
    assert abs(means.mean() - expected) <= half, (means.mean(), expected, half)
    assert 0.04 < expected < 0.12 and half < 0.5 * expected
