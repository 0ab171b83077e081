"""Gap to the offline optimum of every library routing rule set, and how long it takes.

``python bench/optimum.py`` runs the default scenario (28 days, compiled engine, its seed) once
per rule set in ``rules/library/routing`` (``policies.sourcing`` swapped, nothing else), solves
each run's offline optimum (``sim.measure.optimum``) and prints, per rule set: the rules'
fulfilment cost per order, the optimal plan's, the LP lower bound, the gap, CO2e per order of
both plans and the seconds spent simulating, building the problem and solving it. ``--wide``
also solves with far less pruning, to show what the default pruning costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiments.runner import run_scenario  # noqa: E402
from sim.measure.optimum import Settings, optimise  # noqa: E402
from sim.measure.present import text_table  # noqa: E402
from sim.scenario import edit_scenario, load_scenario  # noqa: E402

WIDE = Settings(nodes_per_order=15, split_nodes=6, splits_per_order=8, split_max_lines=5)


def main() -> None:
    """Print one row per routing rule set."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "omnichannel.yaml"))
    ap.add_argument("--days", type=float, default=28)
    ap.add_argument("--engine", default="compiled")
    ap.add_argument("--only", action="append", help="rule set name (repeatable)")
    ap.add_argument("--wide", action="store_true", help="also solve with little pruning")
    args = ap.parse_args()
    base = load_scenario(args.scenario, {"horizon_days": args.days})
    names = args.only or sorted(p.stem for p in (ROOT / "rules" / "library" / "routing")
                                .glob("*.yaml") if not p.stem.endswith(".cases"))
    rows = []
    for name in names:
        sc = edit_scenario(base, {"policies.sourcing": f"routing/{name}"}, f"routing/{name}")
        t0 = time.perf_counter()
        out = run_scenario(sc, args.engine)
        sim_s = time.perf_counter() - t0
        for label, settings in [("default", Settings())] + ([("wide", WIDE)] if args.wide
                                                            else []):
            res = optimise(out.run, settings)
            k, s, t = res.kpis(), res.summary(), res.timings()
            rows.append([name, label, f"{s['orders_in_window']:,}",
                         f"{s['rule_cost_per_order']:.2f}", f"{s['milp_cost_per_order']:.2f}",
                         f"{s['lp_bound_per_order']:.2f}", f"{k['cost_gap_to_optimal_pct']:.2f}",
                         f"{s['gap_to_lp_bound_pct']:.2f}", f"{s['co2_kg_per_order_rule']:.3f}",
                         f"{s['co2_kg_per_order_optimal']:.3f}", f"{s['plans']:,}",
                         str(s["unserved"]), f"{sim_s:.1f}", f"{t['build_seconds']:.1f}",
                         f"{t['solve_seconds']:.1f}", f"{t['max_window_seconds']:.2f}"])
            print(" | ".join(rows[-1]), flush=True)
    print()
    print(text_table(["routing", "pruning", "orders", "rule $/order", "optimal $/order",
                      "LP bound $/order", "gap %", "gap to bound %", "CO2e rule kg",
                      "CO2e optimal kg", "plans", "unserved", "sim s", "build s", "solve s",
                      "max window s"], rows))


if __name__ == "__main__":
    main()
