"""The statistics of experiments, in one place and backed by ``scipy.stats``.

* ``mean_ci``: mean and t interval of independent replications (``scipy.stats.t.interval``).
* ``paired_stat``: paired t comparison of two scenarios run on the same seeds
  (``scipy.stats.ttest_rel`` and its ``confidence_interval``), with the half-width an
  *independent* Welch comparison of the same runs would give (``welch_half_width``:
  ``scipy.stats.ttest_ind(equal_var=False)``), so the variance common random numbers removed is
  visible.
* Where scipy has nothing, the hand-written estimators live here too: batch means of one long
  run (with the lag-1 correlation of the batch means), the MSER-5 warm-up rule and the Pareto
  front of two objectives.

Degenerate samples are decided before scipy sees them (scipy would return NaN): one pair has no
interval, differences that are all 0 give [0, 0] and p = 1, and a constant non-zero difference
is certain (half-width 0, p = 0). With common random numbers many KPIs are equal up to rounding
noise across runs; scipy's "precision loss" warning for such nearly identical data is silenced
(the interval it gives, ~1e-13 wide, is what the tables show as 0).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.experiments.replication import ExperimentError
from sim.measure.present import relative_change

__all__ = ["ALPHA", "Estimate", "mean_ci", "welch_half_width", "PairedStat", "paired_stat",
           "BatchMeans", "batch_means", "mser5", "pareto_mask"]

#: Two-sided significance level of every interval and test here (95% confidence).
ALPHA = 0.05


def _half(ci) -> float:
    """Half the width of a scipy ``ConfidenceInterval`` (or a (low, high) pair)."""
    low, high = ci
    return float(high - low) / 2.0


def _constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


@contextmanager
def _nearly_identical_ok() -> Iterator[None]:
    """Silence scipy's precision-loss warning for nearly identical samples (see above)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        yield


@dataclass(frozen=True)
class Estimate:
    """A mean with its t-based confidence half-width (NaN when ``n`` < 2)."""

    mean: float
    sd: float
    n: int
    half_width: float

    @property
    def ci(self) -> tuple[float, float]:
        """(low, high) of the confidence interval."""
        return self.mean - self.half_width, self.mean + self.half_width


def mean_ci(x: Iterable[float], alpha: float = ALPHA) -> Estimate:
    """Mean and t-based confidence interval of independent observations ``x``."""
    x = np.asarray(list(x), dtype=float)
    n = len(x)
    if n == 0:
        raise ValueError("mean_ci needs at least one observation")
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, math.nan, 1, math.nan)
    if _constant(x):
        return Estimate(mean, 0.0, n, 0.0)
    with _nearly_identical_ok():
        hw = _half(stats.t.interval(1.0 - alpha, n - 1, loc=mean, scale=stats.sem(x)))
        return Estimate(mean, float(stats.tstd(x)), n, hw)


