"""Scheduled events: node outages and capacity changes, carrier delays and suspensions, demand
surges and drops, supplier delays and shortfalls, each only inside its window."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, run_checked, single_item_scenario
from scipy import stats

from sim.core.demand import generate_demand
from sim.core.events import Ev
from sim.scenario import ScenarioError

# The tiny scenario starts Monday 2026-01-05: hour 48 is Wednesday midnight.
WED, FRI = "2026-01-07", "2026-01-09"


def _events(run, kind: Ev) -> list[tuple]:
    return [row for row in run.events.rows if row[1] == kind]


@pytest.mark.parametrize("queued", ["wait", "reroute"])
def test_an_outage_stops_picking_and_sourcing_at_the_node(queued):
    """DC-EAST works 9–17, so orders of the night before queue there when it goes down."""
    sc = make_scenario(nodes=[{"name": "DC-EAST", "shifts": [{"start_hour": 9,
                                                             "end_hour": 17}]}],
                       events=[{"kind": "node_outage", "node": "DC-EAST", "start": WED,
                                "end": FRI, "queued": queued, "label": "flood"}])
    run = run_checked(sc).run
    sh = run.shipments
    east = sh["node"] == 0
    inside = (sh["pick_start"] >= 48) & (sh["pick_start"] < 96)
    assert not np.any(east & inside)                        # nothing picked there
    assert np.any(east & (sh["pick_start"] >= 96))          # and it works again after
    reserved = [r for r in _events(run, Ev.RESERVED) if r[3] == 0 and 48 <= r[0] < 96]
    assert reserved == []                                   # nothing sourced there
    assert np.any((sh["node"] != 0) & inside)               # others carry on
    starts = _events(run, Ev.EVENT_START)
    ends = _events(run, Ev.EVENT_END)
    assert [(r[0], r[3], r[6]) for r in starts] == [(48.0, 0, 0.0)]
    assert [(r[0], r[3]) for r in ends] == [(96.0, 0)]
    moved = int(run.nodes["outage_reroutes"][0])
    assert (moved > 0) if queued == "reroute" else moved == 0


def test_an_outage_closes_a_store_to_walk_in_shoppers():
    sc = make_scenario(
        nodes=[{"name": "STORE-LA", "walk_ins": {"units_per_day": 40}}],
        events=[{"kind": "node_outage", "node": "STORE-LA", "start": WED, "end": FRI}])
    w = run_checked(sc).run.walk_ins
    inside = (w["t"] >= 48) & (w["t"] < 96)
    assert inside.sum() > 40 and np.all(w["outcome"][inside] != 0)     # all lost
    assert np.mean(w["outcome"][~inside] == 0) > 0.9


def _one_store(*events: dict):
    """Six days of 30 web orders a day, all picked at STORE-LA by one picker (shifts 10–20),
    under ``events`` (three pickers Wednesday and Thursday first)."""
    return make_scenario(
        horizon_days=6, channels=[{"name": "web", "orders_per_day": 30}],
        nodes=[{"name": "STORE-LA", "capacity": {"pickers": 1, "minutes_per_order": 12},
                "stock": {"days_of_supply": 30}},
               {"name": "DC-EAST", "closed": True}, {"name": "DC-WEST", "closed": True}],
        events=[{"kind": "node_capacity", "node": "STORE-LA", "pickers": 3, "start": WED,
                 "end": FRI}, *events])


def test_a_capacity_event_changes_pickers_on_shift_only_in_its_window():
    """One store picker, three during the event: the night's orders queue for the 10:00
    shift, and picks overlap up to three deep only in the window."""
    sc = _one_store()
    sh = run_checked(sc).run.shipments
    start, end = sh["pick_start"], sh["packed"]

    def depth(t):
        return int(((start <= t) & (end > t)).sum())
    grid = np.arange(0, 144, 0.25)
    inside = [depth(t) for t in grid if 48.5 <= t < 95]
    outside = [depth(t) for t in grid if t < 48 or t >= 97]
    assert max(inside) == 3 and max(outside) == 1


def test_a_surge_multiplies_arrivals_only_inside_its_window():
    base = make_scenario(horizon_days=14, channels=[{"name": "web", "orders_per_day": 100}])
    surge = make_scenario(horizon_days=14, channels=[{"name": "web", "orders_per_day": 100}],
                          events=[{"kind": "demand_surge", "channel": "web", "multiplier": 3,
                                   "start": "2026-01-08", "end": "2026-01-11"}])
    a, b = generate_demand(base), generate_demand(surge)
    out_a, out_b = (a.t < 72) | (a.t >= 144), (b.t < 72) | (b.t >= 144)
    np.testing.assert_array_equal(a.t[out_a], b.t[out_b])   # outside: the very same orders
    assert set(a.t[~out_a]) <= set(b.t[~out_b])             # inside: the same plus extra
    n = int((~out_b).sum())
    lo, hi = stats.poisson.ppf([0.0005, 0.9995], 3 * 100 * 3)  # 3 days at 3 × 100 a day
    assert lo <= n <= hi, n


def test_a_regional_surge_adds_orders_only_from_its_regions():
    sc = make_scenario(horizon_days=7, events=[{
        "kind": "demand_surge", "multiplier": 5, "regions": ["West"], "start": WED,
        "end": FRI}])
    base = generate_demand(make_scenario(horizon_days=7))
    d = generate_demand(sc)
    extra = ~np.isin(d.t, base.t)
    assert extra.sum() > 50 and np.all(d.region[extra] == 1)
    assert np.all((d.t[extra] >= 48) & (d.t[extra] < 96))


def test_a_demand_drop_to_zero_empties_the_window():
    sc = make_scenario(events=[{"kind": "demand_surge", "multiplier": 0, "start": WED,
                                "end": FRI}])
    d = generate_demand(sc)
    assert not np.any((d.t >= 48) & (d.t < 96)) and d.n > 100
    run_checked(sc)


def _deliveries(events):
    sc = make_scenario(events=events)
    return run_checked(sc).run.shipments


def test_a_carrier_delay_adds_its_days_to_parcels_collected_in_the_window():
    plain = _deliveries([])
    late = _deliveries([{"kind": "carrier_delay", "carrier": "Post", "service": "ground",
                         "extra_days": 2, "start": WED, "end": FRI}])
    np.testing.assert_array_equal(plain["shipped"], late["shipped"])
    hit = (plain["shipped"] >= 48) & (plain["shipped"] < 96) & (plain["service"] == 0)
    assert hit.sum() > 10
    np.testing.assert_allclose(late["delivered"] - plain["delivered"], np.where(hit, 48.0, 0))


def test_a_suspended_service_collects_nothing_in_its_window():
    sh = _deliveries([{"kind": "carrier_suspension", "carrier": "Post", "service": "ground",
                       "start": WED, "end": FRI}])
    ground = sh["service"] == 0
    assert not np.any(ground & (sh["shipped"] >= 48) & (sh["shipped"] < 96))
    assert np.any(ground & (sh["shipped"] >= 96))
    # Parcels packed in the window either waited for ground or took express.
    assert np.any((sh["service"] == 1) & (sh["created"] >= 48) & (sh["created"] < 96))


def _po_run(tmp_path, events, seed=3):
    sc = single_item_scenario(tmp_path, {"policy": "sS", "s_units": 20, "S_units": 60},
                              lam=20, lead=2, days=20, warmup=1, opening=60, seed=seed,
                              events=events)
    return run_checked(sc, "compiled").run


def test_a_supplier_delay_lengthens_lead_times_of_orders_placed_in_its_window(tmp_path):
    run = _po_run(tmp_path, [{"kind": "supplier_delay", "supplier": "vendor",
                              "extra_days": 3, "start": "2026-01-09", "end": "2026-01-15"}])
    placed = sorted(r[0] for r in _events(run, Ev.PO_PLACED))
    got = sorted(r[0] for r in _events(run, Ev.RECEIVED))
    lead = {p: (5 if 96 <= p < 240 else 2) * 24 for p in placed}
    assert sorted(p + lead[p] for p in placed if p + lead[p] <= run.end_time) == \
        pytest.approx(got)
    assert any(96 <= p < 240 for p in placed)


def test_a_supplier_shortfall_confirms_only_its_fill_rate(tmp_path):
    run = _po_run(tmp_path, [{"kind": "supplier_shortfall", "supplier": "vendor",
                              "fill_rate": 0.5, "start": "2026-01-09", "end": "2026-01-15"}])
    inv = run.inventory
    inside = (inv["po_t"] >= 96) & (inv["po_t"] < 240)
    assert inside.any() and (~inside).any()
    # (s,S) orders S − position; at half fill, orders in the window are about half as big.
    assert inv["po_qty"][inside].max() <= 31 and inv["po_qty"][~inside].min() >= 40


def test_event_names_and_windows_are_checked():
    with pytest.raises(ScenarioError, match=r"events\[0\].node: unknown node 'DC-X'"):
        make_scenario(events=[{"kind": "node_outage", "node": "DC-X", "start": WED,
                               "end": FRI}])
    with pytest.raises(ScenarioError, match="end: must be after start"):
        make_scenario(events=[{"kind": "node_outage", "node": "DC-EAST", "start": FRI,
                               "end": WED}])
    with pytest.raises(ScenarioError, match="no service 'air'"):
        make_scenario(events=[{"kind": "carrier_delay", "carrier": "Post", "service": "air",
                               "extra_days": 1, "start": WED, "end": FRI}])


def test_warnings_for_a_peak_or_an_event_outside_the_horizon():
    from conftest import ROOT

    from sim.scenario import load_scenario, scenario_warnings
    peak = load_scenario(ROOT / "scenarios" / "omnichannel_peak.yaml", {"horizon_days": 7})
    assert scenario_warnings(peak) == [
        f"channels[{c}].season_multipliers: the peak (week 2, ×{m}) starts on day 7, after "
        "the 7-day horizon ends: the run has no peak"
        for c, m in (("web", 1.6), ("app", 1.6), ("marketplace", 1.4))]
    assert scenario_warnings(load_scenario(ROOT / "scenarios" / "omnichannel_peak.yaml")) == []
    outage = load_scenario(ROOT / "scenarios" / "dc_outage.yaml", {"horizon_days": 5})
    assert scenario_warnings(outage) == [
        "events[0] (DC Memphis down (power outage)): starts on day 8, after the 5-day horizon "
        "ends"]
    early = make_scenario(events=[{"kind": "node_outage", "node": "DC-EAST",
                                   "start": "2026-01-05T06:00", "end": "2026-01-05T18:00"}])
    assert scenario_warnings(early) == [
        "events[0] (node_outage): ends on day 0.75, inside the 1-day warm-up: outside the KPI "
        "window"]


def test_the_cli_warns_of_a_peak_it_will_not_reach(domlab, tmp_path):
    from conftest import ROOT
    r = domlab("run", ROOT / "scenarios" / "omnichannel_peak.yaml", "--days", 4, "--engine",
               "compiled", "--out", tmp_path)
    assert r.returncode == 0
    assert "warning: omnichannel_peak: channels[web].season_multipliers: the peak (week 2, " \
        "×1.6) starts on day 7, after the 4-day horizon ends" in r.stderr


def test_utilisation_counts_the_pickers_events_leave_on_shift():
    """An outage takes its node's picker hours away and a capacity event adds some: busy
    hours are measured against the pickers really on shift, so utilisation stays ≤ 100%."""
    out = run_checked(_one_store({"kind": "node_outage", "node": "STORE-LA",
                                  "start": "2026-01-10", "end": "2026-01-11"}))
    # Store shifts 10–20: 10 h a day; days 1–5 of the window, +2 pickers on days 2–3, none on 5.
    assert out.run.nodes["open_hours"][2] == pytest.approx(10 * (5 + 2 * 2 - 1))
    assert 0 < out.kpis["breakdowns"]["node_utilisation_pct"]["STORE-LA"] <= 100
