"""``domlab`` experiment commands: replications, sweeps, the run registry and the CI check.

The parser (``sim.cli.parser``) sends here

* from ``domlab run`` / ``domlab compare``: ``--reps N`` (replications on spawned seeds, paired
  by seed in ``compare``), ``--warmup DAYS``, ``--executor/--workers/--scheduler``, and for
  ``run`` ``--batches K`` (batch means of one long run). With ``--reps 1`` and no ``--batches``
  both commands behave exactly as before: the original command function runs.
* ``domlab sweep SPEC.yaml``, ``domlab runs list|show``, ``domlab check``,
  ``domlab baseline update``.

Errors are ``ExperimentError`` (a ``ScenarioError``): one line on stderr, exit 2.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from sim.cli.run import (
    about,
    kpi_table,
    optimum_brief,
    print_scenario_notes,
    run_and_store,
    run_dir_name,
)
from sim.experiments.batches import batch_means_table
from sim.experiments.check import load_baseline, run_check, update_baseline, write_reports
from sim.experiments.comparison import compare_replications, run_pair, summarize
from sim.experiments.executors import Executor, make_executor
from sim.experiments.optimum import execute_with_optimum
from sim.experiments.replication import (
    ExperimentError,
    execute,
    experiment_seeds,
    load,
    replicate,
)
from sim.experiments.sweeps import load_sweep, run_sweep
from sim.measure.kpis import ALL_KPIS, KPIS
from sim.measure.present import (
    format_ci,
    format_delta,
    format_half_width,
    format_p,
    format_value,
    text_table,
)
from sim.scenario import Scenario, scenario_hash
from sim.store.outdir import check_output_dir
from sim.store.registry import find_run, read_registry, write_rows, write_table
from sim.store.rundir import code_version

__all__ = ["cmd_run_experiment", "cmd_compare_experiment", "cmd_sweep",
           "cmd_runs_list", "cmd_runs_show", "cmd_check", "cmd_baseline_update"]

DEFAULT_BASELINE = "baselines/omnichannel.json"


# ---------------------------------------------------------------------------------------------
# Helpers


@contextmanager
def _executor(args) -> Iterator[Executor]:
    """The executor the command line asked for, closed afterwards."""
    _positive("--workers", args.workers)
    try:
        ex = make_executor(args.executor, args.workers, args.scheduler)
    except ConnectionError as exc:
        raise ExperimentError(str(exc)) from None
    try:
        yield ex
    finally:
        ex.close()


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ExperimentError(f"{name}: must be ≥ 1 (got {value})")


def _needs_reps(args) -> None:
    if args.reps == 1:
        raise ExperimentError("--warmup: works with --reps N > 1 or --batches; for one run set "
                              "warmup_days in the scenario")


def _row_task(args):
    """The replication task: with the offline optimum's KPIs under ``--optimum``."""
    return execute_with_optimum if args.optimum else execute


def _experiment_id(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8]


def _save(runs: pd.DataFrame, out: Path, name: str) -> Path:
    """Register the runs and write the experiment's table; returns the table path."""
    write_rows(out, runs, code_version())
    return write_table(runs, out / "experiments" / f"{name}.parquet")


# ---------------------------------------------------------------------------------------------
# domlab run --reps N / --batches K


def _print_summary(scenario: Scenario, runs: pd.DataFrame, engine: str, executor: str) -> None:
    seeds = f"seeds spawned from root seed {scenario.seed}"
    print(f"{scenario.name}: {len(runs)} replications ({seeds}), engine {engine}, "
          f"executor {executor}\n")
    rows = []
    for r in summarize(runs).to_dict("records"):
        u = r["unit"]
        rows.append([ALL_KPIS[r["kpi"]].label, u, format_value(r["mean"], u),
                     format_half_width(r["half_width"], u), format_value(r["sd"], u),
                     format_value(runs[r["kpi"]].min(), u), format_value(runs[r["kpi"]].max(), u)])
    print(text_table(["KPI", "unit", "mean", "95% CI", "sd", "min", "max"], rows))


def _run_batches(args) -> int:
    if args.reps > 1:
        raise ExperimentError("--batches: batch means are for one long run; drop --reps")
    if args.batches < 2:
        raise ExperimentError(f"--batches: need at least 2 batches (got {args.batches})")
    scenario = load(args.scenario, args.seed, args.days, args.warmup, args.skip_bad_rows)
    check_output_dir(args.out, [run_dir_name(scenario)])
    with about(args.scenario):
        outcome, path = run_and_store(scenario, args)
    print_scenario_notes(scenario)
    print(kpi_table([scenario.name], [outcome.kpis["kpis"]]))
    if args.optimum:
        print("\n" + optimum_brief(path))
    table = batch_means_table(outcome.run, args.batches)
    rows = [[ALL_KPIS[r["kpi"]].label, r["unit"], format_value(r["mean"], r["unit"]),
             format_half_width(r["half_width"], r["unit"]), str(r["batch_size"]),
             f"{r['lag1']:+.2f}", str(r["mser5_drop"])] for r in table.to_dict("records")]
    print(f"\nbatch means: {args.batches} batches of per-order observations after warm-up")
    print(text_table(["KPI", "unit", "mean", "95% CI", "batch size", "lag-1 corr",
                      "MSER-5 drop"], rows))
    print(f"\nrun written to {path}")
    return 0


