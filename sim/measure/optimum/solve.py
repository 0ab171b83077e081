"""Choose one candidate plan per order with HiGHS, in rolling daily windows.

Window d holds the orders released on day d (``Settings.window_days`` days per window; 1 by
default). Variables: one binary per candidate plan, and one
*unserved* slack per order (cost ``UNSERVED``, far above any plan: used only when no candidate
is left with stock or capacity). Constraints, built as one sparse matrix per window:

* each order takes exactly one plan (or its slack);
* **stock**: for every node×SKU and every step of its usable level (``Supply``) from which an
  order of the window may take, the units taken by the window's orders released by then ≤ the
  level − the units earlier windows' plans took (rows that cannot bind are left out); and the
  window's whole take ≤ the ``Headroom`` at the window's end less what earlier windows took,
  so the rules' plan of every later order stays feasible;
* **pick capacity**: per node and day, the pick hours of the shipments whose pick starts that
  day ≤ the day's capacity − the hours earlier windows' plans use there − the hours the rules'
  plan of later windows' orders needs there.

Because the rules' plan of the window's orders always fits these rows, no order is left
unplanned and every window's MILP costs at most what the rules' plan of its orders costs (on
the same model): the rolling plan is never dearer than the rules. Keeping that room for the
rules' later plans is what daily windows cost in optimality (measured in OPTIMUM_README.md).

The **MILP** of each window (``scipy.optimize.milp``, integral plans) is the achievable plan;
what it takes is carried to the next window. The **lower bound** solves the LP relaxation of
every window with the coupling dropped: each window may take the whole level (nothing taken
before it) and the whole capacity of every day. Every constraint of the full-horizon problem
implies its window's relaxed one, so the sum of these LP optima is a lower bound on the best
plan over the whole horizon (for the same candidates), and the rolling MILP is at or above it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from sim.measure.optimum.candidates import Plans, Settings, expand
from sim.measure.optimum.problem import Problem

__all__ = ["UNSERVED", "Window", "Solution", "solve"]

HOURS = 24.0
#: Cost of leaving an order unplanned (no candidate fits any more).
UNSERVED = 1e5


@dataclass(frozen=True)
class Window:
    """One day's solve: sizes, objective values and timings."""

    day: int                # first day of the window / window_days
    orders: int
    plans: int
    rows: int
    milp: float
    lp: float
    milp_seconds: float
    lp_seconds: float
    unserved: int
    mip_gap: float


@dataclass
class Solution:
    """The rolling plan: ``chosen[i]`` is order i's plan (-1: unserved); ``lp_cost[i]`` the
    order's cost in its window's relaxed LP (fractional plans; sums to the lower bound)."""

    chosen: np.ndarray
    lp_cost: np.ndarray
    windows: list[Window] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def milp_total(self) -> float:
        """Σ window MILP objectives (slack included)."""
        return float(sum(w.milp for w in self.windows))

    @property
    def lp_total(self) -> float:
        """Σ window LP relaxations: the lower bound."""
        return float(sum(w.lp for w in self.windows))

    @property
    def unserved(self) -> int:
        """Orders the rolling plan left without a plan."""
        return int((self.chosen < 0).sum())


@dataclass(frozen=True)
class _Block:
    """The window's rows: COO entries (row, column, value) and row bounds."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    upper: np.ndarray


def _largest_take(key: np.ndarray, plan: np.ndarray, order: np.ndarray, value: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (key, order), sorted so: the most any one plan of the order takes of ``key`` (a
    plan's entries for one key summed first). An order takes one plan, so Σ of these bounds
    what a window's orders can take of a key: rows below that bound cannot bind."""
    kp, inv = np.unique(np.stack([key, plan]), axis=1, return_inverse=True)
    per_plan = np.bincount(inv.ravel(), weights=value, minlength=kp.shape[1])
    plan_order = np.zeros(int(plan.max(initial=-1)) + 1, dtype=np.int64)
    plan_order[plan] = order
    ko, inv = np.unique(np.stack([kp[0], plan_order[kp[1]]]), axis=1, return_inverse=True)
    most = np.zeros(ko.shape[1])
    np.maximum.at(most, inv.ravel(), per_plan)
    return ko[0], ko[1], most


