"""Data helpers behind the Streamlit app (``app.py``); nothing here imports Streamlit.

* **Inputs.** Library scenarios (``scenarios/*.yaml``) and rule sets per decision point
  (``rules/library/<dir>/*.yaml``); uploaded scenario YAML, checked as untrusted data
  (``parse_upload``); what-if edits of a scenario (``WhatIf``: field-path edits through
  ``sim.scenario.edit``, applied by ``apply_whatif``).
* **Runs.** ``simulate`` runs one scenario through ``sim.experiments.runner.run_scenario`` and
  keeps what the app shows as plain tables (``AppRun``: picklable, so the app can cache it),
  optionally writing the run directory and its registry row (``reports.build.save_run``).
  ``run_groups`` runs every compared scenario × replication through the replication loop the
  command line uses (``sim.experiments.replication.run_tasks``, same seeds as ``--reps``).
* **Views.** The KPI comparison table (deltas, and paired confidence intervals when there are
  replications), rule coverage, map points and flows, one order's timeline, and past runs.

The app holds no model logic: every number comes from ``sim`` (KPIs from ``sim.measure.kpis``,
statistics from ``sim.experiments``, formatting and verdicts from ``sim.measure.present``) or
from ``reports`` (charts).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import math
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from reports.build import VIEW_FILE, save_run
from reports.charts import RunView
from reports.html import kpi_rows
from rules.files import format_loc, read_mapping
from rules.schema import LIBRARY, RuleError, load_ruleset, resolve_ruleset_path
from sim.experiments.comparison import compare_replications, summarize
from sim.experiments.executors import InProcessExecutor
from sim.experiments.replication import Progress, replication_specs, run_tasks
from sim.measure.kpis import ALL_KPIS, KPIS
from sim.measure.present import format_ci, format_delta, format_half_width, format_value
from sim.scenario import Scenario, ScenarioError, edit_scenario, load_scenario
from sim.store.registry import read_registry

__all__ = [
    "ROOT", "SCENARIOS", "SCENARIO_DATA", "MAX_UPLOAD_BYTES", "POINT_DIRS",
    "library_scenarios", "library_rulesets", "parse_upload", "WhatIf",
    "apply_whatif", "rules_fingerprint", "run_key", "AppRun", "simulate", "run_groups",
    "RunGroup", "KpiTable", "kpi_table", "views_table", "style_kpi_table", "coverage_table",
    "never_fired", "map_layers_data", "order_timeline", "past_runs", "unique_labels",
    "scenario_yaml", "excel_bytes", "XLSX_MIME",
]

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SCENARIO_DATA = SCENARIOS / "data"
#: Largest scenario upload accepted (bytes).
MAX_UPLOAD_BYTES = 1_000_000
#: Most YAML nodes an upload may expand to (aliases can multiply a small file).
MAX_UPLOAD_NODES = 500_000
#: Library folder of each decision point's rule sets.
POINT_DIRS = {"sourcing": "routing", "split": "split", "carrier": "carrier",
              "priority": "priority", "backorder": "backorder", "reorder": "reorder"}
HOURS = 24.0


# ---------------------------------------------------------------------------------------------
# Inputs


def library_scenarios(root: Path = SCENARIOS) -> dict[str, Path]:
    """Scenario files of the library by stem, sorted (``omnichannel`` first if present)."""
    files = sorted(p for p in Path(root).glob("*.yaml") if p.is_file())
    files.sort(key=lambda p: (p.stem != "omnichannel", p.stem))
    return {p.stem: p for p in files}


def library_rulesets(point: str, library: Path = LIBRARY) -> list[str]:
    """Library rule-set names (``routing/nearest_first``) usable at ``point``, sorted.

    Test-case files (``*.cases.yaml``) are not rule sets and are left out.
    """
    folder = POINT_DIRS.get(point, point)
    return [f"{folder}/{p.stem}" for p in sorted((Path(library) / folder).glob("*.yaml"))
            if not p.name.endswith(".cases.yaml")]


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


class _Budget:
    """Counts YAML nodes visited so alias-expanded uploads cannot blow up a walk."""

    def __init__(self, name: str, limit: int = MAX_UPLOAD_NODES):
        self.name, self.left = name, limit

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ScenarioError(f"{self.name}: (top level): too many YAML nodes (aliases expand "
                                f"to more than {MAX_UPLOAD_NODES:,}); upload a plain file")


def _is_file_ref(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"file"} and isinstance(v["file"], str)


def _data_file(ref: str, where: str, name: str) -> str:
    """An upload's file reference resolved against ``scenarios/``, refused (naming the field
    ``where``) unless it is a file in ``scenarios/data``."""
    target = (SCENARIOS / ref).resolve()
    if not _inside(target, SCENARIO_DATA) or not target.is_file():
        raise ScenarioError(f"{name}: {where}: '{ref}' is not a file in scenarios/data "
                            "(uploads may only reference those)")
    return str(target)


def _anchor_upload_files(node: Any, loc: tuple, name: str, budget: _Budget) -> Any:
    """Resolve ``{file: x}`` against ``scenarios/``; refuse anything outside ``scenarios/data``."""
    budget.spend()
    if _is_file_ref(node):
        return {"file": _data_file(node["file"], format_loc((*loc, "file")), name)}
    if isinstance(node, dict):
        return {k: _anchor_upload_files(v, (*loc, k), name, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_anchor_upload_files(v, (*loc, i), name, budget) for i, v in enumerate(node)]
    return node


def _library_name(ref: str, name: str, point: str) -> str:
    """A policy reference as a library name, refusing files outside ``rules/library``."""
    if ref.endswith((".yaml", ".yml", ".json")):
        target = (SCENARIOS / ref).resolve()
    else:
        target = (LIBRARY / f"{ref}.yaml").resolve()
    if not _inside(target, LIBRARY) or not target.is_file():
        raise ScenarioError(f"{name}: policies.{point}: '{ref}' is not a rule set in "
                            "rules/library (uploads may only use library rule sets)")
    return target.relative_to(LIBRARY.resolve()).with_suffix("").as_posix()


def _safe_filename(filename: str) -> str:
    base = Path(str(filename).replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base).lstrip(".") or "upload.yaml"
    return base if base.endswith((".yaml", ".yml")) else f"{base}.yaml"


def parse_upload(data: bytes, filename: str) -> Scenario:
    """Validate an uploaded scenario file; problems raise a one-line ``ScenarioError``.

    The bytes are parsed as data only (the limited safe loader of ``rules.safe_yaml``: UTF-8,
    nesting, alias expansion and number length bounded), limited to ``MAX_UPLOAD_BYTES``.
    ``{file: ...}`` tables and the ``order_history`` path may only name files in
    ``scenarios/data`` (paths relative to ``scenarios/``, as in the library), ``extends:`` only
    a library scenario, and policies only library rule sets. The file is then loaded exactly as
    ``domlab validate`` would (from a private temporary directory that is removed afterwards),
    so messages read the same, naming the uploaded file:
    ``bad.yaml: nodes[0].capacity.pickers: Input should be ...``.
    """
    name = _safe_filename(filename)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: file is {len(data):,} bytes; uploads are limited to "
                            f"{MAX_UPLOAD_BYTES:,} bytes")
    with tempfile.TemporaryDirectory(prefix="domlab-upload-") as tmp:
        path = Path(tmp).resolve() / name
        path.write_bytes(data)
        try:
            raw = read_mapping(path, ScenarioError, "scenario fields")
            raw = _anchor_upload_files(raw, (), name, _Budget(name))
            parent = raw.get("extends")
            if isinstance(parent, str):
                base = (SCENARIOS / parent).resolve()
                if not _inside(base, SCENARIOS) or not base.is_file() or \
                        base.suffix not in (".yaml", ".yml"):
                    raise ScenarioError(f"{name}: extends: '{parent}' is not a library "
                                        "scenario in scenarios/")
                raw["extends"] = str(base)
            policies = raw.get("policies")
            if isinstance(policies, dict):
                raw["policies"] = {p: _library_name(ref, name, p) if isinstance(ref, str)
                                   else ref for p, ref in policies.items()}
            history = raw.get("order_history")
            if isinstance(history, dict) and "path" in history:   # a data file, like tables
                raw["order_history"] = {**history, "path": _data_file(
                    str(history["path"]), "order_history.path", name)}
            path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True),
                            encoding="utf-8")
            return load_scenario(path)
        except ScenarioError as exc:
            msg = str(exc).replace(str(path), name).replace(f"{ROOT}/", "")
            raise ScenarioError(" ".join(msg.split())) from None


@dataclass(frozen=True)
class WhatIf:
    """Edits of one scenario before it runs (defaults change nothing), made as field-path
    edits (``edits``, applied through ``sim.scenario.edit`` like a sweep's parameters).

    ``demand`` scales every channel's ``orders_per_day``; ``close_node`` closes one node (for
    the whole run, or only on ``close_days`` = (first day, end day) of the run: a scheduled
    outage); ``delay_carrier`` gets ``delay_days`` more scheduled transit days on each of its
    services (or only for parcels it collects on ``delay_window`` days: a carrier delay);
    ``stock`` scales every node's ``stock.days_of_supply``; ``policies`` replaces the rule set
    at decision points (point → library name, or ``None`` to leave an optional point unset).
    """

    demand: float = 1.0
    close_node: str | None = None
    delay_carrier: str | None = None
    delay_days: int = 0
    stock: float = 1.0
    close_days: tuple[float, float] | None = None
    delay_window: tuple[float, float] | None = None
    policies: Mapping[str, str | None] = field(default_factory=dict)

    def describe(self, base: Scenario | None = None) -> str:
        """Short text of what changes, e.g. ``demand ×1.5, DC-RENO closed``."""
        parts = []
        if self.demand != 1.0:
            parts.append(f"demand ×{self.demand:g}")
        if self.close_node:
            parts.append(f"{self.close_node} closed{_days_text(self.close_days)}")
        if self.delay_carrier and self.delay_days:
            parts.append(f"{self.delay_carrier} +{self.delay_days}d"
                         f"{_days_text(self.delay_window)}")
        if self.stock != 1.0:
            parts.append(f"stock ×{self.stock:g}")
        current = base.policies.model_dump() if base is not None else {}
        for point, ref in sorted(self.policies.items()):
            if base is None or current.get(point) != ref:
                parts.append(f"{point}={(ref or 'none').split('/')[-1]}")
        return ", ".join(parts)

    def edits(self, base: Scenario) -> dict[str, Any]:
        """The field-path edits of ``base`` this what-if makes (path → value, or → a function
        of the current value), e.g. ``{"nodes[DC-RENO].closed": True}``."""
        out: dict[str, Any] = {}
        if self.demand != 1.0:
            out.update({f"channels[{i}].orders_per_day": _times(self.demand)
                        for i in range(len(base.channels))})
        events = []
        if self.close_node and self.close_days:
            events.append({"kind": "node_outage", "node": self.close_node,
                           **_window(base, self.close_days), "label": "what-if: "
                           f"{self.close_node} closed"})
        elif self.close_node:
            out[f"nodes[{self.close_node}].closed"] = True
        if self.delay_carrier and self.delay_days and self.delay_window:
            events.append({"kind": "carrier_delay", "carrier": self.delay_carrier,
                           "extra_days": int(self.delay_days),
                           **_window(base, self.delay_window),
                           "label": f"what-if: {self.delay_carrier} +{self.delay_days}d"})
        elif self.delay_carrier and self.delay_days:
            days = int(self.delay_days)
            out[f"carriers[{self.delay_carrier}].services"] = lambda services: [
                {**svc, "transit_days": [d + days for d in svc["transit_days"]]}
                for svc in services]
        if events:      # (a scenario without events has no "events" field to edit)
            out["events"] = [*(e.model_dump(mode="json") for e in base.events), *events]
        if self.stock != 1.0:
            out.update({f"nodes[{i}].stock.days_of_supply": _times(self.stock)
                        for i in range(len(base.nodes))})
        out.update({f"policies.{point}": ref for point, ref in self.policies.items()})
        return out


def _days_text(days: tuple[float, float] | None) -> str:
    return f" days {days[0]:g}–{days[1]:g}" if days else ""


def _window(base: Scenario, days: tuple[float, float]) -> dict[str, str]:
    """An event window from days of the run (0 = the first midnight) as ISO date-times."""
    t0 = dt.datetime.combine(base.start_date, dt.time())
    return {k: (t0 + dt.timedelta(days=float(d))).isoformat()
            for k, d in zip(("start", "end"), days, strict=True)}


def _times(factor: float) -> Callable[[float], float]:
    return lambda value: value * factor


def apply_whatif(base: Scenario, whatif: WhatIf, horizon_days: float | None = None,
                 seed: int | None = None) -> tuple[Scenario, list[str]]:
    """``base`` with ``whatif``'s edits, a horizon and a seed (``sim.scenario.edit``); validated
    again like a scenario file.

    Returns the scenario and notes for the user (e.g. a warm-up shortened to fit a short
    horizon). Unknown node or carrier names raise ``ScenarioError`` naming the field path.
    """
    edits: dict[str, Any] = {}
    notes: list[str] = []
    if horizon_days is not None:
        edits["horizon_days"] = float(horizon_days)
        if base.warmup_days >= horizon_days:
            edits["warmup_days"] = round(horizon_days / 2.0, 2)
            notes.append(f"warm-up shortened from {base.warmup_days:g} to "
                         f"{edits['warmup_days']:g} days to fit the {horizon_days:g}-day "
                         "horizon")
    if seed is not None:
        edits["seed"] = int(seed)
    edits.update(whatif.edits(base))
    return edit_scenario(base, edits, f"{base.name} (what-if)"), notes


def scenario_yaml(scenario: Scenario) -> str:
    """``scenario`` (what-ifs, rule sets, horizon and seed applied) as a scenario file that
    ``domlab run`` accepts and the app can upload again: every table inlined."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False,
                          allow_unicode=True, width=100)


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def excel_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per table (openpyxl; categorical columns as text)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame = frame.copy()
            for col in frame.columns:
                if isinstance(frame[col].dtype, pd.CategoricalDtype):
                    frame[col] = frame[col].astype(str)
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return buf.getvalue()


