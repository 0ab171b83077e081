"""The offline optimum in runs, replications and checks (``--optimum``).

``add_optimum`` solves a finished run's optimum (``sim.measure.optimum``) and adds it to the
outcome: the two KPIs to ``kpis["kpis"]``, the deterministic summary to ``kpis["optimum"]``
(so both land in ``kpis.json``) and the timings to ``extra["optimum"]`` (``meta.json``: wall
clock is not deterministic). ``execute_with_optimum`` is the replication task that does the same
in a worker; ``write_optimum`` adds ``optimum.json`` (summary, timings, where the money is) and
``optimum_orders.parquet`` (one row per planned order of the window) to a run directory.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sim.experiments.replication import RunSpec
from sim.experiments.runner import Outcome, run_scenario
from sim.measure.optimum import OptimumResult, Settings, optimise, where_the_money_is
from sim.store.atomic import write_atomic
from sim.store.registry import run_row

__all__ = ["OPTIMUM_JSON", "OPTIMUM_ORDERS", "add_optimum", "execute_with_optimum",
           "optimum_report", "write_optimum"]

OPTIMUM_JSON = "optimum.json"
OPTIMUM_ORDERS = "optimum_orders.parquet"


def add_optimum(outcome: Outcome, settings: Settings | None = None) -> OptimumResult:
    """Solve ``outcome``'s offline optimum and add its KPIs, summary and timings to it."""
    result = optimise(outcome.run, settings)
    outcome.kpis["kpis"].update(result.kpis())
    outcome.kpis["optimum"] = result.summary()
    outcome.extra["optimum"] = result.timings()
    return result


def execute_with_optimum(spec: RunSpec) -> dict[str, Any]:
    """``sim.experiments.replication.execute`` plus the optimum's KPIs (a picklable task)."""
    outcome = run_scenario(spec.scenario, spec.engine)
    add_optimum(outcome)
    return {**spec.labels, **run_row(outcome, spec.engine)}


def optimum_report(result: OptimumResult, top: int = 20) -> dict[str, Any]:
    """``optimum.json``: KPIs, summary, timings and every where-the-money-is table as
    records."""
    tables = where_the_money_is(result, top)
    return {"kpis": result.kpis(), "summary": result.summary(), "timings": result.timings(),
            **{name: json.loads(df.to_json(orient="records")) for name, df in tables.items()}}


def write_optimum(run_dir: Path, result: OptimumResult) -> list[Path]:
    """Write ``optimum.json`` and ``optimum_orders.parquet`` into ``run_dir`` (atomically)."""
    run_dir = Path(run_dir)
    text = json.dumps(optimum_report(result), indent=2, sort_keys=True) + "\n"
    buf = io.BytesIO()
    result.orders.to_parquet(buf, index=False)
    return [write_atomic(run_dir / OPTIMUM_JSON, text),
            write_atomic(run_dir / OPTIMUM_ORDERS, buf.getvalue())]
