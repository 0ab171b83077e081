"""Run directories: layout, atomic writes, and loading past runs.

A run directory ``<out>/<run-id>/`` holds ``scenario.yaml`` (resolved), ``kpis.json``
(deterministic: same scenario + seed ⇒ same bytes), ``orders.parquet``, ``shipments.parquet``,
``events.parquet``, ``trace.parquet`` and ``meta.json`` (timings, versions). The directory is
built under a temporary name and renamed into place, so readers never see half a run.
``write_run`` is the only writer of run directories (``domlab run``/``compare`` and the app);
with ``register=True`` it also writes the run's registry row (``sim.store.registry``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.core.model import RunResult, Status
from sim.core.records import TraceRow
from sim.experiments.runner import Outcome
from sim.store.atomic import atomic_dir
from sim.store.registry import run_row, write_rows

__all__ = ["write_run", "load_kpis", "atomic_dir", "code_version",
           "orders_table", "shipments_table", "trace_table"]


def code_version() -> str:
    """Package version plus git commit when run from a checkout."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version("domlab")
    except PackageNotFoundError:
        v = "0+unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{v}+{sha}" if sha else v


def _named(names: list[str], codes: np.ndarray) -> pa.Array:
    """The name of each code (an index into ``names``), as a text column."""
    return pa.array(names, pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def _column(values: np.ndarray) -> pa.Array | np.ndarray:
    """A table column: text (object) columns become Arrow strings, the rest stay arrays."""
    values = np.asarray(values)
    return pa.array(values.tolist()) if values.dtype == object else values


def orders_table(run: RunResult) -> pa.Table:
    """One row per order with readable channel, service, region and status names."""
    o, sc = run.orders, run.scenario
    d: dict[str, Any] = {k: _column(v) for k, v in o.items()}
    d["channel"] = _named([c.name for c in sc.channels], o["channel"])
    d["region"] = _named([r.metro for r in sc.regions], o["region"])
    d["status"] = _named([s.name.lower() for s in Status], o["status"])
    return pa.table(d)


def shipments_table(run: RunResult) -> pa.Table:
    """One row per shipment with node and carrier service names."""
    sh, sc = run.shipments, run.scenario
    d: dict[str, Any] = {k: _column(v) for k, v in sh.items()}
    if len(sh["node"]):
        d["node"] = _named([n.name for n in sc.nodes], sh["node"])
        # A store-pickup parcel has no carrier service (-1): named as its carrier rule is.
        service = np.asarray(sh["service"], dtype=np.int64)
        d["service"] = _named([*run.services, "store-pickup"],
                              np.where(service < 0, len(run.services), service))
    return pa.table(d)


#: Decisions per Parquet row group of ``trace.parquet``: the trace is written a row group at a
#: time, so a long run's text columns never exist whole in memory (a million-order run makes
#: over three million decisions; its outcome column alone would take ~700 MB).
TRACE_ROWS_PER_GROUP = 1 << 18


def trace_batches(run: RunResult, rows: int = TRACE_ROWS_PER_GROUP) -> Iterator[pa.RecordBatch]:
    """The decision trace as record batches of up to ``rows`` decisions: which rules matched,
    which won, and the outcome (JSON)."""
    t, order, code = run.trace.columns()
    combos = run.trace.combinations()
    text = {k: json.dumps(v, sort_keys=True) for k, v in run.outcomes.items()}
    # Per text column, its value for each distinct combination; rows take them by code.
    names = [*TraceRow._fields[2:], "outcome"]
    values = [pa.array([c[j] for c in combos], pa.string()) for j in range(len(names) - 1)]
    values.append(pa.array([text[(c[1], c[3])] for c in combos], pa.string()))
    for a in range(0, max(len(t), 1), rows):
        codes = pa.array(code[a:a + rows])
        yield pa.RecordBatch.from_arrays(
            [pa.array(t[a:a + rows], pa.float64()), pa.array(order[a:a + rows], pa.int64()),
             *(v.take(codes) for v in values)], names=["t_hours", "order_id", *names])


def trace_table(run: RunResult) -> pa.Table:
    """One row per decision: which rules matched, which won, and the outcome (JSON)."""
    return pa.Table.from_batches(list(trace_batches(run)))


def write_trace(run: RunResult, path: Path) -> None:
    """Write ``trace.parquet`` one row group at a time (bounded memory)."""
    batches = trace_batches(run)
    first = next(batches)
    with pq.ParquetWriter(path, first.schema) as writer:
        writer.write_batch(first)
        for batch in batches:
            writer.write_batch(batch)


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_run(outcome: Outcome, out_dir: Path, extra_files: dict[str, str] | None = None, *,
              register: bool = False, label: str | None = None) -> Path:
    """Write a run's directory ``<out_dir>/<run-id>`` atomically (plus ``extra_files``, name →
    text) and, with ``register``, its row in ``<out_dir>/_registry`` (with ``label``: how the
    app named it, e.g. its what-ifs); returns the directory."""
    run = outcome.run
    final = Path(out_dir) / outcome.run_id
    # Parquet encoding runs without the GIL: each table is written on a worker thread while
    # the next one is built (results do not depend on it; a failed write fails the run dir).
    with atomic_dir(final) as tmp, ThreadPoolExecutor(2) as pool:
        writes = []

        def write(table: pa.Table, name: str) -> None:
            writes.append(pool.submit(pq.write_table, table, tmp / name))

        sc = run.scenario
        write(orders_table(run), "orders.parquet")
        write(shipments_table(run), "shipments.parquet")
        mode = run.events.mode
        if mode == "full":
            write(run.events.to_arrow([n.name for n in sc.nodes], [s.id for s in sc.skus]),
                  "events.parquet")
        elif mode == "summary":      # counts and sums per event kind
            write(run.events.to_arrow(), "events_summary.parquet")
        writes.append(pool.submit(write_trace, run, tmp / "trace.parquet"))
        (tmp / "scenario.yaml").write_text(
            yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False, allow_unicode=True))
        kpis = {"run_id": outcome.run_id, "scenario": sc.name, "seed": sc.seed,
                "engine": run.engine, "rulesets": run.rulesets, **outcome.kpis}
        (tmp / "kpis.json").write_text(_json(kpis))
        for done in writes:
            done.result()            # re-raises a failed write here, inside the atomic dir
        meta = {"run_id": outcome.run_id, "code_version": code_version(),
                "wall_seconds": round(outcome.seconds, 3),
                "orders_per_second": round(outcome.orders_per_second, 1),
                "events": len(run.events), "decisions": len(run.trace), **outcome.extra}
        if mode != "full":
            meta["events_mode"] = mode
        (tmp / "meta.json").write_text(_json(meta))
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
    if register:
        row = run_row(outcome, run.engine)
        if label is not None:
            row["label"] = label
        write_rows(Path(out_dir), pd.DataFrame([row]), code_version())
    return final


def load_kpis(run_dir: Path) -> dict[str, Any]:
    """The ``kpis.json`` of a run directory."""
    return json.loads((Path(run_dir) / "kpis.json").read_text())