def rules_fingerprint(scenario: Scenario) -> str:
    """Hash of the rule-set files the scenario's policies name (changes when a file does)."""
    h = hashlib.sha256()
    for point, ref in sorted(scenario.policies.model_dump().items()):
        if ref is None:
            continue
        try:
            h.update(f"{point}={ref}:".encode() + resolve_ruleset_path(ref).read_bytes())
        except (RuleError, OSError):
            h.update(f"{point}={ref}:missing".encode())
    return h.hexdigest()[:16]


def run_key(scenario: Scenario, engine: str) -> str:
    """Cache key of a run: scenario content (seed included), rule files and engine."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return f"{scenario.name}:{digest}:{rules_fingerprint(scenario)}:{engine}"


# ---------------------------------------------------------------------------------------------
# Runs


@dataclass
class AppRun:
    """What the app shows of one finished run, as plain picklable data.

    ``view`` is ``RunView.to_dict()``; ``orders``/``shipments``/``events``/``trace`` are the
    run's flat tables (the same columns ``domlab run`` writes to Parquet); ``coverage`` counts
    rule wins per decision point; ``nodes`` and ``flows`` feed the map.
    """

    scenario: Scenario
    run_id: str
    engine: str
    seconds: float
    kpis: dict[str, float]
    breakdowns: dict[str, dict[str, float]]
    view: dict[str, Any]
    orders: pd.DataFrame
    shipments: pd.DataFrame
    events: pd.DataFrame
    trace: pd.DataFrame
    coverage: pd.DataFrame
    nodes: pd.DataFrame
    flows: pd.DataFrame
    run_dir: str | None = None
    #: with the offline optimum: its summary and the where-the-money-is tables
    optimum: dict[str, Any] | None = None

    @property
    def seed(self) -> int:
        """The run's seed."""
        return self.scenario.seed

    def run_view(self, name: str) -> RunView:
        """Chart data of this run under the display name ``name``."""
        return RunView.from_dict({**self.view, "name": name})


