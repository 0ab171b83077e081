"""Static checks of a rule set: rules that can never win, never match, or cannot be registered.

``lint(ruleset)`` returns ``Finding``s (level ``error`` or ``warning``, rule name, message).
Conditions are turned into a small disjunctive normal form: a list of *conjuncts*, each a map
field → set of values the field may take (numeric fields: unions of intervals; text and
true/false fields: finite sets or "anything but" sets). Fields are restricted to the values the
simulation can produce (``DOMAINS``: hour 0..23, channel kinds, …), which are deliberately
generous supersets of what ``sim`` posts. With that representation:

- **no default** – the rules together do not cover every fact set, so some decision would
  fail with "no rule matching" (a rule with an empty ``when`` fixes it);
- **unreachable** (hit policy ``first``) – every fact set the rule matches is matched first by
  earlier-evaluated rules (one rule whose condition includes this one, or several together);
- **never matches** – a contradiction such as ``{$gt: 5, $lt: 3}`` or ``hour: 24``;
- **unknown value** – an equality constant outside the field's values (``channel: marketplce``);
- **no effect** (hit policy ``merge``) – an earlier rule always matches too and sets every key;
- **durable number** (error) – a number durable-rules cannot parse (``1e-05``, ``1e+16``);
- **durable limit** (error) – more than ``DURABLE_MAX_GROUPS`` and/or groups in one condition
  (each ``$in`` of two or more values is one): durable-rules refuses to register it;
- **big integer** – beyond 2**53 durable-rules compares numbers as doubles, the compiled backend
  exactly, so the two could disagree.

The checks are sound (a finding is never a false alarm, given ``DOMAINS``) but not complete:
conditions whose normal form grows beyond ``MAX_CONJUNCTS`` are skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rules.schema import FACT_FIELDS, Cond, RuleSet
from rules.vocabulary import CHANNEL_KINDS, NODE_KINDS, SKU_CLASSES

__all__ = ["Finding", "lint", "DOMAINS", "INTEGER_FIELDS", "MAX_CONJUNCTS", "durable_safe",
           "DURABLE_MAX_GROUPS", "condition_groups"]

INF = math.inf
MAX_CONJUNCTS = 256
#: durable-rules 2.0.28 keeps a rule's and/or structure in a sequence of at most 32 slots
#: (``MAX_SEQUENCE_EXPRESSIONS``), two per group; a 16th group fails with error code 113
#: (``ERR_EXPRESSION_LIMIT_EXCEEDED``). Measured: 15 groups register, 16 do not.
DURABLE_MAX_GROUPS = 15

#: Numeric fields whose values are whole numbers in the simulation.
INTEGER_FIELDS = frozenset({"promise_days", "units", "lines", "hour", "weekday", "zone",
                            "nodes_needed", "shipment_units", "lines_short"})

#: Values each field can take in the simulation (generous supersets; unlisted: unrestricted).
#: Numeric: (low, high) inclusive. Text: the allowed values, from ``rules.vocabulary`` (which
#: the scenario models use too).
DOMAINS: dict[str, tuple[float, float] | frozenset] = {
    "promise_days": (0, 30), "order_value": (0, INF), "units": (0, INF), "lines": (0, INF),
    "weight_lb": (0, INF), "hour": (0, 23), "weekday": (0, 6), "zone": (1, 8),
    "distance_mi": (0, INF), "shipment_weight_lb": (0, INF), "shipment_units": (0, INF),
    "nodes_needed": (0, INF), "daily_demand": (0, INF), "lead_time_days": (0, INF),
    "unit_cost": (0, INF), "price": (0, INF), "age_hours": (0, INF), "lines_short": (0, INF),
    "channel": frozenset(CHANNEL_KINDS),
    "node_kind": frozenset(NODE_KINDS),
    "sku_class": frozenset(SKU_CLASSES),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint result; ``rule`` is empty for findings about the whole rule set."""

    level: Literal["error", "warning"]
    rule: str
    message: str
    code: str

    def __str__(self) -> str:
        where = f"rule '{self.rule}'" if self.rule else "rule set"
        return f"{self.level}: {where}: {self.message}"


