"""Bounded fuzzing in the normal suite (a few dozen cases, well under 30 s): every generated
scenario (valid, edge or hostile) runs cleanly or is refused in one line naming its file. The
long run is ``python -m tests.fuzz`` (1,000 cases)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from fuzz.harness import judge
from fuzz.strategies import Case, cases, valid_scenario
from hypothesis import HealthCheck, given, settings

import sim.cli.run as cli_run

TINY_CASE = "name: t\nhorizon_days: 1\n"


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
def test_every_case_runs_cleanly_or_is_refused_in_one_line(case):
    with tempfile.TemporaryDirectory(prefix="domlab-fuzz-") as tmp:
        verdict = judge(case, Path(tmp), timeout=20)
    assert verdict.kind in ("ok", "refused"), (case.label, verdict)


@settings(max_examples=5, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(sc=valid_scenario())
def test_valid_scenarios_are_valid(sc):
    from sim.scenario import scenario_from_dict
    assert scenario_from_dict(sc).name == sc["name"]


def _judge_with(monkeypatch, tmp_path, fake) -> tuple[str, str]:
    monkeypatch.setattr(cli_run, "run_and_store", fake)
    monkeypatch.setattr(cli_run, "load_cli_scenario", lambda *a: _Scenario())
    monkeypatch.setattr(cli_run, "check_output_dir", lambda *a: None)
    v = judge(Case({"scenario.yaml": TINY_CASE}), tmp_path, timeout=5)
    return v.kind, v.detail


class _Scenario:
    name, seed = "t", 1


def test_harness_reports_a_crash(monkeypatch, tmp_path):
    def crash(*a):
        raise ZeroDivisionError("float division by zero")
    kind, detail = _judge_with(monkeypatch, tmp_path, crash)
    assert kind == "crash" and "ZeroDivisionError: float division by zero" in detail


def test_harness_reports_a_warning(monkeypatch, tmp_path):
    from sim.core.model import SimulationError

    def warn(*a):
        warnings.warn("overflow encountered in reduce", RuntimeWarning, stacklevel=1)
        raise SimulationError(f"{tmp_path}/scenario.yaml: drain_days: refused after a warning")
    kind, detail = _judge_with(monkeypatch, tmp_path, warn)
    assert kind == "warned" and detail.startswith("RuntimeWarning: overflow encountered")


@pytest.mark.parametrize("message, kind", [
    ("scenario 'x': 5 shipments still queued", "unclear"),       # names no file
    ("{root}/s.yaml: drain_days: 5 shipments still queued", "refused"),
    ("{root}/s.yaml: drain_days: 5 shipments\nstill queued", "unclear"),     # two lines
    ("{root}/h.csv: 1 bad row of 13 (row = line number); fix them\n"
     "{root}/h.csv: row 14: timestamp: '1' is not an ISO-8601 date-time", "refused"),
])
def test_harness_requires_refusals_to_name_a_file(monkeypatch, tmp_path, message, kind):
    from sim.core.model import SimulationError

    def refuse(*a):
        raise SimulationError(message.format(root=tmp_path))
    monkeypatch.setattr(cli_run, "about", _no_context)
    assert _judge_with(monkeypatch, tmp_path, refuse)[0] == kind


class _no_context:  # noqa: N801 - stands in for the ``about`` context manager
    def __init__(self, *a):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
