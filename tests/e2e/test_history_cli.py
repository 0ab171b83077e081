"""End-to-end order-history replay through ``domlab``: validate refuses bad rows by number,
``--skip-bad-rows`` drops them, replays are byte-identical, ``import orders`` round-trips."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import yaml
from conftest import DEFAULT, ROOT, TINY

from sim.core.demand import generate_demand
from sim.scenario import load_scenario

HEADER = "order_id,timestamp,channel,customer_id,zip,sku,quantity,service,promise_date\n"
GOOD = ("O1,2026-01-05T09:15:00,web,c1,10001,A,1,standard,\n"
        "O1,2026-01-05T09:15:00,web,c1,10001,B,2,standard,\n"
        "O2,2026-01-05T13:40:00,web,,90210,C,1,,2026-01-08\n"
        "O3,2026-01-06T08:05:00,web,c1,10001,A,3,express,\n"
        "O4,2026-01-07T19:30:00,web,c2,60601,B,1,,2026-01-07\n"
        "O5,2026-01-08T11:00:00,web,c2,60601,A,1,standard,\n"
        "O6,2026-01-20T10:00:00,web,c3,10001,A,1,standard,\n")          # after the horizon
BAD = ("O7,2026-01-05T10:00:00,web,c4,00000,A,1,standard,\n"            # unknown ZIP
       "O8,2026-01-05T11:00:00,web,c5,10001,A,-2,standard,\n"           # negative quantity
       "O9,2026-01-05T12:00:00,web,c6,10001,A,1,standard,\n"            # fine, but its order
       "O9,2026-01-05T12:00:00,web,c6,10001,NOPE,1,standard,\n")        # has an unknown SKU


def scenario_file(tmp_path, name, orders):
    """The tiny scenario replaying ``orders`` (written beside it, named relatively)."""
    (tmp_path / f"{name}.csv").write_text(HEADER + orders, encoding="utf-8")
    raw = copy.deepcopy(TINY)
    raw.update(name=name, order_history={"path": f"{name}.csv"})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def demand_columns(scenario_path):
    d = generate_demand(load_scenario(scenario_path))
    return {k: v for k, v in vars(d).items() if k not in ("service_table", "tier_names")}, d


def test_replay_twice_gives_byte_identical_kpis(tmp_path, domlab):
    sc = scenario_file(tmp_path, "good", GOOD)
    outs = []
    for k in range(2):
        r = domlab("run", sc, "--engine", "compiled", "--out", tmp_path / f"out{k}", cwd=ROOT)
        assert r.returncode == 0, r.stderr
        assert "order history good.csv: 5 orders (6 rows) replayed for web; 1 order outside " \
               "the horizon left out" in r.stdout
        (run_dir,) = (tmp_path / f"out{k}").iterdir()
        outs.append((run_dir / "kpis.json").read_bytes())
        meta = json.loads((run_dir / "meta.json").read_text())["order_history"]
        assert (meta["kept_orders"], meta["out_of_horizon_orders"], meta["bad_rows"]) == (5, 1, 0)
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["kpis"]["orders"] == 3                  # after the 1-day warm-up


def test_bad_rows_refused_by_number_then_skipped(tmp_path, domlab):
    sc = scenario_file(tmp_path, "bad", GOOD + BAD)
    csv_path = tmp_path / "bad.csv"
    for command in (["validate", sc], ["run", sc, "--out", tmp_path / "out"]):
        r = domlab(*command)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        rows = [ln for ln in r.stderr.splitlines() if re.search(r": row \d+: ", ln)]
        assert rows == [f"{csv_path}: row 9: zip: unknown ZIP '00000'",
                        f"{csv_path}: row 10: quantity: -2 must be ≥ 1",
                        f"{csv_path}: row 12: sku: unknown SKU 'NOPE' (known: A, B, C)"]
        assert r.stderr.startswith(f"domlab: error: {csv_path}: 3 bad rows of 11")
    assert not (tmp_path / "out").exists()
    r = domlab("run", sc, "--engine", "compiled", "--skip-bad-rows", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "3 bad rows skipped (3 orders, 4 rows dropped)" in r.stdout
    (run_dir,) = (tmp_path / "out").iterdir()
    meta = json.loads((run_dir / "meta.json").read_text())["order_history"]
    assert (meta["bad_rows"], meta["dropped_orders"], meta["kept_orders"]) == (3, 3, 5)
    r = domlab("validate", sc, "--skip-bad-rows")
    assert r.returncode == 0 and "3 bad rows skipped" in r.stdout
    # the flag means nothing to a scenario without a history
    r = domlab("validate", DEFAULT, "--skip-bad-rows")
    assert r.returncode == 0 and "order history" not in r.stdout


def test_import_orders_round_trips(tmp_path, domlab):
    sc = scenario_file(tmp_path, "mixed", GOOD + BAD)
    r = domlab("import", "orders", tmp_path / "mixed.csv", "--scenario", sc,
               "--out", tmp_path / "norm.csv")
    assert r.returncode == 2 and "row 9: zip: unknown ZIP '00000'" in r.stderr
    assert not (tmp_path / "norm.csv").exists()
    original, d = demand_columns(scenario_file(tmp_path, "good", GOOD))
    for out in ("norm.csv", "norm.parquet"):
        r = domlab("import", "orders", tmp_path / "mixed.csv", "--scenario", sc,
                   "--out", tmp_path / out, "--skip-bad-rows")
        assert r.returncode == 0, r.stderr
        table = {ln.split("  ")[0]: ln.split()[-2:] for ln in r.stdout.splitlines()[3:8]}
        assert table == {"read": ["9", "11"], "kept": ["5", "6"],
                         "skipped: bad rows": ["3", "4"],
                         "left out: outside the horizon": ["1", "1"],
                         "left out: other channels": ["0", "0"]}
        replay = tmp_path / f"replay_{out.replace('.', '_')}.yaml"
        raw = copy.deepcopy(TINY)
        raw.update(order_history={"path": out})
        replay.write_text(yaml.safe_dump(raw))
        again, d2 = demand_columns(replay)
        assert again.keys() == original.keys()
        for k, v in original.items():
            np.testing.assert_array_equal(again[k], v, err_msg=k)
        assert d2.service_table == d.service_table and d2.n == 5
    lines = (tmp_path / "norm.csv").read_text().splitlines()
    assert lines[0] == ("order_id,timestamp,channel,customer_id,zip,lat,lon,sku,quantity,"
                        "service,promise_date,tier")
    assert lines[3] == "O2,2026-01-05T13:40:00,web,,90210,34.0901,-118.4065,C,1,,2026-01-08," \
                       "standard"


def test_the_sample_history_validates(domlab):
    r = domlab("validate", "scenarios/replay_sample.yaml", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert re.search(r"order history orders_sample\.csv: 3,\d{3} orders \(4,\d{3} rows\) "
                     r"replayed for web, app$", r.stdout.strip())