def _coverage(run: Any) -> pd.DataFrame:
    """Rule wins and matches per decision point, every rule of each rule set listed."""
    won: dict[str, Counter] = {}
    matched: dict[str, Counter] = {}
    keys: dict[str, str] = {}
    for row in run.trace:
        won.setdefault(row.point, Counter())[row.winner] += 1
        keys.setdefault(row.point, row.ruleset)
        for name in (row.matched.split(",") if row.matched else ()):
            matched.setdefault(row.point, Counter())[name] += 1
    rows = []
    for point, ref in run.scenario.policies.model_dump().items():
        if ref is None:
            continue
        rs = load_ruleset(resolve_ruleset_path(ref))
        w, mt = won.get(point, Counter()), matched.get(point, Counter())
        total = sum(w.values())
        for r in rs.rules:
            rows.append({"point": point, "ruleset": keys.get(point, rs.key), "rule": r.name,
                         "hit_policy": rs.hit_policy, "priority": r.priority, "won": w[r.name],
                         "won_pct": round(100.0 * w[r.name] / total, 2) if total else 0.0,
                         "matched": mt[r.name], "decisions": total})
    return pd.DataFrame(rows, columns=["point", "ruleset", "rule", "hit_policy", "priority",
                                       "won", "won_pct", "matched", "decisions"])


