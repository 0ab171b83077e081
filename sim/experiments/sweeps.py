"""Parameter sweeps: vary scenario fields and rule parameters, run every point on the same seeds.

A sweep file names a base scenario, how to vary it (a grid, or random draws from the root seed)
and how many replications each point gets. Scenario fields are edited by field path
(``sim.scenario.edit``); a ``rules.<point>…`` path edits the rule set the scenario uses at that
point, written content-addressed to ``rules_dir`` and validated like any rule file. Every point
runs on the same seeds (CRN across points) through ``sim.experiments.replication.run_specs``;
the result is one tidy table (one row per run) plus per-point means with a Pareto flag.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rules.files import first_error, format_loc, read_mapping, read_yaml
from rules.schema import RuleError, resolve_ruleset_path, ruleset_from_dict
from sim.core.rng import stream
from sim.experiments.executors import Executor
from sim.experiments.replication import (
    ExperimentError,
    RunSpec,
    kpi_columns,
    load,
    replication_specs,
    run_specs,
)
from sim.experiments.stats import pareto_mask
from sim.measure.kpis import KPIS
from sim.scenario import Scenario, edit_scenario, parse_path, set_path
from sim.store.atomic import write_atomic

__all__ = ["Range", "SweepSpec", "load_sweep", "sweep_points", "apply_params", "sweep_specs",
           "SweepResult", "run_sweep"]


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
            try:
                parse_path(path)
            except ValueError:
                raise ValueError(f"parameters.{path}: not a field path like "
                                 "nodes[DC-RENO].capacity.pickers or "
                                 "rules.sourcing[rule].then.field") from None
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


def _derived_ruleset(ref: str, point: str, params: list[tuple[str, Any]], rules_dir: Path,
                     origin: str) -> str:
    """Write a copy of rule set ``ref`` with ``params`` set into ``rules_dir``; its path."""
    rs_raw = read_yaml(resolve_ruleset_path(ref), RuleError)
    for path, value in params:
        tokens = parse_path(path)[2:]
        if tokens and tokens[0][0] == "item":      # rules.<point>[rule] → the rule by name
            tokens = [("key", "rules"), *tokens]
        set_path(rs_raw, tokens, value, f"{origin}: parameters.{path}", ExperimentError)
    rs = ruleset_from_dict(rs_raw, f"{origin}: rules.{point}")
    target = rules_dir / f"{point}-{rs.name}-{rs.digest}.yaml"
    if not target.exists():
        write_atomic(target, yaml.safe_dump(rs_raw, sort_keys=False))
    return str(target.resolve())


def apply_params(scenario: Scenario, params: dict[str, Any], rules_dir: Path,
                 origin: str = "<sweep>") -> Scenario:
    """``scenario`` with scenario fields and rule parameters set (validated again).

    Paths address scenario fields (``channels[web].orders_per_day``, ``policies.sourcing``) or,
    after ``rules.<point>``, the rule set used at that point (``rules.sourcing[rule].then.x``):
    that rule set is copied with the change into ``rules_dir`` and the scenario points at it.
    """
    fields: dict[str, Any] = {}
    by_point: dict[str, list[tuple[str, Any]]] = {}
    for path, value in params.items():
        tokens = parse_path(path)
        if tokens[0] == ("key", "rules"):
            if len(tokens) < 3 or tokens[1][0] != "key":
                raise ExperimentError(f"{origin}: parameters.{path}: write rules.<point>[rule]"
                                      ".then.<field> or rules.<point>.<field>")
            by_point.setdefault(tokens[1][1], []).append((path, value))
        else:
            fields[path] = value
    edited = edit_scenario(scenario, fields, origin, error=ExperimentError, prefix="parameters.")
    current = edited.policies.model_dump()
    rulesets = {}
    for point, items in by_point.items():
        if current.get(point) is None:
            raise ExperimentError(f"{origin}: parameters.rules.{point}: the scenario has no "
                                  f"'{point}' rule set")
        rulesets[f"policies.{point}"] = _derived_ruleset(current[point], point, items,
                                                         rules_dir, origin)
    return edit_scenario(edited, rulesets, origin, error=ExperimentError) if rulesets else edited


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
