"""domlab's simulation package; the Python API the CLI and the app use.

``load_scenario`` → ``Scenario``; ``run_scenario(scenario, engine)`` → ``Outcome`` (``.run`` a
``RunResult`` of tables, ``.kpis``); ``replicate(scenario, reps, executor)`` → one row per
replication; ``compare(a, b, reps)`` → a paired comparison per KPI. Names load on first use,
so ``import sim`` stays cheap (the CLI starts without scipy, pandas or matplotlib).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["load_scenario", "Scenario", "run_scenario", "Outcome", "RunResult", "replicate",
           "compare"]

_WHERE = {"load_scenario": "sim.scenario", "Scenario": "sim.scenario",
          "run_scenario": "sim.experiments.runner", "Outcome": "sim.experiments.runner",
          "RunResult": "sim.core.model", "replicate": "sim.experiments.replication",
          "compare": "sim.experiments.comparison"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'sim' has no attribute '{name}'")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
