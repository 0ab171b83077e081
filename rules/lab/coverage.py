"""Rule coverage of a finished run: how often each rule won, and which rules never fired.

Reads a run directory written by ``sim.store.rundir.write_run``: ``trace.parquet`` (one row per
decision: point, rule-set key, winner, matched rules), ``kpis.json`` (``rulesets``: point →
rule-set key the run used) and ``scenario.yaml`` (``policies``: point → library name or path),
from which the rule-set files are loaded to learn every rule name, including those that never
appear in the trace. When a file has changed since the run (its key differs from the run's),
the report says so, and trace winners missing from the file are listed separately.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from rules.schema import RuleError, RuleSet, load_ruleset, resolve_ruleset_path

__all__ = ["RuleCount", "PointCoverage", "run_coverage", "format_coverage", "coverage_json"]


@dataclass
class RuleCount:
    """One rule's record: decisions it won and decisions it matched (won or not)."""

    name: str
    priority: int
    won: int
    won_pct: float
    matched: int


@dataclass
class PointCoverage:
    """Coverage of one decision point's rule set in one run."""

    point: str
    ruleset: str                 # key the run used (name-digest)
    file: str
    hit_policy: str
    decisions: int
    rules: list[RuleCount]
    never_fired: list[str]
    unknown: dict[str, int] = field(default_factory=dict)   # trace winners absent from file
    note: str = ""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from None


def _policies(run_dir: Path) -> dict[str, str]:
    path = run_dir / "scenario.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from None
    pol = (raw or {}).get("policies") or {}
    return {p: ref for p, ref in pol.items() if ref}


def run_coverage(run_dir: str | Path) -> list[PointCoverage]:
    """Coverage per decision point of the run in ``run_dir`` (points in policy order)."""
    run_dir = Path(run_dir)
    if not (run_dir / "trace.parquet").is_file():
        raise RuleError(f"{run_dir}: not a run directory (no trace.parquet)")
    keys = _read_json(run_dir / "kpis.json").get("rulesets", {})
    table = pq.read_table(run_dir / "trace.parquet", columns=["point", "winner", "matched"])
    won: dict[str, Counter] = {}
    matched: dict[str, Counter] = {}
    # Group first (a million-decision trace has only a few distinct rows), then count.
    groups = table.group_by(["point", "winner", "matched"]).aggregate([([], "count_all")])
    for point, winner, m, n in zip(*(groups[c].to_pylist() for c in
                                     ("point", "winner", "matched", "count_all")), strict=True):
        won.setdefault(point, Counter())[winner] += n
        for name in (m.split(",") if m else ()):
            matched.setdefault(point, Counter())[name] += n
    out = []
    for point, ref in _policies(run_dir).items():
        w, m = won.get(point, Counter()), matched.get(point, Counter())
        total = sum(w.values())
        key = keys.get(point, "")
        try:
            rs: RuleSet | None = load_ruleset(resolve_ruleset_path(ref, run_dir))
        except RuleError as exc:
            rs = None
            note = f"cannot load the rule set ({exc}); rules that never fired are unknown"
        else:
            note = "" if not key or key == rs.key else (
                f"rule-set file changed since the run (run used {key}, file is {rs.key}); "
                f"counts are by rule name")
        listed = [(r.name, r.priority) for r in rs.rules] if rs else \
            [(n, 0) for n, _ in w.most_common()]
        rules = [RuleCount(n, pri, w[n], round(100.0 * w[n] / total, 2) if total else 0.0, m[n])
                 for n, pri in listed]
        names = {n for n, _ in listed}
        unknown = {n: c for n, c in sorted(w.items()) if n not in names}
        out.append(PointCoverage(point, key or (rs.key if rs else ""),
                                 str(rs.source) if rs else ref,
                                 rs.hit_policy if rs else "?", total, rules,
                                 [r.name for r in rules if r.matched == 0] if rs else [],
                                 unknown, note))
    return out


def coverage_json(covs: list[PointCoverage]) -> dict[str, Any]:
    """JSON-ready form: point → coverage record."""
    return {c.point: asdict(c) for c in covs}


def format_coverage(covs: list[PointCoverage]) -> str:
    """A plain-text table per decision point."""
    blocks = []
    for c in covs:
        lines = [f"{c.point}: {c.ruleset} (hit policy {c.hit_policy}, {c.decisions:,} decisions)"]
        if c.note:
            lines.append(f"  note: {c.note}")
        rows = [["rule", "priority", "won", "won %", "matched"]]
        rows += [[r.name, str(r.priority), f"{r.won:,}", f"{r.won_pct:.1f}", f"{r.matched:,}"]
                 for r in c.rules]
        rows += [[f"{n} (not in file)", "", f"{k:,}", "", ""] for n, k in c.unknown.items()]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for j, r in enumerate(rows):
            cells = [r[0].ljust(widths[0])] + [v.rjust(widths[i]) for i, v in enumerate(r) if i]
            lines.append("  " + "  ".join(cells).rstrip())
            if j == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines.append("  never fired: " + (", ".join(c.never_fired) or "none"))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
