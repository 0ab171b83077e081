"""Exact textbook inventory-theory results used as known answers for the simulator.

Every model here is single-item, with unit-sized Poisson demand of rate ``lam`` per day, a
constant replenishment lead time ``lead`` days, and (except for the Erlang-B result) full
backordering. All averages are long-run time averages in continuous time; the fill rate is a
per-demand average, obtained from the time-stationary distribution by PASTA (Poisson
Arrivals See Time Averages).

Sources:

* P. H. Zipkin, *Foundations of Inventory Management*, McGraw-Hill (2000), ch. 6 (the
  (r, Q) and base-stock models with Poisson demand: uniform inventory position,
  ``IN(t) = IP(t - L) - D(t - L, t]``) and ch. 7 (renewal analysis of periodic (s, S)).
* L. V. Snyder and Z.-J. M. Shen, *Fundamentals of Supply Chain Theory*, Wiley,
  ch. 4-5 (base-stock and (r, Q) policies, the Poisson loss function, type-2 fill rate).
* Y.-S. Zheng and A. Federgruen, "Finding optimal (s, S) policies is about as simple as
  evaluating a single policy", *Operations Research* 39(4) (1991): the renewal-mass
  recursion (their ``m(j)``, ``u(j)`` here) for the stationary post-review level of (s, S).
* G. Hadley and T. M. Whitin, *Analysis of Inventory Systems*, Prentice-Hall (1963):
  exact (Q, r) time averages with Poisson demand, backorders and constant lead time.
* Erlang's loss formula for lost-sales base stock: with Poisson demand and one-for-one
  replenishment, the outstanding orders form an M/G/S/S loss system, so by Palm's
  theorem the fraction of demand lost is Erlang B (a classical result).

The Poisson expectations are evaluated with exact closed forms rather than by summing a
truncated support, so no truncation error enters. For ``D ~ Poisson(m)`` and integer ``y``
(``F`` the cdf, ``G = 1 - F`` the survival function, computed by scipy without cancellation):

* ``E[(y - D)+] = y F(y) - m F(y - 1)``  (from ``d p(d) = m p(d - 1)``),
* ``E[(D - y)+] = m G(y - 1) - y G(y)``  (the Poisson first-order loss function),

both valid for every integer ``y`` (for ``y < 0`` they give ``0`` and ``m - y``). The two
satisfy ``E[(y - D)+] - E[(D - y)+] = y - m``; tests check that identity numerically, which
guards the two independently coded expressions against each other.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

__all__ = [
    "Stationary",
    "base_stock_poisson",
    "lost_sales_base_stock_erlang_b",
    "periodic_ss_zero_lead",
    "rq_poisson",
]


@dataclass(frozen=True)
class Stationary:
    """Long-run averages of a stationary single-item inventory system.

    Attributes:
        on_hand: time-average physical on-hand units, ``E[IN+]``.
        backorders: time-average backordered units, ``E[IN-]``.
        on_order: time-average units on order (in the replenishment pipeline).
        position: time-average inventory position, ``on_hand + on_order - backorders``.
        orders_per_day: replenishment orders placed per day.
        fill_rate: type-2 fill rate, the fraction of (unit) demands filled immediately from
            stock, i.e. ``P(IN >= 1)`` just before a demand; with Poisson demand this equals
            the time-stationary probability (PASTA).
    """

    on_hand: float
    backorders: float
    on_order: float
    position: float
    orders_per_day: float
    fill_rate: float

    def cost(self, h: float, b: float, K: float) -> float:
        """Long-run cost per day: ``h``/``b`` per unit-day held/backordered, ``K`` per order."""
        return h * self.on_hand + b * self.backorders + K * self.orders_per_day


def _check_rate(lam: float) -> float:
    lam = float(lam)
    if not (lam > 0 and math.isfinite(lam)):
        raise ValueError(f"demand rate lam must be positive and finite, got {lam!r}")
    return lam


def _check_lead(lead: float) -> float:
    lead = float(lead)
    if not (lead >= 0 and math.isfinite(lead)):
        raise ValueError(f"lead time must be >= 0 and finite, got {lead!r}")
    return lead


def _poisson_partial_expectations(y: np.ndarray, m: float) -> tuple[np.ndarray, ...]:
    """Elementwise ``E[(y-D)+]``, ``E[(D-y)+]`` and ``P(D <= y-1)`` for ``D ~ Poisson(m)``."""
    y = np.asarray(y, dtype=float)
    cdf_y = poisson.cdf(y, m)
    cdf_ym1 = poisson.cdf(y - 1, m)
    sf_y = poisson.sf(y, m)
    sf_ym1 = poisson.sf(y - 1, m)
    # Both closed forms are exact for all integers y; for y <= 0 the first is 0 (cdf(y-1)=0
    # and y*cdf(y) is 0 or y*0) and the second is m - y (sf = 1 below zero).
    over = y * cdf_y - m * cdf_ym1
    under = m * sf_ym1 - y * sf_y
    return np.maximum(over, 0.0), np.maximum(under, 0.0), cdf_ym1


def rq_poisson(lam: float, lead: float, r: int, Q: int) -> Stationary:
    """Exact stationary averages of a continuous-review (r, Q) policy with Poisson demand.

    Policy: whenever the inventory position (on hand + on order - backorders) drops to the
    reorder point ``r`` an order of ``Q`` units is placed; it arrives ``lead`` days later.
    Demand is unit-sized, so the position never undershoots ``r`` and, in steady state, is
    uniform on ``{r+1, ..., r+Q}`` (Zipkin 2000, ch. 6; Hadley & Whitin 1963).
    Net inventory satisfies ``IN(t) = IP(t - L) - D(t - L, t]`` with the lead-time demand
    ``D ~ Poisson(lam * lead)`` independent of ``IP(t - L)``, hence::

        on_hand    = (1/Q) sum_{y=r+1}^{r+Q} E[(y - D)+]
        backorders = (1/Q) sum_y E[(D - y)+]
        fill_rate  = (1/Q) sum_y P(D <= y - 1)
        on_order   = lam * lead            (Little's law on the pipeline)
        orders_per_day = lam / Q

    ``position`` is computed as ``on_hand + on_order - backorders`` and so equals
    ``r + (Q + 1) / 2`` up to rounding; tests use that as a consistency check.

    Any integer ``r`` is allowed, including negative reorder points (``r >= -Q`` is the
    practically meaningful range; below it the system is permanently backordered but the
    formulas remain exact). ``Q`` must be a positive integer; ``lead`` may be 0.
    """
    lam = _check_rate(lam)
    lead = _check_lead(lead)
    r = operator.index(r)
    Q = operator.index(Q)
    if Q < 1:
        raise ValueError(f"order quantity Q must be >= 1, got {Q}")
    m = lam * lead
    ys = np.arange(r + 1, r + Q + 1)
    over, under, filled = _poisson_partial_expectations(ys, m)
    on_hand = float(over.mean())
    backorders = float(under.mean())
    on_order = m
    return Stationary(
        on_hand=on_hand,
        backorders=backorders,
        on_order=on_order,
        position=on_hand + on_order - backorders,
        orders_per_day=lam / Q,
        fill_rate=float(filled.mean()),
    )


def base_stock_poisson(lam: float, lead: float, S: int) -> Stationary:
    """Exact stationary averages of a base-stock (S-1, S) policy with Poisson demand.

    Every demand triggers a one-unit order, so the inventory position is always ``S`` and
    the net inventory is ``S - D`` with ``D ~ Poisson(lam * lead)`` (Zipkin 2000, sec. 6.2;
    Snyder & Shen ch. 4). This is ``rq_poisson(lam, lead, S - 1, 1)``; in particular
    ``on_hand - backorders = S - lam * lead``.
    """
    S = operator.index(S)
    return rq_poisson(lam, lead, S - 1, 1)


def _renewal_mass(p: np.ndarray, one_minus_p0: float) -> np.ndarray:
    """Renewal mass ``u(j) = sum_{k>=0} P(D_1 + ... + D_k = j)`` for ``j = 0..len(p)-1``.

    ``p[k] = P(D = k)``. Solves the renewal equation ``u = delta_0 + p * u`` (``*`` a
    discrete convolution): ``u(0) = 1/(1 - p0)`` and
    ``u(j) = sum_{k=1}^{j} p_k u(j-k) / (1 - p0)`` (the recursion of Zheng & Federgruen 1991).
    ``1 - p0`` is passed in so it can be computed without cancellation.
    """
    n = len(p)
    u = np.empty(n)
    u[0] = 1.0 / one_minus_p0
    for j in range(1, n):
        # sum_{k=1}^{j} p[k] * u[j-k]
        u[j] = float(np.dot(p[1 : j + 1], u[j - 1 :: -1])) / one_minus_p0
    return u


def periodic_ss_zero_lead(lam: float, review: float, s: int, S: int) -> Stationary:
    """Exact stationary averages of a periodic-review (s, S) policy with zero lead time.

    Every ``review`` days the level ``x`` (net inventory = inventory position, since orders
    arrive instantly) is inspected; if ``x <= s`` an order brings it up to ``S``, otherwise
    nothing is ordered. Hence the post-review level ``y`` lies in ``{s+1, ..., S}``. Demand
    between reviews is Poisson, so the per-period demand ``D_R ~ Poisson(lam * review)``.

    Derivation (renewal theory; Zipkin 2000, ch. 7; Zheng & Federgruen 1991): a cycle
    starts at each order (post-review level ``S``). The post-review level at successive
    reviews is ``S`` minus the cumulative demand since the order, for as long as that
    cumulative demand is ``<= S - s - 1``. The expected number of reviews in a cycle at which
    cumulative demand equals ``j`` is the renewal mass ``u(j)`` of ``D_R`` (``u(0)`` counts
    the repeated zero-demand periods spent at ``S``; those levels are above ``s`` and order
    nothing). So ``pi(S - j) = u(j) / M`` with ``M = sum_{j=0}^{S-s-1} u(j)`` the expected
    cycle length in reviews, and exactly one order is placed per cycle:
    ``orders_per_day = 1 / (review * M)``.

    Within a period that starts at level ``y`` the level at time ``t`` is ``y - D(t)`` with
    ``D(t) ~ Poisson(lam t)``. The time integrals are exact, using
    ``int_0^R P(D(t) = i) dt = P(D(R) >= i + 1) / lam`` (a Gamma/Poisson identity)::

        int_0^R E[(y - D(t))+] dt = (1/lam) sum_{i=0}^{y-1} (y - i) P(D_R >= i + 1)
        int_0^R E[(D(t) - y)+] dt = lam R^2 / 2 - y R + int_0^R E[(y - D(t))+] dt
        int_0^R P(D(t) <= y - 1) dt = (1/lam) sum_{i=0}^{y-1} P(D_R >= i + 1)

    averaged over ``pi`` and divided by ``R``. The fill rate is the last integral (PASTA:
    a demand at time ``t`` of a period sees ``y - D(t)`` and is filled iff that is ``>= 1``).
    ``on_order = 0`` and ``position = on_hand - backorders``.

    Requires integers ``s < S`` (``s`` may be negative) and ``review > 0``.
    """
    lam = _check_rate(lam)
    R = float(review)
    if not (R > 0 and math.isfinite(R)):
        raise ValueError(f"review period must be positive and finite, got {review!r}")
    s = operator.index(s)
    S = operator.index(S)
    if s >= S:
        raise ValueError(f"need s < S, got s={s}, S={S}")
    n = S - s  # number of possible post-review levels
    mR = lam * R
    p = poisson.pmf(np.arange(n), mR)
    u = _renewal_mass(p, -math.expm1(-mR))
    cycle_reviews = float(u.sum())
    pi = u / cycle_reviews  # pi[j] = P(post-review level = S - j)
    levels = S - np.arange(n)

    # tail[i] = P(D_R >= i + 1) for i = 0..S-1 (only needed for positive levels).
    top = max(S, 0)
    tail = poisson.sf(np.arange(top), mR)
    cum_tail = np.concatenate(([0.0], np.cumsum(tail)))  # cum_tail[k] = sum_{i<k} tail[i]
    cum_itail = np.concatenate(([0.0], np.cumsum(np.arange(top) * tail)))
    pos = np.clip(levels, 0, None)
    # sum_{i=0}^{y-1} (y - i) tail[i] = y * cum_tail[y] - cum_itail[y]  (0 for y <= 0)
    int_over = (pos * cum_tail[pos] - cum_itail[pos]) / lam
    int_fill = cum_tail[pos] / lam
    int_under = lam * R * R / 2.0 - levels * R + int_over

    on_hand = float(pi @ int_over) / R
    backorders = float(pi @ int_under) / R
    return Stationary(
        on_hand=on_hand,
        backorders=backorders,
        on_order=0.0,
        position=on_hand - backorders,
        orders_per_day=1.0 / (R * cycle_reviews),
        fill_rate=float(pi @ int_fill) / R,
    )


def lost_sales_base_stock_erlang_b(lam: float, lead: float, S: int) -> float:
    """Fraction of demand lost under base stock ``S`` with lost sales: Erlang B.

    With lost sales, unit Poisson demand and a one-for-one (S-1, S) policy with constant
    lead time, the number of outstanding orders behaves as the number of busy servers in an
    M/G/S/S loss system with offered load ``a = lam * lead`` (a demand finding zero on hand
    is lost, exactly like a blocked call). By Palm's theorem (insensitivity) the stationary
    distribution is truncated Poisson and the loss probability is Erlang B,
    ``B(S, a) = (a^S/S!) / sum_{k=0}^S a^k/k!``.
    Evaluated by the stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``.
    """
    lam = _check_rate(lam)
    lead = _check_lead(lead)
    S = operator.index(S)
    if S < 0:
        raise ValueError(f"base stock S must be >= 0, got {S}")
    a = lam * lead
    b = 1.0
    for k in range(1, S + 1):
        b = a * b / (k + a * b)
    return b
