"""The 1M-order scale case (opt-in: ``python bench/scale.py``; never part of the test suite).

The default network with 10× ``orders_per_day`` on every channel and 10× pickers on every node,
over 65 days (about a million orders), run with the event log limited (``--events``, default
``none``). Reports wall time, orders per second and the process's peak resident memory
(``resource.getrusage``). Targets (issue 14): under 60 s and under 2 GB.

    python bench/scale.py                       # 65 days, compiled rules, --events none
    python bench/scale.py --days 7 --events summary
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.core.events import EVENT_MODES  # noqa: E402
from sim.experiments.runner import run_scenario  # noqa: E402
from sim.scenario import Scenario, load_scenario  # noqa: E402


def scaled(scenario: Scenario, factor: int) -> Scenario:
    """``scenario`` with ``factor``× the orders a day of every channel and ``factor``× the
    pickers of every node."""
    channels = [ch.model_copy(update={"orders_per_day": ch.orders_per_day * factor})
                for ch in scenario.channels]
    nodes = [n.model_copy(update={"capacity": n.capacity.model_copy(
        update={"pickers": n.capacity.pickers * factor})}) for n in scenario.nodes]
    return scenario.model_copy(update={"channels": channels, "nodes": nodes,
                                       "name": f"{scenario.name}-x{factor}"})


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run the scale case and print its numbers."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "omnichannel.yaml"))
    ap.add_argument("--days", type=float, default=65)
    ap.add_argument("--factor", type=int, default=10)
    ap.add_argument("--engine", default="compiled", choices=("compiled", "durable"))
    ap.add_argument("--events", default="none", choices=EVENT_MODES)
    args = ap.parse_args()
    sc = scaled(load_scenario(args.scenario, {"horizon_days": args.days}), args.factor)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    out = run_scenario(sc, args.engine, events=args.events)
    wall = time.perf_counter() - t0
    n = len(out.run.orders["t_created"])
    print(f"scenario {sc.name}, {args.days:g} days, engine {args.engine}, "
          f"--events {args.events}")
    print(f"orders          {n:,}")
    print(f"events kept     {len(out.run.events):,}")
    print(f"wall (run+KPIs) {wall:.1f} s   (simulation {out.seconds:.1f} s)")
    print(f"orders/s        {n / wall:,.0f}")
    print(f"peak RSS        {peak_rss_mb():,.0f} MB (before the run: {rss0:,.0f} MB)")
    print(f"targets         wall < 60 s: {'met' if wall < 60 else 'NOT met'}; "
          f"peak RSS < 2048 MB: {'met' if peak_rss_mb() < 2048 else 'NOT met'}")


if __name__ == "__main__":
    main()
