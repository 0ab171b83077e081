"""``python -m tests.fuzz [--cases N] [--seed S] [--save DIR]``: fuzz ``domlab run``.

Draws N cases (default 1,000) from ``tests.fuzz.strategies.cases`` with Hypothesis (generation
only: no shrinking, no example database), judges each with ``tests.fuzz.harness.judge`` and
prints a summary: cases, ok, refused, crashes, silent (plus unclear refusals, warnings and
timeouts), the kinds of case drawn, and the first failures. ``--save DIR`` keeps each failing
case's files there. Exit 1 if any case failed. Run from the repository root (``make fuzz``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

from .harness import FAILURES, Verdict, judge
from .strategies import Case, cases


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=1000, help="cases to draw (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per case (default 60)")
    p.add_argument("--save", help="directory to keep failing cases in")
    return p.parse_args(argv)


def run(n: int, rng_seed: int, timeout: int, save: Path | None) -> tuple[Counter, list]:
    """Judge ``n`` drawn cases; returns the verdict counts (and of case labels, prefixed
    ``label:``) and the failures as (label, verdict)."""
    counts: Counter = Counter()
    failures: list[tuple[str, Verdict]] = []

    @seed(rng_seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases())
    def one(case: Case) -> None:
        with tempfile.TemporaryDirectory(prefix="domlab-fuzz-") as tmp:
            verdict = judge(case, Path(tmp), timeout)
            counts[verdict.kind] += 1
            counts[f"label:{case.label.split(':')[0]}"] += 1
            if verdict.kind in FAILURES:
                failures.append((case.label, verdict))
                if save is not None:
                    shutil.copytree(tmp, save / f"case{len(failures):03d}", symlinks=True,
                                    ignore=shutil.ignore_patterns("runs"))
        done = sum(counts[k] for k in ("ok", "refused", *FAILURES))
        if done % 100 == 0:
            print(f"  {done} cases…", file=sys.stderr, flush=True)

    one()
    return counts, failures


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer and print its summary; exit 1 on any failure."""
    args = _parse(argv)
    save = Path(args.save) if args.save else None
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    counts, failures = run(args.cases, args.seed, args.timeout, save)
    total = sum(counts[k] for k in ("ok", "refused", *FAILURES))
    kinds = ", ".join(f"{k.removeprefix('label:')} {v}" for k, v in sorted(counts.items())
                      if k.startswith("label:"))
    print(f"fuzz: {total} cases in {time.perf_counter() - t0:.0f} s (seed {args.seed}): "
          f"ok {counts['ok']}, refused {counts['refused']}, crashes {counts['crash']}, "
          f"silent {counts['silent']}, unclear {counts['unclear']}, warned {counts['warned']}, "
          f"slow {counts['slow']}")
    print(f"kinds drawn: {kinds}")
    for label, verdict in failures[:10]:
        print(f"FAIL [{label}] {verdict.kind}: {verdict.detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
