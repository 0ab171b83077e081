"""Seeded random rule sets and fact sets, for proving the rule backends equal.

``random_ruleset`` writes rule-set *data* (the YAML shape, through ``ruleset_from_dict``) with
random conditions over every field type and operator (``eq`` in both spellings, ``$neq``,
``$lt``, ``$lte``, ``$gt``, ``$gte``, ``$in``, several operators on one field, ``all``/``any``/
``$and``/``$or`` nested, several fields in one mapping, empty ``when``), random priorities
(ties included) and valid outcomes, for any decision point and hit policy. ``random_facts``
draws fact sets near the rule set's own constants so comparisons land on their boundaries:
equal (as int and as float), just above and below (±1, ±0.01, the next float), other strings,
both booleans, occasionally a missing field. ``differential`` runs them through two backends
and lists every decision on which they differ.

Known durable-rules limits the generator stays clear of (``rules.lab.lint`` reports each one):
numbers whose JSON form has an exponent without a decimal point (``1e-05``, ``5e-324``) are
rejected by its parser (``durable_safe``); a condition with more than ``DURABLE_MAX_GROUPS``
and/or groups cannot be registered (error 113), so such conditions are drawn again; integers
beyond 2**53 are compared as doubles, so constants stay below.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.engine import make_engine
from rules.lab.lint import DURABLE_MAX_GROUPS, condition_groups, durable_safe
from rules.schema import FACT_FIELDS, OUTCOMES, RuleError, RuleSet, ruleset_from_dict

__all__ = ["HIT_POLICIES", "FUZZ_POINTS", "random_ruleset", "random_facts", "Mismatch",
           "DifferentialReport", "differential", "decision_key"]

HIT_POLICIES = ("first", "collect", "merge")

_NUMS = (0, 1, 2, 3, 5, 7, 12, 23, 24, 30, 100, 250, -1, -3.5, 0.5, 0.01, 0.0001, 2.25,
         99.99, 250.01, 1000, 1e15, 123456.789)
_STRS = ("web", "app", "marketplace", "store", "dc", "3pl", "A", "B", "C", "gold", "standard",
         "Chicago", "CA", "", "Web", "a b", "é", "0", "true")
_OTHER_STRS = ("zzz", "WEB", " web", "web ", "ä", "None", "1")


def _const(rng: random.Random, ftype: str) -> Any:
    if ftype == "num":
        return rng.choice(_NUMS)
    if ftype == "bool":
        return rng.random() < 0.5
    return rng.choice(_STRS)


def _field_spec(rng: random.Random, ftype: str) -> Any:
    """The right-hand side of ``field: ...``."""
    roll = rng.random()
    if roll < 0.25:
        return _const(rng, ftype)                                  # bare equality
    if roll < 0.45:
        return {"$in": [_const(rng, ftype) for _ in range(rng.randint(1, 4))]}
    ops = ["$eq", "$neq"] + (["$lt", "$lte", "$gt", "$gte"] if ftype == "num" else [])
    chosen = rng.sample(ops, k=min(len(ops), 1 if rng.random() < 0.7 else 2))
    return {op: _const(rng, ftype) for op in chosen}


def _condition(rng: random.Random, fields: dict[str, str], depth: int) -> dict[str, Any]:
    if depth > 0 and rng.random() < 0.45:
        key = rng.choice(("all", "any", "$and", "$or"))
        return {key: [_condition(rng, fields, depth - 1) for _ in range(rng.randint(1, 3))]}
    names = rng.sample(sorted(fields), k=1 if rng.random() < 0.75 else 2)
    return {f: _field_spec(rng, fields[f]) for f in names}


def _then(rng: random.Random, point: str) -> dict[str, Any]:
    """A valid outcome; every block is complete enough that any merge of blocks is valid."""
    if point == "sourcing":
        out: dict[str, Any] = {}
        if rng.random() < 0.6:
            out["node_types"] = rng.sample(["dc", "store", "3pl", "dropship"], rng.randint(1, 3))
        if rng.random() < 0.5:
            out["rank_by"] = rng.sample(["distance", "ship_cost", "landed_cost"], rng.randint(1, 2))
        if rng.random() < 0.5:
            out["protect_store_units"] = rng.randint(0, 3)
        return out
    if point == "split":
        out = {"mode": rng.choice(["ship_complete", "allow_split"])}
        if rng.random() < 0.6:
            out["max_shipments"] = rng.randint(1, 4)
        return out
    if point == "carrier":
        return {"strategy": rng.choice(["cheapest_on_time", "fastest", "cheapest"])}
    if point == "priority":
        return {"priority": rng.randint(0, 9)}
    if point == "reorder":
        s = rng.randint(0, 10)
        return {"policy": "sS", "s_days": s, "S_days": s + rng.randint(1, 10)}
    if point == "backorder":
        return {"action": rng.choice(["hold", "cancel"])}
    raise ValueError(f"no outcome generator for point '{point}'")


#: Decision points the generator can write outcomes for (those the schema knows).
FUZZ_POINTS = tuple(p for p in ("sourcing", "split", "carrier", "priority", "reorder",
                                "backorder") if p in OUTCOMES)


def random_ruleset(rng: random.Random, point: str, hit_policy: str, n_rules: int | None = None,
                   max_depth: int = 3, name: str = "fuzz") -> RuleSet:
    """A random, valid rule set for ``point`` (the last rule is a default about half the time)."""
    fields = FACT_FIELDS[point]
    n = n_rules if n_rules is not None else rng.randint(1, 8)
    rules = []
    for i in range(n):
        rule: dict[str, Any] = {"name": f"r{i}", "priority": rng.choice((0, 0, 1, 2, 5, 10)),
                                "then": _then(rng, point)}
        if not (i == n - 1 and rng.random() < 0.5) and rng.random() > 0.03:
            rule["when"] = _condition(rng, fields, rng.randint(0, max_depth))
        rules.append(rule)
    raw = {"ruleset": name, "point": point, "hit_policy": hit_policy, "rules": rules}
    rs = ruleset_from_dict(raw, f"<{name}>")
    if any(condition_groups(r.when) > DURABLE_MAX_GROUPS for r in rs.rules):
        return random_ruleset(rng, point, hit_policy, n_rules, max_depth, name)
    return rs


def _constants(ruleset: RuleSet) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}

    def walk(c) -> None:
        if c.kind == "cmp":
            out.setdefault(c.field, []).append(c.value)
        for a in c.args:
            walk(a)
    for r in ruleset.rules:
        walk(r.when)
    return out


def _near_num(rng: random.Random, c: float) -> float:
    roll = rng.random()
    if roll < 0.30:
        v: float = c
    elif roll < 0.45:
        v = float(c) if isinstance(c, int) else (int(c) if float(c).is_integer() else c)
    elif roll < 0.65:
        v = c + rng.choice((-1, 1, -0.01, 0.01))
    elif roll < 0.85:
        v = math.nextafter(float(c), rng.choice((-math.inf, math.inf)))
    else:
        v = rng.choice((rng.randint(-5, 300), round(rng.uniform(-10, 2000), 2)))
    return v if durable_safe(v) and abs(v) < 2 ** 53 else c


def random_facts(rng: random.Random, ruleset: RuleSet, n: int,
                 p_missing: float = 0.01) -> list[dict[str, Any]]:
    """``n`` fact sets for the rule set's point, values drawn near its constants."""
    fields = FACT_FIELDS[ruleset.point]
    consts = _constants(ruleset)
    out = []
    for _ in range(n):
        facts: dict[str, Any] = {}
        for f, ftype in fields.items():
            cs = consts.get(f)
            if ftype == "bool":
                v: Any = rng.random() < 0.5
            elif ftype == "num":
                v = _near_num(rng, rng.choice(cs)) if cs and rng.random() < 0.85 else \
                    _near_num(rng, rng.choice(_NUMS))
            else:
                roll = rng.random()
                v = rng.choice(cs) if cs and roll < 0.7 else \
                    rng.choice(_OTHER_STRS) if roll < 0.8 else rng.choice(_STRS)
            if rng.random() >= p_missing:
                facts[f] = v
        out.append(facts)
    return out


