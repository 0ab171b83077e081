"""Batch means for one long run: per-order observation series and their intervals.

A KPI like cost per order is the mean of one observation per window order. ``order_series``
returns those observations in creation order (warm-up deleted), and ``batch_means_table`` gives,
per series, the batch-means interval, the lag-1 correlation of the batch means and the MSER-5
warm-up suggestion (``sim.experiments.stats``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.model import RunResult, Status
from sim.experiments.stats import ALPHA, batch_means, mser5
from sim.measure.kpis import KPIS, window_orders

__all__ = ["SERIES", "order_series", "batch_means_table"]


def _window_order_index(run: RunResult, extra: np.ndarray) -> np.ndarray:
    """Indices of window orders satisfying ``extra``, in creation order."""
    idx = np.flatnonzero(window_orders(run) & extra)
    return idx[np.argsort(run.orders["t_created"][idx], kind="stable")]


def _delivered(run: RunResult) -> np.ndarray:
    return _window_order_index(run, run.orders["status"] == Status.DELIVERED)


def _on_time(run: RunResult) -> np.ndarray:
    i = _delivered(run)
    return 100.0 * (run.orders["delivered_at"][i] <= run.orders["deadline"][i])


def _lead_time(run: RunResult) -> np.ndarray:
    i = _delivered(run)
    return run.orders["delivered_at"][i] - run.orders["t_created"][i]


def _per_order(run: RunResult, column: str) -> np.ndarray:
    n = len(run.orders["t_created"])
    order = run.shipments["order"].astype(np.int64)
    return np.bincount(order, weights=run.shipments[column].astype(float), minlength=n)


def _cost(run: RunResult) -> np.ndarray:
    i = _window_order_index(run, run.orders["n_shipments"] > 0)
    extra = np.maximum(run.orders["n_shipments"] - 1, 0) * run.scenario.costs.split_penalty
    return (_per_order(run, "ship_cost") + _per_order(run, "handling") + extra)[i]


def _shipping(run: RunResult) -> np.ndarray:
    i = _window_order_index(run, run.orders["n_shipments"] > 0)
    return _per_order(run, "ship_cost")[i]


#: Per-order observation series (creation order, warm-up deleted) whose mean is the KPI.
SERIES = {
    "cost_per_order": _cost,
    "shipping_per_order": _shipping,
    "on_time_pct": _on_time,
    "lead_time_mean_h": _lead_time,
}


def order_series(run: RunResult, kpi: str) -> np.ndarray:
    """The per-order observations behind ``kpi`` (see ``SERIES``)."""
    return SERIES[kpi](run)


def batch_means_table(run: RunResult, n_batches: int = 20, alpha: float = ALPHA
                      ) -> pd.DataFrame:
    """Batch-means interval and MSER-5 warm-up suggestion for every ``SERIES`` KPI."""
    rows = []
    for k in SERIES:
        x = order_series(run, k)
        bm = batch_means(x, n_batches, alpha)
        rows.append({"kpi": k, "label": KPIS[k].label.strip(), "unit": KPIS[k].unit,
                     "mean": bm.estimate.mean, "half_width": bm.estimate.half_width,
                     "n_batches": n_batches, "batch_size": bm.batch_size, "lag1": bm.lag1,
                     "mser5_drop": mser5(x), "observations": len(x)})
    return pd.DataFrame(rows)
