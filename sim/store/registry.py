"""The run registry: one row per run, in small Parquet files that pandas and DuckDB read directly.

Layout: ``<root>/_registry/<run-id>.parquet``, one single-row file per run, written under a
temporary name and renamed into place, so parallel writers (workers, CI jobs) never contend and
readers never see half a file; re-running the same run replaces its row. Columns: ``run_id``,
``scenario``, ``scenario_hash``, ``seed``, ``engine``, ``rules_<point>`` (rule-set name + content
hash per decision point), ``code_version``, ``created_at`` (UTC, ISO 8601), ``wall_seconds``,
``orders_simulated``, then every KPI of ``sim.measure.kpis.KPIS`` under its own name (and the
offline optimum's, ``OPTIMUM_KPIS``, for runs that computed it).

DuckDB: ``SELECT * FROM read_parquet('runs/_registry/*.parquet', union_by_name = true)``.
``read_registry`` also lists the run directories a plain ``domlab run`` writes
(``<root>/<run-id>/kpis.json``) that have no registry row; hidden entries (``.<run-id>.tmp-…``
left by a writer killed mid-way, see ``sim.store.gc``) are never runs.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rules.files import read_yaml
from sim.measure.kpis import ALL_KPIS
from sim.scenario import ScenarioError, scenario_from_dict, scenario_hash
from sim.store.atomic import is_hidden, write_atomic

if TYPE_CHECKING:
    from sim.experiments.runner import Outcome

__all__ = ["REGISTRY", "IDENTITY", "run_row", "registry_row", "write_rows", "write_table",
           "read_registry", "find_run", "utc_now"]

#: Sub-directory of a runs root holding the registry files.
REGISTRY = "_registry"
#: Columns identifying a run, before ``rules_<point>`` and the KPIs.
IDENTITY = ("run_id", "scenario", "scenario_hash", "seed", "engine")
_TRAILER = ("code_version", "created_at", "wall_seconds", "orders_simulated")


def utc_now() -> str:
    """Current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_row(outcome: Outcome, engine: str) -> dict[str, Any]:
    """A run's identity, timing and scalar KPIs as one flat row: a row of an experiment's
    table (plus its labels) and, through ``registry_row``, of the registry."""
    run = outcome.run
    sc = run.scenario
    row: dict[str, Any] = {"run_id": outcome.run_id, "scenario": sc.name,
                           "scenario_hash": scenario_hash(sc), "seed": sc.seed, "engine": engine}
    row.update({f"rules_{p}": key for p, key in sorted(run.rulesets.items())})
    row.update(wall_seconds=round(outcome.seconds, 3),
               orders_simulated=len(run.orders["t_created"]))
    row.update(outcome.kpis["kpis"])
    return row


def registry_row(row: dict[str, Any], code_version: str, created_at: str) -> dict[str, Any]:
    """The registry columns of an experiment row (labels like ``rep`` or ``point`` dropped)."""
    out = {k: row[k] for k in IDENTITY}
    if row.get("label") is not None:
        out["label"] = row["label"]
    out.update({k: row[k] for k in sorted(row) if k.startswith("rules_")})
    out.update(code_version=code_version, created_at=created_at,
               wall_seconds=row.get("wall_seconds"), orders_simulated=row.get("orders_simulated"))
    out.update({k: row[k] for k in ALL_KPIS if k in row})
    return out


def _arrow(df: pd.DataFrame) -> pa.Table:
    """Arrow table of ``df``; object columns mixing types (sweep values) become text."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object and len({type(v) for v in df[col] if v is not None}) > 1:
            df[col] = df[col].map(lambda v: None if v is None else str(v))
    return pa.Table.from_pandas(df, preserve_index=False)


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` as Parquet atomically (temporary file in the same directory, then rename)."""
    buf = io.BytesIO()
    pq.write_table(_arrow(df), buf)
    return write_atomic(path, buf.getvalue())


def write_rows(root: Path, runs: pd.DataFrame, code_version: str) -> list[Path]:
    """Register every run of an experiment table under ``<root>/_registry``."""
    created = utc_now()
    paths = []
    for row in runs.to_dict("records"):
        rec = registry_row(row, code_version, created)
        paths.append(write_table(pd.DataFrame([rec]),
                                 Path(root) / REGISTRY / f"{rec['run_id']}.parquet"))
    return paths


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _hash_of(scenario_yaml: Path) -> str | None:
    """The hash of a run directory's resolved scenario (read with the limited YAML reader: a
    run directory may come from elsewhere), or None if it cannot be read."""
    try:
        return scenario_hash(scenario_from_dict(read_yaml(scenario_yaml, ScenarioError)))
    except ScenarioError:
        return None


def _run_dir_row(run_dir: Path) -> dict[str, Any]:
    """A registry row rebuilt from a run directory's ``kpis.json`` and ``meta.json``."""
    k = _read_json(run_dir / "kpis.json")
    meta = _read_json(run_dir / "meta.json")
    mtime = dt.datetime.fromtimestamp((run_dir / "kpis.json").stat().st_mtime, dt.UTC)
    row = {"run_id": k.get("run_id", run_dir.name), "scenario": k.get("scenario"),
           "scenario_hash": _hash_of(run_dir / "scenario.yaml"), "seed": k.get("seed"),
           "engine": k.get("engine")}
    row.update({f"rules_{p}": key for p, key in sorted((k.get("rulesets") or {}).items())})
    row.update(code_version=meta.get("code_version"),
               created_at=mtime.isoformat(timespec="seconds"),
               wall_seconds=meta.get("wall_seconds"), orders_simulated=None)
    row.update(k.get("kpis") or {})
    return row


def read_registry(root: Path | str = "runs", include_run_dirs: bool = True) -> pd.DataFrame:
    """Every registered run under ``root`` (oldest first), plus unregistered run directories.

    Adds ``source`` ("registry" or "run_dir") and ``run_dir`` (the run directory, if present).
    """
    root = Path(root)
    files = sorted((root / REGISTRY).glob("[!.]*.parquet"))
    frames = [pq.read_table(f).to_pandas() for f in files]
    reg = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(IDENTITY))
    reg["source"] = "registry"
    if include_run_dirs and root.is_dir():
        known = set(reg["run_id"])
        extra = [_run_dir_row(d) for d in sorted(root.iterdir())
                 if not is_hidden(d.name) and (d / "kpis.json").is_file()
                 and d.name not in known]
        if extra:
            reg = pd.concat([reg, pd.DataFrame(extra).assign(source="run_dir")],
                            ignore_index=True)
    reg["run_dir"] = [str(root / r) if (root / str(r) / "kpis.json").is_file() else None
                      for r in reg["run_id"]]
    if "created_at" in reg:
        reg = reg.sort_values(["created_at", "run_id"], kind="stable", ignore_index=True)
    return reg


def find_run(registry: pd.DataFrame, ident: str) -> pd.Series:
    """The registry row whose run id is ``ident`` or uniquely starts with it."""
    ids = registry["run_id"].astype(str)
    hit = registry[ids == ident]
    if hit.empty:
        hit = registry[ids.str.startswith(ident)]
    if len(hit) == 1:
        return hit.iloc[0]
    if hit.empty:
        raise LookupError(f"{ident}: no such run in the registry")
    some = ", ".join(hit["run_id"].astype(str).head(5))
    raise LookupError(f"{ident}: ambiguous, matches {len(hit)} runs ({some}…)")
