"""Replications: run seeds, run specs and the one loop every multi-run command goes through.

* **Seeds.** ``experiment_seeds(seed, n)`` is the only place run seeds come from: one
  replication keeps the root seed itself (``--reps 1`` is the plain run), more are spawned with
  ``SeedSequence.spawn`` (``sim.core.rng.replication_seeds``). Every random draw of a run comes
  from a named stream of its seed and demand is drawn before the clock starts, so two scenarios
  run on the same seeds see identical orders: common random numbers (CRN). Warm-up is deleted by
  the KPIs themselves (``load(..., warmup=)`` overrides it).
* **The loop.** ``run_tasks`` checks every distinct rule configuration, then maps a task
  (``execute``: one run → one table row, by default) over the specs on an executor
  (``sim.experiments.executors``; results never depend on which one) and reports progress to an
  optional callback. ``run_specs`` (a table), ``replicate``, comparisons, sweeps, ``domlab
  check``, ``rules diff`` and the app all run through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.rng import replication_seeds
from sim.experiments.executors import Executor
from sim.experiments.runner import prepare_engine, run_scenario
from sim.measure.kpis import ALL_KPIS
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash
from sim.scenario.history import skip_bad_rows_override
from sim.store.registry import run_row

__all__ = ["ExperimentError", "RunSpec", "Progress", "load", "experiment_seeds",
           "replication_specs", "execute", "check_rules", "run_tasks", "run_specs", "replicate",
           "kpi_columns"]


class ExperimentError(ScenarioError):
    """An experiment option, sweep spec or baseline is invalid (one line naming file and field)."""


@dataclass(frozen=True)
class RunSpec:
    """One unit of work: a scenario (its seed included), a rule backend, and table labels."""

    scenario: Scenario
    engine: str = "compiled"
    labels: dict[str, Any] = field(default_factory=dict)


#: ``progress(done, total, spec)``: called as ``spec`` starts, ``done`` runs having finished.
Progress = Callable[[int, int, RunSpec], None]


def load(path: str | Path, seed: int | None = None, days: float | None = None,
         warmup: float | None = None, skip_bad_rows: bool = False) -> Scenario:
    """Load a scenario with optional seed, horizon, warm-up and ``--skip-bad-rows``
    overrides."""
    overrides = {k: v for k, v in (("seed", seed), ("horizon_days", days),
                                   ("warmup_days", warmup)) if v is not None}
    return load_scenario(path, {**overrides, **skip_bad_rows_override(skip_bad_rows)})


def experiment_seeds(seed: int, reps: int) -> list[int]:
    """Run seeds of ``reps`` replications: the root seed alone, or ``reps`` spawned seeds."""
    if reps < 1:
        raise ExperimentError(f"--reps: must be ≥ 1 (got {reps})")
    return [int(seed)] if reps == 1 else replication_seeds(int(seed), int(reps))


def replication_specs(scenario: Scenario, reps: int, engine: str = "compiled",
                      **labels: Any) -> list[RunSpec]:
    """``reps`` run specs of ``scenario`` on the seeds spawned from its seed."""
    return [RunSpec(scenario.model_copy(update={"seed": s}), engine, {**labels, "rep": i})
            for i, s in enumerate(experiment_seeds(scenario.seed, reps))]


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run one spec (in whatever process the executor chose) and return its table row."""
    return {**spec.labels, **run_row(run_scenario(spec.scenario, spec.engine), spec.engine)}


def check_rules(specs: Sequence[RunSpec]) -> None:
    """Load and check every distinct rule configuration before anything runs."""
    seen: set[str] = set()
    for spec in specs:
        key = scenario_hash(spec.scenario.model_copy(update={"seed": 0}))
        if key not in seen:
            seen.add(key)
            prepare_engine(spec.scenario, "compiled").close()


def run_tasks(specs: Sequence[RunSpec], executor: Executor,
              task: Callable[[RunSpec], Any] = execute, desc: str = "",
              progress: Progress | None = None) -> list[Any]:
    """``[task(spec) for spec in specs]`` on ``executor``, in spec order: the one run loop.

    Rules are checked first, so a bad rule file fails before any run. Without ``progress`` the
    executor gets every task at once; with it, tasks go in chunks of the executor's ``workers``
    (one at a time in process) and ``progress`` is called for each spec as its chunk starts.
    ``task`` must be picklable for process and Dask executors (a module-level function).
    """
    specs = list(specs)
    check_rules(specs)
    if progress is None:
        return list(executor.map(task, specs, desc))
    size = max(1, int(getattr(executor, "workers", 1) or 1))
    out: list[Any] = []
    for start in range(0, len(specs), size):
        chunk = specs[start:start + size]
        for i, spec in enumerate(chunk):
            progress(start + i, len(specs), spec)
        out += executor.map(task, chunk, desc)
    return out


def run_specs(specs: Sequence[RunSpec], executor: Executor, desc: str = "",
              progress: Progress | None = None,
              task: Callable[[RunSpec], dict[str, Any]] = execute) -> pd.DataFrame:
    """Run every spec on ``executor``; one row per run (labels, identity, KPIs), in spec order.
    ``task`` makes each row (``execute``, or e.g.
    ``sim.experiments.optimum.execute_with_optimum`` to add the optimum's KPIs)."""
    return pd.DataFrame(run_tasks(specs, executor, task, desc, progress))


def replicate(scenario: Scenario, reps: int, executor: Executor, engine: str = "compiled",
              task: Callable[[RunSpec], dict[str, Any]] = execute, **labels: Any
              ) -> pd.DataFrame:
    """``reps`` replications of ``scenario``: one row per replication (rows by ``task``)."""
    return run_specs(replication_specs(scenario, reps, engine, **labels), executor,
                     f"{scenario.name} ×{reps}", task=task)


def kpi_columns(df: pd.DataFrame) -> list[str]:
    """The registry KPIs present in ``df`` (the optimum's too, when computed), in registry
    order."""
    return [k for k in ALL_KPIS if k in df.columns]