def durable_safe(x: float) -> bool:
    """True when durable-rules can parse ``x`` as JSON: its parser rejects a number written with
    an exponent but no decimal point (Python writes 1e-05 and 1e+16 that way), error code 204."""
    if isinstance(x, bool) or not isinstance(x, float):
        return True
    if not math.isfinite(x):
        return False
    # What ``json.dumps`` writes for a finite float (subclasses too), without its overhead:
    # the durable backend checks every fact of every decision.
    mantissa, e, _ = float.__repr__(x).partition("e")
    return not e or "." in mantissa


def condition_groups(cond: Cond) -> int:
    """Number of and/or groups in a condition tree (what durable-rules' limit counts)."""
    return (cond.kind in ("and", "or")) + sum(condition_groups(c) for c in cond.args)


# ---------------------------------------------------------------------------------------------
# Value sets


@dataclass(frozen=True, slots=True)
class _Num:
    """A union of disjoint, sorted intervals ``(lo, lo_closed, hi, hi_closed)``; for whole-number
    fields the intervals are closed integer ranges (so ``(2, 3)`` is empty)."""

    ivs: tuple[tuple[float, bool, float, bool], ...]
    integer: bool

    @classmethod
    def make(cls, ivs: Iterable[tuple[float, bool, float, bool]], integer: bool) -> _Num:
        out = []
        for lo, lc, hi, hc in ivs:
            if integer:
                if math.isfinite(lo):
                    lo, lc = (float(math.ceil(lo)) if lc else float(math.floor(lo) + 1)), True
                if math.isfinite(hi):
                    hi, hc = (float(math.floor(hi)) if hc else float(math.ceil(hi) - 1)), True
            if lo > hi or (lo == hi and not (lc and hc)):
                continue
            out.append((lo, lc, hi, hc))
        out.sort(key=lambda iv: (iv[0], not iv[1]))
        merged: list[tuple[float, bool, float, bool]] = []
        for iv in out:
            if merged:
                plo, plc, phi, phc = merged[-1]
                lo, lc, hi, hc = iv
                touch = lo < phi or (lo == phi and (phc or lc))
                if integer and lo != -INF and phi != INF:
                    touch = touch or lo <= phi + 1
                if touch:
                    if hi > phi or (hi == phi and hc and not phc):
                        merged[-1] = (plo, plc, hi, hc)
                    continue
            merged.append(iv)
        return cls(tuple(merged), integer)

    def __and__(self, other: _Num) -> _Num:
        out = []
        for alo, alc, ahi, ahc in self.ivs:
            for blo, blc, bhi, bhc in other.ivs:
                lo, lc = (alo, alc) if (alo, not alc) > (blo, not blc) else (blo, blc)
                hi, hc = (ahi, ahc) if (ahi, ahc) < (bhi, bhc) else (bhi, bhc)
                out.append((lo, lc, hi, hc))
        return _Num.make(out, self.integer)

    def __or__(self, other: _Num) -> _Num:
        return _Num.make(self.ivs + other.ivs, self.integer)

    def __le__(self, other: _Num) -> bool:
        return (self & other) == self

    def empty(self) -> bool:
        return not self.ivs


