"""Rule tests: example decisions written as data, run through every backend.

Like Drools test scenarios or DMN test cases, a ``*.cases.yaml`` file next to a rule set lists
facts and the decision they must produce:

.. code-block:: yaml

    ruleset: routing/nearest_first      # library name, or a path relative to this file
    defaults: {service_level: standard}  # optional: facts shared by every case
    cases:
      - name: marketplace-only-from-dcs
        facts: {channel: marketplace}
        expect:
          winner: marketplace-dc-only
          outcome: {node_types: [dc, 3pl]}   # only the fields named are compared

Facts may be partial: missing fields take the neutral values in ``NEUTRAL_FACTS`` (a plain web
order: standard 5-day promise, $50, one unit on one line, 1 lb, Wednesday noon, first attempt,
standard tier; names of places, nodes and SKUs empty so no rule about a particular one fires by
accident). Given fields must exist for the point and have the right type. ``expect`` may hold
``winner``, ``matched`` (every matching rule, in evaluation order), ``outcome`` (a subset of the
outcome's fields; for ``collect`` a list, one mapping per collected outcome) or
``no_match: true`` (no rule matches, so the decision fails). Every case runs on every backend;
the backends must also agree with each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.engine import BACKENDS, Decision, make_engine
from rules.files import first_error, format_loc, read_mapping
from rules.schema import (
    FACT_FIELDS,
    OUTCOMES,
    RuleError,
    RuleSet,
    load_ruleset,
    resolve_ruleset_path,
)

__all__ = ["CASES_SUFFIX", "NEUTRAL_FACTS", "Case", "CaseFile", "CaseResult", "FileResult",
           "load_cases", "run_cases", "case_files", "ruleset_files", "facts_for", "is_case_file"]

CASES_SUFFIX = ".cases.yaml"

#: Neutral value of every fact field (any point); see the module docstring.
NEUTRAL_FACTS: dict[str, Any] = {
    # order
    "channel": "web", "channel_name": "web", "service_level": "standard", "promise_days": 5,
    "order_value": 50.0, "units": 1, "lines": 1, "weight_lb": 1.0, "region": "", "state": "",
    "hour": 12, "weekday": 2, "is_retry": False, "customer_tier": "standard",
    # split
    "single_node_fill": True, "nodes_needed": 1,
    # carrier / priority (one shipment from a DC, 301-600 miles away)
    "zone": 4, "distance_mi": 400.0, "node": "", "node_kind": "dc", "shipment_weight_lb": 1.0,
    "shipment_units": 1, "age_hours": 0.0,
    # backorder
    "lines_short": 1,
    # reorder (a B item at a DC)
    "sku": "", "sku_class": "B", "daily_demand": 1.0, "lead_time_days": 7.0, "unit_cost": 10.0,
    "price": 25.0, "replenished_from": "",
}
_TYPE_NEUTRAL = {"str": "", "num": 0, "bool": False}
_TYPE_TEXT = {"str": "text", "num": "a number", "bool": "true/false"}


def is_case_file(path: str | Path) -> bool:
    """True for rule test files (``*.cases.yaml``), which are not rule sets."""
    return str(path).endswith(CASES_SUFFIX)


def case_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule test files: files as given, directories searched for ``*.cases.yaml``."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob(f"*{CASES_SUFFIX}"))
            if not found:
                raise RuleError(f"{p}: no *{CASES_SUFFIX} files in this directory")
            out += found
        else:
            out.append(p)
    return out


def ruleset_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule-set files: files as given, directories searched for ``*.yaml`` except test files."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*.yaml") if not is_case_file(f))
        else:
            out.append(p)
    return out


def _type_ok(value: Any, ftype: str) -> bool:
    if ftype == "num":
        return (not isinstance(value, bool) and isinstance(value, int | float)
                and math.isfinite(value))
    if ftype == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


def facts_for(point: str, given: dict[str, Any], where: str = "facts") -> dict[str, Any]:
    """Complete facts for ``point``: ``given`` over the neutral defaults, every field checked."""
    fields = FACT_FIELDS[point]
    if not isinstance(given, dict):
        raise RuleError(f"{where}: must be a mapping of fact field to value")
    for name, value in given.items():
        if name not in fields:
            raise RuleError(f"{where}.{name}: unknown field for point '{point}' "
                            f"(known: {', '.join(sorted(fields))})")
        if not _type_ok(value, fields[name]):
            raise RuleError(f"{where}.{name}: must be {_TYPE_TEXT[fields[name]]}; got {value!r}")
    facts = {f: NEUTRAL_FACTS.get(f, _TYPE_NEUTRAL[t]) for f, t in fields.items()}
    facts.update(given)
    return facts


# ---------------------------------------------------------------------------------------------
# Case files


class _Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    winner: str | None = None
    matched: list[str] | None = None
    outcome: dict[str, Any] | list[dict[str, Any]] | None = None
    no_match: bool = False


class _RawCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str = ""
    facts: dict[str, Any] = Field(default_factory=dict)
    expect: _Expect


class _RawCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ruleset: str = Field(min_length=1)
    description: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    cases: list[_RawCase] = Field(min_length=1)


@dataclass(frozen=True)
class Case:
    """One test case: complete facts and what the decision must be."""

    name: str
    facts: dict[str, Any]
    winner: str | None
    matched: tuple[str, ...] | None
    outcome: dict[str, Any] | list[dict[str, Any]] | None
    no_match: bool


@dataclass(frozen=True)
class CaseFile:
    """A parsed rule test file and the rule set it tests."""

    path: Path
    ruleset: RuleSet
    cases: tuple[Case, ...]


def load_cases(path: str | Path) -> CaseFile:
    """Read and check a ``*.cases.yaml`` file (one-line ``RuleError`` naming file and case)."""
    path = Path(path)
    raw = read_mapping(path, RuleError, "ruleset and cases")
    try:
        spec = _RawCaseFile.model_validate(raw)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        raise RuleError(f"{path}: {format_loc(loc)}: {msg}") from None
    ruleset = load_ruleset(resolve_ruleset_path(spec.ruleset, path.parent))
    point, names = ruleset.point, {r.name for r in ruleset.rules}
    facts_for(point, spec.defaults, f"{path}: defaults")
    outcome_fields = set(OUTCOMES[point].model_fields)
    cases, seen = [], set()
    for i, c in enumerate(spec.cases):
        label = f"{path}: cases[{i}] '{c.name}'"
        if c.name in seen:
            raise RuleError(f"{label}: duplicate case name")
        seen.add(c.name)
        facts_for(point, c.facts, f"{label}: facts")
        facts = facts_for(point, {**spec.defaults, **c.facts})
        e = c.expect
        if e.no_match and (e.winner or e.matched or e.outcome):
            raise RuleError(f"{label}: expect.no_match excludes winner, matched and outcome")
        if not (e.no_match or e.winner or e.matched is not None or e.outcome is not None):
            raise RuleError(f"{label}: expect needs winner, matched, outcome or no_match")
        for rname in [e.winner or "", *(e.matched or [])]:
            if rname and rname not in names:
                raise RuleError(f"{label}: expect: no rule '{rname}' in rule set "
                                f"'{ruleset.name}' (rules: {', '.join(sorted(names))})")
        outs = e.outcome if isinstance(e.outcome, list) else [e.outcome or {}]
        if isinstance(e.outcome, list) != (ruleset.hit_policy == "collect") and e.outcome:
            want = "a list (one mapping per collected outcome)" \
                if ruleset.hit_policy == "collect" else "a mapping"
            raise RuleError(f"{label}: expect.outcome: hit policy {ruleset.hit_policy} needs "
                            f"{want}")
        for o in outs:
            unknown = sorted(set(o) - outcome_fields)
            if unknown:
                raise RuleError(f"{label}: expect.outcome.{unknown[0]}: unknown outcome field "
                                f"for point '{point}'")
        cases.append(Case(c.name, facts, e.winner, tuple(e.matched) if e.matched is not None
                          else None, e.outcome, e.no_match))
    return CaseFile(path, ruleset, tuple(cases))


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class CaseResult:
    """One case on every backend; ``problems`` is empty when it passed."""

    name: str
    problems: list[str] = field(default_factory=list)
    winners: dict[str, str | None] = field(default_factory=dict)
    matched: set[str] = field(default_factory=set)

    @property
    def passed(self) -> bool:
        """Whether every backend decided as expected and they agreed."""
        return not self.problems


@dataclass
class FileResult:
    """The results of one case file."""

    path: Path
    ruleset: RuleSet
    results: list[CaseResult]

    @property
    def failed(self) -> int:
        """Number of failing cases."""
        return sum(not r.passed for r in self.results)

    @property
    def untested_rules(self) -> list[str]:
        """Rules no case exercises: never the winner (``first``), never matched (others)."""
        if self.ruleset.hit_policy == "first":
            hit = {w for r in self.results for w in r.winners.values()}
        else:
            hit = set().union(*(r.matched for r in self.results))
        return [r.name for r in self.ruleset.rules if r.name not in hit]


def _dump(outcome: Any) -> Any:
    if isinstance(outcome, tuple):
        return [_dump(o) for o in outcome]
    return outcome.model_dump(mode="json") if isinstance(outcome, BaseModel) else outcome


def _norm(value: Any) -> Any:
    """YAML values in the form ``model_dump(mode="json")`` produces (dates become text)."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(_subset(e, a) for e, a in zip(expected, actual, strict=True)))
    return expected == actual and isinstance(expected, bool) == isinstance(actual, bool)


