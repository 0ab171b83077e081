"""Store pickup (BOPIS and curbside): no carrier, picked at the store nearest the customer,
ready-for-pickup time against the SLA, no-shows whose units go back on the shelf."""

from __future__ import annotations

import math

import numpy as np
from conftest import make_scenario, run_checked

from sim.core.events import Ev
from sim.store.rundir import shipments_table


def pickup_scenario(no_show: float = 0.2, mode: str = "bopis"):
    return make_scenario(
        horizon_days=14, warmup_days=1, seed=17,
        channels=[{"name": "pickup", "kind": "web", "orders_per_day": 40,
                   "lines_per_order": {"kind": "const", "value": 1},
                   "units_per_line": {"kind": "const", "value": 1},
                   "service_levels": [{"name": "pickup", "promise_days": 1, "share": 1.0}],
                   "pickup": {"mode": mode, "ready_sla_hours": 4, "no_show_rate": no_show,
                              "hold_days": 2,
                              "pickup_delay_hours": {"kind": "exponential", "mean": 20}}}],
        nodes=[{"name": "STORE-LA", "stock": {"days_of_supply": 30}}])


def test_pickup_orders_have_no_carrier_and_never_leave_their_store():
    out = run_checked(pickup_scenario())
    run = out.run
    o, sh = run.orders, run.shipments
    pickup_channel = [k for k, ch in enumerate(run.scenario.channels) if ch.pickup][0]
    mine = o["channel"][sh["order"].astype(int)] == pickup_channel
    assert mine.sum() > 100
    assert (sh["service"][mine] == -1).all() and (sh["ship_cost"][mine] == 0).all()
    assert set(sh["node"][mine].astype(int).tolist()) == {2}        # the only store
    assert (sh["delivered"][mine] == sh["packed"][mine]).all()      # delivered = ready
    # Parcel orders are untouched: they still go by carrier.
    assert (sh["service"][~mine] >= 0).all()
    # The shipments table names the service of a store-pickup parcel as its carrier rule
    # does (not the last carrier service in the list, as -1 once picked).
    names = np.asarray(shipments_table(run)["service"].to_pylist())
    assert set(names[mine]) == {"store-pickup"}
    assert set(names[~mine]) <= set(run.services)
    k = out.kpis["kpis"]
    assert 0 < k["pickup_share_pct"] < 100
    assert 0 <= k["pickup_on_time_ready_pct"] <= 100 and k["pickup_ready_hours_mean"] > 0


def test_no_shows_follow_their_rate_and_units_go_back_on_the_shelf():
    rate = 0.2
    out = run_checked(pickup_scenario(rate))
    p, run = out.run.pickups, out.run
    n, shows = len(p["order"]), int(p["no_show"].sum())
    assert abs(shows - n * rate) <= 3.3 * math.sqrt(n * rate * (1 - rate))   # binomial 99.9%
    collected = ~p["no_show"]
    assert np.isnan(p["collected"][p["no_show"]]).all()
    assert (p["collected"][collected] >= p["ready"][collected]).all()
    restocked = [r for r in run.events.rows if r[1] == Ev.RESTOCKED]
    assert sum(r[5] for r in restocked) == run.inventory["restocked"].sum() > 0
    # Every restock comes exactly hold_days after its order was ready.
    ready = dict(zip(p["order"].tolist(), p["ready"].tolist(), strict=True))
    assert all(abs(r[0] - ready[r[2]] - 48.0) < 1e-6 for r in restocked)


def test_sourcing_rules_may_ship_pickup_orders_to_the_store(tmp_path):
    """The store has nothing: without a transfer rule pickup orders wait for store stock;
    with ``pickup_transfer_from: [dc]`` a DC ships them to the store, ready when they arrive."""
    def run(transfer: bool):
        rules = tmp_path / f"src{transfer}.yaml"
        extra = ", pickup_transfer_from: [dc]" if transfer else ""
        rules.write_text("ruleset: s\npoint: sourcing\nrules:\n  - {name: any, then: "
                         f"{{node_types: [dc, store]{extra}}}}}\n")
        sc = make_scenario(
            horizon_days=10, warmup_days=1, seed=17,
            channels=[{"name": "pickup", "kind": "web", "orders_per_day": 20,
                       "lines_per_order": {"kind": "const", "value": 1},
                       "units_per_line": {"kind": "const", "value": 1},
                       "service_levels": [{"name": "pickup", "promise_days": 3, "share": 1.0}],
                       "pickup": {"no_show_rate": 0.0}}],
            nodes=[{"name": "STORE-LA", "stock": {"days_of_supply": 0}},
                   {"name": "DC-EAST", "stock": {"days_of_supply": 60}},
                   {"name": "DC-WEST", "stock": {"days_of_supply": 60}}],
            policies={"sourcing": str(rules), "reorder": str(_no_reorder(tmp_path))})
        return run_checked(sc)
    without, with_transfer = run(False), run(True)
    pickup = [k for k, ch in enumerate(without.run.scenario.channels) if ch.pickup][0]
    o = with_transfer.run.orders
    mine = o["channel"] == pickup
    assert (with_transfer.run.orders["first_fill"][mine]).mean() > 0.95
    assert not without.run.orders["first_fill"][without.run.orders["channel"] == pickup].any()
    sh = with_transfer.run.shipments
    from_dc = (o["channel"][sh["order"].astype(int)] == pickup)
    assert (sh["service"][from_dc] >= 0).all()
    assert set(sh["node"][from_dc].astype(int).tolist()) <= {0, 1}        # from the DCs
    p = with_transfer.run.pickups
    ready = dict(zip(p["order"].tolist(), p["ready"].tolist(), strict=True))
    arrived = [k for k in np.flatnonzero(from_dc) if int(sh["order"][k]) in ready]
    assert len(arrived) > 0.8 * from_dc.sum()        # the rest reach the store after the run
    for k in arrived:                                # ready when the parcel reached the store
        assert ready[int(sh["order"][k])] == sh["delivered"][k]


def _no_reorder(tmp_path):
    path = tmp_path / "none.yaml"
    path.write_text("ruleset: none\npoint: reorder\nrules:\n"
                    "  - {name: never, then: {policy: none}}\n")
    return path
