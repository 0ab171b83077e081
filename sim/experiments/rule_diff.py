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
interval. This is a tool module: unlike the rule engine it imports ``sim``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rules.schema import RuleError, RuleSet, load_ruleset, resolve_ruleset_path
from sim.core.model import RunResult, Status
from sim.core.rng import replication_seeds
from sim.experiments.runner import run_scenario
from sim.measure.kpis import KPIS
from sim.scenario import Scenario

__all__ = ["DecisionDiff", "KpiDelta", "RuleDiff", "diff_rules", "decision_signatures",
           "paired_ci", "format_diff", "diff_json"]

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
    """One KPI: means of OLD and NEW, mean paired difference and its 95% CI (None: 1 rep)."""

    name: str
    label: str
    unit: str
    better: str
    old: float
    new: float
    delta: float
    ci: tuple[float, float] | None


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


def paired_ci(old: list[float], new: list[float], level: float = 0.95
              ) -> tuple[float, tuple[float, float] | None]:
    """Mean of NEW − OLD and its paired-t confidence interval (None for one pair; a
    zero-variance difference gives the degenerate interval [mean, mean])."""
    from scipy import stats

    d = np.asarray(new, dtype=float) - np.asarray(old, dtype=float)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, None
    sd = float(d.std(ddof=1))
    if sd == 0.0 or not math.isfinite(sd):
        return mean, (mean, mean)
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1)) * sd / math.sqrt(len(d))
    return mean, (mean - half, mean + half)


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
    for _t, order, p, rs_key, winner, matched, subject in run.trace:
        if p == point:
            key = f"{subject}" if order < 0 else f"order {order}"
            outcome = run.outcomes[(rs_key, matched)]      # recorded by the run itself
            rows[key].append((winner, json.dumps(outcome, sort_keys=True)))
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


def diff_rules(old: str | Path, new: str | Path, scenario: Scenario, reps: int = 1,
               engine: str = "compiled",
               progress: Callable[[str], None] | None = None) -> RuleDiff:
    """Run ``scenario`` with rule set OLD and with NEW at their point; compare decisions and KPIs.

    ``old``/``new`` are files or library names of rule sets for the same decision point. With
    ``reps`` 1 the scenario's own seed is used; with more, ``sim.core.rng.replication_seeds``."""
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
    seeds = [scenario.seed] if reps == 1 else replication_seeds(scenario.seed, reps)
    decisions = DecisionDiff("node×SKU" if point == "reorder" else "orders")
    kpi_vals: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in KPIS}
    for r, seed in enumerate(seeds):
        sigs = []
        for side, path in enumerate(paths):
            policies = scenario.policies.model_copy(update={point: str(path)})
            sc = scenario.model_copy(update={"policies": policies, "seed": seed})
            if progress:
                progress(f"replication {r + 1}/{len(seeds)}: {'NEW' if side else 'OLD'} "
                         f"(seed {seed})")
            outcome = run_scenario(sc, engine)
            sigs.append(decision_signatures(outcome.run, point))
            for k in KPIS:
                kpi_vals[k][side].append(float(outcome.kpis["kpis"][k]))
            del outcome
        _compare(sigs[0], sigs[1], decisions)
    kpis = []
    for k, spec in KPIS.items():
        a, b = kpi_vals[k]
        delta, ci = paired_ci(a, b)
        kpis.append(KpiDelta(k, spec.label, spec.unit, spec.better, float(np.mean(a)),
                             float(np.mean(b)), delta, ci))
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


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 1 else f"{v:,.2f}"


def _verdict(k: KpiDelta) -> str:
    if k.ci is None or k.better == "none":
        return ""
    lo, hi = k.ci
    if lo <= 0 <= hi:
        return "no significant change" if (lo, hi) != (0.0, 0.0) else "no change"
    up = lo > 0
    return "better" if up == (k.better == "higher") else "worse"


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
    rows = [header]
    for k in d.kpis:
        row = [k.label, k.unit, _num(k.old), _num(k.new), f"{k.delta:+,.2f}"]
        if reps > 1 and k.ci is not None:
            row += [f"[{k.ci[0]:+,.2f}, {k.ci[1]:+,.2f}]", _verdict(k)]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for j, r in enumerate(rows):
        cells = [c.ljust(widths[i]) if i in (0, 1, 6) else c.rjust(widths[i])
                 for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
