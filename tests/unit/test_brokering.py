"""Brokering cadence: real time (each order on arrival) or batches every N minutes, decided in
priority order so scarce stock goes to the most urgent orders."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, run_checked


def test_realtime_brokering_decides_every_order_on_arrival(tiny):
    out = run_checked(tiny)
    o = out.run.orders
    np.testing.assert_array_equal(o["decided_at"], o["t_created"])
    assert out.kpis["kpis"]["broker_delay_mean_min"] == 0.0


def test_batches_decide_at_each_interval_and_at_the_horizon():
    sc = make_scenario(brokering={"mode": "batch", "interval_minutes": 30})
    out = run_checked(sc)
    o = out.run.orders
    decided, created = o["decided_at"], o["t_created"]
    at_epoch = np.isclose(decided * 2, np.round(decided * 2), atol=1e-6)   # every half hour
    at_horizon = np.isclose(decided, sc.horizon_days * 24)
    assert np.all(at_epoch | at_horizon)
    assert np.all((decided >= created) & (decided - created <= 0.5 + 1e-9))
    # Arrivals are uniform within an interval: the mean wait is about half of it (15 min).
    assert out.kpis["kpis"]["broker_delay_mean_min"] == pytest.approx(15.0, rel=0.15)


def test_a_batch_gives_scarce_stock_to_the_shortest_promise_first(tmp_path):
    """Five units, one day of orders in one batch: express orders (1-day promise) get them
    whatever their arrival, where real-time brokering serves whoever came first."""
    none = tmp_path / "none.yaml"
    none.write_text("ruleset: none\npoint: reorder\nrules:\n"
                    "  - {name: never, then: {policy: none}}\n")

    def run(mode: str):
        sc = make_scenario(
            horizon_days=2, warmup_days=0, seed=8,
            skus=[{"id": "A", "weight_lb": 1.0, "price": 10.0, "cost": 5.0, "popularity": 1}],
            replace={"channels": [{
                "name": "web", "kind": "web", "orders_per_day": 40,
                "lines_per_order": {"kind": "const", "value": 1},
                "units_per_line": {"kind": "const", "value": 1},
                "service_levels": [{"name": "standard", "promise_days": 5, "share": 0.7},
                                   {"name": "express", "promise_days": 1, "share": 0.3}]}]},
            nodes=[{"name": "DC-EAST", "stock": {"units": {"A": 5}}},
                   {"name": "DC-WEST", "closed": True}, {"name": "STORE-LA", "closed": True}],
            brokering={"mode": mode, "interval_minutes": 1440},
            policies={"reorder": str(none), "sourcing": "routing/nearest_first"})
        return run_checked(sc).run.orders
    batch, realtime = run("batch"), run("realtime")
    first_day = batch["t_created"] < 24
    express = batch["promise_days"] == 1
    assert int((first_day & express).sum()) >= 5
    filled = batch["first_fill"]
    assert filled.sum() == 5 and np.all(express[filled])
    np.testing.assert_array_equal(realtime["t_created"], batch["t_created"])   # same demand
    assert not np.all(express[realtime["first_fill"]])                # first come, first served


def test_queued_shipments_are_reprioritised_so_age_rules_fire():
    """A store that packs 20 parcels a day gets 30: parcels wait for days. Re-deciding pick
    priority every hour lets the library's "aged" rule (order waited > 24 h) win; decided once,
    at reservation, it never does."""
    def run(every: float | None):
        sc = make_scenario(
            horizon_days=7, warmup_days=1, seed=12,
            channels=[{"name": "web", "orders_per_day": 30}],
            nodes=[{"name": "STORE-LA", "capacity": {"pickers": 1, "minutes_per_order": 30},
                    "stock": {"days_of_supply": 30}},
                   {"name": "DC-EAST", "closed": True}, {"name": "DC-WEST", "closed": True}],
            policies={"sourcing": "routing/nearest_first",
                      "priority": "priority/service_then_tier"},
            brokering={"reprioritise_minutes": every})
        return run_checked(sc).run
    once, hourly = run(None), run(60)
    def aged(run):
        return sum(1 for r in run.trace if r.point == "priority" and r.winner == "aged")
    assert aged(once) == 0
    assert aged(hourly) > 50
    # The queued parcels carry the priority they were picked at: 3 ("aged") for some.
    np.testing.assert_array_equal(once.orders["t_created"], hourly.orders["t_created"])
    assert (once.shipments["priority"] == 3).sum() == 0
    assert (hourly.shipments["priority"] == 3).sum() > 50
