"""Throughput benchmarks (run by `make bench`; never part of the test suite).

Reports simulated orders per second for each rule backend on the default scenario, the ratio
between them (both measured in this same process, so machine noise largely cancels), and a
profile of how much of a durable-rules run is spent inside durable-rules.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.core.demand import generate_demand  # noqa: E402
from sim.experiments.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def best_of(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def durable_share(scenario) -> float:
    """Fraction of a durable run's time spent inside the durable backend's ``matches``."""
    prof = cProfile.Profile()
    prof.enable()
    run_scenario(scenario, "durable")
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    inside = sum(v[3] for k, v in stats.stats.items()
                 if k[0].endswith("rules/durable.py") and k[2] == "matches")
    return inside / total


def main() -> None:
    """Print the benchmark table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "omnichannel.yaml"))
    ap.add_argument("--days", type=float, default=14)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    sc = load_scenario(args.scenario, {"horizon_days": args.days})
    n = generate_demand(sc).n
    print(f"scenario {sc.name}, {args.days:g} days, {n:,} orders; best of {args.repeat}\n")
    t_demand = best_of(lambda: generate_demand(sc), args.repeat)
    results = {}
    for engine in ("compiled", "durable"):
        results[engine] = best_of(lambda e=engine: run_scenario(sc, e), args.repeat)
    print(f"{'stage':28s} {'seconds':>8s} {'orders/s':>10s}")
    print(f"{'demand generation':28s} {t_demand:8.2f} {n / t_demand:10,.0f}")
    for engine, t in results.items():
        print(f"{'full run, ' + engine + ' rules':28s} {t:8.2f} {n / t:10,.0f}")
    ratio = results["durable"] / results["compiled"]
    print(f"\ncompiled backend runs the whole simulation {ratio:.2f}x faster than durable")
    share = durable_share(sc)
    print(f"profile: {100 * share:.0f}% of a durable run is inside durable-rules decisions")


if __name__ == "__main__":
    main()
