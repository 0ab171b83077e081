"""One run, end to end: scenario + engine name + seed → RunResult and KPIs.

The single entry point the CLI, experiments and the app share, so a run means the same thing
everywhere. Rule sets are loaded and checked against the scenario *before* anything runs.

``prepare_engine`` is all ``domlab validate`` needs, so this module imports the model (SimPy,
NumPy) and the KPIs only inside ``run_scenario``: validating a scenario stays quick to start.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rules.engine import Engine, load_policies, make_engine
from rules.lab.lint import lint
from rules.schema import RuleError
from sim.core.rule_checks import check_rule_references
from sim.scenario import Scenario, scenario_hash

if TYPE_CHECKING:
    from sim.core.model import RunResult

__all__ = ["Outcome", "prepare_engine", "run_scenario", "run_id"]


@dataclass
class Outcome:
    """A finished run, its KPIs and timing."""

    run: RunResult
    kpis: dict[str, Any]
    seconds: float
    run_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def orders_per_second(self) -> float:
        """Simulated orders per wall-clock second."""
        return len(self.run.orders["t_created"]) / self.seconds if self.seconds else 0.0


def prepare_engine(scenario: Scenario, engine: str = "durable") -> Engine:
    """Load the scenario's rule sets and build the engine (raises RuleError on bad rules)."""
    rulesets = load_policies(scenario.policies.model_dump())
    for rs in rulesets.values():
        errors = [f for f in lint(rs) if f.level == "error"]
        if errors:
            raise RuleError(f"{rs.source}: {errors[0]}")
    eng = make_engine(rulesets, engine)
    check_rule_references(scenario, eng)
    return eng


def run_id(scenario: Scenario, engine: Engine) -> str:
    """Deterministic id: scenario name, seed and a hash of scenario, rule-set versions and
    backend (durable and compiled runs decide alike but are kept apart)."""
    keys = ",".join(f"{p}={rs.key}" for p, rs in sorted(engine.rulesets.items()))
    text = f"{scenario_hash(scenario)}|{keys}|{engine.name}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{scenario.name}-s{scenario.seed}-{digest}"


def run_scenario(scenario: Scenario, engine: str = "durable", events: str = "full") -> Outcome:
    """Simulate ``scenario`` with the named rule backend and compute its KPIs; ``extra`` holds
    what the run's ``meta.json`` records of a replayed order history (rows kept, skipped).
    ``events``: what the event log keeps (full | summary | none; KPIs never read it)."""
    from sim.core.model import World
    from sim.core.replay import replay_meta
    from sim.measure.kpis import compute_kpis

    eng = prepare_engine(scenario, engine)
    try:
        t0 = time.perf_counter()
        result = World(scenario, eng, events=events).run()
        seconds = time.perf_counter() - t0
        rid = run_id(scenario, eng)
    finally:
        eng.close()
    return Outcome(result, compute_kpis(result), seconds, rid, replay_meta(scenario))
