"""CI regression check: rerun a scenario suite on committed seeds and compare with a baseline.

A baseline file (JSON, committed, written by ``domlab baseline update``) records the suite
(scenario paths relative to the baseline file, root seed, replications, horizon, engine), a
tolerance per checked KPI, and every replication's seed and KPI values. ``run_check`` reruns each
scenario on exactly those seeds (common random numbers: same demand as the baseline runs), pairs
current and baseline runs by seed, and judges each KPI:

* **regression**: worse (in the KPI's ``better`` direction) by more than its tolerance
  ``max(abs, rel × |baseline mean|)`` *and* the paired 95% interval excludes 0. With one
  replication, or differences without variance, there is no noise to test, so the tolerance
  alone decides.
* **improved**: the same, in the good direction (consider updating the baseline).
* **not significant**: beyond the tolerance, but the interval includes 0.
* **ok** otherwise; **info** for KPIs without a tolerance (not checked).

A baseline whose runs have the offline optimum's KPIs (``baseline update --optimum``) makes the
check solve the optimum of every run too (``sim.experiments.optimum``), so a tolerance on
``cost_gap_to_optimal_pct`` (by default 1 point) fails a change that moves the rules further
from the best possible plan for the same demand.

Outputs: a Markdown summary for a pull-request comment and JUnit XML for CI test reporting,
both written atomically.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rules.files import first_error, format_loc
from sim.experiments.executors import Executor
from sim.experiments.optimum import execute_with_optimum
from sim.experiments.replication import (
    ExperimentError,
    RunSpec,
    execute,
    load,
    replication_specs,
    run_specs,
)
from sim.experiments.stats import ALPHA, paired_stat
from sim.measure.kpis import ALL_KPIS, KPIS, OPTIMUM_KPIS
from sim.measure.present import format_ci, format_delta, format_p, format_value, verdict
from sim.scenario import Policies, Scenario, edit_scenario, scenario_hash
from sim.store.atomic import write_atomic
from sim.store.rundir import code_version

__all__ = ["BaselineError", "Tolerance", "BaselineRun", "BaselineScenario", "Baseline",
           "default_tolerances", "load_baseline", "build_baseline", "update_baseline",
           "with_policies", "KpiCheck", "judge", "CheckResult", "run_check", "render_markdown",
           "render_junit", "write_reports"]


class BaselineError(ExperimentError):
    """A baseline file is missing or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tolerance(_Strict):
    """How much worse a KPI may get before it counts: ``max(abs, rel × |baseline|)``."""

    abs: float = Field(0.0, ge=0)
    rel: float = Field(0.0, ge=0)

    def allowed(self, baseline: float) -> float:
        """The allowed worsening for a KPI whose baseline mean is ``baseline``."""
        return max(self.abs, self.rel * abs(baseline))


class BaselineRun(_Strict):
    """One baseline replication: its seed and KPI values."""

    rep: int = Field(ge=0)
    seed: int = Field(ge=0)
    run_id: str
    kpis: dict[str, float]


class BaselineScenario(_Strict):
    """One scenario of the suite and its baseline replications."""

    path: str = Field(description="relative to the baseline file")
    name: str
    data_hash: str = Field(description="hash of the resolved scenario without its policies "
                           "(rule-set versions are tracked in rulesets)")
    rulesets: dict[str, str]
    runs: list[BaselineRun] = Field(min_length=1)


class Baseline(_Strict):
    """A committed baseline: suite definition, tolerances and per-replication KPIs."""

    format: Literal[1] = 1
    engine: Literal["durable", "compiled"] = "compiled"
    days: float | None = Field(None, gt=0)
    reps: int = Field(ge=1)
    seed: int | None = Field(None, ge=0, description="root seed (null: each scenario's own)")
    alpha: float = Field(ALPHA, gt=0, lt=1)
    tolerances: dict[str, Tolerance]
    code_version: str = ""
    scenarios: list[BaselineScenario] = Field(min_length=1)

    @field_validator("tolerances")
    @classmethod
    def _known(cls, v):
        unknown = sorted(set(v) - set(ALL_KPIS))
        if unknown:
            raise ValueError(f"unknown KPI '{unknown[0]}' (known: {', '.join(ALL_KPIS)})")
        return v

    @property
    def optimum(self) -> bool:
        """Whether the baseline runs carry the offline optimum's KPIs (the check then solves
        it for every run too)."""
        return any(k in r.kpis for s in self.scenarios for r in s.runs for k in OPTIMUM_KPIS)


#: Default tolerance of the gap to the offline optimum: it may grow by at most 1 point.
GAP_TOLERANCE = Tolerance(abs=1.0)


