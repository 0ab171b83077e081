"""Known-result tests: the inventory model reproduces textbook stationary results.

One node, one SKU, single-unit Poisson demand, a constant lead time and backorders; every
figure is a time average over the window from the simulation's exact integrals, compared with
the closed forms in ``inventory_theory`` (Hadley & Whitin; Zipkin 2000, ch. 6–7; Zheng &
Federgruen 1991) inside the 95% confidence interval of independent replications. Parameter
sets include frequent stock-outs (fill rate below 90%), where the old position (which ignored
backorders) was furthest off.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import run_checked, single_item_scenario
from inventory_theory import (
    Stationary,
    base_stock_poisson,
    periodic_ss_zero_lead,
    rq_poisson,
)
from scipy import stats

from sim.experiments.replication import experiment_seeds

HOLDING_PER_UNIT_DAY = 0.10       # unit cost 10 × 3.65 / year ÷ 365
BACKORDER_PER_UNIT_DAY = 1.0
ORDER_COST = 50.0


def single_item(tmp_path: Path, policy: dict, lam: float, lead: float, days: int,
                warmup: int, opening: int, seed: int):
    """The textbook system with this file's costs (h = 0.10, b = 1.00 a unit-day, K = 50)."""
    return single_item_scenario(
        tmp_path, policy, lam, lead, days, warmup, opening, seed,
        supplier={"order_cost": ORDER_COST},
        costs={"holding_rate_per_year": HOLDING_PER_UNIT_DAY * 365 / 10.0,
               "backorder_per_unit_day": BACKORDER_PER_UNIT_DAY})


def measured(out) -> dict[str, float]:
    """Per-day figures of one run, in the theory's terms."""
    k, run = out.kpis["kpis"], out.run
    days = run.scenario.horizon_days - run.scenario.warmup_days
    costs = out.kpis["breakdowns"]["total_cost"]
    t = run.inventory["po_t"]
    pos = int(((t >= run.scenario.warmup_days * 24) & (t < run.scenario.horizon_days * 24)).sum())
    return {"on_hand": k["avg_on_hand_units"], "backorders": k["avg_backorder_units"],
            "on_order": k["avg_on_order_units"],
            "position": k["avg_inventory_position_units"],
            "orders_per_day": pos / days, "fill_rate": k["unit_fill_rate_pct"] / 100.0,
            "cost": (costs["holding"] + costs["backorder"] + costs["ordering"]) / days}


def replicate(tmp_path, policy, lam, lead, days, warmup, opening, reps=10, root=2026):
    rows = [measured(run_checked(single_item(tmp_path, policy, lam, lead, days, warmup,
                                             opening, seed)))
            for seed in experiment_seeds(root, reps)]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def assert_within_ci(sim: dict[str, np.ndarray], theory: Stationary, keys: tuple[str, ...]):
    """Each theory value lies inside the 95% t-interval of the replication means, and the
    interval is informative (narrower than 15% of the value, or 0.05 units when it is ~0)."""
    expected = {"cost": theory.cost(HOLDING_PER_UNIT_DAY, BACKORDER_PER_UNIT_DAY, ORDER_COST),
                **{k: getattr(theory, k) for k in keys if k != "cost"}}
    report = []
    for key in keys:
        x = sim[key]
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
        report.append(f"{key}: sim {x.mean():.4f} ± {half:.4f} vs theory {expected[key]:.4f}")
        assert abs(x.mean() - expected[key]) <= half, "\n".join(report)
        assert half <= max(0.15 * abs(expected[key]), 0.05), "\n".join(report)


KEYS = ("on_hand", "backorders", "on_order", "orders_per_day", "fill_rate", "cost")


@pytest.mark.parametrize(("r", "Q"), [(30, 20), (46, 40)], ids=["fill-50pct", "fill-98pct"])
def test_rq_poisson_backorders(tmp_path, r, Q):
    lam, lead = 20.0, 2.0
    theory = rq_poisson(lam, lead, r, Q)
    sim = replicate(tmp_path, {"policy": "RQ", "s_units": r, "Q_units": Q}, lam, lead,
                    days=160, warmup=10, opening=r + Q)
    assert_within_ci(sim, theory, KEYS)
    if r == 30:
        assert theory.fill_rate < 0.9


def test_base_stock_poisson_backorders(tmp_path):
    lam, lead, base = 10.0, 3.0, 36
    theory = base_stock_poisson(lam, lead, base)
    assert theory.fill_rate < 0.9
    sim = replicate(tmp_path, {"policy": "base_stock", "S_units": base}, lam, lead,
                    days=360, warmup=10, opening=base, reps=14)
    assert_within_ci(sim, theory, KEYS)
    # Base-stock keeps the position at S exactly (every demand is replaced at once).
    assert np.allclose(sim["position"], base, atol=1e-6)


@pytest.mark.parametrize(("lam", "s", "S"), [(10.0, 5, 25), (30.0, 2, 20)],
                         ids=["fill-high", "fill-below-90pct"])
def test_periodic_ss_zero_lead_time(tmp_path, lam, s, S):
    review = 1.0
    theory = periodic_ss_zero_lead(lam, review, s, S)
    sim = replicate(tmp_path, {"policy": "periodic", "review_days": review, "s_units": s,
                               "S_units": S}, lam, 0.0, days=150, warmup=5, opening=S)
    assert_within_ci(sim, theory, ("on_hand", "backorders", "orders_per_day", "fill_rate",
                                   "cost"))
    if s == 2:
        assert theory.fill_rate < 0.9
