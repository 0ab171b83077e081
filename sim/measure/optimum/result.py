"""The offline optimum of a run and how far the rules are from it.

``optimise(run)`` builds the problem from the run's tables, generates candidate plans, solves
the rolling MILP and its LP bound, and returns an ``OptimumResult``:

* ``kpis()``: ``cost_optimal_per_order`` (the run's fulfilment cost per shipped order of the
  KPI window, with the planned orders' cost replaced by the optimal plan's) and
  ``cost_gap_to_optimal_pct`` (how much dearer the rules' shipping + handling + split penalty
  was than the optimal plan's, for the same orders of the window, in % of the optimal cost);
* ``summary()``: which solution the gap uses (``bound: "milp"``, the rolling plan, achievable),
  the LP lower bound per order and the gap to it, sizes, settings (deterministic: goes into
  ``kpis.json``); ``timings()``: wall-clock seconds (kept out of ``kpis.json``);
* ``orders``: one row per planned order of the window with both decisions and costs, the
  input of ``sim.measure.optimum.money``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sim.core.model import RunResult
from sim.measure.kpis import KPIS, window_orders
from sim.measure.optimum.assignment import assignment_cost, gap_pct, plan_assignment
from sim.measure.optimum.candidates import Plans, Settings, candidate_plans
from sim.measure.optimum.from_run import problem_from_run
from sim.measure.optimum.problem import Problem
from sim.measure.optimum.solve import Solution, solve

__all__ = ["OptimumResult", "optimise"]


def _join(values) -> str:
    return "+".join(str(v) for v in values)


@dataclass
class OptimumResult:
    """A solved offline optimum of one run (see the module docstring)."""

    problem: Problem
    plans: Plans
    solution: Solution
    settings: Settings
    rule_cost: np.ndarray        # per planned order: what the run paid
    optimal_cost: np.ndarray     # per planned order: the chosen plan (the run's if unserved)
    shipped_orders: int          # shipped orders of the window (the KPI denominator)
    window_cost: float           # the run's fulfilment cost of the window's orders
    labels: pd.DataFrame         # per planned order: channel, region, sourcing and split rule
    build_seconds: float

    @property
    def in_window(self) -> np.ndarray:
        """Planned orders created in the KPI window."""
        return self.problem.orders.in_window

    def kpis(self) -> dict[str, float]:
        """``cost_optimal_per_order`` and ``cost_gap_to_optimal_pct`` (rounded like kpis)."""
        w = self.in_window
        rule, best = float(self.rule_cost[w].sum()), float(self.optimal_cost[w].sum())
        per_order = (self.window_cost - rule + best) / self.shipped_orders \
            if self.shipped_orders else 0.0
        return {"cost_optimal_per_order": round(per_order, 6),
                "cost_gap_to_optimal_pct": round(gap_pct(rule, best), 6)}

    def summary(self) -> dict:
        """Deterministic facts about the solve for ``kpis.json`` (``optimum`` key)."""
        w = self.in_window
        lp = float(self.solution.lp_cost[w].sum())
        rule = float(self.rule_cost[w].sum())
        best = float(self.optimal_cost[w].sum())
        n = int(w.sum())
        return {"bound": "milp",
                "gap_uses": "rolling MILP plan (achievable); lp = relaxed lower bound",
                "orders": int(self.problem.orders.n), "orders_in_window": n,
                "plans": int(self.plans.n), "windows": len(self.solution.windows),
                "unserved": self.solution.unserved,
                "rule_cost_per_order": round(rule / n, 6) if n else 0.0,
                "milp_cost_per_order": round(best / n, 6) if n else 0.0,
                "lp_bound_per_order": round(lp / n, 6) if n else 0.0,
                "gap_to_lp_bound_pct": round(gap_pct(rule, lp), 6),
                "milp_above_lp_pct": round(gap_pct(best, lp), 6),
                "max_window_mip_gap": round(max((w.mip_gap for w in self.solution.windows),
                                                default=0.0), 9),
                "co2_kg_per_order_rule": round(self._co2(rule=True), 6),
                "co2_kg_per_order_optimal": round(self._co2(rule=False), 6),
                "settings": asdict(self.settings)}

    def timings(self) -> dict[str, float]:
        """Wall-clock seconds: building the problem and plans, solving (every window's MILP
        and LP), and the largest window."""
        wins = self.solution.windows
        return {"build_seconds": round(self.build_seconds, 3),
                "solve_seconds": round(self.solution.seconds, 3),
                "seconds": round(self.build_seconds + self.solution.seconds, 3),
                "max_window_seconds": round(max((w.milp_seconds + w.lp_seconds for w in wins),
                                                default=0.0), 3)}

    def _co2(self, rule: bool) -> float:
        """Kg CO2e per planned order of the window, rules' plan or optimal plan."""
        p = self.problem
        if rule:
            r = p.rule
            order, node, service, weight = r.order, r.node, r.service, r.weight
        else:
            a = plan_assignment(self.plans, self.solution.chosen)
            order, node, service, weight = a.order, a.node, a.service, a.weight
        m = self.in_window[order]
        kg = p.model.co2_kg(node[m], service[m], p.orders.region[order[m]], weight[m])
        n = int(self.in_window.sum())
        return float(kg.sum()) / n if n else 0.0

    @cached_property
    def orders(self) -> pd.DataFrame:
        """One row per planned order of the window: both decisions (nodes, services, number
        of shipments), both costs, the saving (rule − optimal) and the rules that decided."""
        p, sc = self.problem, self.problem.scenario
        nodes = np.array([n.name for n in sc.nodes] + [""])
        services = np.array([s.label for s in p.net.services] + [""])
        r = p.rule
        rule = pd.DataFrame({"i": r.order, "node": nodes[r.node], "service": services[r.service],
                             "carrier_rule": r.carrier_rule})
        a = plan_assignment(self.plans, self.solution.chosen)
        opt = pd.DataFrame({"i": a.order, "node": nodes[a.node], "service": services[a.service]})
        rg = rule.groupby("i").agg(rule_nodes=("node", _join), rule_services=("service", _join),
                                   carrier_rule=("carrier_rule", lambda v: _join(sorted(set(v)))),
                                   rule_shipments=("node", "size"))
        og = opt.groupby("i").agg(optimal_nodes=("node", _join),
                                  optimal_services=("service", _join),
                                  optimal_shipments=("node", "size"))
        df = self.labels.assign(rule_cost=self.rule_cost, optimal_cost=self.optimal_cost)
        df = df.join(rg).join(og)
        df["saving"] = df["rule_cost"] - df["optimal_cost"]
        df["differs"] = (df["rule_nodes"] != df["optimal_nodes"]) | \
            (df["rule_services"] != df["optimal_services"])
        return df[self.in_window].reset_index(drop=True)