def default_tolerances(optimum: bool = False) -> dict[str, Tolerance]:
    """Starting tolerances for every KPI with a better direction (edit them in the file); with
    ``optimum``, the gap to the offline optimum too (``GAP_TOLERANCE``)."""
    out = {}
    for name, spec in KPIS.items():
        if spec.better == "none":
            continue
        if spec.unit == "%":
            out[name] = Tolerance(abs=0.5)                  # percentage points
        elif spec.unit in ("orders", "units"):
            out[name] = Tolerance(abs=2.0, rel=0.05)
        else:                     # 2%, with a floor so KPIs near 0 do not flag rounding noise
            out[name] = Tolerance(abs=0.01, rel=0.02)
    if optimum:
        out["cost_gap_to_optimal_pct"] = GAP_TOLERANCE
    return out


def load_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file; errors name the file and field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise BaselineError(f"{path}: malformed JSON: {exc}") from None
    try:
        return Baseline.model_validate(raw)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        raise BaselineError(f"{path}: {format_loc(loc)}: {msg}") from None


def _scenario_path(baseline_path: Path, entry: BaselineScenario) -> Path:
    return (baseline_path.parent / entry.path).resolve()


def _rulesets(row: Mapping[str, Any]) -> dict[str, str]:
    return {k.removeprefix("rules_"): v for k, v in sorted(row.items())
            if k.startswith("rules_") and isinstance(v, str)}


def build_baseline(baseline_path: Path, scenario_paths: Sequence[str | Path], executor: Executor,
                   *, reps: int, seed: int | None, days: float | None, engine: str,
                   tolerances: Mapping[str, Tolerance], alpha: float = ALPHA,
                   optimum: bool = False) -> Baseline:
    """Run the suite and return its baseline (not yet written); with ``optimum``, every run's
    offline optimum KPIs too."""
    baseline_path = Path(baseline_path)
    scenarios = [load(p, seed, days) for p in scenario_paths]
    specs = [s for i, sc in enumerate(scenarios)
             for s in replication_specs(sc, reps, engine, scenario_index=i)]
    runs = run_specs(specs, executor, "baseline", task=_task(optimum))
    kpis = [k for k in ALL_KPIS if k in runs.columns]
    entries = []
    for i, (p, sc) in enumerate(zip(scenario_paths, scenarios, strict=True)):
        rows = runs[runs["scenario_index"] == i].to_dict("records")
        entries.append(BaselineScenario(
            path=os.path.relpath(Path(p).resolve(), baseline_path.resolve().parent),
            name=sc.name, data_hash=_data_hash(sc), rulesets=_rulesets(rows[0]),
            runs=[BaselineRun(rep=r["rep"], seed=r["seed"], run_id=r["run_id"],
                              kpis={k: float(r[k]) for k in kpis}) for r in rows]))
    return Baseline(engine=engine, days=days, reps=reps, seed=seed, alpha=alpha,
                    tolerances=dict(tolerances), code_version=code_version(), scenarios=entries)


def update_baseline(baseline_path: Path, executor: Executor, *,
                    scenarios: Sequence[str | Path] | None = None, reps: int | None = None,
                    seed: int | None = None, days: float | None = None,
                    engine: str | None = None, optimum: bool | None = None) -> Baseline:
    """Rerun and rewrite a baseline; settings not given are kept from the existing file
    (``optimum``: whether the runs solve the offline optimum; asking for it on a baseline
    without it adds the gap's default tolerance)."""
    baseline_path = Path(baseline_path)
    old = load_baseline(baseline_path) if baseline_path.exists() else None
    if old is None and not scenarios:
        raise BaselineError(f"{baseline_path}: does not exist; give --scenario to create it")
    keep: dict[str, Any] = {"reps": 3, "seed": None, "days": None, "engine": "compiled",
                            "alpha": ALPHA, "tolerances": default_tolerances(bool(optimum)),
                            "optimum": False}
    if old is not None:
        keep.update({k: getattr(old, k) for k in keep})
        if optimum and not old.optimum:
            keep["tolerances"] = {**default_tolerances(True), **old.tolerances}
    given = {"reps": reps, "seed": seed, "days": days, "engine": engine, "optimum": optimum}
    keep.update({k: v for k, v in given.items() if v is not None})
    paths = list(scenarios or [_scenario_path(baseline_path, s) for s in old.scenarios])
    new = build_baseline(baseline_path, paths, executor, **keep)
    write_atomic(baseline_path, new.model_dump_json(indent=2) + "\n")
    return new


def _task(optimum: bool):
    """The replication task of a suite: with the optimum's KPIs or without."""
    return execute_with_optimum if optimum else execute


