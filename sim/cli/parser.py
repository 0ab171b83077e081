"""Every ``domlab`` subcommand and option, declared without importing the code behind them.

A command is named as ``"module:function"`` and imported only when it runs, so ``domlab --help``
and ``domlab validate`` never load scipy, pandas, matplotlib or dask. ``run`` and ``compare``
dispatch to the experiment commands when replication options are used.
"""

from __future__ import annotations

import argparse

from reports import MAX_VIEWS
from sim.experiments import EXECUTORS

__all__ = ["build_parser"]
_RUN = "sim.cli.run"
_EXP = "sim.cli.experiments"
_RULES = "sim.cli.rules"


def _skip_bad_rows(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--skip-bad-rows", action="store_true",
                    help="order history: drop bad rows (and their orders) instead of refusing "
                         "the file (sets order_history.skip_bad_rows)")


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--seed", type=int, help="override the scenario seed")
    sp.add_argument("--days", type=float, help="override horizon_days")
    sp.add_argument("--out", default="runs", help="output directory (default: runs)")
    sp.add_argument("--engine", choices=["durable", "compiled"], default="durable",
                    help="rule backend (durable is the reference)")
    _skip_bad_rows(sp)


def _executor_args(sp: argparse.ArgumentParser) -> None:
    g = sp.add_argument_group("execution")
    g.add_argument("--executor", choices=EXECUTORS, default="process",
                   help="where runs execute (default: local process pool on every core)")
    g.add_argument("--workers", type=int, help="processes for process/dask (default: all cores)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="existing Dask scheduler, e.g. tcp://host:8786 (implies --executor dask)")


def _replication_args(sp: argparse.ArgumentParser) -> None:
    g = sp.add_argument_group("replications")
    g.add_argument("--reps", type=int, default=1,
                   help="replications on seeds spawned from the root seed (default 1)")
    g.add_argument("--warmup", type=float, metavar="DAYS", help="override warmup_days")
    _executor_args(sp)


def _optimum(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--optimum", action="store_true",
                    help="also solve the offline optimum of the run's orders (HiGHS): KPIs "
                         "cost_optimal_per_order and cost_gap_to_optimal_pct, optimum.json "
                         "and optimum_orders.parquet (where the money is) in the run directory")


def _run_target(args) -> str:
    if args.reps != 1 or args.batches or args.warmup is not None:
        return f"{_EXP}:cmd_run_experiment"
    return f"{_RUN}:cmd_run"


def _compare_target(args) -> str:
    if args.reps != 1 or args.warmup is not None:
        return f"{_EXP}:cmd_compare_experiment"
    return f"{_RUN}:cmd_compare"


def _core(sub) -> None:
    sp = sub.add_parser("run", help="simulate one scenario")
    sp.add_argument("scenario")
    _common(sp)
    sp.add_argument("--batches", type=int, default=0, metavar="K",
                    help="batch-means CIs from this one run, in K batches")
    _optimum(sp)
    sp.add_argument("--events", choices=("full", "summary", "none"), default="full",
                    help="what the event log keeps: every state change (full, "
                         "events.parquet), counts and sums per kind (summary, "
                         "events_summary.parquet) or nothing (none); KPIs are the same. "
                         "summary/none keep memory flat on very long runs")
    _replication_args(sp)
    sp.set_defaults(target=_run_target)

    sp = sub.add_parser("compare", help="compare two scenarios on the same demand")
    sp.add_argument("a")
    sp.add_argument("b")
    _common(sp)
    sp.add_argument("--report", help="write an HTML report into this directory")
    _optimum(sp)
    _replication_args(sp)
    sp.set_defaults(target=_compare_target)

    sp = sub.add_parser("validate", help="validate a scenario, its rule sets and order history")
    sp.add_argument("scenario")
    _skip_bad_rows(sp)
    sp.set_defaults(target=f"{_RUN}:cmd_validate")

    sp = sub.add_parser("schema", help="JSON Schema of scenario files")
    sp.add_argument("--out")
    sp.set_defaults(target=f"{_RUN}:cmd_schema")


def _rules(sub) -> None:
    rp = sub.add_parser("rules", help="rule-set tools")
    rules_sub = rp.add_subparsers(dest="rules_command", required=True)
    sp = rules_sub.add_parser("validate", help="validate and lint rule-set files")
    sp.add_argument("files", nargs="+")
    sp.description = ("Validate rule-set files (or every rule set under a directory) and lint "
                      "them: unreachable rules, rules that never match, missing default. Exit "
                      "2 on any error; warnings keep exit 0.")
    sp.set_defaults(target=f"{_RULES}:cmd_validate")

    sp = rules_sub.add_parser("test", help="run rule test cases (*.cases.yaml)")
    sp.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    sp.add_argument("--backend", action="append", choices=["durable", "compiled"],
                    help="run on this backend only (repeatable; default: both)")
    sp.add_argument("-q", "--quiet", action="store_true", help="print failures only")
    sp.set_defaults(target=f"{_RULES}:cmd_test")

    sp = rules_sub.add_parser("coverage", help="how often each rule won in a run")
    sp.add_argument("run_dir")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(target=f"{_RULES}:cmd_coverage")

    sp = rules_sub.add_parser("diff", help="compare two rule sets on one scenario")
    sp.add_argument("old", metavar="OLD", help="rule-set file or library name")
    sp.add_argument("new", metavar="NEW", help="rule-set file or library name (same point)")
    sp.add_argument("--scenario", required=True)
    sp.add_argument("--seed", type=int, help="override the scenario seed")
    sp.add_argument("--days", type=float, help="override horizon_days")
    sp.add_argument("--reps", type=int, default=1,
                    help="paired replications (> 1 adds 95%% confidence intervals)")
    sp.add_argument("--engine", choices=["durable", "compiled"], default="compiled",
                    help="rule backend (default compiled: decides exactly as durable, "
                         "proven by the differential test, and runs much faster)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(target=f"{_RULES}:cmd_diff")


def _experiments(sub) -> None:
    sp = sub.add_parser("sweep", help="run a parameter sweep file (grid or random)")
    sp.add_argument("spec", help="sweep YAML: scenario, parameters, reps, mode…")
    sp.add_argument("--out", default="runs", help="runs root (default: runs)")
    _executor_args(sp)
    sp.set_defaults(target=f"{_EXP}:cmd_sweep")

    rp = sub.add_parser("runs", help="the run registry")
    rsub = rp.add_subparsers(dest="runs_command", required=True)
    sp = rsub.add_parser("list", help="list registered runs")
    sp.add_argument("--root", default="runs", help="runs root (default: runs)")
    sp.add_argument("--scenario", help="only runs of this scenario name")
    sp.add_argument("--limit", type=int, help="only the newest N runs")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(target=f"{_EXP}:cmd_runs_list")
    sp = rsub.add_parser("show", help="show one run")
    sp.add_argument("run_id", help="run id or a unique prefix")
    sp.add_argument("--root", default="runs", help="runs root (default: runs)")
    sp.set_defaults(target=f"{_EXP}:cmd_runs_show")
    sp = rsub.add_parser("gc", help="remove temporary run directories left by killed writers")
    sp.description = ("Remove the hidden temporary run directories and files (.RUNID.tmp-PID-…) "
                      "a writer killed mid-way left under the runs root: those whose owner "
                      "process is no longer running, or older than --max-age-hours. Runs are "
                      "never touched; runs list and show ignore these entries anyway.")
    sp.add_argument("--root", default="runs", help="runs root (default: runs)")
    sp.add_argument("--max-age-hours", type=float, default=1.0,
                    help="stale after this many hours whatever the owner (default 1)")
    sp.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    sp.set_defaults(target="sim.cli.store:cmd_runs_gc")

    sp = sub.add_parser("check", help="CI regression check against a baseline")
    sp.add_argument("--baseline", default="baselines/omnichannel.json")
    sp.add_argument("--markdown", default="out/check/summary.md",
                    help="Markdown summary for a PR comment ('' to skip)")
    sp.add_argument("--junit", default="out/check/junit.xml", help="JUnit XML ('' to skip)")
    sp.add_argument("--policy", action="append", metavar="POINT=RULESET",
                    help="check a candidate rule set at a decision point (repeatable)")
    _executor_args(sp)
    sp.set_defaults(target=f"{_EXP}:cmd_check")

    bp = sub.add_parser("baseline", help="baseline files for domlab check")
    bsub = bp.add_subparsers(dest="baseline_command", required=True)
    sp = bsub.add_parser("update", help="rerun the suite and rewrite the baseline")
    sp.add_argument("--baseline", default="baselines/omnichannel.json")
    sp.add_argument("--scenario", action="append",
                    help="scenario file of the suite (repeatable; default: the file's suite)")
    sp.add_argument("--reps", type=int, help="replications per scenario (default: kept, or 3)")
    sp.add_argument("--seed", type=int, help="root seed (default: kept, or each scenario's)")
    sp.add_argument("--days", type=float, help="horizon override (default: kept)")
    sp.add_argument("--engine", choices=["durable", "compiled"], help="default: kept, or compiled")
    sp.add_argument("--optimum", action=argparse.BooleanOptionalAction, default=None,
                    help="record the offline optimum's KPIs in the baseline, so check solves it "
                         "and judges the gap (default: kept)")
    _executor_args(sp)
    sp.set_defaults(target=f"{_EXP}:cmd_baseline_update")


def _data(sub) -> None:
    ip = sub.add_parser("import", help="check a data file against a scenario, write it normalised")
    isub = ip.add_subparsers(dest="import_command", required=True)
    sp = isub.add_parser("orders", help="an order-history file (CSV or Parquet) to replay")
    sp.description = ("Check an order-history file against a scenario (the columns are in "
                      "sim/scenario/history.py) and write the orders it would replay, "
                      "normalised: ZIPs resolved to lat/lon, promises resolved to a date, "
                      "sorted by timestamp then order_id. Exit 2 on bad rows unless "
                      "--skip-bad-rows.")
    sp.add_argument("file", help="order history, .csv or .parquet")
    sp.add_argument("--scenario", required=True, help="scenario to check the orders against")
    sp.add_argument("--out", required=True, help="normalised file to write, .csv or .parquet")
    _skip_bad_rows(sp)
    sp.set_defaults(target="sim.cli.data:cmd_import_orders")


def _report(sub) -> None:
    sp = sub.add_parser("report", help="HTML + Markdown report of saved runs (first = baseline)")
    sp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                    help=f"run directories (1 to {MAX_VIEWS}) written by domlab run/compare")
    sp.add_argument("--out", default="out/report",
                    help="directory for report.html and report.md (default: out/report)")
    sp.add_argument("--title", help="report title (default: the scenario names)")
    sp.set_defaults(target="sim.cli.report:cmd_report")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (each sets ``target``: a ``module:function``
    string, or a function of the parsed arguments returning one)."""
    p = argparse.ArgumentParser(prog="domlab", description="DOM rules simulation lab")
    sub = p.add_subparsers(dest="command", required=True)
    _core(sub)
    _rules(sub)
    _experiments(sub)
    _data(sub)
    _report(sub)
    return p
