"""Throughput benchmarks (run by `make bench`; never part of the test suite).

Reports simulated orders per second for each rule backend on the default scenario, a plain-SimPy
M/M/1 queue's customers per second as the yardstick (orders/s over M/M/1 customers/s is the
target ratio), the ratio between the backends (all measured in this same process, so machine
noise largely cancels), and a
profile of how much of a durable-rules run is spent inside durable-rules.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simpy  # noqa: E402

from sim.core import native  # noqa: E402
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


def mm1(customers: int, seed: int = 1, rho: float = 0.9) -> None:
    """A plain-SimPy M/M/1 queue (the textbook example) serving ``customers`` customers: the
    yardstick of what SimPy itself does per simulated entity on this machine."""
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)

    def customer():
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1.0))

    def source():
        for _ in range(customers):
            env.process(customer())
            yield env.timeout(rng.expovariate(rho))

    env.process(source())
    env.run()


def durable_share(scenario) -> tuple[float, int, int]:
    """Fraction of a durable run's time spent asking durable-rules (the backend's ``_post``,
    once per distinct fact signature), the number of such posts, and of decisions."""
    prof = cProfile.Profile()
    prof.enable()
    out = run_scenario(scenario, "durable")
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    posts = [v for k, v in stats.stats.items()
             if k[0].endswith("rules/durable.py") and k[2] == "_post"]
    inside = sum(v[3] for v in posts)
    return inside / total, sum(v[1] for v in posts), len(out.run.trace)


def main() -> None:
    """Print the benchmark table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "omnichannel.yaml"))
    ap.add_argument("--days", type=float, default=14)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--mm1-customers", type=int, default=100_000)
    ap.add_argument("--pure-ratio", action="store_true",
                    help="print only compiled rules' ratio (run with DOMLAB_PURE=1 by main)")
    args = ap.parse_args()
    sc = load_scenario(args.scenario, {"horizon_days": args.days})
    n = generate_demand(sc).n
    if args.pure_ratio:
        t_mm1 = best_of(lambda: mm1(args.mm1_customers), args.repeat)
        t = best_of(lambda: run_scenario(sc, "compiled"), args.repeat)
        print(f"{(n / t) / (args.mm1_customers / t_mm1):.3f}")
        return
    print(f"scenario {sc.name}, {args.days:g} days, {n:,} orders; best of {args.repeat}")
    print(f"model core: {' '.join(native.status())}\n")
    t_demand = best_of(lambda: generate_demand(sc), args.repeat)
    n_mm1 = args.mm1_customers
    t_mm1 = best_of(lambda: mm1(n_mm1), args.repeat)
    results = {}
    for engine in ("compiled", "durable"):
        results[engine] = best_of(lambda e=engine: run_scenario(sc, e), args.repeat)
    print(f"{'stage':28s} {'seconds':>8s} {'orders/s':>10s}")
    print(f"{'demand generation':28s} {t_demand:8.2f} {n / t_demand:10,.0f}")
    for engine, t in results.items():
        print(f"{'full run, ' + engine + ' rules':28s} {t:8.2f} {n / t:10,.0f}")
    print(f"{'SimPy M/M/1 (customers)':28s} {t_mm1:8.2f} {n_mm1 / t_mm1:10,.0f}")
    for engine, t in results.items():
        print(f"{engine} orders/s over M/M/1 customers/s: {(n / t) / (n_mm1 / t_mm1):.3f}")
    if native.status()[0] == "compiled":     # the same, with the pure-Python core
        pure = subprocess.run([sys.executable, __file__, "--pure-ratio", "--scenario",
                               args.scenario, "--days", str(args.days), "--repeat",
                               str(args.repeat)], env={**os.environ, "DOMLAB_PURE": "1"},
                              capture_output=True, text=True, check=True).stdout.strip()
        print(f"compiled orders/s over M/M/1 customers/s with the pure-Python core: {pure}")
    ratio = results["durable"] / results["compiled"]
    print(f"\ncompiled backend runs the whole simulation {ratio:.2f}x faster than durable")
    share, posts, decisions = durable_share(sc)
    print(f"profile: {100 * share:.0f}% of a durable run is inside durable-rules, which was asked "
          f"{posts:,} times for {decisions:,} decisions (once per distinct fact signature)")


if __name__ == "__main__":
    main()