def with_policies(scenario: Scenario, policies: Mapping[str, str]) -> Scenario:
    """``scenario`` with some decision points' rule sets replaced."""
    unknown = sorted(set(policies) - set(Policies.model_fields))
    if unknown:
        raise ExperimentError(f"--policy: unknown decision point '{unknown[0]}' "
                              f"(known: {', '.join(Policies.model_fields)})")
    return edit_scenario(scenario, {f"policies.{p}": ref for p, ref in policies.items()},
                         f"{scenario.name} (--policy)", error=ExperimentError)


# ---------------------------------------------------------------------------------------------
# Judging


@dataclass(frozen=True)
class KpiCheck:
    """The verdict on one KPI of one scenario."""

    kpi: str
    base_mean: float
    cur_mean: float
    delta: float
    rel_delta: float
    ci_low: float
    ci_high: float
    p_value: float
    allowed: float          # NaN when the KPI is not checked
    status: str             # regression | improved | not significant | ok | info


def judge(kpi: str, base: Sequence[float], cur: Sequence[float], tolerance: Tolerance | None,
          alpha: float = ALPHA) -> KpiCheck:
    """Compare current with baseline replications of ``kpi`` (element i of each: same seed)."""
    s = paired_stat(base, cur, alpha)
    checked = tolerance is not None and ALL_KPIS[kpi].better != "none"
    allowed = tolerance.allowed(s.mean_a) if checked else math.nan
    status = "info"
    if not math.isnan(allowed):
        noiseless = s.n == 1 or s.half_width == 0     # nothing to test: tolerance decides
        direction = verdict(kpi, s.delta, s.significant or noiseless)
        if abs(s.delta) <= allowed:
            status = "ok"
        elif direction == "no significant difference":
            status = "not significant"
        else:
            status = "regression" if direction == "worse" else "improved"
    return KpiCheck(kpi, s.mean_a, s.mean_b, s.delta, s.rel_delta, s.ci[0], s.ci[1], s.p_value,
                    allowed, status)


@dataclass(frozen=True)
class CheckResult:
    """Every KPI verdict of a check run, and notes on what changed since the baseline."""

    baseline_path: Path
    baseline: Baseline
    table: pd.DataFrame           # one row per scenario × KPI
    notes: dict[str, list[str]]   # scenario name → notes

    @property
    def regressions(self) -> pd.DataFrame:
        """The rows that fail the check."""
        return self.table[self.table["status"] == "regression"]

    @property
    def passed(self) -> bool:
        """True when no KPI regressed."""
        return self.regressions.empty


def _data_hash(sc: Scenario) -> str:
    """Hash of everything in a scenario but the choice of rule sets."""
    return scenario_hash(sc.model_copy(update={"policies": None}))


def _notes(entry: BaselineScenario, sc: Scenario, row: Mapping[str, Any]) -> list[str]:
    notes = []
    if _data_hash(sc) != entry.data_hash:
        notes.append("scenario data changed since the baseline (network, demand, costs…)")
    now = _rulesets(row)
    for point in sorted(set(now) | set(entry.rulesets)):
        before, after = entry.rulesets.get(point), now.get(point)
        if before != after:
            notes.append(f"{point} rules changed: {before or 'none'} → {after or 'none'}")
    return notes


def run_check(baseline: Baseline, baseline_path: Path, executor: Executor,
              policies: Mapping[str, str] | None = None) -> CheckResult:
    """Rerun the baseline suite on its committed seeds and judge every KPI."""
    baseline_path = Path(baseline_path)
    scenarios = []
    for entry in baseline.scenarios:
        sc = load(_scenario_path(baseline_path, entry), baseline.seed, baseline.days)
        scenarios.append(with_policies(sc, policies) if policies else sc)
    specs = [RunSpec(sc.model_copy(update={"seed": r.seed}), baseline.engine,
                     {"scenario_index": i, "rep": r.rep})
             for i, (entry, sc) in enumerate(zip(baseline.scenarios, scenarios, strict=True))
             for r in entry.runs]
    runs = run_specs(specs, executor, "check", task=_task(baseline.optimum))
    rows, notes = [], {}
    for i, (entry, sc) in enumerate(zip(baseline.scenarios, scenarios, strict=True)):
        cur = runs[runs["scenario_index"] == i].set_index("seed")
        seeds = [r.seed for r in entry.runs]
        notes[entry.name] = _notes(entry, sc, cur.iloc[0].to_dict())
        for k in ALL_KPIS:
            if k not in cur.columns or any(k not in r.kpis for r in entry.runs):
                continue                # a KPI newer than the baseline: nothing to compare
            base = [r.kpis[k] for r in entry.runs]
            c = judge(k, base, cur.loc[seeds, k].to_numpy(float),
                      baseline.tolerances.get(k), baseline.alpha)
            rows.append({"scenario": entry.name, **c.__dict__})
    return CheckResult(baseline_path, baseline, pd.DataFrame(rows), notes)


