"""The decision interface the simulation calls: ``Engine.decide(point, facts) -> Decision``.

An Engine holds one rule set per decision point and a backend that finds which rules match.
Hit policies are applied here, once, for every backend, so backends only answer "which rules
match these facts, in evaluation order" and can be proven equal by a differential test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from rules.schema import (
    RuleError,
    RuleSet,
    hit_outcome,
    load_ruleset,
    outcome_data,
    resolve_ruleset_path,
)

__all__ = ["Decision", "Backend", "Engine", "make_engine", "load_policies", "BACKENDS",
           "first_match"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The chosen outcome of one decision and its trace."""

    point: str
    ruleset: str
    winner: str
    outcome: Any                 # the point's outcome model (tuple of them for ``collect``)
    matched: tuple[str, ...]


class Backend(Protocol):
    """Finds matching rules; knows nothing about outcomes or hit policies."""

    def matches(self, ruleset: RuleSet, facts: dict[str, Any], first_only: bool) -> list[int]:
        """Indices into ``ruleset.rules`` of matching rules, in evaluation order."""
        ...

    def close(self) -> None:
        """Release backend resources (sessions)."""
        ...


class Engine:
    """Decides every decision point of a run with one backend and one rule set per point."""

    def __init__(self, rulesets: Mapping[str, RuleSet], backend: Backend, name: str):
        self.rulesets = dict(rulesets)
        self.backend = backend
        self.name = name
        self._memo: dict[tuple, Decision] = {}
        for point, rs in self.rulesets.items():
            if rs.point != point:
                raise RuleError(f"{rs.source}: rule set '{rs.name}' is for point '{rs.point}', "
                                f"but is used for '{point}'")
        # A backend whose rules are plain predicates (compiled) lets ``decide`` run a "first"
        # hit-policy rule set's predicates itself: same matches, fewer calls per decision.
        # Per such point: the predicates and, per rule, its decision once built.
        predicates = getattr(backend, "predicates", None)
        self._first: dict[str, tuple[tuple, list[Decision | None]]] = {} \
            if predicates is None else {
                point: (predicates(rs), [None] * len(rs.rules))
                for point, rs in self.rulesets.items() if rs.hit_policy == "first"}

    def first_predicates(self, point: str) -> tuple | None:
        """The compiled predicates of ``point``'s rule set when it has the ``first`` hit
        policy (else None): ``first_match`` over them and ``decision_at`` decide exactly as
        ``decide``, for callers that keep their own per-rule memo."""
        first = self._first.get(point)
        return None if first is None else first[0]

    def decision_at(self, point: str, i: int) -> Decision:
        """The decision of ``point``'s first-hit rule set when rule ``i`` matches first."""
        made = self._first[point][1]
        decision = made[i]
        if decision is None:
            decision = made[i] = self._decision(self.rulesets[point], [i])
        return decision

    def decide(self, point: str, facts: dict[str, Any]) -> Decision:
        """Apply the point's rule set to ``facts`` under its hit policy."""
        first = self._first.get(point)
        if first is not None:
            i = first_match(first[0], facts)
            if i >= 0:
                return self.decision_at(point, i)
        rs = self.rulesets[point]
        idx = self.backend.matches(rs, facts, first_only=rs.hit_policy == "first")
        key = (point, *idx)
        decision = self._memo.get(key)
        if decision is None:
            if not idx:
                raise RuleError(f"{rs.source}: rule set '{rs.name}' has no rule matching "
                                f"{_brief(facts)}; add a default rule (empty 'when')")
            decision = self._memo[key] = self._decision(rs, idx)
        return decision

    def _decision(self, rs: RuleSet, idx: list[int]) -> Decision:
        """The (immutable) decision for matched rules ``idx``: it depends on nothing else, so
        ``decide`` builds it once per distinct match."""
        rules = [rs.rules[i] for i in idx]
        names = tuple(r.name for r in rules)     # the first match is the winner
        return Decision(rs.point, rs.key, names[0],
                        hit_outcome(rs.point, rs.hit_policy, rules), names)

    def outcome_record(self, ruleset_key: str, matched: tuple[str, ...]) -> Any:
        """The outcome a decision with these matched rules produced, as plain data (for
        traces)."""
        rs = next(r for r in self.rulesets.values() if r.key == ruleset_key)
        by_name = {r.name: r for r in rs.rules}
        return outcome_data(hit_outcome(rs.point, rs.hit_policy, [by_name[n] for n in matched]))

    def close(self) -> None:
        """Free the backend's sessions; call when the run ends."""
        self.backend.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def first_match(predicates: tuple, facts: dict[str, Any]) -> int:
    """Index of the first predicate ``facts`` satisfy, or -1."""
    for i, p in enumerate(predicates):
        if p(facts):
            return i
    return -1


def _brief(facts: dict[str, Any]) -> str:
    items = [f"{k}={v!r}" for k, v in facts.items() if k not in ("sid", "id", "point")]
    return "{" + ", ".join(items[:8]) + (", …}" if len(items) > 8 else "}")


def load_policies(policies: Mapping[str, str | None], base_dir: Path | None = None
                  ) -> dict[str, RuleSet]:
    """Load the rule set named for each decision point (skipping points left unset)."""
    out = {}
    for point, ref in policies.items():
        if ref is None:
            continue
        try:
            rs = load_ruleset(resolve_ruleset_path(ref, base_dir))
        except RuleError as exc:
            raise RuleError(f"policies.{point}: {exc}") from None
        if rs.point != point:
            raise RuleError(f"policies.{point}: {rs.source}: rule set '{rs.name}' is for point "
                            f"'{rs.point}', not '{point}'")
        out[point] = rs
    return out


def _durable():
    from rules.durable import DurableBackend
    return DurableBackend()


def _compiled():
    from rules.compiled import CompiledBackend
    return CompiledBackend()


BACKENDS = {"durable": _durable, "compiled": _compiled}


def make_engine(rulesets: Mapping[str, RuleSet], backend: str = "durable") -> Engine:
    """Build an Engine over ``rulesets`` with the named backend (durable | compiled)."""
    if backend not in BACKENDS:
        raise RuleError(f"--engine: unknown backend '{backend}' (choose: {', '.join(BACKENDS)})")
    return Engine(rulesets, BACKENDS[backend](), backend)


def outcome_dict(outcome: BaseModel) -> dict[str, Any]:
    """Plain dict of an outcome, for traces and reports."""
    return outcome.model_dump(mode="json")