def _map_tables(run: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes with their shipment counts, and shipments per node → customer metro."""
    sc = run.scenario
    node_idx = run.shipments["node"].astype(np.int64)
    counts = np.bincount(node_idx, minlength=len(sc.nodes))
    nodes = pd.DataFrame({
        "name": [n.name for n in sc.nodes], "kind": [n.kind for n in sc.nodes],
        "lat": [n.lat for n in sc.nodes], "lon": [n.lon for n in sc.nodes],
        "closed": [n.closed for n in sc.nodes], "shipments": counts.astype(int),
    })
    region = run.orders["region"][run.shipments["order"].astype(np.int64)]
    pairs = pd.DataFrame({"node": node_idx, "region": region})
    grouped = pairs.groupby(["node", "region"], sort=True).size().reset_index(name="shipments")
    flows = pd.DataFrame({
        "node": [sc.nodes[i].name for i in grouped["node"]],
        "metro": [sc.regions[i].metro for i in grouped["region"]],
        "from_lon": [sc.nodes[i].lon for i in grouped["node"]],
        "from_lat": [sc.nodes[i].lat for i in grouped["node"]],
        "to_lon": [sc.regions[i].lon for i in grouped["region"]],
        "to_lat": [sc.regions[i].lat for i in grouped["region"]],
        "shipments": grouped["shipments"].astype(int),
    })
    return nodes, flows


def _compact(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as categoricals (a run's tables repeat a few names many times)."""
    for col in df.columns:
        if pd.api.types.is_object_dtype(df[col]) or pd.api.types.is_string_dtype(df[col]) \
                or isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(str).where(df[col].notna(), None).astype("category")
    return df


def simulate(scenario: Scenario, engine: str = "compiled",
             save_root: str | Path | None = None, label: str | None = None,
             optimum: bool = False) -> AppRun:
    """Run ``scenario`` (``sim.experiments.runner.run_scenario``) and collect what the app shows.

    With ``save_root`` the run directory is written there as ``domlab run`` writes it (with
    ``view.json``, so ``domlab report`` can render it), and its run-registry row; ``label``
    (e.g. the scenario with its what-ifs) names the run there. With ``optimum`` the run's
    offline optimum is solved too (``sim.experiments.optimum``): its KPIs join the run's, and
    the where-the-money-is tables are kept (and written to the run directory).
    """
    from sim.experiments.runner import run_scenario
    from sim.store.rundir import orders_table, shipments_table, trace_table

    outcome = run_scenario(scenario, engine)
    run = outcome.run
    solved = None
    if optimum:
        from sim.experiments.optimum import add_optimum
        solved = add_optimum(outcome)
    view = RunView.from_run(label or scenario.name, run, outcome.kpis)
    events = run.events.to_arrow([n.name for n in scenario.nodes],
                                 [s.id for s in scenario.skus]).to_pandas()
    nodes, flows = _map_tables(run)
    app_run = AppRun(
        scenario=scenario, run_id=outcome.run_id, engine=engine, seconds=outcome.seconds,
        kpis={k: float(v) for k, v in outcome.kpis["kpis"].items()},
        breakdowns=outcome.kpis.get("breakdowns", {}), view=view.to_dict(),
        orders=_compact(orders_table(run).to_pandas()),
        shipments=_compact(shipments_table(run).to_pandas()), events=_compact(events),
        trace=_compact(trace_table(run).to_pandas()), coverage=_coverage(run),
        nodes=nodes, flows=flows)
    if solved is not None:
        from sim.measure.optimum import where_the_money_is
        app_run.optimum = {"summary": outcome.kpis["optimum"],
                           **where_the_money_is(solved)}
    if save_root is not None:
        app_run.run_dir = str(save_run(outcome, view, Path(save_root), register=True))
        if solved is not None:
            from sim.experiments.optimum import write_optimum
            write_optimum(Path(app_run.run_dir), solved)
    return app_run


# ---------------------------------------------------------------------------------------------
# Comparison


@dataclass
class RunGroup:
    """One compared scenario: its display label and its replications (same order of seeds)."""

    label: str
    runs: list[AppRun]
    notes: list[str] = field(default_factory=list)

    @property
    def first(self) -> AppRun:
        """The first replication (the one charts show)."""
        return self.runs[0]

    def frame(self) -> pd.DataFrame:
        """One row per replication: ``seed`` and every KPI."""
        return pd.DataFrame([{"seed": r.seed, **r.kpis} for r in self.runs])


def run_groups(scenarios: Sequence[Scenario], labels: Sequence[str], reps: int,
               engine: str = "compiled",
               run: Callable[[Scenario, str], AppRun] = simulate,
               progress: Progress | None = None,
               notes: Sequence[list[str]] | None = None) -> list[RunGroup]:
    """Every scenario × ``reps`` replications, one ``RunGroup`` per scenario.

    Runs go through the command line's replication loop (``run_tasks``: rules checked first,
    seeds from ``experiment_seeds`` of each scenario's seed, so every group shares them) in
    this process, one ``run(scenario, engine)`` each (the app passes its cached ``simulate``);
    ``progress(done, total, spec)`` sees labels ``group``, ``label`` and ``rep``.
    """
    specs = [spec for i, (sc, label) in enumerate(zip(scenarios, labels, strict=True))
             for spec in replication_specs(sc, reps, engine, group=i, label=label)]
    runs = run_tasks(specs, InProcessExecutor(), lambda spec: run(spec.scenario, spec.engine),
                     "app", progress)
    notes = list(notes) if notes is not None else [[] for _ in labels]
    return [RunGroup(label, [r for spec, r in zip(specs, runs, strict=True)
                             if spec.labels["group"] == i], list(notes[i]))
            for i, label in enumerate(labels)]


@dataclass
class KpiTable:
    """The KPI comparison: display strings, plus a trend per delta cell for colouring."""

    frame: pd.DataFrame
    trends: pd.DataFrame
    with_ci: bool


def unique_labels(labels: Sequence[str]) -> list[str]:
    """``labels`` with repeats made distinct by a ``(2)``, ``(3)``… suffix."""
    seen: Counter = Counter()
    out = []
    for lab in labels:
        seen[lab] += 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def views_table(views: Sequence[RunView]) -> KpiTable:
    """KPI rows of saved or fresh runs, values and relative deltas vs the first, exactly as the
    HTML report shows them (``reports.html.kpi_rows``)."""
    labels = [v.name for v in views]
    data, trends = [], []
    for r in kpi_rows(views, ALL_KPIS):
        rec = {"KPI": r["kpi"], "Unit": r["unit"]}
        rec.update(dict(zip(labels, r["values"], strict=True)))
        tr = {}
        for lab, d, t in zip(labels[1:], r["deltas"], r["trends"], strict=True):
            rec[f"Δ {lab}"] = d
            tr[f"Δ {lab}"] = t
        data.append(rec)
        trends.append(tr)
    return KpiTable(pd.DataFrame(data), pd.DataFrame(trends, index=range(len(data))), False)


def kpi_table(groups: Sequence[RunGroup]) -> KpiTable:
    """KPI rows of the compared groups with deltas against the first (the baseline).

    One replication each: values and relative deltas exactly as the HTML report shows them
    (``reports.html.kpi_rows``). With replications: each value is the mean and its 95% CI
    half-width (``sim.experiments.comparison.summarize``), each delta the paired difference
    (replications share seeds: common random numbers) with its 95% CI and the verdict of
    ``compare_replications``, as ``domlab compare --reps`` prints them.
    """
    labels = [g.label for g in groups]
    reps = min(len(g.runs) for g in groups)
    if reps < 2:
        return views_table([g.first.run_view(g.label) for g in groups])
    frames = [g.frame() for g in groups]
    base = frames[0]
    summaries = [summarize(f).set_index("kpi") for f in frames]
    comparisons = [compare_replications(base, f).set_index("kpi") for f in frames[1:]]
    data, trends = [], []
    for key, spec in ALL_KPIS.items():
        if key not in base.columns:
            continue
        u = spec.unit
        rec = {"KPI": spec.label, "Unit": u}
        for lab, summary in zip(labels, summaries, strict=True):
            e = summary.loc[key]
            rec[lab] = f"{format_value(e['mean'], u)} {format_half_width(e['half_width'], u)}"
        tr = {}
        for lab, cmp in zip(labels[1:], comparisons, strict=True):
            c = cmp.loc[key]
            delta = format_delta(c["delta"], u)
            rec[f"Δ {lab}"] = delta if c["delta"] == 0 else \
                f"{delta} {format_ci(c['ci_low'], c['ci_high'], u)}"
            tr[f"Δ {lab}"] = c["verdict"]
        data.append(rec)
        trends.append(tr)
    return KpiTable(pd.DataFrame(data), pd.DataFrame(trends, index=range(len(data))), True)


_TREND_CSS = {"better": "color: #1a7f37; font-weight: 600", "worse": "color: #cf222e; "
              "font-weight: 600"}


def style_kpi_table(table: KpiTable) -> Any:
    """A pandas ``Styler`` colouring better deltas green and worse ones red."""
    frame = table.frame

    def colour(col: pd.Series) -> list[str]:
        if col.name not in table.trends.columns:
            return [""] * len(col)
        return [_TREND_CSS.get(t, "") for t in table.trends[col.name]]

    return frame.style.apply(colour, axis=0).hide(axis="index")


# ---------------------------------------------------------------------------------------------
# Rule coverage, map, order timeline


def coverage_table(run: AppRun) -> pd.DataFrame:
    """Rule coverage for display: point, rule, priority, wins, share of decisions, matches
    (blank for a first-hit rule set, which stops at its first match: there "matched" would
    only repeat "won")."""
    cov = run.coverage
    first = cov["hit_policy"] == "first"
    return pd.DataFrame({
        "Point": cov["point"], "Rule": cov["rule"], "Priority": cov["priority"],
        "Won": cov["won"], "Won %": cov["won_pct"].map(lambda x: f"{x:.1f}%"),
        "Matched": cov["matched"].astype("Int64").mask(first),
    })


def never_fired(run: AppRun) -> dict[str, list[str]]:
    """Per decision point, the rules that never matched a decision."""
    cov = run.coverage
    out: dict[str, list[str]] = {}
    for point, rule in cov.loc[cov["matched"] == 0, ["point", "rule"]].itertuples(index=False):
        out.setdefault(point, []).append(rule)
    return out


_KIND_RGB = {"dc": [0, 114, 178], "store": [230, 159, 0], "3pl": [0, 158, 115],
             "dropship": [204, 121, 167]}


#: US state outlines (``reports/data/us_states.geojson``; source and licence in the script
#: ``reports/data/make_us_states.py`` that builds it).
US_STATES = Path(__file__).resolve().parent / "data" / "us_states.geojson"
#: Candidate label offsets (pixels) around a node: above, below, right, left.
_LABEL_OFFSETS = ((0, -16), (0, 16), (14, 0), (-14, 0))


def _label_offsets(nodes: list[dict[str, Any]], zoom: float = 3.2) -> list[dict[str, Any]]:
    """Place node labels so they do not overlap: the busiest node first, each label at the
    first offset (above, below, right, left) whose box is clear at the map's initial zoom, or
    left out (its tooltip still names it)."""
    scale = 256 * 2 ** zoom / 360.0                 # pixels per degree of longitude

    def xy(lon: float, lat: float) -> tuple[float, float]:
        merc = math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))
        return lon * scale, -merc * scale

    placed: list[tuple[float, float, float, float]] = []
    for rec in sorted(nodes, key=lambda r: (-r["shipments"], r["name"])):
        x, y = xy(rec["lon"], rec["lat"])
        w, h = 6.2 * len(rec["name"]), 13.0
        rec["label"], rec["offset"] = "", [0, 0]
        for dx, dy in _LABEL_OFFSETS:
            cx = x + dx + (w / 2 if dx > 0 else -w / 2 if dx < 0 else 0)
            box = (cx - w / 2, y + dy - h / 2, cx + w / 2, y + dy + h / 2)
            if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]
                   for b in placed):
                placed.append(box)
                rec["label"], rec["offset"] = rec["name"], [dx, dy]
                rec["anchor"] = "start" if dx > 0 else "end" if dx < 0 else "middle"
                break
    return nodes


