"""Differential test: the compiled backend decides exactly as durable-rules (the reference).

120,000 random fact sets over 300 random rule sets (every decision point the generator knows,
every hit policy, every operator incl. $in, nested and/or) must give identical decisions:
winner, matched rules and outcome, or the same error. ~20 s on a 2-core machine.
The ≥ 1M-fact run lives in ``bench/rules_bench.py``.
"""

from __future__ import annotations

import random
import time

import pytest

from rules.compiled import CompiledBackend
from rules.engine import make_engine
from rules.lab.fuzz import (
    FUZZ_POINTS,
    HIT_POLICIES,
    decision_key,
    differential,
    random_facts,
    random_ruleset,
)
from rules.lab.lint import DURABLE_MAX_GROUPS, condition_groups, durable_safe
from rules.schema import fields_read, ruleset_from_dict
from sim.core.conditions import first_match, holds, to_test

N_FACTS = 120_000


@pytest.mark.slow
def test_backends_agree_on_120k_random_fact_sets():
    t0 = time.perf_counter()
    rep = differential(N_FACTS, seed=20261130, per_ruleset=400)
    elapsed = time.perf_counter() - t0
    assert rep.facts == N_FACTS and rep.rulesets == N_FACTS // 400
    assert set(rep.by_policy) == set(HIT_POLICIES)
    assert set(rep.by_point) == set(FUZZ_POINTS)
    assert min(rep.by_policy.values()) >= N_FACTS // 4
    details = "\n".join(f"{m.ruleset}\n  facts {m.facts}\n  got {m.got}"
                        for m in rep.mismatches[:3])
    assert rep.n_mismatches == 0, f"{rep.n_mismatches} mismatches, first:\n{details}"
    assert elapsed < 60, f"differential took {elapsed:.1f} s"


def test_generator_is_a_pure_function_of_the_seed():
    a = random_ruleset(random.Random(3), "split", "merge")
    b = random_ruleset(random.Random(3), "split", "merge")
    assert a.digest == b.digest
    assert [(r.name, r.priority, r.when, r.then_raw) for r in a.rules] == \
        [(r.name, r.priority, r.when, r.then_raw) for r in b.rules]
    fa = random_facts(random.Random(4), a, 50)
    assert fa == random_facts(random.Random(4), b, 50)
    assert all(durable_safe(v) for f in fa for v in f.values())


def test_generator_stays_within_durable_limits_and_uses_every_operator():
    rng = random.Random(1)
    ops, groups = set(), []
    for k in range(200):
        rs = random_ruleset(rng, FUZZ_POINTS[k % len(FUZZ_POINTS)], HIT_POLICIES[k % 3])
        for r in rs.rules:
            groups.append(condition_groups(r.when))
            ops |= {(c.op, type(c.value).__name__) for c in _leaves(r.when)}
    assert max(groups) <= DURABLE_MAX_GROUPS and max(groups) >= 8
    assert {op for op, _ in ops} == {"eq", "neq", "lt", "lte", "gt", "gte"}
    assert {t for _, t in ops} == {"int", "float", "str", "bool"}


def test_generated_facts_hit_boundaries_and_both_outcomes():
    """The fuzz is only worth something if comparisons land on both sides and on equality."""
    rng = random.Random(9)
    on_boundary = matched = unmatched = 0
    for k in range(30):
        rs = random_ruleset(rng, "sourcing", HIT_POLICIES[k % 3], n_rules=4)
        consts = {(c.field, c.value) for r in rs.rules for c in _leaves(r.when)}
        facts = random_facts(rng, rs, 100)
        on_boundary += sum((f, v) in consts for fs in facts for f, v in fs.items())
        with make_engine({"sourcing": rs}, "compiled") as eng:
            keys = [decision_key(eng, "sourcing", f) for f in facts]
        unmatched += sum(k[0] == "error" for k in keys)
        matched += sum(k[0] != "error" for k in keys)
    assert on_boundary > 1000 and matched > 1000 and unmatched > 50


def _leaves(c):
    if c.kind == "cmp":
        yield c
    for a in c.args:
        yield from _leaves(a)


@pytest.mark.parametrize("when, facts, expected", [
    ({"units": 2}, {"units": 2.0}, "r"),                       # int rule, float fact
    ({"units": 2.0}, {"units": 2}, "r"),
    ({"order_value": {"$gt": 250.01}}, {"order_value": 250.01}, "d"),
    ({"order_value": {"$gt": 250.01}}, {"order_value": 250.01000000000002}, "r"),
    ({"order_value": {"$lte": 0.1}}, {"order_value": 0.1}, "r"),
    ({"order_value": 0.30000000000000004}, {"order_value": 0.1 + 0.2}, "r"),
    ({"order_value": 0.3}, {"order_value": 0.1 + 0.2}, "d"),
    ({"is_retry": {"$neq": True}}, {"is_retry": False}, "r"),
    ({"channel": {"$neq": "web"}}, {}, "d"),                   # missing field: never matches
    ({"channel": ""}, {"channel": ""}, "r"),
    ({"channel": "Web"}, {"channel": "web"}, "d"),             # case-sensitive
    ({"channel": {"$in": ["a\"b", "é"]}}, {"channel": "é"}, "r"),
])
@pytest.mark.parametrize("policy", ["first", "collect"])
def test_named_edge_cases_agree(when, facts, expected, policy):
    rs = ruleset_from_dict({"ruleset": "edge", "point": "sourcing", "hit_policy": policy,
                            "rules": [{"name": "r", "priority": 1, "when": when, "then": {}},
                                      {"name": "d", "then": {}}]}, "edge.yaml")
    got = {}
    for backend in ("durable", "compiled"):
        with make_engine({"sourcing": rs}, backend) as eng:
            got[backend] = eng.decide("sourcing", facts)
    assert got["durable"].winner == got["compiled"].winner == expected
    assert got["durable"].matched == got["compiled"].matched


def test_the_model_cores_condition_tests_match_as_the_compiled_backend():
    """``sim.core.conditions`` (the rule conditions a run evaluates) finds the first match the
    compiled backend finds, on random first-hit rule sets of every point and random facts
    (values on and near the rules' constants, and missing fields)."""
    rng = random.Random(20261201)
    backend = CompiledBackend()
    checked = matched = 0
    for k in range(120):
        rs = random_ruleset(rng, FUZZ_POINTS[k % len(FUZZ_POINTS)], "first")
        tests = [to_test(r.when) for r in rs.rules]
        for facts in random_facts(rng, rs, 100, p_missing=0.1):
            want = backend.matches(rs, facts, first_only=True)
            assert first_match(tests, facts) == (want[0] if want else -1), (rs.rules, facts)
            for test, pred in zip(tests, backend.predicates(rs), strict=True):
                assert holds(test, facts) == bool(pred(facts))
            checked += 1
            matched += bool(want)
    assert checked == 12_000 and 1_000 < matched < checked
    assert fields_read(rs) == tuple(sorted({c.field for r in rs.rules for c in _leaves(r.when)}))
