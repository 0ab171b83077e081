"""Rule conditions as trees of compiled tests, for the decisions of a run.

``rules.compiled`` turns a condition into nested Python closures; a run calls them hundreds of
thousands of times. Here the same condition becomes a tree of ``Test`` nodes that ``holds``
walks in compiled code (``sim.core.native``), with the same semantics: a missing field never
matches, ``$in`` is a set lookup, comparisons are Python's. ``first_match`` is a first-hit
rule set's match; a property test holds it equal to ``rules.compiled`` on random rule sets.
"""

from __future__ import annotations

from typing import Any, Final

from rules.schema import Cond

__all__ = ["Test", "to_test", "holds", "first_match"]

_TRUE: Final = 0
_AND: Final = 1
_OR: Final = 2
_IN: Final = 3          # one field equal to one of several texts
_EQ: Final = 4
_NEQ: Final = 5
_LT: Final = 6
_LTE: Final = 7
_GT: Final = 8
_GTE: Final = 9
_OPS = {"eq": _EQ, "neq": _NEQ, "lt": _LT, "lte": _LTE, "gt": _GT, "gte": _GTE}
_MISSING: Final = object()


class Test:
    """One node of a condition: ``kind`` says which; ``parts`` of an and/or, else the
    ``field`` compared with ``value`` (or, for ``$in``, looked up in ``values``)."""

    def __init__(self, kind: int, parts: list[Test], field: str, value: Any,
                 values: frozenset[Any]):
        self.kind, self.parts, self.field = kind, parts, field
        self.value, self.values = value, values


def to_test(cond: Cond) -> Test:
    """The test tree of a condition tree (as ``rules.compiled.compile_condition`` reads it)."""
    none: frozenset[Any] = frozenset()
    if cond.kind == "true":
        return Test(_TRUE, [], "", None, none)
    if cond.kind == "or" and _same_field_texts(cond):
        return Test(_IN, [], cond.args[0].field, None, frozenset(c.value for c in cond.args))
    if cond.kind in ("and", "or"):
        return Test(_AND if cond.kind == "and" else _OR, [to_test(c) for c in cond.args], "",
                    None, none)
    return Test(_OPS[cond.op], [], cond.field, cond.value, none)


def _same_field_texts(cond: Cond) -> bool:
    """Whether an ``or`` only tests one field for equality with texts (an ``$in``)."""
    first = cond.args[0].field
    return all(c.kind == "cmp" and c.op == "eq" and c.field == first and isinstance(c.value, str)
               for c in cond.args)


def holds(test: Test, facts: dict[str, Any]) -> bool:
    """Whether ``facts`` satisfy ``test``."""
    kind = test.kind
    if kind == _TRUE:
        return True
    if kind == _AND:
        for part in test.parts:
            if not holds(part, facts):
                return False
        return True
    if kind == _OR:
        for part in test.parts:
            if holds(part, facts):
                return True
        return False
    v = facts.get(test.field, _MISSING)
    if kind == _IN:
        return v in test.values
    if kind == _EQ:
        return bool(v == test.value)
    if v is _MISSING:
        return False
    if kind == _NEQ:
        return bool(v != test.value)
    if kind == _LT:
        return bool(v < test.value)
    if kind == _LTE:
        return bool(v <= test.value)
    if kind == _GT:
        return bool(v > test.value)
    return bool(v >= test.value)


def first_match(tests: list[Test], facts: dict[str, Any]) -> int:
    """Index of the first test ``facts`` satisfy, or -1."""
    for k, test in enumerate(tests):
        if holds(test, facts):
            return k
    return -1