@dataclass(frozen=True, slots=True)
class _Sym:
    """A set of text or true/false values: ``items`` when ``neg`` is false, else everything but
    ``items``. Over a finite domain the set is kept positive, so equal sets compare equal."""

    neg: bool
    items: frozenset
    domain: frozenset | None

    @classmethod
    def make(cls, neg: bool, items: Iterable, domain: frozenset | None) -> _Sym:
        items = frozenset(items)
        if domain is not None:
            items = (domain - items) if neg else (items & domain)
            neg = False
        return cls(neg, items, domain)

    def __and__(self, other: _Sym) -> _Sym:
        a, b = self, other
        if not a.neg and not b.neg:
            return _Sym.make(False, a.items & b.items, a.domain)
        if a.neg and b.neg:
            return _Sym.make(True, a.items | b.items, a.domain)
        pos, neg = (a, b) if not a.neg else (b, a)
        return _Sym.make(False, pos.items - neg.items, a.domain)

    def __or__(self, other: _Sym) -> _Sym:
        a, b = self, other
        if not a.neg and not b.neg:
            return _Sym.make(False, a.items | b.items, a.domain)
        if a.neg and b.neg:
            return _Sym.make(True, a.items & b.items, a.domain)
        pos, neg = (a, b) if not a.neg else (b, a)
        return _Sym.make(True, neg.items - pos.items, a.domain)

    def __le__(self, other: _Sym) -> bool:
        return (self & other) == self

    def empty(self) -> bool:
        return not self.neg and not self.items


_Values = _Num | _Sym
_Conj = dict[str, _Values]          # field -> allowed values; an absent field is unrestricted


class _TooComplex(Exception):
    pass


class _Space:
    """Fact space of one decision point, with or without the simulation's field domains."""

    def __init__(self, point: str, use_domains: bool):
        self.types = FACT_FIELDS[point]
        self.use_domains = use_domains
        self._full = {f: self._domain(f) for f in self.types}

    def _domain(self, field: str) -> _Values:
        ftype = self.types[field]
        dom = DOMAINS.get(field) if self.use_domains else None
        if ftype == "num":
            integer = self.use_domains and field in INTEGER_FIELDS
            lo, hi = dom if isinstance(dom, tuple) else (-INF, INF)
            return _Num.make([(lo, lo != -INF, hi, hi != INF)], integer)
        if ftype == "bool":
            return _Sym.make(True, (), frozenset({True, False}))
        return _Sym.make(True, (), dom if isinstance(dom, frozenset) else None)

    def full(self, field: str) -> _Values:
        return self._full[field]

    def leaf(self, cond: Cond) -> _Values:
        """Values of ``cond.field`` that satisfy the comparison."""
        full, v, op = self.full(cond.field), cond.value, cond.op
        if isinstance(full, _Sym):
            return full & _Sym.make(op == "neq", [v], full.domain)
        try:
            v = float(v)
        except OverflowError:                   # an integer beyond the float range
            v = INF if v > 0 else -INF
        ivs = {"eq": [(v, True, v, True)], "neq": [(-INF, False, v, False), (v, False, INF, False)],
               "lt": [(-INF, False, v, False)], "lte": [(-INF, False, v, True)],
               "gt": [(v, False, INF, False)], "gte": [(v, True, INF, False)]}[op]
        return full & _Num.make(ivs, full.integer)

    # -- conjuncts --------------------------------------------------------------------------

    def conj_and(self, a: _Conj, b: _Conj) -> _Conj | None:
        out = dict(a)
        for f, vals in b.items():
            both = out[f] & vals if f in out else vals
            if both.empty():
                return None
            out[f] = both
        return self._trim(out)

    def _trim(self, c: _Conj) -> _Conj:
        return {f: v for f, v in c.items() if v != self.full(f)}

    def conj_le(self, a: _Conj, b: _Conj) -> bool:
        """Every fact set in conjunct ``a`` is in conjunct ``b``."""
        return all(f in a and a[f] <= vals for f, vals in b.items())

    # -- normal form ------------------------------------------------------------------------

    def dnf(self, cond: Cond) -> list[_Conj]:
        """Disjunctive normal form of ``cond`` (empty list: never true; ``[{}]``: always)."""
        if cond.kind == "true":
            return [{}]
        if cond.kind == "cmp":
            vals = self.leaf(cond)
            return [] if vals.empty() else [self._trim({cond.field: vals})]
        parts = [self.dnf(c) for c in cond.args]
        if cond.kind == "or":
            return self.simplify([c for p in parts for c in p])
        acc: list[_Conj] = [{}]
        for p in parts:
            acc = [m for a in acc for b in p if (m := self.conj_and(a, b)) is not None]
            if len(acc) > MAX_CONJUNCTS:
                raise _TooComplex
            acc = self.simplify(acc)
        return acc

    def simplify(self, conjs: list[_Conj]) -> list[_Conj]:
        """Drop conjuncts contained in others; merge pairs that differ in one field only."""
        if len(conjs) > MAX_CONJUNCTS:
            raise _TooComplex
        out = list(conjs)
        changed = True
        while changed:
            changed = False
            keep: list[_Conj] = []
            for i, c in enumerate(out):
                if any(j != i and self.conj_le(c, d) and (not self.conj_le(d, c) or j < i)
                       for j, d in enumerate(out)):
                    changed = True
                    continue
                keep.append(c)
            out = keep
            for i in range(len(out)):
                for j in range(i + 1, len(out)):
                    merged = self._merge(out[i], out[j])
                    if merged is not None:
                        out = [c for k, c in enumerate(out) if k not in (i, j)] + [merged]
                        changed = True
                        break
                if changed:
                    break
        return out

    def _merge(self, a: _Conj, b: _Conj) -> _Conj | None:
        diff = [f for f in a.keys() | b.keys() if a.get(f) != b.get(f)]
        if len(diff) != 1:
            return None
        f = diff[0]
        if f not in a or f not in b:          # one side unrestricted: the other is contained
            return None
        return self._trim({**a, f: a[f] | b[f]})

    def covered(self, conjs: list[_Conj], by: list[_Conj]) -> bool:
        """Every conjunct of ``conjs`` lies inside one conjunct of ``by`` (sufficient test)."""
        return all(any(self.conj_le(c, d) for d in by) for c in conjs)

    def overlaps(self, a: list[_Conj], b: list[_Conj]) -> bool:
        return any(self.conj_and(x, y) is not None for x in a for y in b)