def cmd_run_experiment(args) -> int:
    """``domlab run --reps N``: replications with mean and 95% CI per KPI."""
    if getattr(args, "events", "full") != "full":
        raise ExperimentError("--events: applies to one run (no --reps, --batches, --warmup)")
    _positive("--reps", args.reps)
    if args.batches:
        return _run_batches(args)
    _needs_reps(args)
    scenario = load(args.scenario, args.seed, args.days, args.warmup, args.skip_bad_rows)
    name = f"{scenario.name}-r{args.reps}-{_experiment_id(scenario_hash(scenario), args.engine)}"
    check_output_dir(args.out, [name])
    with _executor(args) as ex, about(args.scenario):
        runs = replicate(scenario, args.reps, ex, args.engine, task=_row_task(args))
    print_scenario_notes(scenario)
    _print_summary(scenario, runs, args.engine, ex.name)
    print(f"\nreplications table: {_save(runs, Path(args.out), name)}")
    return 0


# ---------------------------------------------------------------------------------------------
# domlab compare --reps N


def _crn_text(r: dict[str, Any]) -> str:
    u = r["unit"]
    if pd.isna(r["indep_half_width"]):
        return "n/a"
    text = f"{format_half_width(r['half_width'], u)} vs " \
           f"{format_half_width(r['indep_half_width'], u)}"
    if r["indep_half_width"] > 0:
        change = 100 * (1 - r["width_ratio"])
        text += f" ({change:.0f}% narrower)" if change >= 0 else f" ({-change:.0f}% wider)"
    return text