def decision_key(engine, point: str, facts: dict[str, Any]) -> tuple:
    """What a decision must agree on: (winner, matched, outcome), or the error it raised."""
    try:
        d = engine.decide(point, facts)
    except (RuleError, ValueError) as exc:      # pydantic ValidationError is a ValueError
        return ("error", type(exc).__name__, str(exc).split("\n")[0])
    except Exception as exc:                    # noqa: BLE001 - a backend crash is a finding
        return ("crash", type(exc).__name__, str(exc))
    return (d.winner, d.matched, d.outcome)


@dataclass(frozen=True)
class Mismatch:
    """One decision on which the backends differ."""

    ruleset: dict[str, Any]       # the rule set as data (reproducible with ruleset_from_dict)
    facts: dict[str, Any]
    got: dict[str, Any]           # backend -> decision_key


@dataclass
class DifferentialReport:
    """Counts and timings of a differential run."""

    facts: int = 0
    rulesets: int = 0
    by_policy: dict[str, int] = field(default_factory=dict)
    by_point: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    n_mismatches: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)     # the first few, in full


def _raw(rs: RuleSet) -> dict[str, Any]:
    return {"ruleset": rs.name, "point": rs.point, "hit_policy": rs.hit_policy,
            "rules": [{"name": r.name, "priority": r.priority, "then": r.then_raw,
                       **({"when": _cond_raw(r.when)} if r.when.kind != "true" else {})}
                      for r in sorted(rs.rules, key=lambda r: r.order)]}


