"""Rule-engine benchmarks (never part of the test suite).

1. Decisions per second of each backend on every library rule set, with realistic facts
   captured from a short simulation of the default scenario (points the run does not decide
   get its order facts plus neutral values), and the compiled/durable ratio (goal ≥ 20×).
2. A large differential run (default 1,000,000 random fact sets over random rule sets, every
   point and hit policy): every decision must be identical on both backends.
3. Optionally (``--long-session N``) N collect decisions in ONE durable session, to check that
   asserting and retracting facts does not run into durable-rules' 32-bit fact identity
   (DURABLE_RULES.md pitfall 3).

    .venv/bin/python bench/rules_bench.py                  # full: ~3-4 minutes
    .venv/bin/python bench/rules_bench.py --facts 50000    # quick
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rules.engine import make_engine  # noqa: E402
from rules.lab.fuzz import decision_key, differential, random_facts, random_ruleset  # noqa: E402
from rules.lab.testing import NEUTRAL_FACTS, ruleset_files  # noqa: E402
from rules.schema import FACT_FIELDS, LIBRARY, load_ruleset  # noqa: E402


def capture_facts(days: float) -> dict[str, list[dict]]:
    """Facts the simulation posts at each decision point (default scenario, ``days`` days)."""
    from sim.core.model import World
    from sim.experiments.runner import prepare_engine
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "omnichannel.yaml",
                       {"horizon_days": days, "warmup_days": 0})
    pol = sc.policies.model_copy(update={"priority": "priority/service_then_tier"})
    sc = sc.model_copy(update={"policies": pol})
    eng = prepare_engine(sc, "compiled")
    rec: dict[str, list[dict]] = collections.defaultdict(list)
    decide = eng.decide

    def recording(point, facts):
        rec[point].append(dict(facts))
        return decide(point, facts)

    eng.decide = recording
    try:
        World(sc, eng).run()
    finally:
        eng.close()
    return rec


def facts_for_point(point: str, captured: dict[str, list[dict]], rng: random.Random
                    ) -> list[dict]:
    """Captured facts for ``point``, else the captured order facts completed with neutral
    values (plus a spread of ages/shortages so rules on them fire)."""
    if captured.get(point):
        return captured[point]
    base = captured["sourcing"]
    out = []
    for f in base:
        facts = {k: f.get(k, NEUTRAL_FACTS.get(k)) for k in FACT_FIELDS[point]}
        if "age_hours" in facts:
            facts["age_hours"] = round(rng.expovariate(1 / 12), 3)
        if "lines_short" in facts:
            facts["lines_short"] = rng.randint(1, max(1, int(f.get("lines", 1))))
        out.append(facts)
    return out


def rate(engine, point: str, facts: list[dict], n: int) -> float:
    """Decisions per second over ``n`` decisions cycling through ``facts`` (after a warm-up)."""
    for f in facts[:200]:
        engine.decide(point, f)
    k = len(facts)
    t0 = time.perf_counter()
    for i in range(n):
        engine.decide(point, facts[i % k])
    return n / (time.perf_counter() - t0)


def library_rates(captured, n_durable: int, n_compiled: int) -> list[tuple]:
    """(rule set, point, policy, durable/s, compiled/s) per library rule set."""
    rng = random.Random(0)
    rows = []
    for path in ruleset_files([LIBRARY]):
        rs = load_ruleset(path)
        facts = facts_for_point(rs.point, captured, rng)
        rates = {}
        for backend, n in (("durable", n_durable), ("compiled", n_compiled)):
            with make_engine({rs.point: rs}, backend) as eng:
                rates[backend] = rate(eng, rs.point, facts, n)
        rows.append((str(path.relative_to(LIBRARY)), rs.point, rs.hit_policy,
                     rates["durable"], rates["compiled"]))
    return rows


def long_session(n: int, seed: int = 11) -> tuple[int, float]:
    """Mismatches and seconds for ``n`` collect decisions in one durable session."""
    rng = random.Random(seed)
    rs = random_ruleset(rng, "sourcing", "collect", n_rules=6)
    facts = random_facts(rng, rs, 5000, p_missing=0.0)
    bad = 0
    t0 = time.perf_counter()
    with make_engine({"sourcing": rs}, "durable") as dur, \
            make_engine({"sourcing": rs}, "compiled") as comp:
        for i in range(n):
            f = facts[i % len(facts)]
            bad += decision_key(dur, "sourcing", f) != decision_key(comp, "sourcing", f)
    return bad, time.perf_counter() - t0


def _geomean(xs: list[float]) -> float:
    prod = 1.0
    for x in xs:
        prod *= x
    return prod ** (1 / len(xs))


def main() -> None:
    """Print the benchmark tables."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--facts", type=int, default=1_000_000, help="differential fact sets")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=float, default=5, help="simulated days to capture facts")
    ap.add_argument("--durable-n", type=int, default=20_000)
    ap.add_argument("--compiled-n", type=int, default=200_000)
    ap.add_argument("--long-session", type=int, default=0, metavar="N")
    args = ap.parse_args()

    t0 = time.perf_counter()
    captured = capture_facts(args.days)
    counts = ", ".join(f"{p} {len(v):,}" for p, v in captured.items())
    print(f"captured facts from {args.days:g} simulated days ({time.perf_counter() - t0:.1f} s):"
          f" {counts}\n")
    rows = library_rates(captured, args.durable_n, args.compiled_n)
    w = max(len(r[0]) for r in rows)
    print(f"{'library rule set':{w}s}  {'point':9s} {'policy':7s} {'durable/s':>10s} "
          f"{'compiled/s':>11s} {'ratio':>6s}")
    ratios = []
    for name, point, policy, d, c in rows:
        ratios.append(c / d)
        print(f"{name:{w}s}  {point:9s} {policy:7s} {d:10,.0f} {c:11,.0f} {c / d:5.0f}x")
    print(f"compiled/durable: min {min(ratios):.0f}x, geometric mean {_geomean(ratios):.0f}x, "
          f"max {max(ratios):.0f}x (goal ≥ 20x)")
    print()

    if args.long_session:
        bad, secs = long_session(args.long_session)
        print(f"long durable session: {args.long_session:,} collect decisions (assert + "
              f"retract) in one session: {bad} mismatches, {secs:.1f} s\n")

    step = max(args.facts // 10, 1)
    shown = [0]

    def progress(n: int) -> None:
        if n - shown[0] >= step or n == args.facts:
            shown[0] = n
            print(f"  differential: {n:,} / {args.facts:,} ({time.perf_counter() - t1:.0f} s)",
                  flush=True)

    t1 = time.perf_counter()
    rep = differential(args.facts, seed=args.seed, progress=progress)
    secs = time.perf_counter() - t1
    print(f"\ndifferential: {rep.facts:,} fact sets over {rep.rulesets:,} random rule sets in "
          f"{secs:.0f} s; by policy {rep.by_policy}; by point {rep.by_point}")
    for b, s in rep.seconds.items():
        print(f"  {b:8s} {s:7.1f} s  {rep.facts / s:9,.0f} decisions/s (random rule sets)")
    print(f"  mismatches: {rep.n_mismatches}")
    for m in rep.mismatches[:5]:
        print(f"    {m}")
    if rep.n_mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