def _stock_rows(problem: Problem, plans: Plans, p0: int, p1: int, taken: np.ndarray | None,
                end: float) -> _Block:
    """Cumulative stock rows of plans p0..p1 (``taken``: units per pair earlier windows took,
    or None for the relaxed bound), and in the rolling plan one row per pair keeping the
    window's whole take within the headroom at the window's ``end``. Orders are indexed in
    release order, so within a pair the step in force never decreases with the order index."""
    sup, o = problem.supply, problem.orders
    u0, u1 = np.searchsorted(plans.use_plan, [p0, p1])
    plan, node = plans.use_plan[u0:u1], plans.use_node[u0:u1]
    finite = ~sup.unlimited[node]
    plan, node = plan[finite], node[finite]
    pair = sup.pair_of(node, plans.use_sku[u0:u1][finite])
    qty = plans.use_qty[u0:u1][finite].astype(float)
    order = plans.order[plan]
    if not len(plan):
        return _Block(*(np.zeros(0, dtype=np.int64),) * 2, np.zeros(0), np.zeros(0))
    sort = np.lexsort((order, pair))
    plan, pair, qty, order = plan[sort], pair[sort], qty[sort], order[sort]
    step = sup.step_at(pair, o.release[order])
    o_pair, o_order, most = _largest_take(pair, plan, order, qty)
    o_step = sup.step_at(o_pair, o.release[o_order])
    cum = np.cumsum(most)
    before = np.concatenate([[0.0], cum])[np.searchsorted(o_pair, o_pair, side="left")]
    level = np.where(o_step >= 0, sup.level[np.maximum(o_step, 0)], 0).astype(float)
    rhs = level - (taken[o_pair] if taken is not None else 0.0)
    last_of_step = np.r_[(o_pair[1:] != o_pair[:-1]) | (o_step[1:] != o_step[:-1]), True]
    binding = last_of_step & (cum - before > rhs + 1e-9)
    r_pair, r_step, r_rhs = o_pair[binding], o_step[binding], rhs[binding]
    # row k: every use of its pair by an order released by its step (a prefix of the pair)
    width = int(step.max()) + 2
    p_start = np.searchsorted(pair, r_pair, side="left")
    p_end = np.searchsorted(pair * width + step + 1, r_pair * width + r_step + 1, side="right")
    if taken is not None and problem.headroom is not None:
        pairs, first = np.unique(o_pair, return_index=True)
        h_rhs = problem.headroom.at(pairs, end) - taken[pairs]
        h_bind = np.add.reduceat(most, first) > h_rhs + 1e-9
        h_pair = pairs[h_bind]
        p_start = np.concatenate([p_start, np.searchsorted(pair, h_pair, side="left")])
        p_end = np.concatenate([p_end, np.searchsorted(pair, h_pair, side="right")])
        r_rhs = np.concatenate([r_rhs, h_rhs[h_bind]])
    counts = p_end - p_start
    idx = expand(p_start, counts)
    return _Block(np.repeat(np.arange(len(r_rhs)), counts), plan[idx] - p0, qty[idx], r_rhs)


def _capacity_rows(problem: Problem, plans: Plans, p0: int, p1: int, used: np.ndarray | None
                   ) -> _Block:
    """Pick-hour rows per node and day of plans p0..p1 (``used``: hours earlier windows'
    plans use, or None for the relaxed bound)."""
    s0, s1 = np.searchsorted(plans.ship_plan, [p0, p1])
    plan = plans.ship_plan[s0:s1]
    node, day = plans.ship_node[s0:s1], plans.ship_day[s0:s1]
    hours = plans.ship_hours[s0:s1]
    cap = problem.capacity
    if len(day) and day.max() >= cap.shape[1]:
        raise ValueError(f"a pick starts on day {day.max()}, past the capacity table "
                         f"({cap.shape[1]} days)")
    cell = node * cap.shape[1] + day
    c_cell, _, most = _largest_take(cell, plan, plans.order[plan], hours)
    cells, inv = np.unique(c_cell, return_inverse=True)
    demand = np.bincount(inv.ravel(), weights=most, minlength=len(cells))
    rhs = cap.ravel()[cells] - (used.ravel()[cells] if used is not None else 0.0)
    binding = demand > rhs + 1e-9
    row = np.full(len(cells), -1)
    row[binding] = np.arange(int(binding.sum()))
    r = row[np.searchsorted(cells, cell)] if len(cells) else np.zeros(0, dtype=np.int64)
    keep = r >= 0
    return _Block(r[keep], plan[keep] - p0, hours[keep], rhs[binding])


