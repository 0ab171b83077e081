"""Experiments: replications, paired comparisons, batch means, parameter sweeps, Pareto fronts.

* **Replications.** ``experiment_seeds(seed, n)`` spawns ``n`` run seeds from one root seed
  (``SeedSequence.spawn``; one replication keeps the root seed itself, so ``--reps 1`` is the
  plain run). Every random draw of a run comes from a named stream of its seed and demand is
  drawn before the clock starts, so two scenarios run on the same seeds see identical orders:
  common random numbers (CRN). Warm-up is deleted by the KPIs themselves (orders created before
  ``warmup_days`` are not measured; ``load(..., warmup=)`` overrides it).
* **Comparison.** Replications of two scenarios are paired by seed; each KPI gets the mean
  difference with a t-based confidence interval and p-value, the relative delta, a significance
  flag, and the width of the interval an *independent* (Welch) comparison would have given, so
  the variance CRN removed is visible.
* **Batch means** give a confidence interval from one long run (per-order observations in
  creation order, cut into batches); MSER-5 suggests how much warm-up to delete.
* **Sweeps** vary scenario fields and rule parameters over a grid or a random sample, run every
  point on the same seeds, and return one tidy table (one row per run) plus a Pareto front.

Runs go through an executor (``sim.experiments.executors``): results never depend on which one.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import stats

from rules.files import first_error, format_loc, read_mapping, read_yaml
from rules.schema import RuleError, resolve_ruleset_path, ruleset_from_dict
from sim.core.model import RunResult, Status
from sim.core.rng import replication_seeds, stream
from sim.experiments.executors import Executor
from sim.experiments.runner import Outcome, prepare_engine, run_scenario
from sim.measure.kpis import KPIS, window_orders
from sim.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
)
from sim.store.atomic import write_atomic

__all__ = [
    "ALPHA", "ExperimentError", "RunSpec", "load", "experiment_seeds", "replication_specs",
    "execute", "run_row", "run_specs", "replicate", "kpi_columns", "Estimate", "mean_ci",
    "summarize", "PairedStat", "paired_stat", "welch_half_width", "compare_replications",
    "BatchMeans", "batch_means", "mser5", "SERIES", "order_series", "batch_means_table",
    "Range", "SweepSpec", "load_sweep", "sweep_points", "parse_path", "apply_params", "sweep_specs",
    "run_sweep", "SweepResult", "pareto_mask", "format_value", "format_p",
]

#: Two-sided significance level of every interval and test here (95% confidence).
ALPHA = 0.05


class ExperimentError(ScenarioError):
    """An experiment option, sweep spec or baseline is invalid (one line naming file and field)."""


# ---------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class RunSpec:
    """One unit of work: a scenario (its seed included), a rule backend, and table labels."""

    scenario: Scenario
    engine: str = "compiled"
    labels: dict[str, Any] = field(default_factory=dict)


def load(path: str | Path, seed: int | None = None, days: float | None = None,
         warmup: float | None = None) -> Scenario:
    """Load a scenario with optional seed, horizon and warm-up overrides."""
    overrides = {k: v for k, v in (("seed", seed), ("horizon_days", days),
                                   ("warmup_days", warmup)) if v is not None}
    return load_scenario(path, overrides)


def experiment_seeds(seed: int, reps: int) -> list[int]:
    """Run seeds of ``reps`` replications: the root seed alone, or ``reps`` spawned seeds."""
    if reps < 1:
        raise ExperimentError(f"--reps: must be ≥ 1 (got {reps})")
    return [seed] if reps == 1 else replication_seeds(seed, reps)


def replication_specs(scenario: Scenario, reps: int, engine: str = "compiled",
                      **labels: Any) -> list[RunSpec]:
    """``reps`` run specs of ``scenario`` on the seeds spawned from its seed."""
    return [RunSpec(scenario.model_copy(update={"seed": s}), engine, {**labels, "rep": i})
            for i, s in enumerate(experiment_seeds(scenario.seed, reps))]


def run_row(outcome: Outcome, engine: str) -> dict[str, Any]:
    """A run's identity, timing and scalar KPIs as one flat row."""
    run = outcome.run
    sc = run.scenario
    row: dict[str, Any] = {"run_id": outcome.run_id, "scenario": sc.name,
                           "scenario_hash": scenario_hash(sc), "seed": sc.seed, "engine": engine}
    row.update({f"rules_{p}": key for p, key in sorted(run.rulesets.items())})
    row.update(wall_seconds=round(outcome.seconds, 3),
               orders_simulated=len(run.orders["t_created"]))
    row.update(outcome.kpis["kpis"])
    return row


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run one spec (in whatever process the executor chose) and return its table row."""
    return {**spec.labels, **run_row(run_scenario(spec.scenario, spec.engine), spec.engine)}


def _check_rules(specs: Sequence[RunSpec]) -> None:
    """Load and check every distinct rule configuration before anything runs."""
    seen: set[str] = set()
    for spec in specs:
        key = scenario_hash(spec.scenario.model_copy(update={"seed": 0}))
        if key not in seen:
            seen.add(key)
            prepare_engine(spec.scenario, "compiled").close()


def run_specs(specs: Sequence[RunSpec], executor: Executor, desc: str = "") -> pd.DataFrame:
    """Run every spec on ``executor``; one row per run, in spec order."""
    _check_rules(specs)
    return pd.DataFrame(executor.map(execute, list(specs), desc))


def replicate(scenario: Scenario, reps: int, executor: Executor, engine: str = "compiled",
              **labels: Any) -> pd.DataFrame:
    """``reps`` replications of ``scenario``: one row per replication."""
    return run_specs(replication_specs(scenario, reps, engine, **labels), executor,
                     f"{scenario.name} ×{reps}")


def kpi_columns(df: pd.DataFrame) -> list[str]:
    """The registry KPIs present in ``df``, in registry order."""
    return [k for k in KPIS if k in df.columns]


# ---------------------------------------------------------------------------------------------
# Statistics


def _t_quantile(df: float, alpha: float) -> float:
    return float(stats.t.ppf(1.0 - alpha / 2.0, df))


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
    if n == 1:
        return Estimate(float(x[0]), math.nan, 1, math.nan)
    sd = float(x.std(ddof=1))
    hw = 0.0 if sd == 0 else _t_quantile(n - 1, alpha) * sd / math.sqrt(n)
    return Estimate(float(x.mean()), sd, n, hw)


def summarize(df: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Per KPI of a replications table: n, mean, sd and the confidence interval."""
    rows = []
    for k in kpi_columns(df):
        e = mean_ci(df[k], alpha)
        rows.append({"kpi": k, "label": KPIS[k].label.strip(), "unit": KPIS[k].unit, "n": e.n,
                     "mean": e.mean, "sd": e.sd, "ci_low": e.ci[0], "ci_high": e.ci[1],
                     "half_width": e.half_width})
    return pd.DataFrame(rows)


