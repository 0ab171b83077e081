"""Rules lab tools: lint, rule test cases, coverage, rule diff, and their CLI."""

from __future__ import annotations

import json
import math
import random
import textwrap
import typing

import pytest
from conftest import make_scenario

from rules.compiled import compile_condition
from rules.lab.coverage import format_coverage, run_coverage
from rules.lab.fuzz import random_facts, random_ruleset
from rules.lab.lint import DOMAINS, INTEGER_FIELDS, lint
from rules.lab.testing import NEUTRAL_FACTS, case_files, facts_for, load_cases, run_cases
from rules.schema import FACT_FIELDS, LIBRARY, RuleError, load_ruleset, ruleset_from_dict
from sim.cli import main
from sim.experiments.replication import experiment_seeds
from sim.experiments.rule_diff import decision_signatures, diff_rules, format_diff
from sim.experiments.runner import run_scenario
from sim.store.rundir import write_run

T = {"node_types": ["dc"]}


def rs(rules, point="sourcing", hit_policy="first"):
    return ruleset_from_dict({"ruleset": "t", "point": point, "hit_policy": hit_policy,
                              "rules": rules}, "t.yaml")


def codes(ruleset):
    return [(f.level, f.rule, f.code) for f in lint(ruleset)]


# ---------------------------------------------------------------------------------------------
# lint


def test_clean_rule_set_has_no_findings():
    assert lint(rs([{"name": "m", "priority": 1, "when": {"channel": "marketplace"}, "then": T},
                    {"name": "d", "then": T}])) == []


@pytest.mark.parametrize("earlier, later", [
    ({"channel": "web"}, {"all": [{"channel": "web"}, {"order_value": {"$gt": 100}}]}),
    ({"order_value": {"$gt": 100}}, {"order_value": {"$gte": 200}}),        # interval
    ({"order_value": {"$gte": 100}}, {"order_value": 100}),
    ({"hour": {"$lt": 12}}, {"hour": {"$lte": 11.5}}),
    ({"channel": {"$in": ["web", "app", "store"]}}, {"channel": {"$in": ["web", "app"]}}),
    ({"channel": {"$neq": "marketplace"}}, {"channel": "web"}),
    ({"any": [{"channel": "web"}, {"units": {"$gt": 3}}]}, {"units": 5}),
])
def test_shadowed_rule_is_unreachable(earlier, later):
    findings = lint(rs([{"name": "a", "priority": 5, "when": earlier, "then": T},
                        {"name": "b", "when": later, "then": T}, {"name": "d", "then": T}]))
    assert [(f.level, f.rule, f.code) for f in findings] == [("warning", "b", "unreachable")]
    assert "earlier rule 'a' (priority 5)" in findings[0].message


def test_an_always_true_rule_shadows_everything_after_it():
    findings = lint(rs([{"name": "a", "priority": 5, "when": {"order_value": {"$gte": 0}},
                         "then": T},
                        {"name": "b", "when": {"channel": "web"}, "then": T},
                        {"name": "d", "then": T}]))
    assert [(f.rule, f.code) for f in findings] == [("b", "unreachable"), ("d", "unreachable")]
    assert "earlier rule 'a' (priority 5) always matches" in findings[1].message


@pytest.mark.parametrize("earlier, later", [
    ({"channel": "web"}, {"channel": "app"}),
    ({"order_value": {"$gt": 100}}, {"order_value": {"$gte": 100}}),        # 100 itself
    ({"channel": {"$in": ["web", "app"]}}, {"channel": {"$in": ["web", "store"]}}),
    ({"all": [{"channel": "web"}, {"units": 1}]}, {"channel": "web"}),
])
def test_reachable_rules_are_not_flagged(earlier, later):
    assert codes(rs([{"name": "a", "priority": 5, "when": earlier, "then": T},
                     {"name": "b", "when": later, "then": T}, {"name": "d", "then": T}])) == []


