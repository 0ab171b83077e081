"""Fast backend: the same rule data compiled into plain Python closures.

No source text is generated or executed: each condition tree becomes a composition of small
predicate functions. Semantics match durable-rules (a missing field never matches); the
differential test in ``tests/test_rules_differential.py`` holds the two backends equal.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from rules.schema import Cond, RuleSet

__all__ = ["CompiledBackend", "compile_condition"]

Predicate = Callable[[dict[str, Any]], bool]
_CMP = {"eq": operator.eq, "neq": operator.ne, "lt": operator.lt, "lte": operator.le,
        "gt": operator.gt, "gte": operator.ge}
_MISSING = object()


def compile_condition(cond: Cond) -> Predicate:
    """Turn a condition tree into a predicate over a facts dict."""
    if cond.kind == "true":
        return lambda facts: True
    if cond.kind == "or" and _same_field_equalities(cond):
        field = cond.args[0].field                  # an ``$in``: one set lookup
        values = frozenset(c.value for c in cond.args)
        return lambda facts: facts.get(field, _MISSING) in values
    if cond.kind in ("and", "or"):
        parts = tuple(compile_condition(c) for c in cond.args)
        if cond.kind == "and":
            def every(facts: dict[str, Any]) -> bool:
                for p in parts:
                    if not p(facts):
                        return False
                return True
            return every

        def some(facts: dict[str, Any]) -> bool:
            for p in parts:
                if p(facts):
                    return True
            return False
        return some
    field, value = cond.field, cond.value
    if cond.op == "eq":                             # a missing field never equals a value
        return lambda facts: facts.get(field, _MISSING) == value
    cmp = _CMP[cond.op]

    def compare(facts: dict[str, Any]) -> bool:
        v = facts.get(field, _MISSING)
        return v is not _MISSING and cmp(v, value)
    return compare


def _same_field_equalities(cond: Cond) -> bool:
    args = cond.args
    return all(c.kind == "cmp" and c.op == "eq" and c.field == args[0].field for c in args) \
        and all(isinstance(c.value, str) for c in args)


class CompiledBackend:
    """Matches rules with compiled predicates, cached per rule-set version."""

    def __init__(self):
        self._cache: dict[str, tuple[Predicate, ...]] = {}

    def predicates(self, ruleset: RuleSet) -> tuple[Predicate, ...]:
        """The compiled predicate of each rule of ``ruleset``, in evaluation order."""
        return self._predicates(ruleset)

    def _predicates(self, ruleset: RuleSet) -> tuple[Predicate, ...]:
        preds = self._cache.get(ruleset.key)
        if preds is None:
            preds = tuple(compile_condition(r.when) for r in ruleset.rules)
            self._cache[ruleset.key] = preds
        return preds

    def matches(self, ruleset: RuleSet, facts: dict[str, Any], first_only: bool) -> list[int]:
        """Indices of matching rules in evaluation order (only the first for ``first_only``)."""
        preds = self._predicates(ruleset)
        if first_only:
            for i, p in enumerate(preds):
                if p(facts):
                    return [i]
            return []
        return [i for i, p in enumerate(preds) if p(facts)]

    def close(self) -> None:
        """Nothing to release."""
