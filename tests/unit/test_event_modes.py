"""``--events full|summary|none``: the event log kept never changes a run's results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_scenario

from sim.core.events import Ev, make_event_log
from sim.core.invariants import check_invariants
from sim.experiments.runner import run_scenario
from sim.store.rundir import write_run


@pytest.fixture(scope="module")
def scenario():
    return make_scenario(returns={"rate": 0.2})


@pytest.fixture(scope="module")
def outcomes(scenario):
    return {m: run_scenario(scenario, "compiled", events=m) for m in ("full", "summary", "none")}


def test_kpis_and_tables_do_not_depend_on_the_event_mode(outcomes):
    full = outcomes["full"]
    for mode in ("summary", "none"):
        out = outcomes[mode]
        assert json.dumps(out.kpis, sort_keys=True) == json.dumps(full.kpis, sort_keys=True)
        for table in ("orders", "shipments"):
            a, b = getattr(full.run, table), getattr(out.run, table)
            assert a.keys() == b.keys()
            for k in a:
                assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), (mode, k)
        assert check_invariants(out.run) == []


def test_summary_counts_and_sums_match_the_full_log(outcomes):
    full, summary = outcomes["full"].run.events, outcomes["summary"].run.events
    assert len(summary) == len(full) > 0
    assert summary.kind_counts().tolist() == full.kind_counts().tolist()
    rows = {r["event"]: r for r in summary.to_arrow().to_pylist()}
    for kind in Ev:
        mine = [r for r in full.rows if r[1] == kind]
        if not mine:
            assert kind.name.lower() not in rows
            continue
        row = rows[kind.name.lower()]
        assert row["count"] == len(mine)
        assert row["qty"] == sum(r[5] for r in mine)
        assert row["value"] == pytest.approx(sum(r[6] for r in mine))


def test_none_keeps_nothing(outcomes):
    assert len(outcomes["none"].run.events) == 0


def test_run_directory_per_mode(outcomes, tmp_path):
    names = {}
    for mode, out in outcomes.items():
        path = write_run(out, tmp_path / mode)
        names[mode] = sorted(p.name for p in path.iterdir())
        meta = json.loads((path / "meta.json").read_text())
        assert meta.get("events_mode", "full") == mode
    assert "events.parquet" in names["full"]
    assert "events_summary.parquet" in names["summary"]
    assert "events.parquet" not in names["summary"] + names["none"]
    assert "events_summary.parquet" not in names["none"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="--events"):
        make_event_log("some")


def test_trace_reads_back_the_rows_appended():
    from sim.core.records import Trace, TraceRow

    rows = [TraceRow(0, -1, "reorder", "rs@1", "r1", "r1", "dc/sku"),
            TraceRow(1.5, 3, "sourcing", "s@2", "a", "a,b", ""),
            TraceRow(1.5, 3, "sourcing", "s@2", "a", "a,b", "")]
    trace = Trace(rows)
    assert len(trace) == 3 and list(trace) == rows and trace == rows
    assert trace[0] == rows[0] and trace[0][0] == 0
    assert trace[-1] == rows[-1] and trace[1:] == rows[1:]
    assert [r.matched for r in trace] == ["r1", "a,b", "a,b"]
    with pytest.raises(IndexError):
        trace[3]
