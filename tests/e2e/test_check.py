"""`domlab check`: judging rules, baseline files, exit codes, Markdown and JUnit outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml
from conftest import ROOT, TINY

from rules.schema import load_ruleset
from sim.cli import main
from sim.experiments.check import Tolerance, judge, load_baseline, run_check, update_baseline
from sim.experiments.executors import InProcessExecutor
from sim.experiments.replication import experiment_seeds
from sim.measure.kpis import KPIS

GOOD = (ROOT / "rules" / "library" / "carrier" / "cheapest_on_time.yaml").read_text()
# Deliberately worse: always buy the express service, whatever the promise.
WORSE = ("ruleset: express-only\npoint: carrier\nrules:\n"
         "  - name: always-express\n    then: {strategy: cheapest, services: [express]}\n")


@pytest.fixture
def suite(tmp_path):
    """A tiny scenario whose carrier rules live in a file next to it, and a baseline path."""
    (tmp_path / "carrier.yaml").write_text(GOOD)
    (tmp_path / "worse.yaml").write_text(WORSE)
    scenario = {**TINY, "policies": {**TINY["policies"], "carrier": "carrier.yaml"}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(scenario))
    return tmp_path


# ---------------------------------------------------------------------------------------------
# The judging rule


def test_judge_regression_needs_tolerance_and_significance():
    tol = Tolerance(rel=0.02)                               # 2% of 10 = 0.2 allowed
    base = [10.0, 10.4, 9.8]
    noisy = [10.6, 10.2, 10.9]                              # +0.5 on average, but noisy
    cases = {
        "regression": ("cost_per_order", [10.3, 10.8, 10.1]),   # +0.33, CI excludes 0
        "ok": ("cost_per_order", [10.1, 10.5, 9.9]),            # +0.1 within tolerance
        "improved": ("cost_per_order", [9.5, 9.8, 9.2]),
        "not significant": ("cost_per_order", noisy),
    }
    for status, (kpi, cur) in cases.items():
        c = judge(kpi, base, cur, tol)
        assert c.status == status, (status, c)
    c = judge("cost_per_order", base, [10.3, 10.8, 10.1], tol)
    assert c.allowed == pytest.approx(0.02 * 10.066666, rel=1e-4) and c.ci_low > 0
    assert c.p_value < 0.05 and c.delta == pytest.approx(1.0 / 3)
    # "higher is better": a drop is the regression
    pct = [90.0, 91.0, 92.0]
    assert judge("on_time_pct", pct, [85.0, 85.5, 86.5], Tolerance(abs=0.5)).status \
        == "regression"
    assert judge("on_time_pct", pct, [95.0, 96.0, 96.5], Tolerance(abs=0.5)).status \
        == "improved"


def test_judge_falls_back_to_tolerance_without_noise():
    tol = Tolerance(abs=0.5)
    assert judge("on_time_pct", [90.0], [89.0], tol).status == "regression"     # one rep
    assert judge("on_time_pct", [90.0], [89.8], tol).status == "ok"
    assert judge("on_time_pct", [90.0, 80.0], [89.0, 79.0], tol).status == "regression"
    same = judge("on_time_pct", [90.0, 80.0], [90.0, 80.0], tol)
    assert (same.status, same.delta, same.p_value, same.ci_low, same.ci_high) == \
        ("ok", 0.0, 1.0, 0.0, 0.0)
    assert judge("orders", [10.0], [20.0], tol).status == "info"               # better: none
    assert judge("cost_per_order", [10.0], [20.0], None).status == "info"      # not checked


# ---------------------------------------------------------------------------------------------
# Baseline files


def test_baseline_update_records_suite_and_keeps_tolerances(suite):
    path = suite / "baselines" / "b.json"
    b = update_baseline(path, InProcessExecutor(), scenarios=[suite / "tiny.yaml"], reps=3,
                        seed=11, days=4, engine="compiled")
    raw = json.loads(path.read_text())
    assert raw["scenarios"][0]["path"] == "../tiny.yaml"
    assert (raw["reps"], raw["seed"], raw["days"], raw["engine"]) == (3, 11, 4, "compiled")
    runs = b.scenarios[0].runs
    assert [r.seed for r in runs] == experiment_seeds(11, 3)
    assert set(runs[0].kpis) == set(KPIS)
    assert set(b.tolerances) == {k for k, s in KPIS.items() if s.better != "none"}
    assert b.scenarios[0].rulesets["carrier"].startswith("cheapest-on-time-")
    raw["tolerances"]["cost_per_order"] = {"abs": 0.0, "rel": 0.1}     # a hand-edited tolerance
    del raw["tolerances"]["revenue"]
    path.write_text(json.dumps(raw))
    again = update_baseline(path, InProcessExecutor())          # settings kept from the file
    assert again.tolerances["cost_per_order"].rel == 0.1 and "revenue" not in again.tolerances
    assert [r.kpis for r in again.scenarios[0].runs] == [r.kpis for r in runs]


def test_check_passes_on_baseline_and_fails_on_worse_rules_in_process(suite):
    path = suite / "b.json"
    update_baseline(path, InProcessExecutor(), scenarios=[suite / "tiny.yaml"], reps=3, days=4)
    ok = run_check(load_baseline(path), path, InProcessExecutor())
    assert ok.passed and set(ok.table["status"]) == {"ok", "info"}
    assert (ok.table["delta"] == 0).all() and ok.notes == {"tiny": []}
    bad = run_check(load_baseline(path), path, InProcessExecutor(),
                    {"carrier": str(suite / "worse.yaml")})
    assert not bad.passed
    failed = set(bad.regressions["kpi"])
    assert {"cost_per_order", "shipping_per_order", "ship_cost_per_shipment"} <= failed
    assert "on_time_pct" not in failed                       # express is faster, not later
    before = load_baseline(path).scenarios[0].rulesets["carrier"]
    after = load_ruleset(suite / "worse.yaml").key
    assert bad.notes["tiny"] == [f"carrier rules changed: {before} → {after}"]


def test_check_with_durable_engine_passes_on_its_own_baseline(suite):
    path = suite / "d.json"
    update_baseline(path, InProcessExecutor(), scenarios=[suite / "tiny.yaml"], reps=2, days=2,
                    engine="durable")
    result = run_check(load_baseline(path), path, InProcessExecutor())
    assert result.passed and (result.table["delta"] == 0).all()
    assert load_baseline(path).engine == "durable"


# ---------------------------------------------------------------------------------------------
# Command line (acceptance: exit 1 on a worse rule set, 0 on the baseline one)


def test_cli_check_exit_codes_markdown_and_junit(suite, domlab):
    base, md, junit = suite / "baselines" / "tiny.json", suite / "out" / "s.md", suite / "j.xml"
    r = domlab("baseline", "update", "--baseline", base, "--scenario", suite / "tiny.yaml",
               "--reps", "3", "--days", "4", "--engine", "compiled", "--executor", "inprocess")
    assert r.returncode == 0, r.stderr
    assert f"baseline written to {base}: tiny; 3 replications" in r.stdout

    r = domlab("check", "--baseline", base, "--markdown", md, "--junit", junit)
    assert r.returncode == 0, r.stderr
    assert "domlab check: PASS" in r.stdout
    assert md.read_text().startswith("## domlab check: ✅ pass")
    suites = ET.parse(junit).getroot()
    assert suites.get("failures") == "0" and int(suites.get("tests")) == len(
        [k for k, s in KPIS.items() if s.better != "none"])

    (suite / "carrier.yaml").write_text(WORSE)                   # the pull request's change
    r = domlab("check", "--baseline", base, "--markdown", md, "--junit", junit,
               "--executor", "inprocess")
    assert r.returncode == 1, r.stderr
    assert "REGRESSION: tiny: cost_per_order" in r.stdout and "FAIL" in r.stdout
    text = md.read_text()
    assert text.startswith("## domlab check: ❌")
    assert "\n- carrier rules changed: cheapest-on-time-" in text
    assert "- ❌ regression: **tiny** Fulfilment cost per order +" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| Fulfilment cost per order |"))
    assert row.endswith("| ❌ regression |")
    root = ET.parse(junit).getroot()
    failures = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert "cost_per_order" in failures and int(root.get("failures")) == len(failures)

    (suite / "carrier.yaml").write_text(GOOD)
    r = domlab("check", "--baseline", base, "--markdown", "", "--junit", "",
               "--executor", "inprocess", "--policy", f"carrier={suite / 'worse.yaml'}")
    assert r.returncode == 1 and "REGRESSION" in r.stdout


def test_cli_check_bad_input_exits_2_with_one_line(suite, capsys):
    good = suite / "b.json"
    update_baseline(good, InProcessExecutor(), scenarios=[suite / "tiny.yaml"], reps=1, days=2)
    raw = json.loads(good.read_text())
    cases = {
        "missing.json": (None, "missing.json: cannot read"),
        "reps.json": ({**raw, "reps": 0}, "reps.json: reps: Input should be greater than"),
        "kpi.json": ({**raw, "tolerances": {"speed": {"abs": 1}}},
                     "kpi.json: tolerances: unknown KPI 'speed'"),
        "seed.json": ({**raw, "scenarios": [{**raw["scenarios"][0], "runs": [
            {k: v for k, v in raw["scenarios"][0]["runs"][0].items() if k != "seed"}]}]},
            "seed.json: scenarios[0].runs[0].seed: Field required"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (suite / name).write_text(json.dumps(content))
        code = main(["check", "--baseline", str(suite / name), "--executor", "inprocess"])
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (name, lines)
        assert message in lines[0], (name, lines[0])
    code = main(["check", "--baseline", str(good), "--policy", "colour=red.yaml",
                 "--executor", "inprocess"])
    assert code == 2 and "--policy: unknown decision point 'colour'" in capsys.readouterr().err


def test_committed_baseline_describes_a_fast_suite():
    b = load_baseline(ROOT / "baselines" / "omnichannel.json")
    assert (b.engine, b.reps, b.days) == ("compiled", 3, 7)
    for entry in b.scenarios:
        assert (ROOT / "baselines" / entry.path).resolve().is_file()
        seeds = [r.seed for r in entry.runs]
        assert seeds == experiment_seeds(b.seed, b.reps)
        assert all(set(r.kpis) == set(KPIS) for r in entry.runs)