def welch_half_width(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> float:
    """Half-width of the Welch interval for mean(b) − mean(a) from *independent* samples."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se2 = va + vb
    if se2 == 0:
        return 0.0
    dof = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return _t_quantile(dof, alpha) * math.sqrt(se2)


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
        if self.delta == 0:
            return 0.0
        return self.delta / abs(self.mean_a) if self.mean_a else math.nan

    @property
    def width_ratio(self) -> float:
        """Paired CI width / independent CI width (< 1: CRN helped)."""
        if self.indep_half_width == 0:
            return 1.0
        return self.half_width / self.indep_half_width


def _paired_t(d: np.ndarray, alpha: float) -> tuple[float, float]:
    """(half-width, p-value) of the one-sample t test of mean(d) = 0."""
    n = len(d)
    if np.all(d == 0):
        return 0.0, 1.0
    if n == 1:
        return math.nan, math.nan
    sd = float(d.std(ddof=1))
    if sd == 0:                         # a constant, non-zero shift: certain, not noisy
        return 0.0, 0.0
    se = sd / math.sqrt(n)
    p = float(2.0 * stats.t.sf(abs(float(d.mean())) / se, n - 1))
    return _t_quantile(n - 1, alpha) * se, p


def paired_stat(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> PairedStat:
    """Paired t comparison of ``b`` against ``a`` (element i of each shares a seed)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired_stat needs equal, non-empty samples (got {len(a)}, {len(b)})")
    d = b - a
    hw, p = _paired_t(d, alpha)
    if len(a) > 1:
        total = a.var(ddof=1) + b.var(ddof=1)
        vr = 1.0 - d.var(ddof=1) / total if total > 0 else 0.0
    else:
        vr = math.nan
    return PairedStat(len(d), float(a.mean()), float(b.mean()), float(d.mean()), hw, p,
                      bool(p < alpha), welch_half_width(a, b, alpha), float(vr))


def _verdict(s: PairedStat, better: str) -> str:
    if not s.significant:
        return "same"
    if better == "none":
        return "changed"
    return "better" if (s.delta < 0) == (better == "lower") else "worse"


def _pair(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Join two replication tables on seed, refusing tables that do not pair up."""
    if sorted(a["seed"]) != sorted(b["seed"]) or a["seed"].duplicated().any():
        raise ExperimentError("cannot pair replications: the two sides ran different seeds")
    return a.merge(b, on="seed", suffixes=("_a", "_b")).sort_values("seed", kind="stable")


def compare_replications(a: pd.DataFrame, b: pd.DataFrame, alpha: float = ALPHA
                         ) -> pd.DataFrame:
    """Per KPI: paired difference b − a (pairs by seed), CI, p-value, verdict, CRN effect."""
    pairs = _pair(a, b)
    rows = []
    for k in kpi_columns(a):
        s = paired_stat(pairs[f"{k}_a"], pairs[f"{k}_b"], alpha)
        spec = KPIS[k]
        rows.append({"kpi": k, "label": spec.label.strip(), "unit": spec.unit,
                     "better": spec.better, "n": s.n, "mean_a": s.mean_a, "mean_b": s.mean_b,
                     "delta": s.delta, "rel_delta": s.rel_delta, "ci_low": s.ci[0],
                     "ci_high": s.ci[1], "half_width": s.half_width, "p_value": s.p_value,
                     "significant": s.significant, "verdict": _verdict(s, spec.better),
                     "indep_half_width": s.indep_half_width, "width_ratio": s.width_ratio,
                     "var_reduction": s.var_reduction})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Batch means for one long run


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


# ---------------------------------------------------------------------------------------------
# Sweeps


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A continuous (or integer) range sampled uniformly in random sweeps."""

    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError("high must be ≥ low")
        return self


class SweepSpec(_Strict):
    """A sweep file: base scenario, how to vary it, and how many replications per point."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    scenario: str
    mode: Literal["grid", "random"] = "grid"
    samples: int | None = Field(None, ge=1, description="points drawn in random mode")
    reps: int = Field(1, ge=1)
    seed: int | None = Field(None, ge=0, description="root seed (default: the scenario's)")
    days: float | None = Field(None, gt=0)
    warmup_days: float | None = Field(None, ge=0)
    engine: Literal["durable", "compiled"] = "compiled"
    parameters: dict[str, list[Any] | Range] = Field(min_length=1)
    pareto: tuple[str, str] = ("cost_per_order", "on_time_pct")

    @model_validator(mode="after")
    def _consistent(self):
        for path, values in self.parameters.items():
            parse_path(path)
            if isinstance(values, list) and not values:
                raise ValueError(f"parameters.{path}: needs at least one value")
            if isinstance(values, Range) and self.mode == "grid":
                raise ValueError(f"parameters.{path}: a range needs mode: random "
                                 "(a grid takes a list of values)")
        if self.mode == "random" and self.samples is None:
            raise ValueError("samples: required when mode is random")
        for k in self.pareto:
            if k not in KPIS or KPIS[k].better == "none":
                raise ValueError(f"pareto: '{k}' is not a KPI with a better direction")
        return self


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; errors name the file and the field."""
    path = Path(path)
    raw = read_mapping(path, ExperimentError, "sweep fields (scenario, parameters…)")
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        if not loc:                                 # model-level checks name their field
            raise ExperimentError(f"{path}: {msg}") from None
        where = format_loc(loc[:2] if loc[:1] == ("parameters",) else loc)
        raise ExperimentError(f"{path}: {where}: {msg}") from None


def _draw(values: list[Any] | Range, rng: np.random.Generator) -> Any:
    if isinstance(values, Range):
        if values.integer:
            return int(rng.integers(math.ceil(values.low), math.floor(values.high) + 1))
        return float(rng.uniform(values.low, values.high))
    return values[int(rng.integers(len(values)))]


def sweep_points(spec: SweepSpec, seed: int = 0) -> list[dict[str, Any]]:
    """Parameter settings of every point: the grid product, or ``samples`` random draws."""
    names = list(spec.parameters)
    if spec.mode == "grid":
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*spec.parameters.values())]
    rng = stream(seed, "sweep/points")
    return [{n: _draw(spec.parameters[n], rng) for n in names} for _ in range(spec.samples)]


