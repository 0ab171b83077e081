"""Every decision point changes the simulation the way its rule says."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, run_checked

from rules.engine import make_engine
from rules.schema import LIBRARY, SplitOutcome, load_ruleset, ruleset_from_dict
from sim.core.events import Ev
from sim.core.model import Status
from sim.core.sourcing import Coverage, SplitRule, choose_plan, coverage


def write_rules(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.fixture
def no_reorder(tmp_path) -> str:
    """A reorder rule set that never replenishes."""
    return write_rules(tmp_path, "none.yaml", "ruleset: none\npoint: reorder\nrules:\n"
                       "  - {name: never, then: {policy: none}}\n")


NO_STOCK_NO_REORDER = {"nodes": [{"name": n, "stock": {"days_of_supply": 0}}
                                 for n in ("DC-EAST", "DC-WEST", "STORE-LA")]}


def test_fallback_strategy_used_when_primary_cannot_fill(no_reorder):
    none = no_reorder
    sc = make_scenario(nodes=[{"name": "STORE-LA", "stock": {"days_of_supply": 0}},
                              {"name": "DC-EAST", "stock": {"days_of_supply": 60}},
                              {"name": "DC-WEST", "stock": {"days_of_supply": 60}}],
                       policies={"sourcing": "routing/stores_first_dc_fallback",
                                 "reorder": none})
    out = run_checked(sc)
    share = out.kpis["breakdowns"]["node_share"]
    assert share["STORE-LA"] == 0.0 and share["DC-EAST"] + share["DC-WEST"] == 1.0
    assert out.kpis["kpis"]["order_fill_rate_pct"] == 100.0


def test_unfillable_cancel_and_retry(tmp_path, no_reorder):
    none = no_reorder
    cancel = write_rules(tmp_path, "cancel.yaml", "ruleset: c\npoint: sourcing\nrules:\n"
                         "  - {name: c, then: {unfillable: cancel}}\n")
    sc = make_scenario(**NO_STOCK_NO_REORDER, policies={"sourcing": cancel, "reorder": none})
    o = run_checked(sc).run.orders
    assert np.all(o["status"] == Status.CANCELLED) and len(o["status"]) > 100
    retry = write_rules(tmp_path, "retry.yaml", "ruleset: r\npoint: sourcing\nrules:\n"
                        "  - {name: r, then: {unfillable: retry, retry_hours: 2, "
                        "max_retries: 3}}\n")
    out = run_checked(make_scenario(**NO_STOCK_NO_REORDER,
                                    policies={"sourcing": retry, "reorder": none}))
    o = out.run.orders
    assert np.all(o["status"] == Status.BACKORDERED)
    early = o["t_created"] < (5 * 24)            # retried 3 times within the horizon
    first = int(np.flatnonzero(early)[0])
    tr = [r for r in out.run.trace if r.point == "sourcing" and r.order == first]
    assert len(tr) == 4                           # first decision + 3 retries


def test_backorder_rules_cancel_after_days(tmp_path, no_reorder):
    none = no_reorder
    rule = write_rules(tmp_path, "bo.yaml", "ruleset: bo\npoint: backorder\nrules:\n"
                       "  - {name: wait-a-day, then: {action: hold, cancel_after_days: 1}}\n")
    out = run_checked(make_scenario(**NO_STOCK_NO_REORDER,
                                    policies={"backorder": rule, "reorder": none}))
    o = out.run.orders
    horizon = 7 * 24
    old = o["t_created"] + 24 < horizon - 1e-6
    assert np.all(o["status"][old] == Status.CANCELLED)
    assert np.all(o["status"][o["t_created"] + 24 > horizon] == Status.BACKORDERED)
    marketplace = run_checked(make_scenario(
        **NO_STOCK_NO_REORDER,
        channels=[{"name": "web", "kind": "marketplace"}],
        policies={"backorder": "backorder/hold_reroute_cancel", "reorder": none}))
    assert np.all(marketplace.run.orders["status"] == Status.CANCELLED)


@pytest.mark.parametrize("policy", ["reorder/rq_dc_base_stock_store", "reorder/periodic_weekly"])
def test_reorder_policies_place_orders_as_declared(policy):
    out = run_checked(make_scenario(horizon_days=21, policies={"reorder": policy}))
    rows = [r for r in out.run.events.rows if r[1] == Ev.PO_PLACED]
    assert rows, "no purchase orders placed"
    if policy.endswith("periodic_weekly"):
        # DCs review weekly, the store every 3 days: POs only at review instants.
        for t, _, _, node, _, _, _ in rows:
            period = 72.0 if node == 2 else 168.0
            assert abs(t / period - round(t / period)) < 1e-9
    else:
        store_pos = [r for r in rows if r[3] == 2]
        dc_pos = [r for r in rows if r[3] != 2]
        assert store_pos and dc_pos
        world_q = {}
        for _, _, _, node, sku, qty, _ in dc_pos:       # (R,Q): multiples of one Q per SKU
            world_q.setdefault((node, sku), []).append(qty)
        for qtys in world_q.values():
            q = min(qtys)
            assert all(x % q == 0 for x in qtys)


def test_priority_rules_serve_next_day_orders_first():
    base = dict(horizon_days=10, nodes=[{"name": n, "capacity": {"pickers": 1,
                                                                 "minutes_per_order": 25}}
                                        for n in ("DC-EAST", "DC-WEST", "STORE-LA")])
    waits = {}
    for label, pol in (("fifo", {}), ("rules", {"priority": "priority/service_then_tier"})):
        run = run_checked(make_scenario(**base, policies=pol)).run
        sh, o = run.shipments, run.orders
        order = sh["order"].astype(int)
        w = sh["pick_start"].astype(float) - sh["created"].astype(float)
        express = o["promise_days"][order] == 1
        waits[label] = (w[express].mean(), w[~express].mean())
    assert waits["rules"][0] < 0.5 * waits["fifo"][0]
    assert waits["rules"][1] > waits["fifo"][1]


def test_cost_based_split_and_groups():
    split = SplitRule(SplitOutcome(mode="cost_based", max_shipments=3))
    cov = Coverage(single=0, greedy=[(1, [0]), (2, [1])], lines_fillable=2)
    cheap = {0: 30.0, 1: 9.0, 2: 9.0}
    assert choose_plan(cov, split, 2, lambda n, lines: cheap[n], 1.5) == cov.greedy
    assert choose_plan(cov, split, 2, lambda n, lines: cheap[n], 20.0) == [(0, [0, 1])]
    atp = [[5, 0, 5], [0, 5, 0]]
    # Lines 0 and 2 form a kit: node 0 could take 0 and 2, node 1 only line 1.
    cov = coverage([0, 1], [0, 1, 2], [1, 1, 1], atp, [0, 0], groups=[7, 8, 7])
    assert cov.greedy == [(0, [0, 2]), (1, [1])]
    cov = coverage([1, 0], [0, 1, 2], [1, 1, 1], [[5, 0, 0], [0, 5, 5]], [0, 0],
                   groups=[7, 8, 7])
    assert cov.greedy is None               # the kit's lines sit at different nodes


def test_collect_and_merge_hit_policies():
    collect = load_ruleset(LIBRARY / "routing" / "dc_strategies_collect.yaml")
    facts = {"channel": "web", "channel_name": "web", "service_level": "x", "promise_days": 1,
             "order_value": 10.0, "units": 1, "lines": 1, "weight_lb": 1.0, "region": "r",
             "state": "NY", "hour": 1, "weekday": 1, "is_retry": False,
             "customer_tier": "standard"}
    merge = ruleset_from_dict({"ruleset": "m", "point": "sourcing", "hit_policy": "merge",
                               "rules": [{"name": "specific", "priority": 5,
                                          "when": {"channel": "web"},
                                          "then": {"rank_by": ["ship_cost"]}},
                                         {"name": "base", "then": {"node_types": ["dc"],
                                                                   "rank_by": ["distance"]}}]})
    for backend in ("durable", "compiled"):
        with make_engine({"sourcing": collect}, backend) as eng:
            d = eng.decide("sourcing", facts)
            assert d.matched == ("express-nearest-dc", "dcs-by-cost", "anywhere")
            assert [o.node_types for o in d.outcome] == [["dc"], ["dc", "3pl"],
                                                         ["dc", "store", "3pl"]]
            d = eng.decide("sourcing", dict(facts, promise_days=5))
            assert d.matched == ("dcs-by-cost", "anywhere")
        with make_engine({"sourcing": merge}, backend) as eng:
            d = eng.decide("sourcing", facts)
            assert (d.winner, d.outcome.node_types, d.outcome.rank_by) == \
                ("specific", ["dc"], ["ship_cost"])


@pytest.mark.parametrize("ruleset", ["routing/balanced_workload", "routing/overstock_first",
                                     "routing/dc_strategies_collect"])
def test_library_routing_sets_run_with_invariants(ruleset):
    out = run_checked(make_scenario(policies={"sourcing": ruleset, "split": "split/cost_based",
                                              "carrier": "carrier/fastest_for_express"}))
    assert out.kpis["kpis"]["orders"] > 0


def test_durable_and_compiled_runs_are_identical_on_the_peak_scenario():
    from conftest import ROOT

    from sim.scenario import load_scenario
    sc = load_scenario(ROOT / "scenarios" / "omnichannel_peak.yaml",
                       {"horizon_days": 3, "warmup_days": 1})
    a, b = run_checked(sc, "compiled"), run_checked(sc, "durable")
    assert a.kpis == b.kpis
    assert [r._replace(t=None) for r in a.run.trace] == [r._replace(t=None) for r in b.run.trace]
    assert {r.point for r in a.run.trace} == {"sourcing", "split", "carrier", "priority",
                                              "reorder"}


def test_service_picker_memo_equals_direct_choice():
    """The memoised carrier choice is exactly the direct one, over many random situations."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from rules.schema import CarrierOutcome
    from sim.core.carrier import ServicePicker, choose_service
    from sim.core.network import build_network

    net = build_network(make_scenario())
    picker = ServicePicker(net)
    outs = [CarrierOutcome(strategy=s) for s in ("cheapest_on_time", "fastest", "cheapest")]

    @settings(max_examples=400, deadline=None)
    @given(k=st.integers(0, 2), node=st.integers(0, 2), zone=st.integers(1, 8),
           weight=st.floats(0.1, 90), ready=st.floats(0, 24 * 30),
           promise=st.integers(0, 6), lag=st.integers(0, 3))
    def check(k, node, zone, weight, ready, promise, lag):
        deadline = (ready // 24 + promise + 1 - lag) * 24      # ordered ``lag`` days earlier
        direct = choose_service(outs[k], net.services, net, node, zone, weight, ready, deadline)
        memo = picker.pick(outs[k], node, zone, weight, ready, deadline)
        assert (memo[0].index, memo[1]) == (direct[0].index, direct[1])
        assert abs(memo[2] - direct[2]) < 1e-9

    check()


def test_shift_calendar_wait_matches_a_brute_force_scan():
    from sim.core.network import ShiftCalendar
    from sim.scenario import Shift

    cal = ShiftCalendar([Shift(start_hour=6, end_hour=22, days=[0, 1, 2, 3, 4, 5]),
                         Shift(start_hour=8, end_hour=16, days=[6]),
                         Shift(start_hour=22, end_hour=24, days=[4])], start_weekday=2)

    def on_shift(t):
        day = int(((t + 48) % 168) // 24)
        h = (t + 48) % 24
        return (day <= 5 and 6 <= h < 22) or (day == 6 and 8 <= h < 16) or \
            (day == 4 and h >= 22)

    for t in np.arange(0, 24 * 21, 0.25):
        w = cal.wait(t)
        assert (w == 0) == on_shift(t)
        if w > 0:   # the first on-shift moment, to the quarter hour
            assert on_shift(t + w) and not on_shift(t + w - 0.25)
