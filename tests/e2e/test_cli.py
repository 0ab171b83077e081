"""End-to-end CLI tests, real files. Most call ``sim.cli.main`` in-process (the ``domlab``
fixture); two run real processes: the installed console script end to end, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import COST_FIRST, DEFAULT, ROOT, TINY

# The installed console script (``[project.scripts]``), else the module: both are the CLI.
SCRIPT = Path(sys.executable).with_name("domlab")
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "sim.cli"]


def real_domlab(*args, hash_seed: int = 0) -> subprocess.CompletedProcess:
    """``domlab`` in a fresh interpreter, with string hashing salted by ``hash_seed``."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    return subprocess.run([*COMMAND, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_installed_script_runs_twice_with_byte_identical_kpis(tmp_path):
    # Two separate processes with different string-hash salts: set or dict orders that
    # depend on str hashes would change KPIs here, and not in one process.
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        r = real_domlab("run", DEFAULT, "--seed", "7", "--days", "5", "--out", out,
                        hash_seed=k + 1)
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


def test_bad_inputs_exit_2_with_one_line_and_no_output(tmp_path, domlab):
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
    r = domlab("run", DEFAULT, "--engine", "nope")                   # argparse's own exit
    assert r.returncode == 2 and "invalid choice: 'nope'" in r.stderr and r.stdout == ""


def test_bad_input_in_a_real_process_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "neg.yaml"
    bad.write_text(f"extends: {DEFAULT}\nnodes:\n  - name: DC-RENO\n"
                   f"    capacity: {{pickers: -1}}\n")
    r = real_domlab("run", bad, "--out", tmp_path / "out")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"domlab: error: {bad}") and "nodes[2].capacity.pickers" in line
    assert not (tmp_path / "out").exists()


def test_help_validate_and_schema(domlab, tmp_path):
    r = domlab("--help")                                              # argparse exits 0
    assert r.returncode == 0 and r.stdout.startswith("usage: domlab") and r.stderr == ""
    assert all(cmd in r.stdout for cmd in ("run", "compare", "sweep", "check", "report"))
    r = domlab("validate", DEFAULT.relative_to(ROOT), cwd=ROOT)        # relative to cwd
    assert r.returncode == 0 and "OK" in r.stdout and "nearest-first" in r.stdout
    r = domlab("schema", "--out", "schema.json", cwd=tmp_path)
    assert r.returncode == 0
    assert json.loads((tmp_path / "schema.json").read_text())["properties"].keys() >= {"nodes"}
    r = domlab("validate", DEFAULT)
    assert r.returncode == 0 and "OK" in r.stdout and "nearest-first" in r.stdout
    r = domlab("schema")
    schema = json.loads(r.stdout)
    assert "nodes" in schema["properties"] and "Node" in schema["$defs"]


def test_compare_prints_deltas_on_common_demand(tmp_path, domlab):
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(TINY))
    r = domlab("compare", a, a, "--out", tmp_path / "runs", "--engine", "compiled")
    assert r.returncode == 0, r.stderr
    assert "common random numbers" in r.stdout
    row = next(line for line in r.stdout.splitlines()
               if line.startswith("Fulfilment cost per order"))
    assert row.split()[-2:] == ["0.00", "0.0%"]


@pytest.mark.slow
def test_cost_first_ships_cheaper_than_nearest_first(tmp_path, domlab):
    r = domlab("compare", DEFAULT, COST_FIRST, "--seed", "7", "--out", tmp_path,
               "--engine", "compiled")
    assert r.returncode == 0, r.stderr
    runs = {json.loads(p.read_text())["scenario"]: json.loads(p.read_text())
            for p in tmp_path.glob("*/kpis.json")}
    near, cost = runs["omnichannel"], runs["omnichannel_cost_first"]
    assert cost["kpis"]["shipping_per_order"] < near["kpis"]["shipping_per_order"]
    assert cost["kpis"]["orders"] == near["kpis"]["orders"]          # same demand
    assert cost["breakdowns"]["node_share"] != near["breakdowns"]["node_share"]
