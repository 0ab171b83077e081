"""Prove the closed forms in ``inventory_theory`` against independent computations.

Each formula is checked two ways:

* against an independent Monte Carlo of the *policy itself*, written with numpy/pure Python
  only: Poisson arrivals generated from exponential inter-arrival times, the ordering rule
  applied order by order (r, Q), demand by demand (lost sales) or review by review (s, S),
  and exact time-weighted integrals of the piecewise-constant sample paths; and
* where possible against an exact brute-force computation that does not share the
  derivation (direct summation over a truncated Poisson support, a Markov-chain stationary
  distribution solved with linear algebra, Gauss-Legendre quadrature of the time integrals,
  algebraic identities such as E[IP] = r + (Q+1)/2).

The Monte Carlo comparisons use REPS = 10 independent replications and require the formula
to lie inside the 99.9% Student-t interval of the replication means. A fixed seed keeps the
test deterministic; the 99.9% level (rather than 95%) keeps it from depending on a lucky
seed across the 44 comparisons. Each comparison also asserts the interval is narrow
(half-width at most 2.5% of max(|value|, 0.1)), so a formula off by 5% cannot pass; only
for values below 0.1 (e.g. a base-stock backorder level of 0.02) is the guarantee the
absolute 0.0025 instead, and those are pinned exactly by the identity tests.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from inventory_theory import (
    Stationary,
    base_stock_poisson,
    lost_sales_base_stock_erlang_b,
    periodic_ss_zero_lead,
    rq_poisson,
)

REPS = 10
T_999_DF9 = 4.780912585  # two-sided 99.9% Student-t quantile, 9 degrees of freedom
POWER = 0.025  # CI half-width must be <= POWER * scale: a 5% formula error cannot pass
FLOOR = 0.1  # ... where scale = max(|exact|, FLOOR)


# --------------------------------------------------------------------------- helpers


def poisson_arrivals(lam: float, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times on [0, horizon) of a rate-lam Poisson process, from exponential gaps."""
    n = int(lam * horizon + 8 * math.sqrt(lam * horizon) + 20)
    times = np.cumsum(rng.exponential(1.0 / lam, size=n))
    while times[-1] < horizon:  # practically never: extend the process
        more = times[-1] + np.cumsum(rng.exponential(1.0 / lam, size=n))
        times = np.concatenate((times, more))
    return times[times < horizon]


def path_segments(times, deltas, x0, t0, t1):
    """Piecewise-constant path x(t) = x0 + (sum of deltas of events at times <= t).

    Returns (x, dur, order): x[i] is the value after the first i events (in time order),
    dur[i] the time it is held within [t0, t1], and order the sort permutation of events.
    So x[k] is also the value seen *just before* sorted event k.
    """
    order = np.argsort(times, kind="stable")
    x = x0 + np.concatenate(([0], np.cumsum(np.asarray(deltas)[order])))
    edges = np.concatenate(([t0], np.clip(np.asarray(times)[order], t0, t1), [t1]))
    return x, np.diff(edges), order


def check_mc(samples, exact: float, name: str) -> None:
    """Formula inside the 99.9% t-interval of the replication means, and interval narrow.

    "Narrow" means half-width <= POWER * max(|exact|, FLOOR): relative to the quantity
    itself, except that quantities below FLOOR (units or probability) are held to an absolute
    POWER * FLOOR = 0.0025.
    """
    samples = np.asarray(samples, dtype=float)
    assert len(samples) == REPS
    mean = samples.mean()
    half = T_999_DF9 * samples.std(ddof=1) / math.sqrt(REPS)
    scale = max(abs(exact), FLOOR)
    assert half <= POWER * scale, f"{name}: MC too noisy (half-width {half:.4g}, scale {scale})"
    assert abs(mean - exact) <= half, (
        f"{name}: formula {exact:.6g} outside MC interval {mean:.6g} +- {half:.3g}"
    )


