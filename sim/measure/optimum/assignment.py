"""Assignments: any set of shipments serving the planned orders (the rules', the optimum's, or
one written by hand), priced with the same model the optimum minimises and checked against
the same constraints. ``assignment_cost`` is the cost function behind the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.measure.optimum.candidates import Plans
from sim.measure.optimum.problem import Problem

__all__ = ["Assignment", "plan_assignment", "rule_assignment", "assignment_cost",
           "check_assignment", "gap_pct"]

HOURS = 24.0


@dataclass(frozen=True)
class Assignment:
    """Shipments (``order`` indexes ``Problem.orders``; node, carrier service, weight lb, units)
    and the units they take per order × node × SKU."""

    order: np.ndarray
    node: np.ndarray
    service: np.ndarray
    weight: np.ndarray
    units: np.ndarray
    use_order: np.ndarray
    use_node: np.ndarray
    use_sku: np.ndarray
    use_qty: np.ndarray


def plan_assignment(plans: Plans, chosen: np.ndarray) -> Assignment:
    """The shipments of the chosen plan of each order (orders with ``chosen`` -1 get none)."""
    pick = chosen[chosen >= 0]
    s = np.isin(plans.ship_plan, pick)
    u = np.isin(plans.use_plan, pick)
    return Assignment(plans.order[plans.ship_plan[s]], plans.ship_node[s],
                      plans.ship_service[s], plans.ship_weight[s], plans.ship_units[s],
                      plans.order[plans.use_plan[u]], plans.use_node[u], plans.use_sku[u],
                      plans.use_qty[u])


def rule_assignment(problem: Problem) -> Assignment:
    """What the rules shipped for the planned orders."""
    r = problem.rule
    if r is None:
        raise ValueError("this problem has no rule plan (it was not built from a run)")
    return Assignment(r.order, r.node, r.service, r.weight, r.units, r.use_order, r.use_node,
                      r.use_sku, r.use_qty)


def assignment_cost(problem: Problem, a: Assignment) -> np.ndarray:
    """Cost of each planned order under ``a``: its shipments' rates and handling plus the split
    penalty per extra shipment (NaN for an order ``a`` does not ship)."""
    o, m = problem.orders, problem.model
    cost = m.cost(a.node, a.service, o.region[a.order], a.weight, a.units)
    count = np.bincount(a.order, minlength=o.n)
    total = np.bincount(a.order, weights=cost, minlength=o.n) + \
        m.split_penalty * np.maximum(count - 1, 0)
    return np.where(count > 0, total, np.nan)


def check_assignment(problem: Problem, a: Assignment) -> dict[str, float]:
    """How far ``a`` breaks the problem's constraints (all 0 for a feasible assignment):
    order lines not shipped exactly (units off), shipments scheduled after their order's latest
    delivery, units taken beyond usable stock, pick hours beyond capacity."""
    o, m = problem.orders, problem.model
    want = pd.Series(o.qty, index=pd.MultiIndex.from_arrays([o.line_order, o.sku]))
    got = pd.Series(a.use_qty, index=pd.MultiIndex.from_arrays([a.use_order, a.use_sku]))
    got = got.groupby(level=[0, 1]).sum()
    off = want.sub(got, fill_value=0).abs().sum()
    eta, day, hours = m.schedule(a.node, a.service, o.region[a.order], o.release[a.order],
                                 a.units)
    late = int((eta > problem.latest[a.order] + 1e-9).sum())
    return {"units_off": float(off), "late_shipments": late,
            "stock_short_units": _stock_short(problem, a),
            "capacity_over_hours": _capacity_over(problem, a.node, day, hours)}


def _stock_short(problem: Problem, a: Assignment) -> float:
    """Units taken beyond usable stock: at each release time, cumulative take − level."""
    sup, o = problem.supply, problem.orders
    finite = ~sup.unlimited[a.use_node]
    df = pd.DataFrame({"pair": sup.pair_of(a.use_node[finite], a.use_sku[finite]),
                       "t": o.release[a.use_order[finite]], "qty": a.use_qty[finite]})
    df = df.groupby(["pair", "t"], sort=True)["qty"].sum().reset_index()
    df["cum"] = df.groupby("pair")["qty"].cumsum()
    k = sup.step_at(df["pair"].to_numpy(), df["t"].to_numpy())
    level = np.where(k >= 0, sup.level[np.maximum(k, 0)], 0)
    return float(np.maximum(df["cum"].to_numpy() - level, 0).max(initial=0))


def _capacity_over(problem: Problem, node, day, hours) -> float:
    load = np.zeros_like(problem.capacity)
    np.add.at(load, (node, np.minimum(day, load.shape[1] - 1)), hours)
    return float(np.maximum(load - problem.capacity, 0).sum())


def gap_pct(cost: float, optimal: float) -> float:
    """How much dearer ``cost`` is than ``optimal``, in % of the optimal cost."""
    return 100.0 * (cost - optimal) / optimal if optimal else 0.0