def test_rules_together_can_shadow_and_cover():
    ruleset = rs([{"name": "retry", "priority": 1, "when": {"is_retry": True}, "then": T},
                  {"name": "fresh", "priority": 1, "when": {"is_retry": False}, "then": T},
                  {"name": "late", "when": {"channel": "web"}, "then": T}])
    findings = lint(ruleset)
    assert [(f.rule, f.code) for f in findings] == [("late", "unreachable")]
    assert "'retry', 'fresh' together" in findings[0].message       # and no "no default"
    hours = rs([{"name": "am", "when": {"hour": {"$lt": 12}}, "then": T},
                {"name": "pm", "when": {"hour": {"$gte": 12}}, "then": T}])
    assert lint(hours) == []                                        # together a default


def test_never_matching_conditions():
    ruleset = rs([
        {"name": "contradiction", "when": {"order_value": {"$gt": 5, "$lt": 3}}, "then": T},
        {"name": "hour-24", "when": {"hour": 24}, "then": T},
        {"name": "between-ints", "when": {"units": {"$gt": 2, "$lt": 3}}, "then": T},
        {"name": "negative", "when": {"all": [{"order_value": {"$lt": 0}}]}, "then": T},
        {"name": "d", "then": T}])
    findings = {f.rule: f.message for f in lint(ruleset)}
    assert findings["contradiction"] == "never matches: its condition contradicts itself"
    assert "hour is 0..23 (whole numbers)" in findings["hour-24"]
    assert "units is ≥ 0 (whole numbers)" in findings["between-ints"]
    assert "order_value is ≥ 0" in findings["negative"]
    assert set(findings) == {"contradiction", "hour-24", "between-ints", "negative"}


def test_unknown_values_durable_limits_and_missing_default():
    ruleset = rs([
        {"name": "typo", "when": {"channel": {"$in": ["marketplce", "web"]}}, "then": T},
        {"name": "tiny", "when": {"order_value": {"$lt": 0.00001}}, "then": T},
        {"name": "huge", "when": {"units": 2 ** 60}, "then": T},
        {"name": "deep", "when": {"all": [{"units": {"$in": [i, 999]}} for i in range(16)]},
         "then": T}])
    got = codes(ruleset)
    assert got == [("warning", "typo", "unknown-value"), ("error", "tiny", "durable-number"),
                   ("warning", "huge", "big-number"), ("error", "deep", "durable-limit"),
                   ("warning", "", "no-default")]
    msgs = {f.code: f.message for f in lint(ruleset)}
    assert "durable-rules cannot read the number 1e-05" in msgs["durable-number"]
    assert "17 and/or groups" in msgs["durable-limit"]


def test_merge_rule_overridden_by_an_earlier_rule_has_no_effect():
    ruleset = rs([{"name": "all-web", "priority": 5, "when": {"channel": "web"},
                   "then": {"mode": "allow_split", "max_shipments": 2}},
                  {"name": "web-big", "priority": 1, "when": {"channel": "web", "units": 9},
                   "then": {"max_shipments": 4}},
                  {"name": "base", "then": {"mode": "ship_complete"}}], "split", "merge")
    findings = lint(ruleset)
    assert [(f.rule, f.code) for f in findings] == [("web-big", "no-effect")]
    assert "earlier rule 'all-web'" in findings[0].message


def test_library_rule_sets_lint_without_errors():
    for f in sorted(LIBRARY.rglob("*.yaml")):
        if not f.name.endswith(".cases.yaml"):
            assert [x for x in lint(load_ruleset(f)) if x.level == "error"] == [], f


def test_domains_match_the_simulation():
    from sim.scenario import Channel, Node
    assert DOMAINS["channel"] == set(typing.get_args(Channel.model_fields["kind"].annotation))
    assert DOMAINS["node_kind"] == set(typing.get_args(Node.model_fields["kind"].annotation))
    assert set(DOMAINS) <= {f for fields in FACT_FIELDS.values() for f in fields}
    assert INTEGER_FIELDS <= set(DOMAINS)


def _in_domain(rng: random.Random, facts: dict, point: str) -> dict:
    out = {}
    for f, v in facts.items():
        dom = DOMAINS.get(f)
        if isinstance(dom, frozenset) and v not in dom:
            v = rng.choice(sorted(dom))
        elif isinstance(dom, tuple):
            lo, hi = dom
            if f in INTEGER_FIELDS:
                v = min(max(round(v), lo), hi if hi != math.inf else 10 ** 6)
            elif not lo <= v <= hi:
                v = rng.uniform(lo, min(hi, 1000.0))
        out[f] = v
    return out


