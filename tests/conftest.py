"""Shared fixtures: small scenarios built in code, a run helper that checks invariants, and
``domlab``: the command line called in-process."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sim.core.invariants import check_invariants
from sim.experiments.runner import Outcome, run_scenario
from sim.scenario import Scenario, merge, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "omnichannel.yaml"
COST_FIRST = ROOT / "scenarios" / "omnichannel_cost_first.yaml"

FLAT_RATES = [{"weight_lb_max": 70, **{f"z{z}": 5.0 + z for z in range(1, 9)}}]

TINY: dict[str, Any] = {
    "name": "tiny",
    "horizon_days": 7,
    "warmup_days": 1,
    "seed": 1,
    "skus": [
        {"id": "A", "weight_lb": 1.0, "price": 20.0, "cost": 8.0, "popularity": 5},
        {"id": "B", "weight_lb": 2.0, "price": 35.0, "cost": 15.0, "popularity": 3},
        {"id": "C", "weight_lb": 0.5, "price": 12.0, "cost": 4.0, "popularity": 1},
    ],
    "regions": [
        {"metro": "East", "state": "NY", "lat": 40.7, "lon": -74.0, "population": 3},
        {"metro": "West", "state": "CA", "lat": 34.0, "lon": -118.2, "population": 2},
    ],
    "channels": [{
        "name": "web", "kind": "web", "orders_per_day": 60,
        "lines_per_order": {"kind": "geometric", "p": 0.6},
        "units_per_line": {"kind": "discrete", "values": [1, 2], "probs": [0.8, 0.2]},
        "service_levels": [{"name": "standard", "promise_days": 4, "share": 0.8},
                           {"name": "express", "promise_days": 1, "share": 0.2}],
    }],
    "suppliers": [{"name": "vendor", "lead_time_days": {"kind": "uniform", "low": 2, "high": 4}}],
    "nodes": [
        {"name": "DC-EAST", "kind": "dc", "lat": 40.6, "lon": -75.5,
         "capacity": {"pickers": 2, "minutes_per_order": 4, "minutes_per_unit": 1},
         "handling": {"per_order": 2.0, "per_unit": 0.2},
         "stock": {"days_of_supply": 5}, "supplier": "vendor"},
        {"name": "DC-WEST", "kind": "dc", "lat": 39.5, "lon": -119.8,
         "capacity": {"pickers": 2, "minutes_per_order": 4, "minutes_per_unit": 1},
         "handling": {"per_order": 2.0, "per_unit": 0.2},
         "stock": {"days_of_supply": 5}, "supplier": "vendor"},
        {"name": "STORE-LA", "kind": "store", "lat": 34.05, "lon": -118.25,
         "capacity": {"pickers": 1, "minutes_per_order": 8},
         "shifts": [{"start_hour": 10, "end_hour": 20}], "cutoff_hour": 15,
         "handling": {"per_order": 5.0}, "stock": {"days_of_supply": 3},
         "supplier": "vendor"},
    ],
    "carriers": [{"name": "Post", "services": [
        {"name": "ground", "rate_card": FLAT_RATES, "transit_days": [1, 1, 2, 3, 4, 4, 5, 5],
         "delay_days": {"kind": "discrete", "values": [0, 1], "probs": [0.9, 0.1]}},
        {"name": "express", "rate_card": [{"weight_lb_max": 70,
                                           **{f"z{z}": 20.0 + 2 * z for z in range(1, 9)}}],
         "transit_days": [1] * 8, "delay_days": {"kind": "const", "value": 0}},
    ]}],
    "policies": {"sourcing": "routing/nearest_first", "split": "split/ship_complete_then_split",
                 "carrier": "carrier/cheapest_on_time", "reorder": "reorder/ss_by_class"},
}


def make_scenario(replace: dict[str, Any] | None = None, **overrides: Any) -> Scenario:
    """The tiny scenario with fields deep-merged from ``overrides`` (named lists by name) and
    top-level fields in ``replace`` substituted whole."""
    raw = merge(copy.deepcopy(TINY), copy.deepcopy(overrides))
    raw.update(copy.deepcopy(replace or {}))
    return scenario_from_dict(raw)


def single_item_scenario(tmp_path: Path, reorder: dict[str, Any], lam: float, lead: float,
                         days: float, warmup: float, opening: int, seed: int,
                         unfillable: str = "backorder", **overrides: Any) -> Scenario:
    """One open node, one SKU, single-unit Poisson demand at ``lam`` a day, a constant lead
    time, instant picking: the textbook inventory system. ``reorder`` is the reorder outcome;
    unmet demand is backordered or, with ``unfillable="cancel"``, lost."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "one.yaml").write_text(
        "ruleset: one-node\npoint: sourcing\nrules:\n"
        f"  - {{name: one-node, then: {{node_types: [dc], unfillable: {unfillable}}}}}\n")
    levels = ", ".join(f"{k}: {v}" for k, v in reorder.items())
    (rules / "reorder.yaml").write_text(
        f"ruleset: theory\npoint: reorder\nrules:\n  - {{name: p, then: {{{levels}}}}}\n")
    return make_scenario(
        horizon_days=days, warmup_days=warmup, seed=seed,
        skus=[{"id": "A", "weight_lb": 1.0, "price": 30.0, "cost": 10.0, "popularity": 1}],
        regions=[{"metro": "Here", "state": "IL", "lat": 41.88, "lon": -87.63, "population": 1}],
        replace={"channels": [{"name": "web", "kind": "web", "orders_per_day": lam,
                               "lines_per_order": {"kind": "const", "value": 1},
                               "units_per_line": {"kind": "const", "value": 1},
                               "service_levels": [{"name": "standard", "promise_days": 4,
                                                   "share": 1.0}]}],
                 "suppliers": [{"name": "vendor", **overrides.pop("supplier", {}),
                                "lead_time_days": {"kind": "const", "value": lead}}]},
        nodes=[{"name": "DC-EAST", "lat": 41.9, "lon": -87.6,
                "capacity": {"pickers": 50, "minutes_per_order": 0.001},
                "stock": {"units": {"A": opening}}},
               {"name": "DC-WEST", "closed": True}, {"name": "STORE-LA", "closed": True}],
        policies={"sourcing": str(rules / "one.yaml"), "reorder": str(rules / "reorder.yaml")},
        **overrides)


def run_checked(scenario: Scenario, engine: str = "compiled") -> Outcome:
    """Run and assert every conservation invariant (used for every run the tests make)."""
    out = run_scenario(scenario, engine)
    problems = check_invariants(out.run)
    assert problems == [], problems
    return out


@pytest.fixture
def tiny() -> Scenario:
    return make_scenario()


@dataclass(frozen=True)
class Result:
    """What a ``domlab`` command returned and printed (like ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def domlab(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """``domlab(*args, cwd=None) -> Result``: run ``sim.cli.main`` in this process.

    Path arguments become strings; ``cwd`` is entered for the call only; argparse's
    ``SystemExit`` (bad usage: 2, ``--help``: 0) becomes the return code. Any other exception
    propagates, so a crash fails the test with its traceback. Output printed before the call
    is discarded. Tests that need a fresh interpreter (hash seed, import state, the installed
    console script) use ``subprocess`` instead.
    """
    from sim.cli import main

    def run(*args: object, cwd: str | Path | None = None) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            if cwd is not None:
                m.chdir(cwd)
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (exc.code is not None)
        out = capsys.readouterr()
        return Result(int(code), out.out, out.err)

    return run