# ---------------------------------------------------------------------------------------------
# Reports

_MARK = {"regression": "❌ regression", "improved": "🟢 improved",
         "not significant": "⚠️ not significant", "ok": "✅ ok", "info": "—"}


def _tolerance_text(t: Tolerance | None) -> str:
    if t is None:
        return "—"
    parts = ([f"±{t.abs:g}"] if t.abs else []) + ([f"{100 * t.rel:g}%"] if t.rel else [])
    return " or ".join(parts) or "0"


def _md_row(r: Mapping[str, Any], tol: Tolerance | None) -> str:
    unit = ALL_KPIS[r["kpi"]].unit
    cells = [ALL_KPIS[r["kpi"]].label.strip(), unit, format_value(r["base_mean"], unit),
             format_value(r["cur_mean"], unit), format_delta(r["delta"], unit),
             format_delta(r["rel_delta"], relative=True),
             format_ci(r["ci_low"], r["ci_high"], unit), format_p(r["p_value"]),
             _tolerance_text(tol), _MARK[r["status"]]]
    return "| " + " | ".join(cells) + " |"


def render_markdown(result: CheckResult) -> str:
    """A Markdown summary for a pull-request comment."""
    b, t = result.baseline, result.table
    n_reg = len(result.regressions)
    head = "✅ pass" if result.passed else f"❌ {n_reg} regression{'s' * (n_reg != 1)}"
    days = f"{b.days:g} days" if b.days else "scenario horizon"
    lines = [f"## domlab check: {head}", "",
             f"Baseline `{result.baseline_path}`: {b.reps} replication(s) per scenario on the "
             f"committed seeds, {days}, {b.engine} engine. A KPI regresses when it is worse than "
             f"its tolerance and the paired {100 * (1 - b.alpha):g}% interval of the change "
             "excludes 0.", ""]
    flagged = t[t["status"].isin(["regression", "improved", "not significant"])]
    lines += [f"- {_MARK[r['status']]}: **{r['scenario']}** {ALL_KPIS[r['kpi']].label.strip()} "
              f"{format_delta(r['rel_delta'], relative=True)} (p {format_p(r['p_value'])})"
              for r in flagged.to_dict("records")]
    if not flagged.empty:
        lines.append("")
    for name, part in t.groupby("scenario", sort=False):
        lines += [f"### {name}", ""]
        lines += [f"- {note}" for note in result.notes.get(name, [])]
        if result.notes.get(name):
            lines.append("")
        lines += ["| KPI | unit | baseline | current | Δ | Δ % | 95% CI of Δ | p | tolerance "
                  "| status |", "|:--|:--|--:|--:|--:|--:|--:|--:|--:|:--|"]
        lines += [_md_row(r, b.tolerances.get(r["kpi"])) for r in part.to_dict("records")]
        lines.append("")
    return "\n".join(lines)


def render_junit(result: CheckResult) -> str:
    """JUnit XML: one test suite per scenario, one test case per checked KPI."""
    checked = result.table[result.table["status"] != "info"]
    root = ET.Element("testsuites", name="domlab check", tests=str(len(checked)),
                      failures=str(len(result.regressions)))
    for name, part in checked.groupby("scenario", sort=False):
        failures = int((part["status"] == "regression").sum())
        suite = ET.SubElement(root, "testsuite", name=str(name), tests=str(len(part)),
                              failures=str(failures))
        for r in part.to_dict("records"):
            case = ET.SubElement(suite, "testcase", classname=f"domlab.check.{name}",
                                 name=r["kpi"])
            unit = ALL_KPIS[r["kpi"]].unit
            rel = format_delta(r["rel_delta"], relative=True)
            text = (f"{r['kpi']}: baseline {format_value(r['base_mean'], unit)}, current "
                    f"{format_value(r['cur_mean'], unit)}, delta "
                    f"{format_delta(r['delta'], unit)} ({rel}), "
                    f"95% CI {format_ci(r['ci_low'], r['ci_high'], unit)}, "
                    f"p {format_p(r['p_value'])}, "
                    f"allowed worsening {format_value(r['allowed'], unit)}: {r['status']}")
            if r["status"] == "regression":
                ET.SubElement(case, "failure", message=text, type="regression").text = text
            else:
                ET.SubElement(case, "system-out").text = text
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def write_reports(result: CheckResult, markdown: Path | None, junit: Path | None) -> list[Path]:
    """Write the Markdown summary and JUnit XML (each atomically) where asked."""
    out = []
    if markdown:
        out.append(write_atomic(Path(markdown), render_markdown(result)))
    if junit:
        out.append(write_atomic(Path(junit), render_junit(result)))
    return out

