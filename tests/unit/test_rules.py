"""Rule sets: validation errors, library files, backends agreeing, isolated durable sessions."""

from __future__ import annotations

import textwrap

import pytest

from rules.engine import make_engine
from rules.schema import LIBRARY, RuleError, load_ruleset, ruleset_from_dict

ORDER = {"channel": "web", "channel_name": "web", "service_level": "standard",
         "promise_days": 5, "order_value": 80.0, "units": 2, "lines": 1, "weight_lb": 1.5,
         "region": "Chicago", "state": "IL", "hour": 12, "weekday": 2, "is_retry": False}


def rs(rules, point="sourcing", hit_policy="first"):
    return ruleset_from_dict({"ruleset": "t", "point": point, "hit_policy": hit_policy,
                              "rules": rules}, "t.yaml")


@pytest.mark.parametrize("when, message", [
    ({"all": [{"chanel": "web"}]}, "rule 'r' (rules[0]): when.all[0].chanel: unknown field"),
    ({"all": [{"order_value": {"$gtt": 3}}]}, "when.all[0].order_value.$gtt: unknown operator"),
    ({"all": [{"order_value": "big"}]}, "field 'order_value' is a number; got 'big'"),
    ({"all": [{"channel": {"$gt": "a"}}]}, "operator $gt needs a number field"),
    ({"all": [{"is_retry": 1}]}, "field 'is_retry' is true/false; got 1"),
    ({"all": []}, "needs a non-empty list"),
])
def test_bad_conditions_are_one_line_errors_naming_rule(when, message):
    with pytest.raises(RuleError) as err:
        rs([{"name": "r", "when": when, "then": {"node_types": ["dc"]}}])
    assert message in str(err.value) and str(err.value).startswith("t.yaml: ")
    assert "\n" not in str(err.value)


def test_bad_outcome_and_duplicate_names():
    with pytest.raises(RuleError, match=r"rule 'r' \(rules\[0\]\): then.rank_by\[0\]"):
        rs([{"name": "r", "then": {"rank_by": ["vibes"]}}])
    with pytest.raises(RuleError, match="duplicate rule name"):
        rs([{"name": "r", "then": {}}, {"name": "r", "then": {}}])
    with pytest.raises(RuleError, match="point: Input should be"):
        rs([{"name": "r", "then": {}}], point="routing")


