"""Replication throughput: 8 replications on 1 process vs 2 processes (goal: ≥ 1.6× faster).

Run with ``python bench/experiments.py`` (the ``make bench`` target should call it too) on an
otherwise idle machine: a busy core halves the apparent speed-up. Each timing includes starting
the worker pool, so the speed-up is what a user of ``--reps 8`` sees.
The KPI tables of all executors are checked to be identical before any figure is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiments.executors import InProcessExecutor, ProcessExecutor, default_workers  # noqa: E402
from sim.experiments.replication import kpi_columns, replicate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def timed(executor_factory, scenario, reps: int, engine: str, repeat: int):
    """(best seconds, KPI table) of ``reps`` replications, pool start-up included."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        with executor_factory() as ex:
            runs = replicate(scenario, reps, ex, engine)
        best = min(best, time.perf_counter() - t0)
    return best, runs


def main() -> None:
    """Print the timing table and the speed-up."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "omnichannel.yaml"))
    ap.add_argument("--days", type=float, default=14)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--engine", choices=["compiled", "durable"], default="compiled")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many timings each")
    args = ap.parse_args()
    sc = load_scenario(args.scenario, {"horizon_days": args.days})
    print(f"scenario {sc.name}, {args.days:g} days, {args.reps} replications, "
          f"engine {args.engine}, best of {args.repeat}; {default_workers()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    if os.getloadavg()[0] > 0.5:
        print("warning: other processes are using the cores; the speed-up will be understated\n")
    cases = {
        "in-process (serial)": InProcessExecutor,
        "process pool, 1 worker": lambda: ProcessExecutor(1),
        "process pool, 2 workers": lambda: ProcessExecutor(2),
    }
    results = {name: timed(f, sc, args.reps, args.engine, args.repeat)
               for name, f in cases.items()}
    cols = ["seed", "run_id", *kpi_columns(next(iter(results.values()))[1])]
    tables = [runs[cols] for _, runs in results.values()]
    if not all(t.equals(tables[0]) for t in tables):
        sys.exit("executors disagree: KPI tables differ")
    print(f"{'executor':26s} {'seconds':>8s} {'runs/s':>8s}")
    for name, (secs, _) in results.items():
        print(f"{name:26s} {secs:8.2f} {args.reps / secs:8.2f}")
    one = results["process pool, 1 worker"][0]
    two = results["process pool, 2 workers"][0]
    serial = results["in-process (serial)"][0]
    print(f"\nspeed-up, 2 processes vs 1: {one / two:.2f}x (goal ≥ 1.6x); "
          f"vs serial in-process: {serial / two:.2f}x; identical KPI tables: yes")


if __name__ == "__main__":
    main()
