"""Experiments: seeds, paired statistics, CRN, batch means, sweeps, executors, run registry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY, make_scenario
from scipy import stats

from rules.schema import RuleError, load_ruleset
from sim.cli import main
from sim.core.rng import replication_seeds
from sim.experiments.batches import SERIES, order_series
from sim.experiments.comparison import compare_replications
from sim.experiments.executors import DaskExecutor, InProcessExecutor, ProcessExecutor
from sim.experiments.replication import (
    ExperimentError,
    experiment_seeds,
    kpi_columns,
    replicate,
    replication_specs,
    run_specs,
)
from sim.experiments.runner import run_scenario
from sim.experiments.stats import batch_means, mser5, paired_stat, pareto_mask, welch_half_width
from sim.experiments.sweeps import apply_params, load_sweep, run_sweep, sweep_points
from sim.scenario import ScenarioError, parse_path, scenario_hash
from sim.store.registry import REGISTRY, find_run, read_registry, write_rows
from sim.store.rundir import write_run

EXPRESS_ONLY = ("ruleset: express-only\npoint: carrier\nrules:\n"
                "  - name: always-express\n    then: {strategy: cheapest, services: [express]}\n")


def express_scenario(tmp_path, **overrides):
    rule = tmp_path / "express_only.yaml"
    rule.write_text(EXPRESS_ONLY)
    return make_scenario(policies={"carrier": str(rule)}, **overrides)


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------------
# Seeds and statistics


def test_replication_seeds_are_spawned_and_one_rep_keeps_the_root_seed():
    assert experiment_seeds(7, 1) == [7]
    seeds = experiment_seeds(7, 4)
    assert seeds == replication_seeds(7, 4) == experiment_seeds(7, 4)
    assert len(set(seeds)) == 4 and 7 not in seeds
    assert experiment_seeds(7, 5)[:4] == seeds          # adding reps keeps the earlier ones
    specs = replication_specs(make_scenario(), 3, "compiled", arm="x")
    assert [s.scenario.seed for s in specs] == experiment_seeds(1, 3)
    assert [s.labels for s in specs] == [{"arm": "x", "rep": i} for i in range(3)]
    with pytest.raises(ExperimentError, match="--reps: must be ≥ 1"):
        experiment_seeds(7, 0)


def test_paired_stat_matches_scipy_and_textbook_formulas():
    a = np.array([10.0, 12.0, 11.0, 13.0, 12.0])
    d = np.array([1.0, 1.5, 0.5, 1.2, 0.8])
    b = a + d
    s = paired_stat(a, b)
    assert s.n == 5 and s.delta == pytest.approx(1.0)
    assert s.mean_a == pytest.approx(11.6) and s.mean_b == pytest.approx(12.6)
    hw = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    assert s.half_width == pytest.approx(hw)
    assert s.ci == pytest.approx((1.0 - hw, 1.0 + hw))
    assert s.p_value == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert s.significant and s.p_value < 0.01
    assert s.rel_delta == pytest.approx(1.0 / 11.6)
    welch = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert s.indep_half_width == pytest.approx((welch.high - welch.low) / 2)
    assert welch_half_width(a, b) == pytest.approx(s.indep_half_width)
    assert s.width_ratio == pytest.approx(hw / s.indep_half_width) and s.width_ratio < 0.5
    assert s.var_reduction == pytest.approx(1 - d.var(ddof=1) / (a.var(ddof=1) + b.var(ddof=1)))


def test_zero_differences_give_zero_delta_zero_width_p_one_no_nan():
    a = [3.0, 5.0, 4.0]
    s = paired_stat(a, list(a))
    assert (s.delta, s.ci, s.half_width, s.p_value, s.significant) == (0.0, (0.0, 0.0), 0.0,
                                                                       1.0, False)
    assert s.rel_delta == 0.0 and s.width_ratio == 0.0 and s.var_reduction == 1.0
    assert s.indep_half_width > 0
    zero = paired_stat([0.0, 0.0], [0.0, 0.0])        # no variance anywhere: still no NaN
    assert (zero.p_value, zero.width_ratio, zero.var_reduction, zero.rel_delta) == (1.0, 1.0,
                                                                                    0.0, 0.0)
    shift = paired_stat([1.0, 2.0, 3.0], [3.0, 4.0, 5.0])   # constant shift: certain
    assert (shift.delta, shift.half_width, shift.p_value, shift.significant) == (2.0, 0.0, 0.0,
                                                                                True)
    one = paired_stat([1.0], [2.0])                          # one pair: no interval
    assert one.delta == 1.0 and math.isnan(one.half_width) and not one.significant


# ---------------------------------------------------------------------------------------------
# Common random numbers (acceptance)


def test_crn_scenario_against_itself_zero_difference_zero_ci_width():
    sc = make_scenario()
    specs = replication_specs(sc, 3, arm="a") + replication_specs(sc, 3, arm="b")
    runs = run_specs(specs, InProcessExecutor())
    assert len(runs) == 6 and runs["orders"].nunique() > 1     # seeds differ between reps
    table = compare_replications(runs[runs.arm == "a"], runs[runs.arm == "b"]).set_index("kpi")
    assert list(table.index) == kpi_columns(runs)
    assert (table["delta"] == 0).all() and (table["half_width"] == 0).all()
    assert (table["ci_low"] == 0).all() and (table["ci_high"] == 0).all()
    assert (table["p_value"] == 1.0).all() and not table["significant"].any()
    assert (table["verdict"] == "no significant difference").all()
    assert not table[["delta", "ci_low", "ci_high", "p_value", "rel_delta"]].isna().any().any()
    # without pairing the same runs would give a real interval: that is what CRN removes
    assert table.loc["cost_per_order", "indep_half_width"] > 0.1
    assert table.loc["cost_per_order", "width_ratio"] == 0.0


def test_crn_different_rules_see_identical_demand(tmp_path):
    a, b = make_scenario(), express_scenario(tmp_path)
    runs = run_specs(replication_specs(a, 2, arm="a") + replication_specs(b, 2, arm="b"),
                     InProcessExecutor())
    ra, rb = runs[runs.arm == "a"].set_index("seed"), runs[runs.arm == "b"].set_index("seed")
    assert (ra["orders"] == rb["orders"]).all() and (ra["units"] == rb["units"]).all()
    assert (rb["shipping_per_order"] > ra["shipping_per_order"] + 5).all()
    table = compare_replications(runs[runs.arm == "a"], runs[runs.arm == "b"]).set_index("kpi")
    assert table.loc["orders", "delta"] == 0 and table.loc["orders", "p_value"] == 1.0
    assert table.loc["shipping_per_order", "verdict"] == "worse"
    with pytest.raises(ExperimentError, match="different seeds"):
        compare_replications(ra.reset_index().head(1), rb.reset_index())


# ---------------------------------------------------------------------------------------------
# Batch means and warm-up


def test_batch_means_on_a_known_series():
    x = np.arange(103, dtype=float)
    bm = batch_means(x, 10)
    assert (bm.batch_size, bm.dropped) == (10, 3)
    means = np.arange(3, 103).reshape(10, 10).mean(axis=1)
    assert bm.estimate.mean == pytest.approx(means.mean()) == pytest.approx(52.5)
    hw = stats.t.ppf(0.975, 9) * means.std(ddof=1) / math.sqrt(10)
    assert bm.estimate.half_width == pytest.approx(hw)
    assert bm.lag1 == pytest.approx(0.7)                 # a trend: batches are correlated
    with pytest.raises(ExperimentError, match="cannot fill 10 batches"):
        batch_means(np.ones(5), 10)


def test_mser5_finds_an_initial_transient():
    rng = np.random.default_rng(3)
    x = np.concatenate([np.full(60, 50.0), np.zeros(940)]) + rng.normal(0, 1, 1000)
    drop = mser5(x)
    assert drop % 5 == 0 and 60 <= drop <= 70
    assert mser5(rng.normal(0, 1, 1000)) < 100           # stationary: little to delete


def test_order_series_means_are_the_kpis():
    out = run_scenario(make_scenario(), "compiled")
    for k in SERIES:
        x = order_series(out.run, k)
        assert len(x) > 100
        assert float(np.mean(x)) == pytest.approx(out.kpis["kpis"][k], abs=1e-5), k


# ---------------------------------------------------------------------------------------------
# Sweeps and Pareto


def test_pareto_mask_keeps_non_dominated_points():
    cost = [1.0, 2.0, 3.0, 1.5, 2.0]
    on_time = [90.0, 95.0, 94.0, 80.0, 95.0]
    assert pareto_mask(cost, on_time).tolist() == [True, True, False, False, True]
    # both objectives "higher is better"
    assert pareto_mask([1, 2, 3], [3, 2, 1], "higher", "higher").tolist() == [True] * 3
    assert pareto_mask([1, 2], [1, 2], "higher", "higher").tolist() == [False, True]


def test_parse_path_and_apply_params(tmp_path):
    assert parse_path("nodes[DC-EAST].capacity.pickers") == [
        ("key", "nodes"), ("item", "DC-EAST"), ("key", "capacity"), ("key", "pickers")]
    with pytest.raises(ValueError, match="not a field path"):
        parse_path("nodes..x")
    base = make_scenario()
    sc = apply_params(base, {"nodes[DC-EAST].capacity.pickers": 5,
                             "channels[0].orders_per_day": 80.0,
                             "rules.sourcing[nearest-any-node].then.protect_store_units": 0},
                      tmp_path, "spec.yaml")
    assert sc.nodes[0].capacity.pickers == 5 and sc.channels[0].orders_per_day == 80.0
    assert sc.nodes[1] == base.nodes[1]
    rs = load_ruleset(sc.policies.sourcing)
    assert sc.policies.sourcing.startswith(str(tmp_path))
    assert {r.name: r.then.protect_store_units for r in rs.rules}["nearest-any-node"] == 0
    again = apply_params(base, {"rules.sourcing[nearest-any-node].then.protect_store_units": 0},
                         tmp_path, "spec.yaml")
    assert again.policies.sourcing == sc.policies.sourcing       # content-addressed file
    with pytest.raises(ExperimentError,
                       match=r"spec.yaml: parameters.nodes\[NOPE\].capacity.pickers: no item "
                             r"'NOPE' \(known: DC-EAST, DC-WEST, STORE-LA\)"):
        apply_params(base, {"nodes[NOPE].capacity.pickers": 2}, tmp_path, "spec.yaml")
    with pytest.raises(ScenarioError, match=r"nodes\[0\].capacity.pickers: Input should be"):
        apply_params(base, {"nodes[DC-EAST].capacity.pickers": 0}, tmp_path, "spec.yaml")
    with pytest.raises(RuleError, match=r"spec.yaml: rules.sourcing: rule 'nearest-any-node' "
                                        r"\(rules\[1\]\): then.protect_store_units: Input"):
        apply_params(base, {"rules.sourcing[nearest-any-node].then.protect_store_units": -1},
                     tmp_path, "spec.yaml")


def test_sweep_spec_errors_name_the_file_and_field(tmp_path):
    cases = {
        "range-in-grid": ({"parameters": {"seedx": {"low": 1, "high": 2}}},
                          "parameters.seedx: a range needs mode: random"),
        "no-samples": ({"mode": "random", "parameters": {"a.b": [1]}},
                       "samples: required when mode is random"),
        "unknown": ({"parameters": {"a.b": [1]}, "repz": 2}, "repz: unknown field"),
        "pareto": ({"parameters": {"a.b": [1]}, "pareto": ["orders", "on_time_pct"]},
                   "pareto: 'orders' is not a KPI with a better direction"),
        "empty": ({"parameters": {"a.b": []}}, "parameters.a.b: needs at least one value"),
    }
    for name, (extra, message) in cases.items():
        f = write_yaml(tmp_path / f"{name}.yaml", {"scenario": "tiny.yaml", **extra})
        with pytest.raises(ExperimentError) as err:
            load_sweep(f)
        assert str(err.value).startswith(str(f)) and message in str(err.value), str(err.value)


def test_sweep_points_grid_order_and_reproducible_random(tmp_path):
    grid = write_yaml(tmp_path / "g.yaml", {"scenario": "x.yaml", "parameters": {
        "a.x": [1, 2], "b.y": ["p", "q", "r"]}})
    pts = sweep_points(load_sweep(grid))
    assert pts[:2] == [{"a.x": 1, "b.y": "p"}, {"a.x": 1, "b.y": "q"}] and len(pts) == 6
    rnd = write_yaml(tmp_path / "r.yaml", {"scenario": "x.yaml", "mode": "random",
                                           "samples": 5, "parameters": {
                                               "a.x": {"low": 1, "high": 3, "integer": True},
                                               "b.y": {"low": 0.5, "high": 0.9},
                                               "c.z": ["u", "v"]}})
    spec = load_sweep(rnd)
    pts = sweep_points(spec, seed=4)
    assert pts == sweep_points(spec, seed=4) and pts != sweep_points(spec, seed=5)
    assert all(p["a.x"] in (1, 2, 3) and 0.5 <= p["b.y"] <= 0.9 and p["c.z"] in "uv"
               for p in pts)


def test_sweep_runs_every_point_on_the_same_seeds(tmp_path):
    write_yaml(tmp_path / "tiny.yaml", TINY)
    (tmp_path / "express_only.yaml").write_text(EXPRESS_ONLY)
    spec_file = write_yaml(tmp_path / "sweep.yaml", {
        "scenario": "tiny.yaml", "reps": 2, "days": 4, "parameters": {
            "nodes[DC-EAST].capacity.pickers": [1, 3],
            "policies.carrier": ["carrier/cheapest_on_time",
                                 str(tmp_path / "express_only.yaml")]}})
    result = run_sweep(load_sweep(spec_file), spec_file, InProcessExecutor(), tmp_path / "rules")
    runs, points = result.runs, result.points
    assert len(runs) == 8 and len(points) == 4
    assert {"point", "rep", "seed", "run_id", "nodes[DC-EAST].capacity.pickers",
            "policies.carrier", "cost_per_order"} <= set(runs.columns)
    seeds = runs.groupby("point")["seed"].apply(tuple)
    assert seeds.nunique() == 1 and list(seeds.iloc[0]) == experiment_seeds(1, 2)
    assert runs.groupby("seed")["orders"].nunique().eq(1).all()      # CRN across points
    express = points["policies.carrier"].str.endswith("express_only.yaml")
    assert (points.loc[express, "cost_per_order"].min()
            > points.loc[~express, "cost_per_order"].max())
    assert points["pareto"].dtype == bool and points["pareto"].any()
    cheapest_cost = points["cost_per_order"].min()
    assert points.loc[points["cost_per_order"] == cheapest_cost, "pareto"].all()


# ---------------------------------------------------------------------------------------------
# Executors (acceptance: identical KPI tables)


@pytest.mark.slow
def test_process_and_dask_executors_give_identical_kpi_tables():
    sc = make_scenario(horizon_days=4)
    reference = replicate(sc, 4, InProcessExecutor())
    cols = ["rep", "seed", "run_id", "scenario_hash", *kpi_columns(reference)]
    with ProcessExecutor(2) as ex:
        pd.testing.assert_frame_equal(replicate(sc, 4, ex)[cols], reference[cols])
    with DaskExecutor(workers=2) as ex:
        assert len(ex.client.scheduler_info()["workers"]) == 2
        pd.testing.assert_frame_equal(replicate(sc, 4, ex)[cols], reference[cols])
        with DaskExecutor(scheduler=ex.cluster.scheduler_address) as remote:   # --scheduler
            pd.testing.assert_frame_equal(replicate(sc, 2, remote)[cols],
                                          reference[cols].head(2))


def test_errors_surface_early_or_from_worker_processes(tmp_path):
    bad = make_scenario(policies={"carrier": str(tmp_path / "missing.yaml")})
    calls = []

    class Recorder(InProcessExecutor):
        def map(self, fn, tasks, desc=""):
            calls.append(len(tasks))
            return super().map(fn, tasks, desc)

    with pytest.raises(RuleError, match="missing.yaml: rule set not found"):
        replicate(bad, 2, Recorder())
    assert calls == []                          # rules are checked before anything runs
    with ProcessExecutor(2) as ex:
        with pytest.raises(ValueError, match="invalid literal"):
            ex.map(int, ["1", "x", "3"])
        assert ex.map(int, ["4", "5"]) == [4, 5]            # the pool recovers


def test_the_replication_loop_reports_progress_per_chunk_of_workers():
    sc = make_scenario(horizon_days=3)
    events = []

    class TwoWorkers(InProcessExecutor):
        workers = 2

        def map(self, fn, tasks, desc=""):
            events.append(("map", len(tasks)))
            return super().map(fn, tasks, desc)

    specs = replication_specs(sc, 3, arm="a")
    runs = run_specs(specs, TwoWorkers(),
                     progress=lambda done, total, spec: events.append((done, total,
                                                                       spec.labels["rep"])))
    assert events == [(0, 3, 0), (1, 3, 1), ("map", 2), (2, 3, 2), ("map", 1)]
    cols = ["arm", "rep", "seed", "run_id", *kpi_columns(runs)]
    pd.testing.assert_frame_equal(runs[cols], run_specs(specs, InProcessExecutor())[cols])


# ---------------------------------------------------------------------------------------------
# Run registry


def test_registry_rows_round_trip_and_run_dirs_are_listed(tmp_path):
    sc = make_scenario(horizon_days=3)
    runs = replicate(sc, 2, InProcessExecutor(), arm="a")
    write_rows(tmp_path, runs, "0.1.0+test")
    files = sorted((tmp_path / REGISTRY).iterdir())
    assert [f.name for f in files] == sorted(f"{r}.parquet" for r in runs["run_id"])
    single = run_scenario(sc, "compiled")                 # a plain `domlab run` directory
    write_run(single, tmp_path)
    reg = read_registry(tmp_path)
    assert len(reg) == 3 and list(reg["source"]).count("run_dir") == 1
    assert "arm" not in reg.columns and "rep" not in reg.columns
    row = find_run(reg, runs["run_id"][0])
    assert row["code_version"] == "0.1.0+test" and row["seed"] == runs["seed"][0]
    assert row["cost_per_order"] == runs["cost_per_order"][0]
    assert row["rules_sourcing"].startswith("nearest-first-")
    from_dir = find_run(reg, single.run_id)
    assert from_dir["scenario_hash"] == scenario_hash(sc)
    assert from_dir["run_dir"] == str(tmp_path / single.run_id)
    assert from_dir["on_time_pct"] == single.kpis["kpis"]["on_time_pct"]
    with pytest.raises(LookupError, match="ambiguous"):
        find_run(reg, "tiny-s")
    with pytest.raises(LookupError, match="no such run"):
        find_run(reg, "nope")
    assert pd.read_parquet(tmp_path / REGISTRY)["run_id"].nunique() == 2   # plain pandas read


# ---------------------------------------------------------------------------------------------
# Command line


def test_cli_run_and_compare_with_reps(tmp_path, domlab):
    a = write_yaml(tmp_path / "a.yaml", TINY)
    b = write_yaml(tmp_path / "b.yaml", {**TINY, "name": "tiny_express", "policies": {
        **TINY["policies"], "carrier": str(tmp_path / "express_only.yaml")}})
    (tmp_path / "express_only.yaml").write_text(EXPRESS_ONLY)
    out = tmp_path / "runs"
    common = ["--engine", "compiled", "--executor", "inprocess", "--out", out]
    r = domlab("run", a, "--reps", "3", *common)
    assert r.returncode == 0, r.stderr
    assert "tiny: 3 replications (seeds spawned from root seed 1)" in r.stdout
    assert "95% CI" in r.stdout and (out / REGISTRY).is_dir()
    (table,) = (out / "experiments").glob("tiny-r3-*.parquet")
    assert pd.read_parquet(table)["seed"].tolist() == experiment_seeds(1, 3)

    r = domlab("compare", a, a, "--reps", "3", *common)
    assert r.returncode == 0, r.stderr
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("Fulfilment cost per order"))
    assert row.split()[7:13] == ["0.00", "0.0%", "[0.00,", "0.00]", "1.000", "no"]
    assert row.endswith("(100% narrower)")

    r = domlab("compare", a, b, "--reps", "3", *common)
    assert r.returncode == 0, r.stderr
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("Fulfilment cost per order"))
    assert "yes, worse" in row
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("Orders"))
    assert row.split()[4:8] == ["0", "0.0%", "[0,", "0]"]              # same demand

    r = domlab("runs", "list", "--root", out, "--format", "csv")
    listed = pd.read_csv(__import__("io").StringIO(r.stdout))
    assert r.returncode == 0 and len(listed) == 6        # a×3 (shared by both compares) + b×3
    r = domlab("runs", "show", listed["run_id"][0], "--root", out)
    assert r.returncode == 0 and "scenario_hash:" in r.stdout
    assert "Fulfilment cost per order" in r.stdout


def test_cli_sweep_batches_and_bad_input(tmp_path, capsys, domlab):
    write_yaml(tmp_path / "tiny.yaml", TINY)
    spec = write_yaml(tmp_path / "sw.yaml", {"scenario": "tiny.yaml", "days": 3, "parameters": {
        "rules.sourcing[nearest-any-node].then.protect_store_units": [0, 4]}})
    r = domlab("sweep", spec, "--out", tmp_path / "runs", "--executor", "inprocess")
    assert r.returncode == 0, r.stderr
    assert "sweep sw: 2 points × 1 replications (grid)" in r.stdout and "Pareto" in r.stdout
    results = pd.read_parquet(tmp_path / "runs" / "sweeps" / "sw" / "results.parquet")
    assert results["rules.sourcing[nearest-any-node].then.protect_store_units"].tolist() == [0, 4]

    r = domlab("run", tmp_path / "tiny.yaml", "--batches", "5", "--engine", "compiled",
               "--out", tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    assert "batch means: 5 batches" in r.stdout and "MSER-5" in r.stdout

    bad = write_yaml(tmp_path / "bad.yaml", {"scenario": "tiny.yaml", "parameters": {
        "nodes[NOPE].capacity.pickers": [1]}})
    for args, message in [
        (("run", tmp_path / "tiny.yaml", "--reps", "0"), "--reps: must be ≥ 1 (got 0)"),
        (("sweep", bad, "--executor", "inprocess"), "parameters.nodes[NOPE].capacity.pickers"),
        (("runs", "show", "nope", "--root", tmp_path / "runs"), "nope: no such run"),
        (("run", tmp_path / "tiny.yaml", "--warmup", "1"), "--warmup: works with --reps"),
    ]:
        argv = [*map(str, args), *(["--out", str(tmp_path / "x")] if args[0] == "run" else [])]
        code = main(argv)
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], (args, lines)