def map_layers_data(run: AppRun, max_flows: int = 400) -> dict[str, Any]:
    """Records for the map layers: ``nodes`` (radius by shipments, non-overlapping labels),
    ``flows`` (arcs, width by shipments; the largest ``max_flows``), ``metros`` and ``states``
    (US state outlines as GeoJSON, since the map has no basemap)."""
    nodes = run.nodes
    top = max(int(nodes["shipments"].max()), 1) if len(nodes) else 1
    node_recs = []
    for r in nodes.itertuples(index=False):
        rgb = [150, 150, 150] if r.closed else _KIND_RGB.get(r.kind, [90, 90, 90])
        node_recs.append({
            "name": r.name, "kind": r.kind, "lat": r.lat, "lon": r.lon,
            "shipments": int(r.shipments), "color": [*rgb, 230],
            "radius": 18_000 + 110_000 * math.sqrt(r.shipments / top),
            "tooltip": f"{r.name} ({r.kind}{', closed' if r.closed else ''}): "
                       f"{int(r.shipments):,} shipments"})
    flows = run.flows.sort_values("shipments", ascending=False, kind="stable").head(max_flows)
    fmax = max(int(flows["shipments"].max()), 1) if len(flows) else 1
    flow_recs = [{"source": [f.from_lon, f.from_lat], "target": [f.to_lon, f.to_lat],
                  "width": 0.5 + 7.5 * f.shipments / fmax, "shipments": int(f.shipments),
                  "tooltip": f"{f.node} → {f.metro}: {int(f.shipments):,} shipments"}
                 for f in flows.itertuples(index=False)]
    metros = [{"name": r.metro, "lat": r.lat, "lon": r.lon,
               "tooltip": f"{r.metro}, {r.state}"} for r in run.scenario.regions]
    return {"nodes": _label_offsets(node_recs), "flows": flow_recs, "metros": metros,
            "states": _us_states()}


