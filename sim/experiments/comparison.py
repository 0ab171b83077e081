"""Tables of replications: a summary per KPI, and paired comparisons of two scenarios.

Replications of two scenarios are paired by seed; each KPI gets the mean difference with a
t-based confidence interval and p-value, the relative delta, a significance flag, the verdict
(``sim.measure.present.verdict``), and the width of the interval an *independent* (Welch)
comparison would have given, so the variance CRN removed is visible. The statistics are
``sim.experiments.stats``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from sim.experiments.executors import Executor, InProcessExecutor
from sim.experiments.replication import (
    ExperimentError,
    RunSpec,
    execute,
    kpi_columns,
    replication_specs,
    run_specs,
)
from sim.experiments.stats import ALPHA, mean_ci, paired_stat
from sim.measure.kpis import ALL_KPIS
from sim.measure.present import verdict
from sim.scenario import Scenario

__all__ = ["summarize", "pair_by_seed", "compare_replications", "run_pair", "compare"]


def summarize(df: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Per KPI of a replications table: n, mean, sd and the confidence interval."""
    rows = []
    for k in kpi_columns(df):
        e = mean_ci(df[k], alpha)
        spec = ALL_KPIS[k]
        rows.append({"kpi": k, "label": spec.label.strip(), "unit": spec.unit, "n": e.n,
                     "mean": e.mean, "sd": e.sd, "ci_low": e.ci[0], "ci_high": e.ci[1],
                     "half_width": e.half_width})
    return pd.DataFrame(rows)


def pair_by_seed(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Join two replication tables on seed (columns ``<kpi>_a``, ``<kpi>_b``), refusing tables
    that do not pair up."""
    if sorted(a["seed"]) != sorted(b["seed"]) or a["seed"].duplicated().any():
        raise ExperimentError("cannot pair replications: the two sides ran different seeds")
    return a.merge(b, on="seed", suffixes=("_a", "_b")).sort_values("seed", kind="stable")


def compare_replications(a: pd.DataFrame, b: pd.DataFrame, alpha: float = ALPHA
                         ) -> pd.DataFrame:
    """Per KPI: paired difference b − a (pairs by seed), CI, p-value, verdict, CRN effect."""
    pairs = pair_by_seed(a, b)
    rows = []
    for k in kpi_columns(a):
        s = paired_stat(pairs[f"{k}_a"], pairs[f"{k}_b"], alpha)
        spec = ALL_KPIS[k]
        rows.append({"kpi": k, "label": spec.label.strip(), "unit": spec.unit,
                     "better": spec.better, "n": s.n, "mean_a": s.mean_a, "mean_b": s.mean_b,
                     "delta": s.delta, "rel_delta": s.rel_delta, "ci_low": s.ci[0],
                     "ci_high": s.ci[1], "half_width": s.half_width, "p_value": s.p_value,
                     "significant": s.significant,
                     "verdict": verdict(k, s.delta, s.significant),
                     "indep_half_width": s.indep_half_width, "width_ratio": s.width_ratio,
                     "var_reduction": s.var_reduction})
    return pd.DataFrame(rows)


def run_pair(a: Scenario, b: Scenario, reps: int, executor: Executor, engine: str = "compiled",
             desc: str = "", task: Callable[[RunSpec], dict[str, Any]] = execute
             ) -> pd.DataFrame:
    """Replications of ``a`` and ``b`` on the same seeds (spawned from ``a``'s): one row per
    run, arm ``a`` or ``b``, so pairs share demand (common random numbers). ``task`` makes
    each row (``sim.experiments.replication.run_specs``)."""
    b = b.model_copy(update={"seed": a.seed})
    specs = [*replication_specs(a, reps, engine, arm="a"),
             *replication_specs(b, reps, engine, arm="b")]
    return run_specs(specs, executor, desc or f"{a.name} vs {b.name}", task=task)


def compare(a: Scenario, b: Scenario, reps: int = 5, executor: Executor | None = None,
            engine: str = "compiled") -> pd.DataFrame:
    """Paired comparison of two scenarios: ``compare_replications`` of ``run_pair``."""
    runs = run_pair(a, b, reps, executor or InProcessExecutor(), engine)
    return compare_replications(runs[runs["arm"] == "a"], runs[runs["arm"] == "b"])