def _compare_rows(table: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in table.to_dict("records"):
        u = r["unit"]
        sig = ("yes, " + r["verdict"]) if r["significant"] else "no"
        rows.append([ALL_KPIS[r["kpi"]].label, u, format_value(r["mean_a"], u),
                     format_value(r["mean_b"], u), format_delta(r["delta"], u),
                     format_delta(r["rel_delta"], relative=True),
                     format_ci(r["ci_low"], r["ci_high"], u), format_p(r["p_value"]), sig,
                     _crn_text(r)])
    return rows


def cmd_compare_experiment(args) -> int:
    """``domlab compare --reps N``: paired replications (same seeds), CI and p per KPI."""
    _positive("--reps", args.reps)
    _needs_reps(args)
    if args.report:
        raise ExperimentError("--report: HTML reports compare single runs; drop --reps")
    a = load(args.a, args.seed, args.days, args.warmup, args.skip_bad_rows)
    b = load(args.b, a.seed, args.days, args.warmup, args.skip_bad_rows)
    for sc in (a, b):
        print_scenario_notes(sc)
    name = f"{a.name}-vs-{b.name}-r{args.reps}-" + _experiment_id(
        scenario_hash(a), scenario_hash(b), args.engine)
    check_output_dir(args.out, [name, f"{name}.comparison"])
    with _executor(args) as ex:
        runs = run_pair(a, b, args.reps, ex, args.engine, task=_row_task(args))
    table = compare_replications(runs[runs["arm"] == "a"], runs[runs["arm"] == "b"])
    print(f"root seed {a.seed} → {args.reps} replications; each pair of runs shares a seed, so "
          f"both scenarios see the same demand (common random numbers)")
    print(f"a = {a.name}, b = {b.name}; delta = b − a, paired t 95% CI; last column: paired "
          "vs independent CI half-width\n")
    print(text_table(["KPI", "unit", "a", "b", "delta", "delta %", "95% CI of delta", "p",
                      "significant", "CRN: paired vs indep CI"], _compare_rows(table)))
    path = _save(runs, Path(args.out), name)
    write_table(table, path.with_name(f"{name}.comparison.parquet"))
    print(f"\nreplications table: {path}")
    return 0


# ---------------------------------------------------------------------------------------------
# domlab sweep


def _points_table(points: pd.DataFrame, params: list[str], pareto: Sequence[str]) -> str:
    x, y = pareto
    rows = [[str(r["point"]), *(str(r[p]) for p in params),
             format_value(r[x], KPIS[x].unit), format_value(r[y], KPIS[y].unit),
             "*" if r["pareto"] else ""] for r in points.to_dict("records")]
    return text_table(["point", *params, KPIS[x].label.strip(), KPIS[y].label.strip(),
                       "Pareto"], rows, left=1)


def cmd_sweep(args) -> int:
    """Run a sweep file: every point × replications, one tidy table, Pareto front."""
    spec_path = Path(args.spec)
    spec = load_sweep(spec_path)
    name = spec.name or spec_path.stem
    out = check_output_dir(Path(args.out) / "sweeps" / name)
    with _executor(args) as ex:
        result = run_sweep(spec, spec_path, ex, out / "rules")
    write_rows(Path(args.out), result.runs, code_version())
    runs_path = write_table(result.runs, out / "results.parquet")
    write_table(result.points, out / "points.parquet")
    n_points = len(result.points)
    print(f"sweep {name}: {n_points} points × {spec.reps} replications ({spec.mode}), "
          f"engine {spec.engine}; means per point, * = Pareto front\n")
    print(_points_table(result.points, list(spec.parameters), spec.pareto))
    print(f"\nresults (one row per run): {runs_path}")
    print(f"per-point means: {out / 'points.parquet'}")
    return 0


# ---------------------------------------------------------------------------------------------
# domlab runs list / show

_LIST_COLUMNS = ["run_id", "scenario", "seed", "engine", "created_at", "cost_per_order",
                 "on_time_pct"]


def cmd_runs_list(args) -> int:
    """List registered runs, oldest first."""
    reg = read_registry(args.root)
    if args.scenario:
        reg = reg[reg["scenario"] == args.scenario]
    if args.limit:
        reg = reg.tail(args.limit)
    if args.format == "csv":
        sys.stdout.write(reg.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(reg.to_json(orient="records", indent=2) + "\n")
    elif reg.empty:
        print(f"no runs under {args.root}")
    else:
        cols = [c for c in _LIST_COLUMNS if c in reg.columns]
        rows = [[("n/a" if pd.isna(v) else format_value(v, KPIS[c].unit)) if c in KPIS
                 else str(v) for c, v in zip(cols, r, strict=True)]
                for r in reg[cols].itertuples(index=False)]
        print(text_table(cols, rows, left=5))
        print(f"\n{len(reg)} runs; full table: pandas.read_parquet('{args.root}/_registry') "
              "or DuckDB read_parquet('.../*.parquet')")
    return 0


def cmd_runs_show(args) -> int:
    """Show one run's registry row: identity, rule sets, code version and every KPI."""
    try:
        row = find_run(read_registry(args.root), args.run_id)
    except LookupError as exc:
        raise ExperimentError(f"runs show: {exc}") from None
    for k, v in row.items():
        if k not in ALL_KPIS and not (isinstance(v, float) and pd.isna(v)) and v is not None:
            print(f"{k + ':':22s} {v}")
    print()
    print(text_table(["KPI", "unit", "value"],
                     [[s.label, s.unit, format_value(row[k], s.unit)]
                      for k, s in ALL_KPIS.items() if k in row and not pd.isna(row[k])]))
    return 0


# ---------------------------------------------------------------------------------------------
# domlab check / baseline update


def _policies(items: Sequence[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        point, sep, ref = item.partition("=")
        if not sep or not point or not ref:
            raise ExperimentError(f"--policy {item}: write POINT=RULESET, e.g. "
                                  "carrier=rules/library/carrier/cheapest_on_time.yaml")
        out[point] = str(Path(ref).resolve()) if Path(ref).is_file() else ref
    return out


def cmd_check(args) -> int:
    """Rerun the baseline suite; exit 1 on a significant regression, 0 otherwise."""
    baseline = load_baseline(args.baseline)
    with _executor(args) as ex:
        result = run_check(baseline, Path(args.baseline), ex, _policies(args.policy))
    paths = write_reports(result, args.markdown, args.junit)
    for _, r in result.table[result.table["status"] != "info"].iterrows():
        if r["status"] != "ok":
            unit = ALL_KPIS[r["kpi"]].unit
            print(f"{r['status'].upper()}: {r['scenario']}: {r['kpi']} "
                  f"{format_value(r['base_mean'], unit)} → {format_value(r['cur_mean'], unit)} "
                  f"(p {format_p(r['p_value'])}, allowed worsening "
                  f"{format_value(r['allowed'], unit)})")
    checked = int((result.table["status"] != "info").sum())
    verdict = "PASS" if result.passed else f"FAIL: {len(result.regressions)} regression(s)"
    print(f"domlab check: {verdict} ({checked} KPI checks, baseline {args.baseline})")
    for p in paths:
        print(f"written: {p}")
    return 0 if result.passed else 1


def cmd_baseline_update(args) -> int:
    """Rerun the suite and rewrite the baseline file (tolerances are kept)."""
    _positive("--reps", args.reps)
    with _executor(args) as ex:
        b = update_baseline(Path(args.baseline), ex, scenarios=args.scenario, reps=args.reps,
                            seed=args.seed, days=args.days, engine=args.engine,
                            optimum=args.optimum)
    names = ", ".join(s.name for s in b.scenarios)
    seeds = experiment_seeds(b.seed, b.reps) if b.seed is not None else "per scenario"
    print(f"baseline written to {args.baseline}: {names}; {b.reps} replications "
          f"(seeds {seeds}), engine {b.engine}, {len(b.tolerances)} KPIs checked")
    return 0