def poisson_pmf(m: float, kmax: int) -> np.ndarray:
    """P(D = k), k = 0..kmax, D ~ Poisson(m), by the recursion p_k = p_{k-1} m / k."""
    p = np.empty(kmax + 1)
    p[0] = math.exp(-m)
    for k in range(1, kmax + 1):
        p[k] = p[k - 1] * m / k
    return p


def poisson_kmax(m: float) -> int:
    """A support cut-off whose Poisson tail mass is far below 1e-15."""
    return int(m + 12 * math.sqrt(m) + 40)


# ------------------------------------------------------------- (r, Q) Monte Carlo


def simulate_rq(lam, lead, r, Q, horizon, warmup, rng) -> dict[str, float]:
    """One replication of continuous-review (r, Q) with backorders, event by event."""
    demand_t = poisson_arrivals(lam, horizon, rng)
    # The policy, order by order: demands are unit-sized, so from position ip the position
    # falls to r after exactly ip - r more demands; an order of Q is then placed at that
    # demand's epoch (repeatedly while the position is still <= r).
    ip, used = r + Q, 0  # start with r + Q on hand, nothing on order
    order_idx = []  # index of the demand that triggers each order
    while True:
        used += ip - r
        if used > len(demand_t):
            break
        ip = r
        while ip <= r:
            ip += Q
            order_idx.append(used - 1)
    order_t = demand_t[np.asarray(order_idx, dtype=int)]
    arrive_t = order_t + lead
    times = np.concatenate((demand_t, arrive_t))
    deltas = np.concatenate((-np.ones(len(demand_t), int), np.full(len(arrive_t), Q)))
    ni, dur, order = path_segments(times, deltas, r + Q, warmup, horizon)
    span = horizon - warmup
    is_demand = order < len(demand_t)
    sorted_t = times[order]
    counted = is_demand & (sorted_t >= warmup)
    # units on order: each order contributes Q over [placed, placed + lead] within the window
    in_window = np.clip(arrive_t, warmup, horizon) - np.clip(order_t, warmup, horizon)
    return {
        "on_hand": float(np.maximum(ni, 0) @ dur) / span,
        "backorders": float(np.maximum(-ni, 0) @ dur) / span,
        "on_order": Q * float(in_window.sum()) / span,
        "orders_per_day": float(np.count_nonzero(order_t >= warmup)) / span,
        "fill_rate": float(np.mean(ni[:-1][counted] >= 1)),
    }


def replicate(sim, seed, *args) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    runs = [sim(*args, rng) for _ in range(REPS)]
    return {k: np.array([run[k] for run in runs]) for k in runs[0]}


# (lam, lead, r, Q, horizon days per replication)
RQ_CASES = [
    pytest.param(20.0, 2.0, 30, 10, 60000.0, id="low-fill lam20 L2 r30 Q10"),
    pytest.param(2.0, 1.0, 2, 6, 100000.0, id="lam2 L1 r2 Q6"),
    pytest.param(4.0, 2.0, -2, 12, 45000.0, id="negative-r lam4 L2 r-2 Q12"),
    pytest.param(2.0, 3.0, -5, 5, 8000.0, id="r=-Q lam2 L3 r-5 Q5"),
]


def check_against_mc(exact: Stationary, mc: dict[str, np.ndarray]) -> None:
    for name, samples in mc.items():
        check_mc(samples, getattr(exact, name), name)


@pytest.mark.parametrize(("lam", "lead", "r", "Q", "horizon"), RQ_CASES)
def test_rq_poisson_matches_monte_carlo(lam, lead, r, Q, horizon):
    exact = rq_poisson(lam, lead, r, Q)
    mc = replicate(simulate_rq, 1000 + r + 7 * Q, lam, lead, r, Q, horizon, 10 * lead + 20.0)
    check_against_mc(exact, mc)


