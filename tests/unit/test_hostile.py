"""Hostile inputs (issue 14): each reproducer ends in exit 0 with the invariants holding, or in
exit 2 with one line naming the file and the field path: no traceback, no warning printed."""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TINY, run_checked

from reports.app_data import parse_upload
from rules.limits import MAX_YAML_BYTES
from rules.safe_yaml import parse_yaml
from rules.schema import RuleError, ruleset_from_dict
from sim.measure.kpis import NonFiniteKpi, check_finite
from sim.scenario import ScenarioError, load_scenario, merge


def write(tmp_path: Path, name: str = "s.yaml", replace: dict[str, Any] | None = None,
          text: str | bytes | None = None, **over: Any) -> Path:
    """The tiny scenario (deep-merged with ``over``, top-level fields in ``replace``
    substituted) written as ``tmp_path/name``; or ``text`` written as is."""
    path = tmp_path / name
    if text is None:
        raw = merge(copy.deepcopy(TINY), copy.deepcopy(over))
        raw.update(copy.deepcopy(replace or {}))
        text = yaml.safe_dump(raw, sort_keys=False)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def refused(domlab, *args: object) -> str:
    """The one stderr line of a command that must refuse its input (exit 2), no warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = domlab(*args)
    assert caught == []
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("domlab: error: ")
    return lines[0].removeprefix("domlab: error: ")


def _sku(**over: Any) -> list[dict[str, Any]]:
    return [{**TINY["skus"][0], **over}, *TINY["skus"][1:]]


FIELD_CASES = {
    "shifts_empty": ({"nodes": [{"name": "DC-EAST", "shifts": []}]}, {},
                     "nodes[0].shifts: needs at least one shift with days: pickers never work"),
    "shift_no_days": ({"nodes": [{"name": "DC-EAST", "shifts": [{"start_hour": 6,
                                                                 "end_hour": 9, "days": []}]}]},
                      {}, "nodes[0].shifts: needs at least one shift with days"),
    "time_cv_tiny": ({"nodes": [{"name": "DC-EAST", "capacity": {"time_cv": 1e-200}}]}, {},
                     "nodes[0].capacity.time_cv: Input should be greater than or equal to 0.01"),
    "hour_profile_nan": ({"channels": [{"name": "web",
                                        "hour_profile": [math.nan] + [1.0] * 23}]}, {},
                         "channels[0].hour_profile[0]: Input should be a finite number"),
    "orders_inf": ({"channels": [{"name": "web", "orders_per_day": math.inf}]}, {},
                   "channels[0].orders_per_day: Input should be a finite number"),
    "orders_1e308": ({"channels": [{"name": "web", "orders_per_day": 1e308}]}, {},
                     "channels[0].orders_per_day: Input should be less than or equal to 1000000"),
    "price_1e308": ({}, {"skus": _sku(price=1e308)},
                    "skus[0].price: Input should be less than or equal to 1000000000"),
    "handling_inf": ({"nodes": [{"name": "DC-EAST", "handling": {"per_order": math.inf}}]}, {},
                     "nodes[0].handling.per_order: Input should be a finite number"),
    "units_huge": ({"nodes": [{"name": "DC-EAST", "stock": {"units": {"A": 10**30}}}]}, {},
                   "nodes[0].stock.units: units must be ≤ 1,000,000,000 (SKU A)"),
    "stock_days_huge": ({"nodes": [{"name": "DC-EAST", "stock": {"days_of_supply": 1e300}}]},
                        {}, "nodes[0].stock.days_of_supply: Input should be less than or equal "
                        "to 1000"),
    "priority_huge": ({"nodes": [{"name": "DC-EAST", "priority": 10**40}]}, {},
                      "nodes[0].priority: Input should be less than or equal to 1000000"),
    "seed_2_63": ({}, {"seed": 2**63},
                  "seed: Input should be less than or equal to 9223372036854775807"),
    "unlaunched": ({}, {"skus": [{**s, "launch_date": "2027-01-01"} for s in TINY["skus"]]},
                   "skus: no SKU can be ordered on start_date: every SKU with popularity > 0 "
                   "launches later (or every popularity is 0)"),
    "popularity_zero": ({}, {"skus": [{**s, "popularity": 0} for s in TINY["skus"]]},
                        "skus: no SKU can be ordered on start_date"),
    "long_name": ({}, {"name": "x" * 300}, "name: String should have at most 100 characters"),
    "dot_name": ({}, {"name": ".."}, "name: '.' and '..' cannot name a run directory"),
    "control_name": ({}, {"channels": [{**TINY["channels"][0], "service_levels": [
        {"name": "std\x00", "promise_days": 4, "share": 1.0}]}]},
        "channels[0].service_levels[0].name: must be printable: no control characters or line "
        "breaks"),
    "lognormal_cv": ({}, {"suppliers": [{"name": "vendor", "lead_time_days": {
        "kind": "lognormal", "mean": 5, "cv": 1e200}}]},
        "suppliers[0].lead_time_days.cv: Input should be less than or equal to 100"),
    "drain_huge": ({}, {"drain_days": 1e300},
                   "drain_days: Input should be less than or equal to 366"),
    # Found by make fuzz: a zoned end against a local start crashed comparing them.
    "event_time_zone": ({}, {"events": [{"kind": "node_outage", "node": "DC-EAST",
                                         "start": "2026-03-03T08:00:00",
                                         "end": "2026-03-04T08:00:00+02:00"}]},
                        "events[0].node_outage.end: a time zone is not allowed: times are "
                        "the scenario's local time"),
}


@pytest.mark.parametrize("case", sorted(FIELD_CASES))
def test_hostile_field_is_refused_with_its_path(domlab, tmp_path, case):
    over, replace, message = FIELD_CASES[case]
    path = write(tmp_path, replace=replace, **over)
    line = refused(domlab, "validate", path)
    assert line.startswith(f"{path}: {message}"), line


def test_five_thousand_digit_seed_is_refused_before_int_parsing(domlab, tmp_path):
    path = write(tmp_path, replace={"seed": 12345})
    path.write_text(path.read_text().replace("seed: 12345", "seed: " + "9" * 5000))
    assert refused(domlab, "validate", path) == \
        f"{path}: seed: a number of 5,000 characters (at most 100) (line 4)"


def test_non_utf8_yaml_is_refused_naming_the_byte(domlab, tmp_path):
    path = write(tmp_path, text=b"name: caf\xe9\n")
    assert refused(domlab, "validate", path) == \
        f"{path}: not UTF-8: byte 0xE9 at byte offset 9 (line 1); save it as UTF-8"


def test_deep_nesting_is_refused_without_recursion_error(domlab, tmp_path):
    base = write(tmp_path).read_text()
    path = write(tmp_path, text=base + "extra: " + "[" * 600 + "]" * 600 + "\n")
    line = refused(domlab, "validate", path)
    assert line.startswith(f"{path}: extra[0][0][0][0][0][0][0]… (64 levels): nested deeper "
                           "than 64 levels (line ")


def test_alias_bomb_under_an_unknown_key_is_refused_at_once(domlab, tmp_path):
    bomb = ['  a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    bomb += [f"  a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 10)]
    text = write(tmp_path).read_text() + "unknown_key:\n" + "\n".join(bomb) + "\n"
    path = write(tmp_path, text=text)
    line = refused(domlab, "validate", path)
    assert line.startswith(f"{path}: unknown_key.a9: aliases expand to more than 1,000,000 "
                           "values")


def test_recursive_alias_is_refused():
    with pytest.raises(yaml.YAMLError, match="a recursive alias"):
        parse_yaml("a: &r [1, *r]\n")


def test_aliases_that_nest_deeper_than_the_limit_are_refused():
    text = "a0: &a0 " + "[" * 40 + "1" + "]" * 40 + "\n"
    text += "".join(f"a{k}: &a{k} " + "[" * 30 + f"*a{k - 1}" + "]" * 30 + "\n"
                    for k in range(1, 4))
    with pytest.raises(yaml.YAMLError, match="aliases nest deeper than 64 levels"):
        parse_yaml(text)


def test_merge_keys_and_aliases_of_the_library_still_load():
    assert parse_yaml("a: &d {x: 1, y: 2}\nb: {<<: *d, y: 3}\n") == \
        {"a": {"x": 1, "y": 2}, "b": {"x": 1, "y": 3}}


def test_impossible_date_is_malformed_yaml_not_a_traceback(domlab, tmp_path):
    path = write(tmp_path, text=write(tmp_path).read_text() + "start_date: 2026-13-45\n")
    line = refused(domlab, "validate", path)
    assert line.startswith(f"{path}: malformed YAML: line ") and \
        line.endswith("month must be in 1..12")


def test_oversized_yaml_is_refused_before_parsing(domlab, tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_YAML_BYTES + 1)
    assert refused(domlab, "validate", path) == \
        f"{path}: cannot read: larger than 5,242,880 bytes (the limit for this kind of file)"


def test_long_extends_chain_is_refused(domlab, tmp_path):
    write(tmp_path, "c1500.yaml")
    for k in range(1500):
        (tmp_path / f"c{k}.yaml").write_text(f"extends: c{k + 1}.yaml\n")
    assert refused(domlab, "validate", tmp_path / "c0.yaml") == \
        f"{tmp_path}/c0.yaml: extends: more than 20 bases in a chain (stopped at " \
        f"{tmp_path}/c21.yaml)"


def test_extends_chain_of_twenty_still_loads(tmp_path):
    write(tmp_path, "c20.yaml")
    for k in range(20):
        (tmp_path / f"c{k}.yaml").write_text(f"extends: c{k + 1}.yaml\nseed: {k}\n")
    assert load_scenario(tmp_path / "c0.yaml").seed == 0


@pytest.mark.parametrize("ref, reason", [
    ("/dev/urandom", "not a regular file: a character device"),
    ("/dev/zero", "not a regular file: a character device"),
    ("folder.csv", "not a regular file: a directory"),
    ("fifo.csv", "not a regular file: a FIFO (named pipe)"),
    ("missing.csv", "No such file or directory"),
])
def test_table_that_is_not_a_regular_file_is_refused(domlab, tmp_path, ref, reason):
    (tmp_path / "folder.csv").mkdir()
    os.mkfifo(tmp_path / "fifo.csv")
    path = write(tmp_path, replace={"skus": {"file": ref}})
    target = ref if ref.startswith("/") else tmp_path / ref
    assert refused(domlab, "validate", path) == \
        f"{path}: skus.file: cannot read {target}: {reason}"


def test_table_through_a_symlink_loop_is_refused(domlab, tmp_path):
    os.symlink(tmp_path / "b.csv", tmp_path / "a.csv")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    path = write(tmp_path, replace={"skus": {"file": "a.csv"}})
    assert refused(domlab, "validate", path).startswith(
        f"{path}: skus.file: cannot resolve 'a.csv': ")


def test_workbook_that_is_a_device_is_refused(domlab, tmp_path):
    os.symlink("/dev/zero", tmp_path / "book.xlsx")
    path = write(tmp_path, replace={"skus": {"file": "book.xlsx"}})
    assert refused(domlab, "validate", path) == \
        f"{path}: skus.file: cannot read /dev/zero: not a regular file: a character device"


def test_order_history_that_is_a_fifo_is_refused(domlab, tmp_path):
    os.mkfifo(tmp_path / "orders.csv")
    path = write(tmp_path, replace={"order_history": {"path": "orders.csv"}})
    assert refused(domlab, "validate", path) == \
        f"{tmp_path}/orders.csv: order_history.path: cannot read: not a regular file: a FIFO " \
        "(named pipe)"


def test_tiny_review_days_in_a_rule_set_is_refused_naming_the_point(domlab, tmp_path):
    (tmp_path / "r.yaml").write_text(
        "ruleset: r\npoint: reorder\nrules:\n  - {name: p, then: {policy: periodic, s_days: 1, "
        "S_days: 5, review_days: 1e-300}}\n")
    path = write(tmp_path, policies={"reorder": "r.yaml"})
    assert refused(domlab, "validate", path) == \
        f"{path}: policies.reorder: {tmp_path}/r.yaml: rule 'p' (rules[0]): then.review_days: " \
        "Input should be greater than or equal to 0.041666666666666664"


def test_rule_set_at_the_wrong_point_names_the_policy_field(domlab, tmp_path):
    path = write(tmp_path, policies={"backorder": "routing/nearest_first"})
    line = refused(domlab, "validate", path)
    assert line.startswith(f"{path}: policies.backorder: ")
    assert line.endswith("nearest_first.yaml: rule set 'nearest-first' is for point "
                         "'sourcing', not 'backorder'")


@pytest.mark.parametrize("then, when, message", [
    ({"policy": "sS", "s_days": math.nan, "S_days": 5}, None,
     "then.s_days: Input should be a finite number"),
    ({"policy": "sS", "s_days": 1, "S_days": 5}, {"daily_demand": {"$gte": math.inf}},
     "when.daily_demand.$gte: field 'daily_demand': inf is not a finite number between -2**63 "
     "and 2**63"),
])
def test_rule_sets_refuse_non_finite_numbers(then, when, message):
    raw = {"ruleset": "r", "point": "reorder", "rules": [{"name": "p", "then": then,
                                                          "when": when}]}
    with pytest.raises(RuleError) as err:
        ruleset_from_dict(raw, "r.yaml")
    assert str(err.value) == f"r.yaml: rule 'p' (rules[0]): {message}"


def test_rule_priority_is_bounded():
    raw = {"ruleset": "r", "point": "priority",
           "rules": [{"name": "p", "priority": 10**40, "then": {"priority": 1}}]}
    with pytest.raises(RuleError, match=r"rules\[0\].priority: Input should be less than or "
                                        "equal to 1000000"):
        ruleset_from_dict(raw, "r.yaml")


def test_drain_days_zero_names_file_and_field(domlab, tmp_path):
    path = write(tmp_path, replace={"drain_days": 0})
    line = refused(domlab, "run", path, "--engine", "compiled", "--days", 2,
                   "--out", tmp_path / "out")
    assert line.startswith(f"{path}: drain_days: ") and "shipments still queued 0 days after " \
        "the horizon" in line


def test_out_naming_a_file_is_refused_before_simulating(domlab, tmp_path, monkeypatch):
    import sim.cli.run as cli_run

    monkeypatch.setattr(cli_run, "run_and_store", lambda *a: pytest.fail("simulated"))
    (tmp_path / "file").write_text("x")
    path = write(tmp_path)
    assert refused(domlab, "run", path, "--out", tmp_path / "file") == \
        f"--out {tmp_path}/file: is a file, not a directory"
    assert refused(domlab, "run", path, "--out", tmp_path / "file" / "sub") == \
        f"--out {tmp_path}/file/sub: {tmp_path}/file is a file, not a directory"


def test_half_day_warmup_of_a_one_day_run_has_finite_kpis(domlab, tmp_path):
    sc = load_scenario(write(tmp_path, replace={"horizon_days": 1, "warmup_days": 0.5}))
    out = run_checked(sc)
    assert all(math.isfinite(v) for v in out.kpis["kpis"].values())
    r = domlab("run", tmp_path / "s.yaml", "--engine", "compiled", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    json.loads((run_dir / "kpis.json").read_text(), parse_constant=pytest.fail)


def test_kpi_guard_names_the_non_finite_kpi():
    with pytest.raises(NonFiniteKpi, match="internal error: KPI 'breakdowns.total_cost.holding' "
                                           "is nan"):
        check_finite({"kpis": {"orders": 3}, "breakdowns": {"total_cost": {"holding": math.nan}}})
    assert check_finite({"kpis": {"orders": 3}}) == {"kpis": {"orders": 3}}


def test_app_upload_refuses_non_utf8_and_bombs_in_one_line(tmp_path):
    with pytest.raises(ScenarioError) as err:
        parse_upload(b"name: caf\xe9\n", "up.yaml")
    assert str(err.value) == "up.yaml: not UTF-8: byte 0xE9 at byte offset 9 (line 1); save it " \
                             "as UTF-8"
    with pytest.raises(ScenarioError) as err:
        parse_upload(b"a: " + b"[" * 100 + b"]" * 100, "deep.yaml")
    assert str(err.value).startswith("deep.yaml: a[0][0][0][0][0][0][0]… (64 levels): nested "
                                     "deeper than 64 levels")