_PATH = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[^\[\]]+\])*")
_TOKEN = re.compile(r"\[([^\[\]]+)\]|\.?([^.\[\]]+)")


def parse_path(path: str) -> list[tuple[str, str]]:
    """``nodes[DC-RENO].capacity.pickers`` → [("key","nodes"), ("item","DC-RENO"), …]."""
    if not _PATH.fullmatch(path):
        raise ValueError(f"parameters.{path}: not a field path like "
                         "nodes[DC-RENO].capacity.pickers or rules.sourcing[rule].then.field")
    return [("item", m[1]) if m[1] is not None else ("key", m[2])
            for m in _TOKEN.finditer(path)]


def _item_index(items: list, sel: str, where: str) -> int:
    if sel.isdigit():
        if int(sel) < len(items):
            return int(sel)
        raise ExperimentError(f"{where}: index [{sel}] out of range ({len(items)} items)")
    for i, item in enumerate(items):
        if isinstance(item, dict) and sel in (item.get("name"), item.get("id"), item.get("metro")):
            return i
    known = ", ".join(str(it.get("name") or it.get("id") or it.get("metro")) for it in items
                      if isinstance(it, dict))
    raise ExperimentError(f"{where}: no item '{sel}' (known: {known})")


def _set_path(doc: Any, tokens: list[tuple[str, str]], value: Any, where: str) -> None:
    """Set ``value`` at ``tokens`` inside nested dicts/lists (items chosen by name or index)."""
    node = doc
    for i, (kind, tok) in enumerate(tokens):
        last = i == len(tokens) - 1
        if kind == "key":
            if not isinstance(node, dict) or (tok not in node and not last):
                raise ExperimentError(f"{where}: unknown field '{tok}'")
            if last:
                node[tok] = value
            else:
                node = node[tok]
        else:
            if not isinstance(node, list):
                raise ExperimentError(f"{where}: [{tok}] selects a list item, but this field "
                                      "is not a list")
            j = _item_index(node, tok, where)
            if last:
                node[j] = value
            else:
                node = node[j]