def test_lint_findings_are_sound_on_random_rule_sets():
    """An 'unreachable' rule never wins, a 'never matches' rule never matches, and a rule set
    without 'no-default' always decides, on thousands of in-domain fact sets."""
    rng = random.Random(7)
    flagged = 0
    for k in range(150):
        ruleset = random_ruleset(rng, ("sourcing", "carrier", "reorder")[k % 3], "first",
                                 max_depth=2)
        findings = lint(ruleset)
        dead = {f.rule for f in findings if f.code in ("unreachable", "never-matches")}
        never = {f.rule for f in findings if f.code == "never-matches"}
        has_default = not any(f.code == "no-default" for f in findings)
        flagged += len(dead)
        preds = [(r.name, compile_condition(r.when)) for r in ruleset.rules]
        for facts in random_facts(rng, ruleset, 60, p_missing=0.0):
            facts = _in_domain(rng, facts, ruleset.point)
            hits = [n for n, p in preds if p(facts)]
            assert not (set(hits) & never), (ruleset, facts)
            if hits:
                assert hits[0] not in dead, (ruleset, facts)
            else:
                assert not has_default, (ruleset, facts)
    assert flagged > 20                       # the property was exercised


# ---------------------------------------------------------------------------------------------
# rule test cases


def test_neutral_facts_cover_every_field_with_the_right_type():
    for point, fields in FACT_FIELDS.items():
        facts = facts_for(point, {})
        assert set(facts) == set(fields)
        assert facts_for(point, facts) == facts          # neutral values pass the type check
    assert NEUTRAL_FACTS["channel"] == "web" and NEUTRAL_FACTS["is_retry"] is False


@pytest.mark.parametrize("given, message", [
    ({"chanel": "web"}, "facts.chanel: unknown field for point 'sourcing'"),
    ({"order_value": "big"}, "facts.order_value: must be a number; got 'big'"),
    ({"units": True}, "facts.units: must be a number; got True"),
    ({"is_retry": 1}, "facts.is_retry: must be true/false; got 1"),
    ({"channel": 3}, "facts.channel: must be text; got 3"),
    ({"order_value": float("nan")}, "facts.order_value: must be a number; got nan"),
])
def test_partial_facts_are_checked(given, message):
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        facts_for("sourcing", given)


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_case_file_errors_name_file_and_case(tmp_path):
    bad = {
        "facts: {chanel: web}, expect: {winner: nearest-any-node}":
            "cases[0] 'c': facts.chanel: unknown field",
        "expect: {winner: nearest-anywhere}":
            "cases[0] 'c': expect: no rule 'nearest-anywhere' in rule set 'nearest-first'",
        "expect: {outcome: {node_type: [dc]}}":
            "expect.outcome.node_type: unknown outcome field",
        "expect: {}": "expect needs winner, matched, outcome or no_match",
        "expect: {winnner: x}": "cases[0].expect.winnner: unknown field",
        "expect: {outcome: [{node_types: [dc]}]}": "hit policy first needs a mapping",
    }
    for body, message in bad.items():
        f = tmp_path / "x.cases.yaml"
        f.write_text(f"ruleset: routing/nearest_first\ncases:\n  - {{name: c, {body}}}\n")
        with pytest.raises(RuleError) as err:
            load_cases(f)
        assert str(err.value).startswith(f"{f}: ") and message in str(err.value), err.value


def test_cases_pass_fail_and_no_match(tmp_path):
    rules_file = _write(tmp_path / "web_only.yaml", """
        ruleset: web-only
        point: sourcing
        rules:
          - {name: web, when: {channel: web}, then: {node_types: [dc]}}
        """)
    f = _write(tmp_path / "web_only.cases.yaml", """
        ruleset: web_only.yaml
        defaults: {channel: app}
        cases:
          - {name: app-has-no-rule, expect: {no_match: true}}
          - {name: web, facts: {channel: web}, expect: {winner: web, outcome: {node_types: [dc]}}}
          - {name: wrong, facts: {channel: web}, expect: {outcome: {node_types: [store]}}}
          - {name: wrong-no-match, facts: {channel: web}, expect: {no_match: true}}
        """)
    cf = load_cases(f)
    assert cf.ruleset.source == str(rules_file.resolve())
    assert cf.cases[0].facts["channel"] == "app" and cf.cases[0].facts["units"] == 1
    result = run_cases(cf)
    assert [r.passed for r in result.results] == [True, True, False, False]
    assert result.results[2].problems == [
        "durable: outcome {'node_types': ['dc']}, expected {'node_types': ['store']}",
        "compiled: outcome {'node_types': ['dc']}, expected {'node_types': ['store']}"]
    assert result.results[3].problems[0] == \
        "durable: expected no matching rule, got winner 'web'"
    assert result.failed == 2 and result.untested_rules == []