def _solve_window(c: np.ndarray, n_orders: int, order_col: np.ndarray, blocks: list[_Block],
                  integral: bool, settings: Settings):
    """One HiGHS solve: columns are the window's plans, then one slack per order."""
    n_plans = len(order_col)
    rows = [np.concatenate([order_col, np.arange(n_orders)])]
    cols = [np.arange(n_plans + n_orders)]
    vals = [np.ones(n_plans + n_orders)]
    lower, upper = [np.ones(n_orders)], [np.ones(n_orders)]
    offset = n_orders
    for b in blocks:
        rows.append(b.rows + offset)
        cols.append(b.cols)
        vals.append(b.vals)
        lower.append(np.full(len(b.upper), -np.inf))
        upper.append(b.upper)
        offset += len(b.upper)
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(offset, n_plans + n_orders))
    cost = np.concatenate([c, np.full(n_orders, UNSERVED)])
    t0 = time.perf_counter()
    res = milp(cost, constraints=LinearConstraint(a, np.concatenate(lower),
                                                  np.concatenate(upper)),
               integrality=np.full(len(cost), 1 if integral else 0), bounds=Bounds(0, 1),
               options={"time_limit": settings.time_limit_s,
                        "mip_rel_gap": settings.mip_rel_gap, "presolve": True})
    seconds = time.perf_counter() - t0
    if res.x is None:
        raise RuntimeError(f"HiGHS found no solution for a window: {res.message}")
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0) if integral else 0.0
    return res.x, float(res.fun), seconds, offset, gap


def solve(problem: Problem, plans: Plans, settings: Settings | None = None) -> Solution:
    """The rolling MILP plan and the relaxed LP bound, window by window (module docstring)."""
    settings = settings or Settings()
    t_start = time.perf_counter()
    o = problem.orders
    chosen = np.full(o.n, -1, dtype=np.int64)
    lp_cost = np.zeros(o.n)
    taken = np.zeros(len(problem.scenario.nodes) * problem.supply.n_skus)
    span = HOURS * settings.window_days
    days = np.floor(o.release / span).astype(np.int64)
    # pick hours taken: by earlier windows' plans, and kept for the rule's plan of later ones
    used = np.zeros_like(problem.capacity)
    rule = problem.rule
    if rule is not None and problem.rule_day is not None:
        np.add.at(used, (rule.node, problem.rule_day), problem.rule_hours)
        rule_window = days[rule.order]
    out = Solution(chosen, lp_cost)
    for day in np.unique(days).tolist():
        i0, i1 = np.searchsorted(days, [day, day + 1])
        p0, p1 = np.searchsorted(plans.order, [i0, i1])
        order_col = plans.order[p0:p1] - i0
        c = plans.cost[p0:p1]
        if rule is not None and problem.rule_day is not None:
            mine = rule_window == day
            np.add.at(used, (rule.node[mine], problem.rule_day[mine]), -problem.rule_hours[mine])
        end = (day + 1) * span
        x, milp_obj, milp_s, n_rows, gap = _solve_window(
            c, i1 - i0, order_col, [_stock_rows(problem, plans, p0, p1, taken, end),
                                    _capacity_rows(problem, plans, p0, p1, used)],
            True, settings)
        pick = np.flatnonzero(x[:p1 - p0] > 0.5) + p0
        chosen[plans.order[pick]] = pick
        _take(problem, plans, pick, taken, used)
        xl, lp_obj, lp_s, _, _ = _solve_window(
            c, i1 - i0, order_col, [_stock_rows(problem, plans, p0, p1, None, end),
                                    _capacity_rows(problem, plans, p0, p1, None)],
            False, settings)
        np.add.at(lp_cost, plans.order[p0:p1], xl[:p1 - p0] * c)
        lp_cost[i0:i1] += xl[p1 - p0:] * UNSERVED
        out.windows.append(Window(int(day), int(i1 - i0), int(p1 - p0), int(n_rows), milp_obj,
                                  lp_obj, milp_s, lp_s, int((chosen[i0:i1] < 0).sum()), gap))
    out.seconds = time.perf_counter() - t_start
    return out


def _take(problem: Problem, plans: Plans, pick: np.ndarray, taken: np.ndarray,
          used: np.ndarray) -> None:
    """Carry the chosen plans' stock and pick hours into the next windows."""
    m = np.isin(plans.use_plan, pick)
    node = plans.use_node[m]
    finite = ~problem.supply.unlimited[node]
    np.add.at(taken, problem.supply.pair_of(node[finite], plans.use_sku[m][finite]),
              plans.use_qty[m][finite])
    s = np.isin(plans.ship_plan, pick)
    np.add.at(used, (plans.ship_node[s], plans.ship_day[s]), plans.ship_hours[s])