def _apply_rule_params(raw: dict[str, Any], point: str, params: list[tuple[str, Any]],
                       rules_dir: Path, origin: str) -> None:
    """Write a derived rule file for ``point`` with ``params`` set; point the policy at it."""
    ref = raw["policies"].get(point)
    if ref is None:
        raise ExperimentError(f"{origin}: parameters.rules.{point}: the scenario has no "
                              f"'{point}' rule set")
    rs_raw = read_yaml(resolve_ruleset_path(ref), RuleError)
    for path, value in params:
        tokens = parse_path(path)[2:]
        if tokens and tokens[0][0] == "item":      # rules.<point>[rule] → the rule by name
            tokens = [("key", "rules"), *tokens]
        _set_path(rs_raw, tokens, value, f"{origin}: parameters.{path}")
    rs = ruleset_from_dict(rs_raw, f"{origin}: rules.{point}")
    target = rules_dir / f"{point}-{rs.name}-{rs.digest}.yaml"
    if not target.exists():
        write_atomic(target, yaml.safe_dump(rs_raw, sort_keys=False))
    raw["policies"][point] = str(target.resolve())


def apply_params(scenario: Scenario, params: dict[str, Any], rules_dir: Path,
                 origin: str = "<sweep>") -> Scenario:
    """``scenario`` with scenario fields and rule parameters set (validated again).

    Paths address scenario fields (``channels[web].orders_per_day``, ``policies.sourcing``) or,
    after ``rules.<point>``, the rule set used at that point (``rules.sourcing[rule].then.x``):
    that rule set is copied with the change into ``rules_dir`` and the scenario points at it.
    """
    raw = scenario.model_dump(mode="json")
    by_point: dict[str, list[tuple[str, Any]]] = {}
    for path, value in params.items():
        tokens = parse_path(path)
        if tokens[0] == ("key", "rules"):
            if len(tokens) < 3 or tokens[1][0] != "key":
                raise ExperimentError(f"{origin}: parameters.{path}: write rules.<point>[rule]"
                                      ".then.<field> or rules.<point>.<field>")
            by_point.setdefault(tokens[1][1], []).append((path, value))
        else:
            _set_path(raw, tokens, value, f"{origin}: parameters.{path}")
    for point, items in by_point.items():
        _apply_rule_params(raw, point, items, rules_dir, origin)
    return scenario_from_dict(raw, origin)