def test_every_library_rule_set_has_passing_cases():
    sets = {f.resolve() for f in LIBRARY.rglob("*.yaml") if not f.name.endswith(".cases.yaml")}
    files = case_files([LIBRARY])
    tested = set()
    for f in files:
        result = run_cases(load_cases(f))
        assert result.failed == 0, [(r.name, r.problems) for r in result.results if r.problems]
        tested.add(result.ruleset.source)
    assert {str(s) for s in sets} == tested


# ---------------------------------------------------------------------------------------------
# coverage, diff


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = run_scenario(make_scenario(), "compiled")
    return write_run(out, tmp_path_factory.mktemp("runs")), out


def test_coverage_counts_every_decision_and_lists_rules_that_never_fired(run_dir):
    path, out = run_dir
    covs = {c.point: c for c in run_coverage(path)}
    assert list(covs) == ["sourcing", "split", "carrier", "reorder"]
    src = covs["sourcing"]
    n_sourcing = sum(1 for row in out.run.trace if row.point == "sourcing")
    assert src.decisions == n_sourcing > 0
    assert [(r.name, r.won, r.won_pct) for r in src.rules] == \
        [("marketplace-dc-only", 0, 0.0), ("nearest-any-node", n_sourcing, 100.0)]
    assert src.never_fired == ["marketplace-dc-only"]          # tiny has only a web channel
    assert sum(r.won for r in covs["reorder"].rules) == covs["reorder"].decisions
    assert covs["split"].note == "" and covs["split"].unknown == {}
    text = format_coverage(list(covs.values()))
    assert "never fired: marketplace-dc-only" in text and "100.0" in text


def test_coverage_survives_a_missing_rule_set_file(run_dir, tmp_path):
    import shutil

    import yaml
    path, _ = run_dir
    copy = shutil.copytree(path, tmp_path / "run")
    sc = yaml.safe_load((copy / "scenario.yaml").read_text())
    sc["policies"]["split"] = str(tmp_path / "gone.yaml")
    (copy / "scenario.yaml").write_text(yaml.safe_dump(sc))
    split = {c.point: c for c in run_coverage(copy)}["split"]
    assert split.note.startswith("cannot load the rule set") and split.never_fired == []
    assert split.rules[0].name == "split-in-two" and split.rules[0].won > 0


def test_diff_of_a_rule_set_with_itself_changes_nothing():
    sc = make_scenario()
    d = diff_rules("routing/nearest_first", "routing/nearest_first", sc, reps=2)
    assert d.decisions.total > 600 and d.decisions.changed == 0
    assert d.decisions.rule_changed == 0 and d.decisions.examples == []
    assert all(k.delta == 0.0 and k.ci == (0.0, 0.0) for k in d.kpis)
    assert {k.verdict for k in d.kpis} == {"no significant difference"}
    assert d.seeds == experiment_seeds(sc.seed, 2) and d.seeds[0] != d.seeds[1]
    cells = next(ln for ln in format_diff(d).splitlines() if ln.startswith("Orders")).split()
    assert cells[2] == cells[3] and cells[4:] == ["0", "[0,", "0]", "no", "significant",
                                                  "difference"]


