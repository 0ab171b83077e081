"""The offline optimum (``sim.measure.optimum``): the solver against brute force on a tiny
instance, the optimal plan priced back at zero gap, LP bound ≤ MILP ≤ the rules, the CLI and
the check's gap tolerance."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import yaml
from conftest import ROOT, TINY, make_scenario, run_checked

from sim.core.network import build_network, next_pickup, next_pickups
from sim.experiments.check import (
    GAP_TOLERANCE,
    default_tolerances,
    judge,
    run_check,
    update_baseline,
)
from sim.experiments.executors import InProcessExecutor
from sim.measure.optimum import (
    Orders,
    Settings,
    assignment_cost,
    candidate_plans,
    check_assignment,
    gap_pct,
    make_problem,
    optimise,
    plan_assignment,
    rule_assignment,
    solve,
)
from sim.measure.optimum.supply import Supply

# ---------------------------------------------------------------------------------------------
# Brute force on a tiny instance

A, B, C = 0, 1, 2                  # TINY's SKUs
EAST, WEST = 0, 1                  # regions
DC_EAST, DC_WEST, STORE_LA = 0, 1, 2
# (release hour, region, promise days, lines): all released on Monday, one window
ORDERS = [(9.0, WEST, 1, [(A, 1), (B, 1)]), (9.5, WEST, 4, [(A, 2)]),
          (10.0, EAST, 1, [(B, 1), (C, 1)]), (11.0, WEST, 4, [(C, 1)]),
          (13.0, EAST, 4, [(A, 1), (B, 1), (C, 2)]), (15.0, WEST, 4, [(A, 1)])]
# (node, sku, hour, units): opening stock, then two receipts during the day
STOCK = [(DC_EAST, A, 0, 2), (DC_EAST, B, 0, 1), (DC_EAST, C, 0, 3),
         (DC_WEST, A, 0, 1), (DC_WEST, B, 0, 2), (STORE_LA, A, 0, 3), (STORE_LA, C, 0, 1),
         (STORE_LA, C, 12.0, 1), (DC_WEST, A, 14.0, 1)]


def tight_scenario(pickers: int = 1):
    """TINY with a store that picks two shipments a day (one picker, 4 h 50 min each)."""
    return make_scenario(nodes=[{"name": "STORE-LA",
                                 "capacity": {"pickers": pickers, "minutes_per_order": 290}}])


def tiny_problem(sc):
    lines = [ln for *_, ls in ORDERS for ln in ls]
    counts = [len(ls) for *_, ls in ORDERS]
    orders = Orders(order_id=np.arange(len(ORDERS)),
                    release=np.array([o[0] for o in ORDERS]),
                    region=np.array([o[1] for o in ORDERS]),
                    deadline=np.array([(math.floor(o[0] / 24) + o[2] + 1) * 24.0
                                       for o in ORDERS]),
                    line_start=np.concatenate([[0], np.cumsum(counts)]),
                    sku=np.array([s for s, _ in lines]), qty=np.array([q for _, q in lines]),
                    in_window=np.ones(len(ORDERS), dtype=bool))
    stock = tuple(np.array(col) for col in zip(*STOCK, strict=True))
    return make_problem(sc, orders, stock)


def shipment_option(sc, net, node, region, release, deadline, lines):
    """(cost, (node, pick day), pick hours) of one shipment by its cheapest on-time service,
    from the scenario with the scalar lookups alone; None when no service is on time."""
    spec = sc.nodes[node]
    weight = sum(sc.skus[s].weight_lb * q for s, q in lines)
    units = sum(q for _, q in lines)
    start = release + net.calendars[node].wait(release)
    hours = (spec.capacity.minutes_per_order + spec.capacity.minutes_per_unit * units) / 60
    zone = int(net.zone[node, region])
    weekday0 = sc.start_date.weekday()
    rates = [s.rate(zone, weight) for s in net.services if s.takes(weight)
             and next_pickup(start + hours, spec.cutoff_hour, s.spec.pickup_hour,
                             s.spec.pickup_days, weekday0)
             + 24 * s.spec.transit_days[zone - 1] <= deadline]
    if not rates:
        return None
    return (min(rates) + spec.handling.per_order + spec.handling.per_unit * units,
            (node, math.floor(start / 24)), hours)


def order_options(sc, net, release, region, promise, lines):
    """Every way to ship an order from at most two nodes: (cost, units per (node, sku), pick
    hours per (node, day))."""
    deadline = (math.floor(release / 24) + promise + 1) * 24.0
    out = []
    for nodes in itertools.product(range(len(sc.nodes)), repeat=len(lines)):
        if len(set(nodes)) > 2:
            continue
        cost, uses, hours = 0.0, {}, {}
        for n in sorted(set(nodes)):
            part = [ln for ln, m in zip(lines, nodes, strict=True) if m == n]
            opt = shipment_option(sc, net, n, region, release, deadline, part)
            if opt is None:
                break
            cost += opt[0]
            hours[opt[1]] = hours.get(opt[1], 0.0) + opt[2]
            for s, q in part:
                uses[(n, s)] = q
        else:
            out.append((cost + sc.costs.split_penalty * (len(set(nodes)) - 1), uses, hours))
    return out


def brute_force(sc) -> float:
    net = build_network(sc)
    options = [order_options(sc, net, *o) for o in ORDERS]
    best = math.inf
    for combo in itertools.product(*options):
        cost = sum(c for c, _, _ in combo)
        if cost >= best:
            continue
        taken: dict = {}
        ok = True
        for (release, *_), (_, uses, _) in zip(ORDERS, combo, strict=True):
            for key, q in uses.items():
                taken[key] = taken.get(key, 0) + q
                have = sum(u for n, s, t, u in STOCK if (n, s) == key and t <= release)
                ok &= taken[key] <= have
        load: dict = {}
        for _, _, hours in combo:
            for key, h in hours.items():
                load[key] = load.get(key, 0.0) + h
        for (n, day), h in load.items():
            spec = sc.nodes[n]
            ok &= h <= spec.capacity.pickers * net.calendars[n].open_hours(day * 24,
                                                                             day * 24 + 24)
        if ok:
            best = cost
    return best


def test_solver_matches_brute_force_on_a_tiny_instance():
    sc = tight_scenario()
    problem = tiny_problem(sc)
    everything = Settings(nodes_per_order=3, split_nodes=3, splits_per_order=100,
                          split_max_lines=3)
    plans = candidate_plans(problem, everything)
    sol = solve(problem, plans, everything)
    best = brute_force(sc)
    assert sol.unserved == 0 and len(sol.windows) == 1
    assert sol.milp_total == pytest.approx(best, abs=1e-9)
    assert sol.lp_total <= sol.milp_total + 1e-9
    a = plan_assignment(plans, sol.chosen)
    assert np.nansum(assignment_cost(problem, a)) == pytest.approx(best, abs=1e-9)
    assert check_assignment(problem, a) == {"units_off": 0.0, "late_shipments": 0,
                                            "stock_short_units": 0.0,
                                            "capacity_over_hours": 0.0}
    # both kinds of constraint bind: with more pickers, or without stock limits, it is cheaper
    assert brute_force(tight_scenario(pickers=3)) < best
    free = sum(min(c for c, _, _ in order_options(sc, build_network(sc), *o)) for o in ORDERS)
    assert free < best


def test_supply_level_is_the_suffix_minimum():
    # +5 at 0, -3 at 10 (a fixed sale), +4 at 20: before 10 only 2 may go to planned orders
    s = Supply(np.zeros(3, int), np.zeros(3, int), np.array([0.0, 10.0, 20.0]),
               np.array([5, -3, 4]), n_skus=1, unlimited=np.array([False]))
    got = s.available(np.zeros(5, int), np.zeros(5, int), np.array([0.0, 5.0, 10.0, 20.0, 30.0]))
    assert got.tolist() == [2, 2, 2, 6, 6]


def test_vectorised_lookups_match_the_scalar_ones():
    sc = make_scenario()
    net = build_network(sc)
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 24 * 14, 400)
    for cal, spec in zip(net.calendars, sc.nodes, strict=True):
        assert np.allclose(cal.waits(t), [cal.wait(x) for x in t])
        for s in net.services:
            expect = [next_pickup(x, spec.cutoff_hour, s.spec.pickup_hour, s.spec.pickup_days, 0)
                      for x in t]
            assert np.allclose(next_pickups(t, spec.cutoff_hour, s.spec.pickup_hour,
                                            s.spec.pickup_days, 0), expect)
    zone, weight = rng.integers(1, 9, 400), rng.uniform(0.1, 200, 400)
    for s in net.services:
        assert np.allclose(s.rate_many(zone, weight),
                           [s.rate(int(z), float(w)) for z, w in zip(zone, weight, strict=True)])


# ---------------------------------------------------------------------------------------------
# From a run


@pytest.fixture(scope="module")
def tiny_optimum():
    out = run_checked(make_scenario(horizon_days=4, warmup_days=1))
    return out, optimise(out.run)


def test_optimal_plan_fed_back_has_zero_gap(tiny_optimum):
    out, res = tiny_optimum
    p = res.problem
    best = plan_assignment(res.plans, res.solution.chosen)
    cost = assignment_cost(p, best)
    assert np.allclose(cost, res.optimal_cost)
    assert gap_pct(float(cost.sum()), float(res.optimal_cost.sum())) == 0.0
    assert check_assignment(p, best)["units_off"] == 0.0
    # the rules' own shipments, priced by the same model, cost what the run paid
    rules = assignment_cost(p, rule_assignment(p))
    assert np.allclose(rules, res.rule_cost)
    assert check_assignment(p, rule_assignment(p)) == {
        "units_off": 0.0, "late_shipments": 0, "stock_short_units": 0.0,
        "capacity_over_hours": 0.0}


def test_lp_bound_le_milp_le_rule_cost(tiny_optimum):
    out, res = tiny_optimum
    sol = res.solution
    assert sol.unserved == 0
    assert sol.lp_total <= sol.milp_total + 1e-6
    assert sol.milp_total <= res.rule_cost.sum() + 1e-6
    k = res.kpis()
    assert k["cost_gap_to_optimal_pct"] >= 0
    assert k["cost_optimal_per_order"] <= out.kpis["kpis"]["cost_per_order"] + 1e-9
    s = res.summary()
    assert s["bound"] == "milp" and s["lp_bound_per_order"] <= s["milp_cost_per_order"] + 1e-9
    tables = res.orders
    assert len(tables) == int(res.problem.orders.in_window.sum())
    assert np.allclose(tables["saving"], tables["rule_cost"] - tables["optimal_cost"])


def test_cli_run_optimum_writes_the_kpis(domlab, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "horizon_days": 3}))
    r = domlab("run", path, "--engine", "compiled", "--out", tmp_path / "runs", "--optimum")
    assert r.returncode == 0, r.stderr
    assert "offline optimum" in r.stdout and "gap to the optimum" in r.stdout
    run_dir = next((tmp_path / "runs").glob("tiny-*"))
    kpis = json.loads((run_dir / "kpis.json").read_text())
    assert {"cost_optimal_per_order", "cost_gap_to_optimal_pct"} <= set(kpis["kpis"])
    assert kpis["optimum"]["bound"] == "milp" and kpis["optimum"]["unserved"] == 0
    assert "solve_seconds" in json.loads((run_dir / "meta.json").read_text())["optimum"]
    report = json.loads((run_dir / "optimum.json").read_text())
    assert report["kpis"] == {k: kpis["kpis"][k] for k in report["kpis"]}
    assert {"by_sourcing_rule", "by_node", "by_service", "top_orders"} <= set(report)
    assert (run_dir / "optimum_orders.parquet").is_file()
    plain = domlab("run", path, "--engine", "compiled", "--out", tmp_path / "plain")
    kpis = json.loads(next((tmp_path / "plain").glob("tiny-*/kpis.json")).read_text())
    assert "optimum" not in kpis and "cost_gap_to_optimal_pct" not in kpis["kpis"]
    assert plain.returncode == 0 and not list((tmp_path / "plain").glob("*/optimum.json"))


def test_check_fails_when_the_gap_grows_more_than_a_point():
    assert "cost_gap_to_optimal_pct" not in default_tolerances()
    assert default_tolerances(optimum=True)["cost_gap_to_optimal_pct"] == GAP_TOLERANCE
    assert judge("cost_gap_to_optimal_pct", [5.0], [6.5], GAP_TOLERANCE).status == "regression"
    assert judge("cost_gap_to_optimal_pct", [5.0], [5.8], GAP_TOLERANCE).status == "ok"
    assert judge("cost_gap_to_optimal_pct", [5.0], [3.5], GAP_TOLERANCE).status == "improved"


EXPRESS_ONLY = ("ruleset: express-only\npoint: carrier\nrules:\n"
                "  - name: always-express\n    then: {strategy: cheapest, services: [express]}\n")


def test_check_with_an_optimum_baseline_judges_the_gap(tmp_path):
    (tmp_path / "carrier.yaml").write_text(
        (ROOT / "rules" / "library" / "carrier" / "cheapest_on_time.yaml").read_text())
    (tmp_path / "worse.yaml").write_text(EXPRESS_ONLY)
    scenario = {**TINY, "policies": {**TINY["policies"], "carrier": "carrier.yaml"}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(scenario))
    path = tmp_path / "b.json"
    ex = InProcessExecutor()
    base = update_baseline(path, ex, scenarios=[tmp_path / "tiny.yaml"], reps=1, days=3,
                           optimum=True)
    assert base.optimum and base.tolerances["cost_gap_to_optimal_pct"] == GAP_TOLERANCE
    assert "cost_gap_to_optimal_pct" in base.scenarios[0].runs[0].kpis
    same = run_check(base, path, ex)
    gap = same.table.set_index("kpi").loc["cost_gap_to_optimal_pct"]
    assert same.passed and gap["status"] == "ok" and gap["delta"] == 0
    worse = run_check(base, path, ex, {"carrier": str(tmp_path / "worse.yaml")})
    gap = worse.table.set_index("kpi").loc["cost_gap_to_optimal_pct"]
    assert gap["status"] == "regression" and gap["delta"] > 1.0
