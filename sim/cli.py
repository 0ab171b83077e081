"""``domlab`` command line: run, compare, validate, schema, rules.

Exit codes: 0 success, 1 a check failed, 2 bad input (a one-line error naming file and field).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from rules.schema import RuleError
from sim.kpis import KPIS
from sim.model import SimulationError
from sim.runner import Outcome, prepare_engine, run_scenario
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["main", "kpi_table", "build_parser", "UsageError", "PLUGINS"]

#: Modules adding subcommands: each has ``register(sub, rules_sub, common)`` where ``sub`` is the
#: top-level subparsers, ``rules_sub`` the ``domlab rules`` subparsers and ``common(parser)``
#: adds --seed/--days/--out/--engine. Command functions return an exit code.
PLUGINS: list[str] = ["rules.cli", "sim.cli_experiments", "reports.cli"]


class UsageError(ValueError):
    """A command-line argument is invalid."""


def _fmt(value: float, unit: str) -> str:
    if unit in ("orders", "units") or (unit == "" and float(value).is_integer()):
        return f"{value:,.0f}"
    if unit == "$":
        return f"{value:,.2f}"
    return f"{value:,.2f}"


def kpi_table(names: list[str], kpis: list[dict[str, float]]) -> str:
    """A plain-text KPI table for one run, or runs side by side with deltas vs the first."""
    header = ["KPI", "unit", *names]
    if len(kpis) == 2:
        header += ["delta", "delta %"]
    rows = [header]
    for key, spec in KPIS.items():
        vals = [k[key] for k in kpis]
        row = [spec.label, spec.unit, *(_fmt(v, spec.unit) for v in vals)]
        if len(kpis) == 2:
            d = vals[1] - vals[0]
            row += [f"{d:+,.2f}", f"{100 * d / vals[0]:+.1f}%" if vals[0] else "n/a"]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for j, r in enumerate(rows):
        cells = [c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _load(path: str, seed: int | None, days: float | None) -> Scenario:
    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if days is not None:
        overrides["horizon_days"] = days
    return load_scenario(path, overrides)


def _run_and_store(scenario: Scenario, args) -> tuple[Outcome, Path]:
    from reports.charts import RunView
    from sim.store import write_run

    outcome = run_scenario(scenario, args.engine)
    view = RunView.from_run(scenario.name, outcome.run, outcome.kpis)
    path = write_run(outcome, Path(args.out),
                     {"view.json": json.dumps(view.to_dict(), sort_keys=True)})
    return outcome, path


def cmd_run(args) -> int:
    """Simulate one scenario and write its run directory."""
    scenario = _load(args.scenario, args.seed, args.days)
    outcome, path = _run_and_store(scenario, args)      # rules fail before anything is written
    print(kpi_table([scenario.name], [outcome.kpis["kpis"]]))
    print(f"\n{len(outcome.run.orders['t_created']):,} orders simulated in "
          f"{outcome.seconds:.1f} s ({outcome.orders_per_second:,.0f} orders/s, "
          f"engine {args.engine})")
    print(f"run written to {path}")
    return 0


def cmd_compare(args) -> int:
    """Run two scenarios on the same seed (common random numbers) and print KPI deltas."""
    a = _load(args.a, args.seed, args.days)
    b = _load(args.b, args.seed if args.seed is not None else a.seed, args.days)
    if b.seed != a.seed:
        b = b.model_copy(update={"seed": a.seed})
    for sc in (a, b):                        # both rule sets checked before the first run
        prepare_engine(sc, args.engine).close()
    outcomes, paths = zip(*(_run_and_store(sc, args) for sc in (a, b)), strict=True)
    print(f"seed {a.seed}: both scenarios see the same demand (common random numbers)\n")
    print(kpi_table([a.name, b.name], [o.kpis["kpis"] for o in outcomes]))
    for p in paths:
        print(f"run written to {p}")
    if args.report:
        from reports.build import report_for_runs
        html = report_for_runs(list(paths), Path(args.report), f"{a.name} vs {b.name}")
        print(f"report: {html}")
    return 0


def cmd_validate(args) -> int:
    """Validate a scenario and the rule sets it names."""
    scenario = load_scenario(args.scenario)
    eng = prepare_engine(scenario, "compiled")
    eng.close()
    pts = ", ".join(f"{p}={rs.name}" for p, rs in eng.rulesets.items())
    print(f"{args.scenario}: OK: scenario '{scenario.name}', {len(scenario.nodes)} nodes, "
          f"{len(scenario.skus)} SKUs, {len(scenario.channels)} channels; rules: {pts}")
    return 0


def cmd_schema(args) -> int:
    """Print (or write) the scenario JSON Schema for editor autocompletion."""
    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if args.out:
        from sim.atomic import write_atomic
        write_atomic(Path(args.out), text)
        print(f"schema written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="domlab", description="DOM rules simulation lab")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--seed", type=int, help="override the scenario seed")
        sp.add_argument("--days", type=float, help="override horizon_days")
        sp.add_argument("--out", default="runs", help="output directory (default: runs)")
        sp.add_argument("--engine", choices=["durable", "compiled"], default="durable",
                        help="rule backend (durable is the reference)")

    sp = sub.add_parser("run", help="simulate one scenario")
    sp.add_argument("scenario")
    common(sp)
    sp.set_defaults(fn=cmd_run)

    sp = sub.add_parser("compare", help="compare two scenarios on the same demand")
    sp.add_argument("a")
    sp.add_argument("b")
    common(sp)
    sp.add_argument("--report", help="write an HTML report into this directory")
    sp.set_defaults(fn=cmd_compare)

    sp = sub.add_parser("validate", help="validate a scenario and its rule sets")
    sp.add_argument("scenario")
    sp.set_defaults(fn=cmd_validate)

    sp = sub.add_parser("schema", help="JSON Schema of scenario files")
    sp.add_argument("--out")
    sp.set_defaults(fn=cmd_schema)

    rp = sub.add_parser("rules", help="rule-set tools")
    rsub = rp.add_subparsers(dest="rules_command", required=True)
    for module in PLUGINS:
        importlib.import_module(module).register(sub, rsub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``domlab`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ScenarioError, RuleError, SimulationError, UsageError) as exc:
        print(f"domlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: plugins raise sim.cli's errors.
    from sim import cli as _cli
    sys.exit(_cli.main())
