"""Pre-orders: a SKU taken on order before its launch; orders wait, its stock arrives at
launch, and waiting orders are released most urgent first."""

from __future__ import annotations

import numpy as np
from conftest import make_scenario, run_checked

from sim.core.events import Ev


def preorder_scenario(tmp_path, stock_days: float):
    none = tmp_path / "none.yaml"
    none.write_text("ruleset: none\npoint: reorder\nrules:\n"
                    "  - {name: never, then: {policy: none}}\n")
    return make_scenario(
        horizon_days=8, warmup_days=0, seed=3,
        replace={"skus": [{"id": "A", "weight_lb": 1.0, "price": 50.0, "cost": 20.0,
                           "popularity": 1, "launch_date": "2026-01-09", "preorder": True}],
                 "channels": [{"name": "web", "kind": "web", "orders_per_day": 30,
                               "lines_per_order": {"kind": "const", "value": 1},
                               "units_per_line": {"kind": "const", "value": 1},
                               "service_levels": [
                                   {"name": "standard", "promise_days": 5, "share": 0.7},
                                   {"name": "express", "promise_days": 1, "share": 0.3}]}]},
        nodes=[{"name": "DC-EAST", "stock": {"days_of_supply": stock_days}},
               {"name": "DC-WEST", "closed": True}, {"name": "STORE-LA", "closed": True}],
        policies={"reorder": str(none), "sourcing": "routing/nearest_first"})


LAUNCH_H = 4 * 24.0          # 2026-01-09 is day 4 of a run starting Monday 2026-01-05


def test_preorders_wait_for_launch_and_ample_stock_releases_them_on_time(tmp_path):
    out = run_checked(preorder_scenario(tmp_path, stock_days=20))
    run = out.run
    o, sh = run.orders, run.shipments
    early = o["t_created"] < LAUNCH_H
    assert early.sum() > 50
    assert not o["first_fill"][early].any()                 # nobody could be served early
    assert (sh["created"] >= LAUNCH_H - 1e-9).all()         # no parcel before launch
    received = [r for r in run.events.rows if r[1] == Ev.RECEIVED]
    assert received and min(r[0] for r in received) == LAUNCH_H
    assert out.kpis["kpis"]["preorder_release_late_h"] == 0.0
    np.testing.assert_array_equal(run.preorders["late_hours"], 0.0)


def test_scarce_launch_stock_goes_to_the_most_urgent_preorders(tmp_path):
    out = run_checked(preorder_scenario(tmp_path, stock_days=1))     # 30 units at launch
    o, sh = out.run.orders, out.run.shipments
    early = o["t_created"] < LAUNCH_H
    at_launch = np.isin(np.arange(len(early)),
                        sh["order"][np.isclose(sh["created"], LAUNCH_H)].astype(int))
    express = o["promise_days"] == 1
    assert at_launch.sum() == 30
    # More express pre-orders wait than units arrive: every unit goes to an express order,
    # the earliest-promised first, though standard ones arrived first too.
    assert (early & express).sum() > 30 and express[at_launch].all()
    assert (early & ~express & (o["t_created"] < o["t_created"][at_launch].min())).any()
