"""Rule diff: what changes when one decision point's rule set is replaced by another.

The scenario is run twice per replication with ``policies[point]`` set to OLD and then NEW, on
the same seed (common random numbers: both runs see the same orders). Per order (per node×SKU
for ``reorder``) the decision the order *got* is compared:

- ``sourcing`` / ``split``: the winning rule (orders table) and the nodes its shipments left
  from (or the order's status when nothing shipped);
- ``carrier``: the carrier rules and the chosen service of each shipment;
- other points: the winning rules in the decision trace and the outcome they imply.

A changed decision early in a run can move stock and so change later orders too; those count.
KPI deltas are NEW − OLD; with several replications each delta has a paired-t 95% confidence
interval and a verdict. Runs go through ``sim.experiments.replication.run_tasks`` on the
replication seeds, and the KPIs through ``sim.experiments.comparison.compare_replications``, as
for ``domlab compare --reps``. This is a tool module: unlike the rule engine it imports ``sim``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rules.schema import RuleError, RuleSet, load_ruleset, resolve_ruleset_path
from sim.core.model import RunResult, Status
from sim.experiments.comparison import compare_replications
from sim.experiments.executors import Executor, InProcessExecutor
from sim.experiments.replication import Progress, RunSpec, replication_specs, run_tasks
from sim.experiments.runner import run_scenario
from sim.measure.kpis import KPIS
from sim.measure.present import format_ci, format_delta, format_value, text_table
from sim.scenario import Scenario, edit_scenario

__all__ = ["DecisionDiff", "KpiDelta", "RuleDiff", "diff_rules", "decision_signatures",
           "format_diff", "diff_json"]

MAX_EXAMPLES = 5


@dataclass
class DecisionDiff:
    """How many decisions differ between the OLD and NEW runs (summed over replications).

    ``changed`` counts subjects whose effect differs (shipping nodes, services, outcome): what
    the order got. ``rule_changed`` counts those decided by a differently named rule, whether or
    not the effect changed (a renamed rule changes only the name)."""

    subject: str                       # "orders" or "node×SKU"
    total: int = 0
    changed: int = 0
    rule_changed: int = 0
    examples: list[tuple[str, str, str]] = field(default_factory=list)   # (key, old, new)
    rule_examples: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class KpiDelta:
    """One KPI: means of OLD and NEW, mean paired difference, its 95% CI (None: 1 rep) and the
    verdict (``sim.measure.present.verdict``)."""

    name: str
    label: str
    unit: str
    better: str
    old: float
    new: float
    delta: float
    ci: tuple[float, float] | None
    verdict: str = ""


@dataclass
class RuleDiff:
    """The result of ``diff_rules``."""

    point: str
    old: RuleSet
    new: RuleSet
    scenario: str
    days: float
    engine: str
    seeds: list[int]
    decisions: DecisionDiff
    kpis: list[KpiDelta]


# ---------------------------------------------------------------------------------------------
# What each order got


def _status_names() -> list[str]:
    return [s.name.lower() for s in Status]


def _shipments_by_order(run: RunResult) -> dict[int, list[int]]:
    by: dict[int, list[int]] = defaultdict(list)
    for j, o in enumerate(np.asarray(run.shipments["order"]).astype(np.int64).tolist()):
        by[o].append(j)
    return by


def decision_signatures(run: RunResult, point: str) -> dict[str, tuple[str, str]]:
    """Per order (or node×SKU for reorder): (winning rule text, effect text) of ``point``."""
    o, sh = run.orders, run.shipments
    status = _status_names()
    n_orders = len(o["t_created"])
    if point in ("sourcing", "split", "carrier"):
        by = _shipments_by_order(run)
        node_names = [n.name for n in run.scenario.nodes]
        nodes = np.asarray(sh["node"]).astype(np.int64).tolist()
        services = np.asarray(sh["service"]).astype(np.int64).tolist()
        crule = list(sh["carrier_rule"])
        rules = o.get(f"{point}_rule") if point != "carrier" else None
        st = np.asarray(o["status"]).astype(np.int64).tolist()
        out = {}
        for i in range(n_orders):
            ships = by.get(i, [])
            if point == "carrier":
                rule = ",".join(sorted({str(crule[j]) for j in ships}))
                effect = ", ".join(f"{node_names[nodes[j]]}:{run.services[services[j]]}"
                                   for j in ships)
            else:
                rule = str(rules[i])
                effect = "+".join(node_names[nodes[j]] for j in ships)
            out[f"order {i}"] = (rule, effect or status[st[i]])
        return out
    # Other points: from the decision trace (order id, or subject for reorder).
    rows: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in run.trace:
        if row.point == point:
            key = f"{row.subject}" if row.order < 0 else f"order {row.order}"
            outcome = run.outcomes[(row.ruleset, row.matched)]   # recorded by the run itself
            rows[key].append((row.winner, json.dumps(outcome, sort_keys=True)))
    return {k: (",".join(w for w, _ in v), "; ".join(e for _, e in v)) for k, v in rows.items()}


def _compare(old: dict[str, tuple[str, str]], new: dict[str, tuple[str, str]],
             acc: DecisionDiff) -> None:
    keys = sorted(old.keys() | new.keys(), key=_natural)
    for k in keys:
        a, b = old.get(k, ("-", "-")), new.get(k, ("-", "-"))
        acc.total += 1
        example = (k, f"{a[0]} [{a[1]}]", f"{b[0]} [{b[1]}]")
        if a[0] != b[0]:
            acc.rule_changed += 1
            if a[1] == b[1] and len(acc.rule_examples) < MAX_EXAMPLES:
                acc.rule_examples.append(example)
        if a[1] != b[1]:
            acc.changed += 1
            if len(acc.examples) < MAX_EXAMPLES:
                acc.examples.append(example)


def _natural(key: str) -> tuple:
    head, _, tail = key.rpartition(" ")
    return (head, int(tail)) if tail.isdigit() else (key, 0)


# ---------------------------------------------------------------------------------------------


def _diff_run(spec: RunSpec) -> tuple[dict[str, tuple[str, str]], dict[str, float]]:
    """One side of one replication: the decision signatures at the point, and the KPIs."""
    outcome = run_scenario(spec.scenario, spec.engine)
    return decision_signatures(outcome.run, spec.labels["point"]), outcome.kpis["kpis"]


def diff_rules(old: str | Path, new: str | Path, scenario: Scenario, reps: int = 1,
               engine: str = "compiled", progress: Progress | None = None,
               executor: Executor | None = None) -> RuleDiff:
    """Run ``scenario`` with rule set OLD and with NEW at their point; compare decisions and KPIs.

    ``old``/``new`` are files or library names of rule sets for the same decision point. Runs
    use the replication seeds (``sim.experiments.replication.experiment_seeds``: the scenario's
    own seed for one replication), OLD then NEW per replication, on ``executor`` (default: in
    this process); ``progress`` is called as each run starts (labels ``side``, ``rep``)."""
    if reps < 1:
        raise RuleError("--reps: must be ≥ 1")
    paths = [resolve_ruleset_path(str(p)) for p in (old, new)]
    rs_old, rs_new = (load_ruleset(p) for p in paths)
    if rs_old.point != rs_new.point:
        raise RuleError(f"{paths[1]}: rule set '{rs_new.name}' is for point '{rs_new.point}', "
                        f"but OLD '{rs_old.name}' is for '{rs_old.point}'")
    point = rs_old.point
    if point not in type(scenario.policies).model_fields:
        raise RuleError(f"scenario '{scenario.name}': has no policy for point '{point}'")
    sides = [replication_specs(edit_scenario(scenario, {f"policies.{point}": str(p)},
                                             f"scenario '{scenario.name}'"),
                               reps, engine, side=side, point=point)
             for side, p in zip(("OLD", "NEW"), paths, strict=True)]
    specs = [s for pair in zip(*sides, strict=True) for s in pair]      # OLD, NEW per rep
    results = run_tasks(specs, executor or InProcessExecutor(), _diff_run,
                        f"rules diff ×{reps}", progress)
    decisions = DecisionDiff("node×SKU" if point == "reorder" else "orders")
    for (sig_old, _), (sig_new, _) in zip(results[::2], results[1::2], strict=True):
        _compare(sig_old, sig_new, decisions)
    old_kpis, new_kpis = (pd.DataFrame([{"seed": s.scenario.seed, **k}
                                        for s, (_, k) in zip(specs[i::2], results[i::2],
                                                             strict=True)])
                          for i in (0, 1))
    table = compare_replications(old_kpis, new_kpis)
    kpis = [KpiDelta(r["kpi"], KPIS[r["kpi"]].label, r["unit"], r["better"], r["mean_a"],
                     r["mean_b"], r["delta"], None if r["n"] < 2 else (r["ci_low"], r["ci_high"]),
                     r["verdict"])
            for r in table.to_dict("records")]
    seeds = [s.scenario.seed for s in sides[0]]
    return RuleDiff(point, rs_old, rs_new, scenario.name, scenario.horizon_days, engine, seeds,
                    decisions, kpis)


def diff_json(d: RuleDiff) -> dict[str, Any]:
    """JSON-ready form of a rule diff."""
    dd = d.decisions
    return {
        "point": d.point, "old": d.old.key, "new": d.new.key, "scenario": d.scenario,
        "days": d.days, "engine": d.engine, "seeds": d.seeds,
        "decisions": {"subject": dd.subject, "total": dd.total, "changed": dd.changed,
                      "rule_changed": dd.rule_changed,
                      "examples": [{"key": k, "old": a, "new": b} for k, a, b in dd.examples],
                      "rule_only_examples": [{"key": k, "old": a, "new": b}
                                             for k, a, b in dd.rule_examples]},
        "kpis": {k.name: {"old": k.old, "new": k.new, "delta": k.delta,
                          "ci95": list(k.ci) if k.ci else None} for k in d.kpis},
    }


def format_diff(d: RuleDiff) -> str:
    """Plain-text report of a rule diff."""
    dd, reps = d.decisions, len(d.seeds)
    seeds = f"seed {d.seeds[0]}" if reps == 1 else f"{reps} replications (seeds {d.seeds[0]}, …)"
    lines = [f"rule diff at point {d.point}: OLD {d.old.key} ({d.old.source}) → NEW {d.new.key} "
             f"({d.new.source})",
             f"scenario {d.scenario}, {d.days:g} days, engine {d.engine}, {seeds}; common random "
             f"numbers: OLD and NEW runs see the same demand", ""]
    pct = 100.0 * dd.changed / dd.total if dd.total else 0.0
    over = "" if reps == 1 else f", over {reps} replications"
    effect = {"sourcing": "shipping nodes", "split": "shipping nodes",
              "carrier": "carrier services"}.get(d.point, "outcome")
    lines.append(f"decisions: {dd.changed:,} of {dd.total:,} {dd.subject} ({pct:.1f}%) got a "
                 f"different decision ({effect}){over}")
    lines.append(f"  decided by a differently named rule: {dd.rule_changed:,}")
    if dd.examples:
        lines.append("  examples (OLD → NEW):")
        lines += [f"    {k}: {a} → {b}" for k, a, b in dd.examples]
    elif dd.rule_examples:
        lines.append("  examples, same effect under another rule name (OLD → NEW):")
        lines += [f"    {k}: {a} → {b}" for k, a, b in dd.rule_examples]
    lines.append("")
    if reps == 1:
        lines.append("KPI deltas (NEW − OLD), one replication: no confidence intervals "
                     "(use --reps N for paired 95% CIs)")
        header = ["KPI", "unit", "OLD", "NEW", "delta"]
    else:
        lines.append(f"KPI deltas (NEW − OLD), means of {reps} paired replications, "
                     f"95% CI (paired t)")
        header = ["KPI", "unit", "OLD", "NEW", "delta", "95% CI", ""]
    rows = []
    for k in d.kpis:
        row = [k.label, k.unit, format_value(k.old, k.unit), format_value(k.new, k.unit),
               format_delta(k.delta, k.unit)]
        if reps > 1:
            row += [format_ci(*(k.ci or (None, None)), k.unit), k.verdict]
        rows.append(row)
    lines.append(text_table(header, rows, left={0, 1, 6}))
    return "\n".join(lines)