@pytest.mark.parametrize(("lam", "lead", "S", "horizon"), [
    pytest.param(1.0, 2.0, 5, 100000.0, id="lam1 L2 S5"),
    pytest.param(3.0, 1.0, 2, 80000.0, id="low-fill lam3 L1 S2"),
])
def test_base_stock_matches_monte_carlo(lam, lead, S, horizon):
    exact = base_stock_poisson(lam, lead, S)
    mc = replicate(simulate_rq, 77 + S, lam, lead, S - 1, 1, horizon, 10 * lead + 20.0)
    check_against_mc(exact, mc)


# ------------------------------------------------------ (r, Q) exact cross-checks


@pytest.mark.parametrize(("lam", "lead", "r", "Q"), [
    (20.0, 2.0, 30, 10), (5.0, 1.0, 6, 8), (4.0, 2.0, -2, 12), (2.0, 3.0, -5, 5),
    (0.3, 10.0, 0, 1), (50.0, 4.0, 210, 25), (7.0, 0.0, 3, 4), (1.0, 1.0, -1, 1),
])
def test_rq_poisson_brute_force_and_identities(lam, lead, r, Q):
    exact = rq_poisson(lam, lead, r, Q)
    m = lam * lead
    kmax = poisson_kmax(m)
    p = poisson_pmf(m, kmax)
    k = np.arange(kmax + 1)
    ys = np.arange(r + 1, r + Q + 1)[:, None]  # inventory position, uniform
    net = ys - k[None, :]
    assert exact.on_hand == pytest.approx((np.maximum(net, 0) @ p).mean(), rel=1e-10, abs=1e-12)
    assert exact.backorders == pytest.approx((np.maximum(-net, 0) @ p).mean(), rel=1e-10,
                                             abs=1e-12)
    assert exact.fill_rate == pytest.approx(((net >= 1) @ p).mean(), rel=1e-10, abs=1e-12)
    # E[IP] = r + (Q+1)/2 and on_order = lam*lead, so the balance must hold exactly.
    assert exact.on_hand - exact.backorders + exact.on_order == pytest.approx(
        r + (Q + 1) / 2, abs=1e-9)
    assert exact.position == pytest.approx(r + (Q + 1) / 2, abs=1e-9)
    assert exact.on_order == pytest.approx(m, abs=1e-12)
    assert exact.orders_per_day == pytest.approx(lam / Q, rel=1e-12)
    assert exact.cost(2.0, 9.0, 50.0) == pytest.approx(
        2.0 * exact.on_hand + 9.0 * exact.backorders + 50.0 * lam / Q, rel=1e-12)


@pytest.mark.parametrize(("lam", "lead", "S"), [
    (5.0, 2.0, 12), (3.0, 1.0, 2), (100.0, 3.0, 320), (0.5, 4.0, 0), (2.0, 1.0, -3),
])
def test_base_stock_identity(lam, lead, S):
    exact = base_stock_poisson(lam, lead, S)
    assert exact.on_hand - exact.backorders == pytest.approx(S - lam * lead, abs=1e-9)
    assert exact == rq_poisson(lam, lead, S - 1, 1)
    assert exact.orders_per_day == pytest.approx(lam)


def test_rq_rejects_bad_input():
    with pytest.raises(ValueError):
        rq_poisson(1.0, 1.0, 2, 0)
    with pytest.raises(ValueError):
        rq_poisson(0.0, 1.0, 2, 3)
    with pytest.raises(ValueError):
        rq_poisson(1.0, -1.0, 2, 3)
    with pytest.raises(TypeError):
        rq_poisson(1.0, 1.0, 2.5, 3)


# ------------------------------------------------- periodic (s, S) Monte Carlo


