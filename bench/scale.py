"""The 1M-order scale case (opt-in: ``python bench/scale.py``; never part of the test suite).

The default network with 10× ``orders_per_day`` on every channel and 10× pickers on every node,
over 65 days (about a million orders). The case is written as a scenario file that
``extends:`` the default one, and run as a whole ``domlab run`` process (start-up, simulation,
KPIs, invariant checks and every output file), as a user would run it. Reports that process's
wall time and peak resident memory (``getrusage`` of the child). Targets (issue 14): under 60 s
and under 2 GB.

    python bench/scale.py                       # 65 days, compiled rules, --events none
    python bench/scale.py --days 7 --events summary
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from run import best_of, mm1  # noqa: E402  (bench/run.py: the M/M/1 yardstick)

from sim.core import native  # noqa: E402
from sim.core.events import EVENT_MODES  # noqa: E402
from sim.scenario import Scenario, load_scenario  # noqa: E402

MM1_CUSTOMERS = 100_000


def scaled_overrides(scenario: Scenario, base: Path, factor: int, days: float) -> dict:
    """A scenario mapping that extends ``base`` with ``factor``× the orders a day of every
    channel and ``factor``× the pickers of every node (named lists merge item by item)."""
    return {
        "extends": str(base.resolve()),
        "name": f"{scenario.name}-x{factor}",
        "horizon_days": days,
        "channels": [{"name": ch.name, "orders_per_day": ch.orders_per_day * factor}
                     for ch in scenario.channels],
        "nodes": [{"name": n.name, "capacity": {"pickers": n.capacity.pickers * factor}}
                  for n in scenario.nodes],
    }


def run_case(scenario_file: Path, out: Path, engine: str, events: str) -> tuple[float, float]:
    """Run ``domlab run`` on ``scenario_file`` in a child process; its wall seconds and peak
    RSS in MB (Linux reports KiB)."""
    cmd = [sys.executable, "-m", "sim.cli", "run", str(scenario_file), "--engine", engine,
           "--events", events, "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"scale: `domlab run` exited {done.returncode} (its error is above)")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Run the scale case and print its numbers."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "omnichannel.yaml"))
    ap.add_argument("--days", type=float, default=65)
    ap.add_argument("--factor", type=int, default=10)
    ap.add_argument("--engine", default="compiled", choices=("compiled", "durable"))
    ap.add_argument("--events", default="none", choices=EVENT_MODES)
    args = ap.parse_args()
    yardstick = MM1_CUSTOMERS / best_of(lambda: mm1(MM1_CUSTOMERS), 2)
    base = Path(args.scenario)
    raw = scaled_overrides(load_scenario(base), base, args.factor, args.days)
    with tempfile.TemporaryDirectory(prefix="domlab-scale-") as tmp:
        case = Path(tmp) / "scale.yaml"
        case.write_text(json.dumps(raw, indent=1))        # JSON is YAML
        wall, rss = run_case(case, Path(tmp) / "runs", args.engine, args.events)
        n = pq.ParquetFile(next((Path(tmp) / "runs").rglob("orders.parquet"))).metadata.num_rows
    print(f"scenario {raw['name']}, {args.days:g} days, engine {args.engine}, "
          f"--events {args.events}: one `domlab run` process")
    print(f"model core      {' '.join(native.status())} (DOMLAB_PURE=1: the pure-Python one)")
    print(f"orders          {n:,}")
    print(f"wall            {wall:.1f} s (start-up, simulation, KPIs, checks, outputs)")
    print(f"orders/s        {n / wall:,.0f}")
    print(f"peak RSS        {rss:,.0f} MB")
    print(f"yardstick       SimPy M/M/1 {yardstick:,.0f} customers/s just before (machine "
          f"speed now; bench/run.py has the ratio)")
    print(f"targets         wall < 60 s: {'met' if wall < 60 else 'NOT met'}; "
          f"peak RSS < 2048 MB: {'met' if rss < 2048 else 'NOT met'}")


if __name__ == "__main__":
    main()
