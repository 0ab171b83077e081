"""``domlab run | compare | validate | schema``: one run, a same-seed pair, checks, the schema.

``validate`` loads a scenario and checks its rules, nothing more, so the model (SimPy) and the
KPIs (NumPy) are imported only by the commands that run; ``bench/startup.py`` times the start.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rules.schema import RuleError
from sim.cli import UsageError
from sim.core.errors import SimulationError
from sim.experiments.runner import Outcome, prepare_engine, run_scenario
from sim.scenario import Scenario, load_scenario, scenario_warnings
from sim.scenario.loader import skip_bad_rows_override
from sim.store.outdir import check_output_dir

__all__ = ["kpi_table", "cmd_run", "cmd_compare", "cmd_validate", "cmd_schema",
           "run_and_store", "optimum_brief", "load_cli_scenario", "print_scenario_notes",
           "run_dir_name", "about"]


def kpi_table(names: list[str], kpis: list[dict[str, float]]) -> str:
    """A plain-text KPI table for one run, or runs side by side with deltas vs the first (the
    offline optimum's KPIs when every run has them)."""
    from sim.measure.kpis import ALL_KPIS
    from sim.measure.present import format_delta, format_value, relative_change, text_table

    header = ["KPI", "unit", *names]
    if len(kpis) == 2:
        header += ["delta", "delta %"]
    rows = []
    for key, spec in ALL_KPIS.items():
        if not all(key in k for k in kpis):
            continue
        vals = [k[key] for k in kpis]
        row = [spec.label, spec.unit, *(format_value(v, spec.unit) for v in vals)]
        if len(kpis) == 2:
            d = vals[1] - vals[0]
            row += [format_delta(d, spec.unit),
                    format_delta(relative_change(d, vals[0]), relative=True)]
        rows.append(row)
    return text_table(header, rows)


def load_cli_scenario(path: str, seed: int | None, days: float | None,
                      skip_bad_rows: bool = False) -> Scenario:
    """The scenario at ``path`` with the --seed/--days/--skip-bad-rows overrides applied."""
    overrides: dict[str, Any] = skip_bad_rows_override(skip_bad_rows)
    if seed is not None:
        overrides["seed"] = seed
    if days is not None:
        overrides["horizon_days"] = days
    return load_scenario(path, overrides)


def run_dir_name(scenario: Scenario) -> str:
    """A name as long as the scenario's run id (``<name>-s<seed>-<8 hex>``), known before the
    rules are loaded: what ``check_output_dir`` needs to fit."""
    return f"{scenario.name}-s{scenario.seed}-{'0' * 8}"


@contextmanager
def about(path: str | Path) -> Iterator[None]:
    """Errors found while checking rules for or simulating the scenario file ``path``
    (``RuleError``, ``SimulationError``: their messages start at the field path, e.g.
    ``policies.backorder: …``) name the file first, as loading errors do."""
    try:
        yield
    except (RuleError, SimulationError) as exc:
        if str(exc).startswith(f"{path}: "):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def print_scenario_notes(scenario: Scenario) -> None:
    """One line on the replayed order history (kept, skipped, left out), if there is one, and
    a warning (on stderr) for each peak or event outside the horizon."""
    if scenario.order_history is not None:
        from sim.scenario.history import replayed_history
        print(replayed_history(scenario).summary())
    for warning in scenario_warnings(scenario):
        print(f"warning: {scenario.name}: {warning}", file=sys.stderr)


def run_and_store(scenario: Scenario, args) -> tuple[Outcome, Path]:
    """Run ``scenario`` and write its run directory (with the app/report view); with
    ``args.optimum``, solve its offline optimum first (KPIs in ``kpis.json``) and add
    ``optimum.json`` and ``optimum_orders.parquet``."""
    from reports.build import save_run
    from reports.view import RunView

    outcome = run_scenario(scenario, args.engine, events=getattr(args, "events", "full"))
    result = None
    if getattr(args, "optimum", False):
        from sim.experiments.optimum import add_optimum
        result = add_optimum(outcome)
    view = RunView.from_run(scenario.name, outcome.run, outcome.kpis)
    path = save_run(outcome, view, Path(args.out))
    if result is not None:
        from sim.experiments.optimum import write_optimum
        write_optimum(path, result)
    return outcome, path


def _money(rows: list[dict[str, Any]], key: str, n: int = 3) -> str:
    return ", ".join(f"{r[key] or '(none)'} ${r['saving']:,.0f} ({r['share_pct']:.0f}%)"
                     for r in rows[:n]) or "nothing to save"


def optimum_brief(run_dir: Path, top: int = 5) -> str:
    """A few lines on the offline optimum of a run directory (from its ``optimum.json``):
    costs per order, the gap, the solve, and where the money is."""
    from sim.experiments.optimum import OPTIMUM_JSON, OPTIMUM_ORDERS

    rep = json.loads((Path(run_dir) / OPTIMUM_JSON).read_text())
    s, t, k = rep["summary"], rep["timings"], rep["kpis"]
    lines = [
        f"offline optimum: {s['orders']:,} orders in {s['windows']} daily windows, "
        f"{s['plans']:,} candidate plans, solved in {t['seconds']:.1f} s (HiGHS); the gap "
        f"uses the {s['bound'].upper()} plan",
        f"  window orders: rules ${s['rule_cost_per_order']:.2f}/order, optimal "
        f"${s['milp_cost_per_order']:.2f} (LP bound ${s['lp_bound_per_order']:.2f}): gap "
        f"{k['cost_gap_to_optimal_pct']:.1f}% ({s['gap_to_lp_bound_pct']:.1f}% to the bound)"
        + (f"; {s['unserved']} orders left unplanned" if s["unserved"] else ""),
        f"  CO2e per order: rules {s['co2_kg_per_order_rule']:.2f} kg, optimal "
        f"{s['co2_kg_per_order_optimal']:.2f} kg",
        "where the money is (saving = rules − optimal):",
        f"  by sourcing rule: {_money(rep['by_sourcing_rule'], 'sourcing_rule')}",
        f"  by node:          {_money(rep['by_node'], 'rule_nodes')}",
        f"  by service:       {_money(rep['by_service'], 'rule_services')}",
        f"  top {min(top, len(rep['top_orders']))} orders:"]
    lines += [f"    #{r['order_id']} {r['channel']} to {r['region']}: {r['rule_nodes']} "
              f"{r['rule_services']} ${r['rule_cost']:.2f} → {r['optimal_nodes']} "
              f"{r['optimal_services']} ${r['optimal_cost']:.2f}"
              for r in rep["top_orders"][:top]]
    lines.append(f"details: {Path(run_dir) / OPTIMUM_JSON}, {OPTIMUM_ORDERS}")
    return "\n".join(lines)


def cmd_run(args) -> int:
    """Simulate one scenario and write its run directory."""
    if args.optimum and args.events != "full":
        raise UsageError("--optimum: needs --events full (it reads the run's reservations from "
                         "the event log)")
    scenario = load_cli_scenario(args.scenario, args.seed, args.days, args.skip_bad_rows)
    check_output_dir(args.out, [run_dir_name(scenario)])
    with about(args.scenario):
        outcome, path = run_and_store(scenario, args)  # rules fail before anything is written
    print_scenario_notes(scenario)                     # after: a refusal is its one line
    print(kpi_table([scenario.name], [outcome.kpis["kpis"]]))
    if args.optimum:
        print("\n" + optimum_brief(path))
    print(f"\n{len(outcome.run.orders['t_created']):,} orders simulated in "
          f"{outcome.seconds:.1f} s ({outcome.orders_per_second:,.0f} orders/s, "
          f"engine {args.engine})")
    print(f"run written to {path}")
    return 0


def cmd_compare(args) -> int:
    """Run two scenarios on the same seed (common random numbers) and print KPI deltas."""
    a = load_cli_scenario(args.a, args.seed, args.days, args.skip_bad_rows)
    b = load_cli_scenario(args.b, args.seed if args.seed is not None else a.seed, args.days,
                          args.skip_bad_rows)
    if b.seed != a.seed:
        b = b.model_copy(update={"seed": a.seed})
    check_output_dir(args.out, [run_dir_name(a), run_dir_name(b)])
    for sc, path in ((a, args.a), (b, args.b)):     # both rule sets checked before the first run
        with about(path):
            prepare_engine(sc, args.engine).close()
    runs = []
    for sc, path in ((a, args.a), (b, args.b)):
        with about(path):
            runs.append(run_and_store(sc, args))
    outcomes, paths = zip(*runs, strict=True)
    for sc in (a, b):
        print_scenario_notes(sc)
    print(f"seed {a.seed}: both scenarios see the same demand (common random numbers)\n")
    print(kpi_table([a.name, b.name], [o.kpis["kpis"] for o in outcomes]))
    if args.optimum:
        for sc, p in zip((a, b), paths, strict=True):
            print(f"\n{sc.name}: " + optimum_brief(p, top=3))
    for p in paths:
        print(f"run written to {p}")
    if args.report:
        from reports.build import report_for_runs
        html = report_for_runs(list(paths), Path(args.report), f"{a.name} vs {b.name}")
        print(f"report: {html}")
    return 0


def cmd_validate(args) -> int:
    """Validate a scenario, the rule sets it names and its order history (bad rows: exit 2)."""
    scenario = load_scenario(args.scenario, skip_bad_rows_override(args.skip_bad_rows))
    with about(args.scenario):
        eng = prepare_engine(scenario, "compiled")
    eng.close()
    pts = ", ".join(f"{p}={rs.name}" for p, rs in eng.rulesets.items())
    print(f"{args.scenario}: OK: scenario '{scenario.name}', {len(scenario.nodes)} nodes, "
          f"{len(scenario.skus)} SKUs, {len(scenario.channels)} channels; rules: {pts}")
    print_scenario_notes(scenario)
    return 0


def cmd_schema(args) -> int:
    """Print (or write) the scenario JSON Schema for editor autocompletion."""
    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if args.out:
        from sim.store.atomic import write_atomic
        write_atomic(Path(args.out), text)
        print(f"schema written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0