# ---------------------------------------------------------------------------------------------
# Checks


def _leaves(cond: Cond) -> Iterable[Cond]:
    if cond.kind == "cmp":
        yield cond
    for c in cond.args:
        yield from _leaves(c)


def _domain_text(field: str) -> str:
    dom = DOMAINS[field]
    if isinstance(dom, frozenset):
        return f"{field} is one of {', '.join(sorted(dom))}"
    lo, hi = dom
    whole = " (whole numbers)" if field in INTEGER_FIELDS else ""
    return f"{field} is {lo:g}..{hi:g}{whole}" if hi != INF else f"{field} is ≥ {lo:g}{whole}"


def _value_findings(rule_name: str, cond: Cond) -> list[Finding]:
    out = []
    groups = condition_groups(cond)
    if groups > DURABLE_MAX_GROUPS:
        out.append(Finding(
            "error", rule_name,
            f"condition has {groups} and/or groups (each $in of several values is one); "
            f"durable-rules registers at most {DURABLE_MAX_GROUPS} per rule (error code 113): "
            f"split the rule or simplify its condition", "durable-limit"))
    for leaf in _leaves(cond):
        v = leaf.value
        if not durable_safe(v):
            why = ("not a finite number)" if not math.isfinite(v) else
                   "an exponent without a decimal point; registering the rule set fails with "
                   "error code 204); use a value between 0.0001 and 1e16 in size")
            out.append(Finding("error", rule_name, f"{leaf.field}: durable-rules cannot read "
                               f"the number {json.dumps(v)} ({why}", "durable-number"))
        if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) > 2 ** 53:
            out.append(Finding(
                "warning", rule_name,
                f"{leaf.field}: {v} is beyond 2**53, where durable-rules compares numbers as "
                f"doubles and the compiled backend exactly; the backends may disagree",
                "big-number"))
        dom = DOMAINS.get(leaf.field)
        if leaf.op in ("eq", "neq") and isinstance(dom, frozenset) and v not in dom:
            out.append(Finding("warning", rule_name, f"'{v}' is not a value the simulation "
                               f"uses ({_domain_text(leaf.field)})", "unknown-value"))
    return out


def _names(rules) -> str:
    return ", ".join(f"'{r.name}'" for r in rules)