_RESERVED = {"point", "rep", "seed", "run_id", "scenario", "scenario_hash", "engine"}


def sweep_specs(spec: SweepSpec, spec_path: Path, rules_dir: Path) -> list[RunSpec]:
    """Every run of a sweep (points × replications), all validated before any runs."""
    clash = sorted(_RESERVED & set(spec.parameters))
    if clash:
        raise ExperimentError(f"{spec_path}: parameters.{clash[0]}: name clashes with a "
                              "results column; vary it through a longer path")
    base = load(spec_path.parent / spec.scenario, spec.seed, spec.days, spec.warmup_days)
    out: list[RunSpec] = []
    for i, params in enumerate(sweep_points(spec, base.seed)):
        sc = apply_params(base, params, rules_dir, f"{spec_path} (point {i})")
        out += replication_specs(sc, spec.reps, spec.engine, point=i, **params)
    return out


@dataclass(frozen=True)
class SweepResult:
    """A sweep's tidy table (one row per run) and per-point means with the Pareto flag."""

    runs: pd.DataFrame
    points: pd.DataFrame


def _point_means(runs: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    kpis = kpi_columns(runs)
    g = runs.groupby("point", sort=True)
    out = g[params].first().join(g[kpis].mean()).join(g.size().rename("reps"))
    return out.reset_index()


def run_sweep(spec: SweepSpec, spec_path: Path, executor: Executor, rules_dir: Path
              ) -> SweepResult:
    """Run a sweep: every point on the same seeds (CRN), means per point, Pareto front."""
    specs = sweep_specs(spec, Path(spec_path), rules_dir)
    runs = run_specs(specs, executor, f"sweep {spec.name or Path(spec_path).stem}")
    points = _point_means(runs, list(spec.parameters))
    x, y = spec.pareto
    points["pareto"] = pareto_mask(points[x], points[y], KPIS[x].better, KPIS[y].better)
    return SweepResult(runs, points)


def pareto_mask(x: Sequence[float], y: Sequence[float], x_better: str = "lower",
                y_better: str = "higher") -> np.ndarray:
    """True for points no other point beats on both objectives (strictly on at least one)."""
    sx = 1.0 if x_better == "lower" else -1.0
    sy = 1.0 if y_better == "lower" else -1.0
    px, py = sx * np.asarray(x, dtype=float), sy * np.asarray(y, dtype=float)
    dominated = ((px[None, :] <= px[:, None]) & (py[None, :] <= py[:, None])
                 & ((px[None, :] < px[:, None]) | (py[None, :] < py[:, None])))
    return ~dominated.any(axis=1)


# ---------------------------------------------------------------------------------------------
# Presentation shared by the CLI and the CI summary


def format_value(value: float, unit: str = "", signed: bool = False) -> str:
    """A KPI value for tables: money and rates to 2 decimals, counts whole, NaN as n/a."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "+" if signed else ""
    if unit in ("orders", "units") and float(value).is_integer():
        return f"{value:{sign},.0f}"
    return f"{value:{sign},.2f}"


def format_p(p: float) -> str:
    """A p-value: ``<0.001``, three decimals, or n/a."""
    if p is None or math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
