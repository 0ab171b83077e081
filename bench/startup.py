"""CLI start-up time: ``domlab --help`` and ``domlab validate scenarios/omnichannel.yaml``, each
run as a whole new process (interpreter start, imports, the command itself), against a target
of 0.3 s wall.

Run with ``python bench/startup.py`` (``--runs N`` for more than 5 runs per command) on an
otherwise idle machine: the best time is what start-up costs, the median how steady it is.
Each command runs once untimed first (warm file cache). Whether the project's modules have
bytecode matters: without it every run compiles them from source, about 0.04 s more. ``make
install`` writes it (``compileall``), and Python writes it itself unless
``PYTHONDONTWRITEBYTECODE`` is set; the header says which case was measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"domlab --help": ["--help"],
            "domlab validate scenarios/omnichannel.yaml":
                ["validate", "scenarios/omnichannel.yaml"]}
TARGET = 0.3


def wall_seconds(args: list[str]) -> float:
    """Wall seconds of one ``python -m sim.cli ARGS`` process run from the project root (the
    project's ``sim`` comes first on its path); a failing command stops the benchmark."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=ROOT,
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"domlab {' '.join(args)} failed (exit {r.returncode}):\n{r.stderr}")
    return seconds


def timings(args: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of the command, after one untimed run."""
    wall_seconds(args)
    return [wall_seconds(args) for _ in range(runs)]


def main() -> None:
    """Print best and median wall seconds of each command against the target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    ap.add_argument("--target", type=float, default=TARGET,
                    help=f"seconds the best run should stay under (default {TARGET})")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    if any((root / "sim" / "cli" / "__pycache__").glob("*.pyc")) or not os.environ.get(
            "PYTHONDONTWRITEBYTECODE"):
        caching = "on (the project's modules have bytecode)"
    else:
        caching = "off (the project's modules are compiled from source each run)"
    print(f"Python {sys.version.split()[0]}, {args.runs} runs each, bytecode caching {caching}, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    w = max(map(len, COMMANDS))
    print(f"{'command':{w}s}  {'best s':>6s}  {'median s':>8s}  target")
    for label, cmd in COMMANDS.items():
        ts = timings(cmd, args.runs)
        verdict = "ok" if min(ts) < args.target else "OVER"
        print(f"{label:{w}s}  {min(ts):6.3f}  {statistics.median(ts):8.3f}  "
              f"< {args.target:g} s {verdict}")


if __name__ == "__main__":
    main()