def _cond_raw(c) -> dict[str, Any]:
    if c.kind == "cmp":
        return {c.field: {f"${c.op}": c.value}}
    if c.kind == "true":
        return {}
    return {"all" if c.kind == "and" else "any": [_cond_raw(a) for a in c.args]}


def differential(n_facts: int, seed: int = 0, per_ruleset: int = 400,
                 points: Sequence[str] = FUZZ_POINTS, policies: Sequence[str] = HIT_POLICIES,
                 backends: tuple[str, str] = ("durable", "compiled"),
                 progress: Callable[[int], None] | None = None,
                 max_mismatches: int = 50) -> DifferentialReport:
    """Decide ``n_facts`` random fact sets over random rule sets on both backends and compare.

    Rule sets cycle over ``points`` × ``policies``; each gets ``per_ruleset`` fact sets. The
    whole run is a pure function of ``seed``."""
    rng = random.Random(seed)
    rep = DifferentialReport()
    combos = [(p, h) for p in points for h in policies]
    engines: dict[str, Any] = {}
    k = 0
    try:
        while rep.facts < n_facts:
            point, policy = combos[k % len(combos)]
            rs = random_ruleset(rng, point, policy, name=f"fuzz-{seed}-{k}")
            k += 1
            facts = random_facts(rng, rs, min(per_ruleset, n_facts - rep.facts))
            _close(engines)
            engines = {b: make_engine({point: rs}, b) for b in backends}
            results = {}
            for b, eng in engines.items():
                t0 = time.perf_counter()
                results[b] = [decision_key(eng, point, f) for f in facts]
                rep.seconds[b] = rep.seconds.get(b, 0.0) + time.perf_counter() - t0
            a, b = (results[x] for x in backends)
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if x != y:
                    rep.n_mismatches += 1
                    if len(rep.mismatches) < max_mismatches:
                        rep.mismatches.append(Mismatch(_raw(rs), facts[i],
                                                       {backends[0]: x, backends[1]: y}))
            rep.facts += len(facts)
            rep.rulesets += 1
            rep.by_policy[policy] = rep.by_policy.get(policy, 0) + len(facts)
            rep.by_point[point] = rep.by_point.get(point, 0) + len(facts)
            if progress:
                progress(rep.facts)
    finally:
        _close(engines)
    return rep


def _close(engines: dict[str, Any]) -> None:
    for eng in engines.values():
        try:
            eng.close()
        except Exception:  # noqa: BLE001 - durable cannot delete a session a crash never made
            pass