def lint(ruleset: RuleSet) -> list[Finding]:
    """Check a validated rule set; findings in rule evaluation order, rule-set level last."""
    findings: list[Finding] = []
    space = _Space(ruleset.point, use_domains=True)
    raw_space = _Space(ruleset.point, use_domains=False)
    forms: list[list[_Conj] | None] = []
    for rule in ruleset.rules:
        findings += _value_findings(rule.name, rule.when)
        try:
            forms.append(space.dnf(rule.when))
        except _TooComplex:
            forms.append(None)
    for i, rule in enumerate(ruleset.rules):
        form = forms[i]
        if form is None:
            continue
        if not form:
            text = _never_text(rule.when, raw_space)
            typo = any(f.rule == rule.name and f.code == "unknown-value" for f in findings)
            if not (typo and "never produces" in text):     # the typo finding says it all
                findings.append(Finding("warning", rule.name, text, "never-matches"))
            continue
        if ruleset.hit_policy == "first":
            f = _shadowed(ruleset, forms, i, space)
            if f:
                findings.append(f)
        elif ruleset.hit_policy == "merge":
            f = _no_effect(ruleset, forms, i, space)
            if f:
                findings.append(f)
    known = [f for f in forms if f is not None]
    if len(known) == len(forms):
        try:
            union = space.simplify([c for f in known for c in f])
        except _TooComplex:
            union = None
        if union is not None and union != [{}]:
            findings.append(Finding(
                "warning", "", "no default rule: facts that match no rule make the decision fail "
                "('no rule matching'); add a last rule with an empty 'when'", "no-default"))
    order = {r.name: i for i, r in enumerate(ruleset.rules)}
    return sorted(findings, key=lambda f: order.get(f.rule, len(order)))


def _never_text(cond: Cond, raw_space: _Space) -> str:
    try:
        contradictory = not raw_space.dnf(cond)
    except _TooComplex:
        contradictory = False
    if contradictory:
        return "never matches: its condition contradicts itself"
    fields = sorted({leaf.field for leaf in _leaves(cond) if leaf.field in DOMAINS})
    return ("never matches: its condition needs values the simulation never produces ("
            + "; ".join(_domain_text(f) for f in fields) + ")")


def _shadowed(ruleset: RuleSet, forms, i: int, space: _Space) -> Finding | None:
    rule, form = ruleset.rules[i], forms[i]
    earlier = [(r, f) for r, f in zip(ruleset.rules[:i], forms[:i], strict=True)
               if f is not None and f]
    for r, f in earlier:
        if space.covered(form, f):
            what = "always matches" if f == [{}] else "matches whenever this rule does"
            return Finding("warning", rule.name,
                           f"unreachable: earlier rule '{r.name}' (priority {r.priority}) {what}, "
                           f"so this rule never wins", "unreachable")
    relevant = [(r, f) for r, f in earlier if space.overlaps(form, f)]
    if len(relevant) > 1:
        try:
            union = space.simplify([c for _, f in relevant for c in f])
        except _TooComplex:
            return None
        if space.covered(form, union):
            return Finding("warning", rule.name,
                           f"unreachable: earlier rules {_names(r for r, _ in relevant)} together "
                           f"match whenever this rule does, so it never wins", "unreachable")
    return None


def _no_effect(ruleset: RuleSet, forms, i: int, space: _Space) -> Finding | None:
    """Under ``merge`` the keys of earlier-evaluated (higher-priority) rules win, so a rule whose
    every match is also matched by an earlier rule setting all of its keys changes nothing."""
    rule, form = ruleset.rules[i], forms[i]
    keys = set(rule.then_raw)
    for r, f in zip(ruleset.rules[:i], forms[:i], strict=True):
        if f and keys <= set(r.then_raw) and space.covered(form, f):
            return Finding("warning", rule.name,
                           f"no effect: earlier rule '{r.name}' (priority {r.priority}) also "
                           f"matches whenever this rule does and overrides every key it sets "
                           f"({', '.join(sorted(keys))})", "no-effect")
    return None
