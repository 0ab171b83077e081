"""Inventory record accuracy: pickers find each reserved line with the node's accuracy; a
missing line is phantom stock, the node rejects the shipment and its lines are re-sourced."""

from __future__ import annotations

import math

from conftest import make_scenario, run_checked

from sim.core.events import Ev


def accuracy_scenario(store: float, dc: float = 1.0):
    return make_scenario(horizon_days=10, warmup_days=1, seed=21,
                         nodes=[{"name": "STORE-LA", "record_accuracy": store,
                                 "stock": {"days_of_supply": 20}},
                                {"name": "DC-EAST", "record_accuracy": dc,
                                 "stock": {"days_of_supply": 20}},
                                {"name": "DC-WEST", "stock": {"days_of_supply": 20}}])


def test_accurate_records_never_reject():
    out = run_checked(accuracy_scenario(1.0))
    assert out.kpis["kpis"]["pick_rejection_pct"] == 0.0
    assert out.kpis["kpis"]["written_off_units"] == 0
    assert not any(r[1] == Ev.REJECTED for r in out.run.events.rows)
    assert out.run.nodes["inspected_lines"].sum() == 0          # no shelf check at all


def test_missing_lines_follow_the_accuracy_and_rejections_go_elsewhere():
    p = 0.85
    out = run_checked(accuracy_scenario(p, dc=0.95))
    nodes = out.run.nodes
    for n, acc in ((2, p), (0, 0.95)):
        n_lines, missing = int(nodes["inspected_lines"][n]), int(nodes["missing_lines"][n])
        expected = n_lines * (1 - acc)
        sd = math.sqrt(n_lines * acc * (1 - acc))
        assert n_lines > 100 and abs(missing - expected) <= 3.3 * sd    # binomial, 99.9%
    rej, sh = out.run.rejections, out.run.shipments
    assert len(rej["order"]) > 10 and rej["rerouted"].mean() > 0.5
    shipped = set(zip(sh["order"].astype(int).tolist(), sh["node"].astype(int).tolist(),
                      strict=True))
    for order, node in zip(rej["order"].tolist(), rej["node"].tolist(), strict=True):
        assert (order, node) not in shipped             # never sent back to the rejecting node
    k = out.kpis["kpis"]
    assert k["pick_rejection_pct"] > 0 and k["written_off_units"] > 0
    assert out.run.inventory["written_off"].sum() == k["written_off_units"]


def test_stale_visibility_oversells_stores_and_real_time_never_does():
    """Walk-ins sell store stock the DOM does not see until the next sync: orders routed on
    the stale view find too few units and the store rejects them. With real-time ATP (and
    exact records) nothing is ever rejected."""
    def run(sync: float | None):
        sc = make_scenario(horizon_days=10, warmup_days=1, seed=5,
                           channels=[{"name": "web", "orders_per_day": 80}],
                           nodes=[{"name": "STORE-LA", "stock": {"days_of_supply": 1},
                                   "walk_ins": {"units_per_day": 200}}],
                           brokering={"atp_sync_minutes": sync})
        return run_checked(sc)
    real, hourly = run(None), run(240)
    assert real.kpis["kpis"]["pick_rejection_pct"] == 0.0
    k = hourly.kpis["kpis"]
    assert k["pick_rejection_pct"] > 0 and k["written_off_units"] == 0   # oversold, not lost
    rej = hourly.run.rejections
    assert set(rej["node"].tolist()) <= {2} and (rej["missing_lines"] == 0).all()