def simulate_periodic(lam, review, s, S, n_periods, warm_periods, rng) -> dict[str, float]:
    """One replication of periodic-review (s, S), zero lead time, backorders."""
    horizon = n_periods * review
    demand_t = poisson_arrivals(lam, horizon, rng)
    period = np.minimum((demand_t // review).astype(int), n_periods - 1)
    counts = np.bincount(period, minlength=n_periods)
    post = np.empty(n_periods, dtype=int)
    ordered = np.zeros(n_periods, dtype=bool)
    level = S
    for n, demand in enumerate(counts.tolist()):  # the policy, review by review
        if level <= s:
            level = S
            ordered[n] = True
        post[n] = level
        level -= demand
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    j = np.arange(len(demand_t)) - first[period]  # demands earlier in the same period
    before = post[period] - j  # level seen by each demand
    # Level path: a segment starts at every review (level post[n]) and at every demand
    # (level before - 1); the net level is then constant until the next segment start.
    starts = np.concatenate((np.arange(n_periods) * review, demand_t))
    levels = np.concatenate((post, before - 1))
    order = np.argsort(starts, kind="stable")
    starts, levels = starts[order], levels[order]
    dur = np.diff(np.concatenate((starts, [horizon])))
    keep = starts >= warm_periods * review
    span = (n_periods - warm_periods) * review
    counted = period >= warm_periods
    return {
        "on_hand": float(np.maximum(levels[keep], 0) @ dur[keep]) / span,
        "backorders": float(np.maximum(-levels[keep], 0) @ dur[keep]) / span,
        "orders_per_day": float(ordered[warm_periods:].sum()) / span,
        "fill_rate": float(np.mean(before[counted] >= 1)),
    }


@pytest.mark.parametrize(("lam", "review", "s", "S", "n_periods"), [
    pytest.param(10.0, 1.0, 5, 25, 100000, id="lam10 R1 s5 S25"),
    pytest.param(30.0, 1.0, 2, 20, 8000, id="stock-outs lam30 R1 s2 S20"),
    pytest.param(4.0, 0.5, -2, 6, 40000, id="negative-s lam4 R0.5 s-2 S6"),
])
def test_periodic_ss_matches_monte_carlo(lam, review, s, S, n_periods):
    exact = periodic_ss_zero_lead(lam, review, s, S)
    mc = replicate(simulate_periodic, 500 + S, lam, review, s, S, n_periods, 50)
    check_against_mc(exact, mc)
    assert exact.on_order == 0.0
    assert exact.position == pytest.approx(exact.on_hand - exact.backorders, abs=1e-12)


# ------------------------------------------------ periodic (s, S) exact checks


@pytest.mark.parametrize(("lam", "review", "s", "S"), [
    (10.0, 1.0, 5, 25), (30.0, 1.0, 2, 20), (4.0, 0.5, -2, 6), (0.2, 1.0, 0, 1),
    (3.0, 2.0, 10, 11), (1.0, 7.0, -10, -3), (60.0, 0.25, 0, 40),
])
def test_periodic_ss_markov_chain_and_quadrature(lam, review, s, S):
    """Exact check that shares nothing with the renewal derivation.

    The post-review level is a Markov chain on {s+1..S}: from y, the next pre-review level
    is y - D_R; it is kept if > s, otherwise raised to S. Its stationary distribution is
    solved with linear algebra, and the within-period time integrals are done by
    Gauss-Legendre quadrature of E[f(y - D(t))] (smooth in t, so quadrature is exact to
    rounding with enough nodes).
    """
    exact = periodic_ss_zero_lead(lam, review, s, S)
    levels = np.arange(s + 1, S + 1)
    n = len(levels)
    m = lam * review
    kmax = poisson_kmax(m) + n
    p = poisson_pmf(m, kmax)
    P = np.zeros((n, n))
    for a, y in enumerate(levels):
        for d in range(kmax + 1):
            x = y - d
            P[a, x - (s + 1) if x > s else n - 1] += p[d]
    A = np.vstack((P.T - np.eye(n), np.ones(n)))
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    pi = np.linalg.lstsq(A, rhs, rcond=None)[0]
    p_order = sum(pi[a] * p[max(y - s, 0):].sum() for a, y in enumerate(levels))
    assert exact.orders_per_day == pytest.approx(p_order / review, rel=1e-9)

    nodes, weights = np.polynomial.legendre.leggauss(80)
    t = review * (nodes + 1) / 2
    w = weights * review / 2 / review  # (1/R) * dt
    k = np.arange(kmax + 1)
    ki = min(kmax, poisson_kmax(lam * review))
    on_hand = backorders = fill = 0.0
    for tt, ww in zip(t, w, strict=True):
        pt = poisson_pmf(lam * tt, ki)
        net = levels[:, None] - k[None, : ki + 1]
        on_hand += ww * pi @ (np.maximum(net, 0) @ pt)
        backorders += ww * pi @ (np.maximum(-net, 0) @ pt)
        fill += ww * pi @ ((net >= 1) @ pt)
    assert exact.on_hand == pytest.approx(on_hand, rel=1e-9, abs=1e-12)
    assert exact.backorders == pytest.approx(backorders, rel=1e-9, abs=1e-12)
    assert exact.fill_rate == pytest.approx(fill, rel=1e-9, abs=1e-12)
    mean_post = float(pi @ levels)
    assert exact.on_hand - exact.backorders == pytest.approx(mean_post - m / 2, abs=1e-9)


def test_periodic_ss_rejects_bad_input():
    with pytest.raises(ValueError):
        periodic_ss_zero_lead(1.0, 1.0, 5, 5)
    with pytest.raises(ValueError):
        periodic_ss_zero_lead(1.0, 0.0, 1, 5)


# ----------------------------------------------------------------------- Erlang B


def test_erlang_b_small_cases():
    for a in (0.1, 0.5, 1.0, 3.7, 20.0):
        assert lost_sales_base_stock_erlang_b(a, 1.0, 1) == pytest.approx(a / (1 + a), rel=1e-14)
    assert lost_sales_base_stock_erlang_b(1.0, 1.0, 2) == pytest.approx(0.2, abs=1e-15)
    assert lost_sales_base_stock_erlang_b(2.0, 0.5, 2) == pytest.approx(0.2, abs=1e-15)
    assert lost_sales_base_stock_erlang_b(5.0, 1.0, 0) == 1.0
    assert lost_sales_base_stock_erlang_b(5.0, 0.0, 3) == 0.0


@pytest.mark.parametrize(("a", "S"), [(0.3, 1), (4.0, 6), (10.0, 10), (25.0, 30), (80.0, 70)])
def test_erlang_b_direct_formula(a, S):
    terms = [a**k / math.factorial(k) for k in range(S + 1)]
    assert lost_sales_base_stock_erlang_b(a, 1.0, S) == pytest.approx(terms[-1] / sum(terms),
                                                                      rel=1e-11)


def simulate_lost_sales(lam, lead, S, horizon, warmup, rng) -> float:
    """Fraction of demand lost under one-for-one replenishment with lost sales."""
    on_hand = S
    pipeline: deque[float] = deque()  # arrival times, FIFO since lead time is constant
    lost = seen = 0
    for t in poisson_arrivals(lam, horizon, rng):
        while pipeline and pipeline[0] <= t:
            pipeline.popleft()
            on_hand += 1
        measured = t >= warmup
        seen += measured
        if on_hand > 0:
            on_hand -= 1
            pipeline.append(t + lead)
        else:
            lost += measured
    return lost / seen


@pytest.mark.parametrize(("lam", "lead", "S"), [(5.0, 2.0, 10), (8.0, 0.5, 2)])
def test_erlang_b_matches_lost_sales_monte_carlo(lam, lead, S):
    exact = lost_sales_base_stock_erlang_b(lam, lead, S)
    rng = np.random.default_rng(31 + S)
    samples = [simulate_lost_sales(lam, lead, S, 20000.0, 20.0, rng) for _ in range(REPS)]
    check_mc(samples, exact, "lost fraction")