@functools.cache
def _us_states() -> dict[str, Any]:
    """The bundled state outlines (read once)."""
    return json.loads(US_STATES.read_text())


def _clock(start: dt.date, hours: float) -> str:
    if hours is None or not math.isfinite(hours):
        return ""
    t = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=float(hours))
    return t.strftime("%a %Y-%m-%d %H:%M")


def _text(col: pd.Series) -> list[str]:
    return ["" if pd.isna(x) else str(x) for x in col]


def order_timeline(run: AppRun, order_id: int) -> dict[str, pd.DataFrame] | None:
    """One order's record, its events, its shipments and its rule decisions; ``None`` if the
    run has no such order."""
    o = run.orders
    row = o[o["order_id"] == order_id]
    if row.empty:
        return None
    start = run.scenario.start_date
    r = row.iloc[0]
    summary = pd.DataFrame([{
        "Order": int(r["order_id"]), "Created": _clock(start, r["t_created"]),
        "Channel": r["channel"], "Customer metro": r["region"],
        "Promise (days)": int(r["promise_days"]), "Lines": int(r["lines"]),
        "Units": int(r["units"]), "Value ($)": format_value(float(r["value"]), "$"),
        "Status": r["status"], "Shipments": int(r["n_shipments"]),
        "Deadline": _clock(start, r["deadline"]), "Delivered": _clock(start, r["delivered_at"]),
    }])
    ev = run.events[run.events["order_id"] == order_id]
    events = pd.DataFrame({
        "Time": [_clock(start, t) for t in ev["t_hours"]],
        "Hour": [f"{t:,.2f}" for t in ev["t_hours"]], "Event": _text(ev["event"]),
        "Node": _text(ev["node"]), "SKU": _text(ev["sku"]),
        "Qty": ev["qty"].to_numpy(),
    })
    sh = run.shipments[run.shipments["order"] == order_id]
    shipments = pd.DataFrame({
        "Shipment": sh["id"].to_numpy(), "Node": _text(sh["node"]),
        "Service": _text(sh["service"]), "Units": sh["units"].to_numpy(),
        "Zone": sh["zone"].to_numpy(), "Miles": [f"{d:,.0f}" for d in sh["distance"]],
        "Ship cost ($)": [format_value(float(x), "$") for x in sh["ship_cost"]],
        "Delivered": [_clock(start, t) for t in sh["delivered"]],
    })
    tr = run.trace[run.trace["order_id"] == order_id]
    decisions = pd.DataFrame({
        "Time": [_clock(start, t) for t in tr["t_hours"]], "Point": _text(tr["point"]),
        "Winner": _text(tr["winner"]), "Matched": _text(tr["matched"]),
        "Subject": _text(tr["subject"]),
    })
    return {"summary": summary, "events": events, "shipments": shipments,
            "decisions": decisions}


