"""End-to-end CLI tests: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from conftest import COST_FIRST, DEFAULT, ROOT, TINY


def domlab(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_run_twice_gives_byte_identical_kpis(tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        r = domlab("run", DEFAULT, "--seed", "7", "--days", "5", "--out", out)
        assert r.returncode == 0, r.stderr
        assert "On-time delivery" in r.stdout and "run written to" in r.stdout
        (run_dir,) = out.iterdir()
        assert {p.name for p in run_dir.iterdir()} >= {
            "scenario.yaml", "kpis.json", "orders.parquet", "events.parquet",
            "trace.parquet", "shipments.parquet", "meta.json"}
        outs.append((run_dir / "kpis.json").read_bytes())
    assert outs[0] == outs[1]
    kpis = json.loads(outs[0])
    assert kpis["seed"] == 7 and kpis["engine"] == "durable" and kpis["kpis"]["orders"] > 1000


def test_bad_inputs_exit_2_with_one_line_and_no_output(tmp_path):
    bad_rule = tmp_path / "rule.yaml"
    bad_rule.write_text("ruleset: x\npoint: sourcing\nrules:\n"
                        "  - name: r\n    when: {all: [{colour: red}]}\n    then: {}\n")
    cases = {
        "neg.yaml": f"extends: {DEFAULT}\nnodes:\n  - name: DC-RENO\n"
                    f"    capacity: {{pickers: -1}}\n",
        "kind.yaml": f"extends: {DEFAULT}\nnodes:\n  - name: DC-RENO\n    kind: depot\n",
        "rule.yaml.scn": f"extends: {DEFAULT}\npolicies: {{sourcing: {bad_rule}}}\n",
        "broken.yaml": "name: [unclosed\n",
    }
    expected = {"neg.yaml": "nodes[2].capacity.pickers", "kind.yaml": "nodes[2].kind",
                "rule.yaml.scn": "rule 'r' (rules[0]): when.all[0].colour: unknown field",
                "broken.yaml": "malformed YAML"}
    for name, text in cases.items():
        f = tmp_path / name
        f.write_text(text)
        out = tmp_path / f"out-{name}"
        r = domlab("run", f, "--out", out)
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and expected[name] in lines[0], (name, r.stderr)
        assert "Traceback" not in r.stderr
        assert not out.exists()


def test_validate_and_schema(tmp_path):
    r = domlab("validate", DEFAULT)
    assert r.returncode == 0 and "OK" in r.stdout and "nearest-first" in r.stdout
    r = domlab("schema")
    schema = json.loads(r.stdout)
    assert "nodes" in schema["properties"] and "Node" in schema["$defs"]


def test_compare_prints_deltas_on_common_demand(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(TINY))
    r = domlab("compare", a, a, "--out", tmp_path / "runs", "--engine", "compiled")
    assert r.returncode == 0, r.stderr
    assert "common random numbers" in r.stdout
    row = next(line for line in r.stdout.splitlines()
               if line.startswith("Fulfilment cost per order"))
    assert row.split()[-2:] == ["+0.00", "+0.0%"]


def test_cost_first_ships_cheaper_than_nearest_first(tmp_path):
    r = domlab("compare", DEFAULT, COST_FIRST, "--seed", "7", "--out", tmp_path,
               "--engine", "compiled")
    assert r.returncode == 0, r.stderr
    runs = {json.loads(p.read_text())["scenario"]: json.loads(p.read_text())
            for p in tmp_path.glob("*/kpis.json")}
    near, cost = runs["omnichannel"], runs["omnichannel_cost_first"]
    assert cost["kpis"]["shipping_per_order"] < near["kpis"]["shipping_per_order"]
    assert cost["kpis"]["orders"] == near["kpis"]["orders"]          # same demand
    assert cost["breakdowns"]["node_share"] != near["breakdowns"]["node_share"]