def _check(case: Case, got: Decision | None) -> list[str]:
    if case.no_match:
        return [] if got is None else [f"expected no matching rule, got winner '{got.winner}'"]
    if got is None:
        return ["no rule matched"]
    out = []
    if case.winner is not None and got.winner != case.winner:
        out.append(f"winner '{got.winner}', expected '{case.winner}'")
    if case.matched is not None and got.matched != case.matched:
        out.append(f"matched {list(got.matched)}, expected {list(case.matched)}")
    if case.outcome is not None:
        actual, want = _dump(got.outcome), _norm(case.outcome)
        if not _subset(want, actual):
            if isinstance(want, dict):
                actual = {k: actual.get(k) for k in want}
            out.append(f"outcome {actual}, expected {want}")
    return out


def _decide(engine, point: str, facts: dict[str, Any]) -> Decision | None:
    try:
        return engine.decide(point, dict(facts))
    except RuleError as exc:
        if "no rule matching" in str(exc):
            return None
        raise


def run_cases(case_file: CaseFile, backends: Sequence[str] = tuple(BACKENDS)) -> FileResult:
    """Run every case of ``case_file`` on each backend."""
    rs, point = case_file.ruleset, case_file.ruleset.point
    engines = {b: make_engine({point: rs}, b) for b in backends}
    results = []
    try:
        for case in case_file.cases:
            res = CaseResult(case.name)
            decisions = {}
            for b, eng in engines.items():
                got = _decide(eng, point, case.facts)
                decisions[b] = got
                res.winners[b] = got.winner if got else None
                res.matched.update(got.matched if got else ())
                res.problems += [f"{b}: {p}" for p in _check(case, got)]
            keys = {b: (d.winner, d.matched, d.outcome) if d else None
                    for b, d in decisions.items()}
            if len(set(map(repr, keys.values()))) > 1:
                res.problems.append("backends disagree: " + "; ".join(
                    f"{b} → {d.winner if d else 'no match'}" for b, d in decisions.items()))
            results.append(res)
    finally:
        for eng in engines.values():
            eng.close()
    return FileResult(case_file.path, rs, results)