# ---------------------------------------------------------------------------------------------
# Past runs


_PAST_COLUMNS = ["label", "scenario", "rules_sourcing", "seed", "engine", "created_at",
                 "total_cost_per_order", "cost_per_order", "on_time_pct",
                 "order_fill_rate_pct", "lead_time_mean_h", "run_id", "run_dir"]


def past_runs(root: str | Path) -> pd.DataFrame:
    """Runs saved under ``root`` (``sim.store.registry.read_registry``: registered runs and run
    directories). Newest first; ``has_view`` marks runs whose directory can be charted (it has
    ``view.json``)."""
    reg = read_registry(Path(root))
    for col in _PAST_COLUMNS:
        if col not in reg.columns:
            reg[col] = None
    reg = reg[_PAST_COLUMNS].copy()
    if len(reg):
        # Newest first, one row per run (a run registered again, or also found as a
        # directory, is the same run: each column from its newest row that has it), values
        # rounded as the KPI table shows them.
        reg = reg.sort_values(["created_at", "run_id"], ascending=False, kind="stable",
                              na_position="last")
        reg = reg.groupby("run_id", sort=False, dropna=False).first().reset_index()
        reg = reg[_PAST_COLUMNS]
        kpis = [c for c in _PAST_COLUMNS if c in KPIS]
        reg[kpis] = reg[kpis].apply(pd.to_numeric, errors="coerce").round(2)
    reg["label"] = reg["label"].where(reg["label"].notna(), reg["scenario"])
    reg["has_view"] = [bool(d) and (Path(d) / VIEW_FILE).is_file() for d in reg["run_dir"]]
    return reg