def _rule_cost(problem: Problem) -> np.ndarray:
    """What the run paid per planned order: its shipments' ship cost and handling, plus the
    split penalty per extra shipment."""
    r, n = problem.rule, problem.orders.n
    count = np.bincount(r.order, minlength=n)
    return np.bincount(r.order, weights=r.cost, minlength=n) + \
        problem.model.split_penalty * np.maximum(count - 1, 0)


def _labels(run: RunResult, problem: Problem) -> pd.DataFrame:
    """Per planned order: its run id, channel, region and the sourcing and split rules that
    decided it."""
    o, sc, ids = run.orders, run.scenario, problem.orders.order_id
    return pd.DataFrame({
        "order_id": ids,
        "channel": np.array([c.name for c in sc.channels])[o["channel"][ids]],
        "region": np.array([r.metro for r in sc.regions])[o["region"][ids]],
        "sourcing_rule": o["sourcing_rule"][ids], "split_rule": o["split_rule"][ids]})


def optimise(run: RunResult, settings: Settings | None = None) -> OptimumResult:
    """The offline optimum of ``run``'s orders and the rules' gap to it (module docstring)."""
    settings = settings or Settings()
    t0 = time.perf_counter()
    problem = problem_from_run(run)
    plans = candidate_plans(problem, settings)
    build = time.perf_counter() - t0
    solution = solve(problem, plans, settings)
    rule = _rule_cost(problem)
    best = assignment_cost(problem, plan_assignment(plans, solution.chosen))
    best = np.where(np.isnan(best), rule, best)
    shipped = window_orders(run) & (run.orders["n_shipments"] > 0)
    n = int(shipped.sum())
    window_cost = KPIS["cost_per_order"].fn(run) * n
    return OptimumResult(problem, plans, solution, settings, rule, best, n, window_cost,
                         _labels(run, problem), build)