def welch_half_width(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> float:
    """Half-width of the Welch interval for mean(b) − mean(a) from *independent* samples."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if _constant(a) and _constant(b):
        return 0.0
    with _nearly_identical_ok():
        return _half(stats.ttest_ind(b, a, equal_var=False).confidence_interval(1.0 - alpha))


@dataclass(frozen=True)
class PairedStat:
    """Paired comparison of one KPI: b − a per replication (same seeds)."""

    n: int
    mean_a: float
    mean_b: float
    delta: float
    half_width: float           # paired t interval; 0 when every difference is 0
    p_value: float
    significant: bool
    indep_half_width: float     # Welch interval the same runs would give without pairing
    var_reduction: float        # 1 − Var(b−a) / (Var(a) + Var(b)): what CRN removed

    @property
    def ci(self) -> tuple[float, float]:
        """(low, high) of the paired confidence interval."""
        return self.delta - self.half_width, self.delta + self.half_width

    @property
    def rel_delta(self) -> float:
        """Delta / |mean_a| (0 when nothing changed, NaN when mean_a is 0)."""
        return relative_change(self.delta, self.mean_a)

    @property
    def width_ratio(self) -> float:
        """Paired CI width / independent CI width (< 1: CRN helped)."""
        if self.indep_half_width == 0:
            return 1.0
        return self.half_width / self.indep_half_width


def _paired_t(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[float, float]:
    """(half-width, p-value) of the paired t test of mean(b − a) = 0."""
    d = b - a
    if np.all(d == 0):
        return 0.0, 1.0
    if len(d) == 1:
        return math.nan, math.nan
    if _constant(d):                     # a constant, non-zero shift: certain, not noisy
        return 0.0, 0.0
    with _nearly_identical_ok():
        res = stats.ttest_rel(b, a)
        return _half(res.confidence_interval(1.0 - alpha)), float(res.pvalue)


def paired_stat(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> PairedStat:
    """Paired t comparison of ``b`` against ``a`` (element i of each shares a seed)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired_stat needs equal, non-empty samples (got {len(a)}, {len(b)})")
    hw, p = _paired_t(a, b, alpha)
    if len(a) > 1:
        with _nearly_identical_ok():
            total = stats.tvar(a) + stats.tvar(b)
            vr = 1.0 - stats.tvar(b - a) / total if total > 0 else 0.0
    else:
        vr = math.nan
    return PairedStat(len(a), float(a.mean()), float(b.mean()), float((b - a).mean()), hw, p,
                      bool(p < alpha), welch_half_width(a, b, alpha), float(vr))


# ---------------------------------------------------------------------------------------------
# Estimators scipy does not have


@dataclass(frozen=True)
class BatchMeans:
    """Confidence interval from the means of consecutive batches of one run's observations."""

    estimate: Estimate
    batch_size: int
    dropped: int          # leading observations left out so batches are equal
    lag1: float           # autocorrelation of consecutive batch means (want ≈ 0)


def batch_means(x: Sequence[float], n_batches: int = 20, alpha: float = ALPHA) -> BatchMeans:
    """Batch-means interval of the mean of the (correlated) series ``x``."""
    x = np.asarray(x, dtype=float)
    if n_batches < 2:
        raise ExperimentError(f"--batches: need at least 2 batches (got {n_batches})")
    size = len(x) // n_batches
    if size < 1:
        raise ExperimentError(f"--batches: {len(x)} observations cannot fill {n_batches} "
                              "batches; lengthen the run or use fewer batches")
    dropped = len(x) - size * n_batches
    means = x[dropped:].reshape(n_batches, size).mean(axis=1)
    return BatchMeans(mean_ci(means, alpha), size, dropped, _lag1(means))


def _lag1(y: np.ndarray) -> float:
    """Lag-1 autocorrelation estimate Σ(yₜ−ȳ)(yₜ₊₁−ȳ) / Σ(yₜ−ȳ)² (0 for a constant series)."""
    c = y - y.mean()
    denom = float((c * c).sum())
    return float((c[:-1] * c[1:]).sum()) / denom if denom > 0 else 0.0


def mser5(x: Sequence[float]) -> int:
    """MSER-5 warm-up: how many leading observations to delete (a multiple of 5)."""
    x = np.asarray(x, dtype=float)
    m = len(x) // 5
    if m < 2:
        return 0
    z = x[: 5 * m].reshape(m, 5).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(m // 2):
        tail = z[d:]
        score = float(((tail - tail.mean()) ** 2).sum()) / len(tail) ** 2
        if score < best:
            best, best_d = score, d
    return 5 * best_d


def pareto_mask(x: Sequence[float], y: Sequence[float], x_better: str = "lower",
                y_better: str = "higher") -> np.ndarray:
    """True for points no other point beats on both objectives (strictly on at least one)."""
    sx = 1.0 if x_better == "lower" else -1.0
    sy = 1.0 if y_better == "lower" else -1.0
    px, py = sx * np.asarray(x, dtype=float), sy * np.asarray(y, dtype=float)
    dominated = ((px[None, :] <= px[:, None]) & (py[None, :] <= py[:, None])
                 & ((px[None, :] < px[:, None]) | (py[None, :] < py[:, None])))
    return ~dominated.any(axis=1)