def test_rule_file_cannot_execute_python(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text(textwrap.dedent("""
        ruleset: evil
        point: sourcing
        rules:
          - name: x
            when: {all: [{channel: !!python/object/apply:os.system ["touch pwned"]}]}
            then: {}
    """))
    with pytest.raises(RuleError, match="malformed YAML"):
        load_ruleset(p)
    q = tmp_path / "evil2.yaml"
    q.write_text("ruleset: evil\npoint: sourcing\nrules:\n  - name: x\n"
                 "    when: {all: [{channel: \"__import__('os').system('touch pwned')\"}]}\n"
                 "    then: {}\n")
    ruleset = load_ruleset(q)                   # a string is only ever compared, never run
    with make_engine({"sourcing": ruleset}, "durable") as eng:
        with pytest.raises(RuleError, match="no rule matching"):
            eng.decide("sourcing", ORDER)
    assert not (tmp_path / "pwned").exists()


def test_library_rule_sets_all_validate():
    files = sorted(f for f in LIBRARY.rglob("*.yaml") if not f.name.endswith(".cases.yaml"))
    assert len(files) >= 6
    points = {load_ruleset(f).point for f in files}
    assert {"sourcing", "split", "carrier", "reorder"} <= points


def test_priority_then_file_order_decides_first_hit():
    ruleset = rs([
        {"name": "low", "priority": 0, "then": {"node_types": ["dc"]}},
        {"name": "web", "priority": 5, "when": {"all": [{"channel": "web"}]},
         "then": {"node_types": ["store"]}},
        {"name": "web-too", "priority": 5, "when": {"channel": {"$in": ["web", "app"]}},
         "then": {"node_types": ["3pl"]}},
    ])
    for backend in ("durable", "compiled"):
        with make_engine({"sourcing": ruleset}, backend) as eng:
            d = eng.decide("sourcing", ORDER)
            assert (d.winner, d.outcome.node_types) == ("web", ["store"])
            d = eng.decide("sourcing", dict(ORDER, channel="marketplace"))
            assert d.winner == "low"


def test_backends_agree_on_library_rules_for_varied_facts():
    routing = load_ruleset(LIBRARY / "split" / "ship_complete_then_split.yaml")
    cases = [dict(ORDER, order_value=v, single_node_fill=False, nodes_needed=2)
             for v in (0.0, 100.0, 250.0, 250.01, 999.0)]
    with make_engine({"split": routing}, "durable") as dur, \
            make_engine({"split": routing}, "compiled") as comp:
        got_d = [dur.decide("split", c).winner for c in cases]
        got_c = [comp.decide("split", c).winner for c in cases]
    assert got_d == got_c == ["split-in-two"] * 3 + ["big-order-three-ways"] * 2


def test_durable_sessions_are_isolated_and_released():
    ruleset = load_ruleset(LIBRARY / "routing" / "nearest_first.yaml")
    # More engines than durable-rules' 1024 live sessions per rule set: closing frees them.
    for _ in range(1100):
        with make_engine({"sourcing": ruleset}, "durable") as eng:
            assert eng.decide("sourcing", ORDER).winner == "nearest-any-node"
    a = make_engine({"sourcing": ruleset}, "durable")
    b = make_engine({"sourcing": ruleset}, "durable")
    assert a.backend.sid != b.backend.sid
    a.decide("sourcing", ORDER)
    a.close()
    assert b.decide("sourcing", dict(ORDER, channel="marketplace")).winner == \
        "marketplace-dc-only"
    b.close()


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(RuleError, match="unknown backend 'fast'"):
        make_engine({}, "fast")


def test_durable_unsafe_number_is_a_clear_error_and_session_closes():
    ruleset = rs([{"name": "slow-movers", "when": {"all": [{"daily_demand": {"$lt": 0.5}}]},
                   "then": {"policy": "sS", "s_days": 7, "S_days": 30}},
                  {"name": "default", "then": {"policy": "sS", "s_days": 5, "S_days": 20}}],
                 point="reorder")
    facts = {"node": "a", "node_kind": "dc", "sku": "x", "sku_class": "A",
             "daily_demand": 5e-05, "lead_time_days": 7.0, "unit_cost": 1.0, "price": 2.0}
    eng = make_engine({"reorder": ruleset}, "durable")
    with pytest.raises(RuleError, match="daily_demand=5e-05 cannot be sent to durable-rules"):
        eng.decide("reorder", facts)
    # A field no condition reads is never sent, so it cannot upset durable-rules.
    assert eng.decide("reorder", dict(facts, daily_demand=0.25, unit_cost=1e-05)).winner == \
        "slow-movers"
    eng.close()
    with make_engine({"reorder": ruleset}, "compiled") as comp:
        assert comp.decide("reorder", facts).winner == "slow-movers"


def test_durable_asks_the_engine_once_per_fact_signature():
    """Matches are remembered per value (and type) of the fields the rules read: a repeat
    signature is answered without a post, a new value or a bool for a number is not."""
    ruleset = rs([{"name": "big", "when": {"all": [{"order_value": {"$gt": 100}}]},
                   "then": {"node_types": ["dc"]}},
                  {"name": "default", "then": {"node_types": ["dc", "store"]}}])
    with make_engine({"sourcing": ruleset}, "durable") as eng:
        winners = [eng.decide("sourcing", dict(ORDER, order_value=v, units=u)).winner
                   for v, u in ((150.0, 1), (150.0, 7), (50.0, 1), (150.0, 2), (50.0, 3))]
        assert winners == ["big", "big", "default", "big", "default"]
        assert eng.backend.posted == 2           # units is not read: two signatures
        eng.decide("sourcing", dict(ORDER, order_value=150))      # an int is a new signature
        assert eng.backend.posted == 3


def test_durable_memo_is_bounded(monkeypatch):
    import rules.durable
    monkeypatch.setattr(rules.durable, "MEMO_LIMIT", 3)
    ruleset = rs([{"name": "big", "when": {"all": [{"order_value": {"$gt": 100}}]},
                   "then": {"node_types": ["dc"]}},
                  {"name": "default", "then": {"node_types": ["dc", "store"]}}])
    with make_engine({"sourcing": ruleset}, "durable") as eng:
        winners = [eng.decide("sourcing", dict(ORDER, order_value=float(v))).winner
                   for v in (1, 200, 3, 400, 5, 1, 200)]
        assert winners == ["default", "big", "default", "big", "default", "default", "big"]
        assert len(eng.backend._memo) <= 3 and eng.backend.posted == 7