def test_diff_sees_a_changed_split_rule(tmp_path):
    never = _write(tmp_path / "never_split.yaml", """
        ruleset: never-split
        point: split
        rules:
          - {name: complete, then: {mode: ship_complete}}
        """)
    sc = make_scenario(horizon_days=10, nodes=[{"name": "DC-EAST", "stock":
                                                {"days_of_supply": 1}}])
    d = diff_rules("split/ship_complete_then_split", never, sc)
    assert d.seeds == [sc.seed]                                  # one replication: the root seed
    assert d.decisions.rule_changed == d.decisions.total > 0
    assert d.decisions.changed > 0
    key, old, new = d.decisions.examples[0]
    assert key.startswith("order ") and old != new
    split_rate = {k.name: k for k in d.kpis}["split_rate_pct"]
    assert split_rate.new == 0.0 and split_rate.delta == -split_rate.old < 0
    with pytest.raises(RuleError, match="is for point 'split', but OLD 'nearest-first'"):
        diff_rules("routing/nearest_first", never, sc)


def test_decision_signatures_for_carrier_and_reorder(run_dir):
    _, out = run_dir
    car = decision_signatures(out.run, "carrier")
    rule, effect = car["order 0"]
    assert rule == "cheapest-meeting-promise" and ":Post/" in effect
    reo = decision_signatures(out.run, "reorder")
    assert reo["DC-EAST/A"][0] == "a-items" and '"policy": "sS"' in reo["DC-EAST/A"][1]


# ---------------------------------------------------------------------------------------------
# CLI (in process)


def test_cli_validate_exit_codes_and_output(tmp_path, capsys):
    warn = _write(tmp_path / "warn.yaml", """
        ruleset: warn
        point: sourcing
        rules:
          - {name: web, priority: 1, when: {channel: web}, then: {}}
          - {name: web-big, when: {channel: web, order_value: {$gt: 100}}, then: {}}
        """)
    assert main(["rules", "validate", str(warn)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{warn}: rule set 'warn' (sourcing, hit policy first, 2 rules): " \
                     f"2 warnings"
    assert out[1].startswith("  warning: rule 'web-big': unreachable: earlier rule 'web'")
    assert out[2].startswith("  warning: rule set: no default rule")
    err = _write(tmp_path / "err.yaml", """
        ruleset: err
        point: sourcing
        rules:
          - {name: tiny, when: {order_value: {$lt: 0.00001}}, then: {}}
          - {name: d, then: {}}
        """)
    assert main(["rules", "validate", str(err)]) == 2
    assert "1 error" in capsys.readouterr().out
    assert main(["rules", "validate", str(LIBRARY / "split")]) == 0
    out = capsys.readouterr().out
    n_sets = sum(not p.name.endswith(".cases.yaml") for p in (LIBRARY / "split").glob("*.yaml"))
    assert out.count(": OK\n") == n_sets >= 3
    assert ".cases.yaml" not in out


def test_cli_test_exit_codes(tmp_path, capsys):
    assert main(["rules", "test", str(LIBRARY / "split"), "-q"]) == 0
    assert "all passed" in capsys.readouterr().out
    f = _write(tmp_path / "bad.cases.yaml", """
        ruleset: split/ship_complete
        cases:
          - {name: wrong, expect: {outcome: {mode: allow_split}}}
        """)
    assert main(["rules", "test", str(f)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  wrong: durable: outcome {'mode': 'ship_complete'}" in out
    assert "1 FAILED" in out
    g = _write(tmp_path / "typo.cases.yaml", "ruleset: split/ship_complete\ncases: []\n")
    assert main(["rules", "test", str(g)]) == 2


def test_cli_coverage_json(run_dir, capsys):
    path, _ = run_dir
    assert main(["rules", "coverage", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sourcing"]["never_fired"] == ["marketplace-dc-only"]
    assert data["split"]["hit_policy"] == "first"


def test_cli_diff_reports_each_run_and_the_verdicts(tmp_path, capsys):
    import yaml
    from conftest import TINY

    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    assert main(["rules", "diff", "routing/nearest_first", "routing/cost_first", "--scenario",
                 str(scenario), "--days", "3", "--reps", "2"]) == 0
    out = capsys.readouterr()
    seeds = experiment_seeds(TINY["seed"], 2)
    assert out.err.splitlines() == [f"  running replication {r + 1}/2: {side} (seed {seeds[r]})"
                                    for r in range(2) for side in ("OLD", "NEW")]
    row = next(ln for ln in out.out.splitlines() if ln.startswith("Orders"))
    assert row.endswith("[0, 0]  no significant difference")
