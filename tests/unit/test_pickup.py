"""Store pickup (BOPIS and curbside): no carrier, picked at the store nearest the customer,
ready-for-pickup time against the SLA, no-shows whose units go back on the shelf."""

from __future__ import annotations

import math

import numpy as np
from conftest import make_scenario, run_checked

from sim.core.events import Ev


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
