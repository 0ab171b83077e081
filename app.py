"""domlab decision dashboard: compare 2–4 DOM scenarios and what-ifs in the browser.

Run with ``make app`` or ``streamlit run app.py``. The page is a thin layer: scenarios load and
validate through ``sim.scenario``, runs go through ``sim.experiments.runner`` (via
``reports.app_data``), KPIs come from ``sim.measure.kpis``, charts from ``reports.charts``.
Nothing here models anything.

``DOMLAB_RUNS_DIR`` (default ``runs``) is where runs are saved when "Save runs" is ticked and
where "Past runs" looks.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st

from reports import app_data as ad
from reports import app_sweep as sw
from reports import drilldown as dd
from reports import summary as sm
from reports.charts import RunView
from reports.interactive import INTERACTIVE_CHARTS
from rules.schema import POINTS, RuleError
from sim.core.model import SimulationError
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_warnings

RUNS_ROOT = Path(os.environ.get("DOMLAB_RUNS_DIR") or ad.ROOT / "runs")
ENGINES = ("compiled", "durable")
NONE = "(none)"
UPLOAD_PREFIX = "upload: "
MAX_SLOTS = 4
_ERRORS = (ScenarioError, RuleError, SimulationError)


# ---------------------------------------------------------------------------------------------
# Cached work (keyed on inputs, so the same inputs rerun instantly)


@st.cache_data(show_spinner=False, max_entries=32)
def load_library_scenario(path: str, mtime: float) -> Scenario:
    """A library scenario file, validated (``mtime`` invalidates the cache on edits)."""
    return load_scenario(path)


@st.cache_data(show_spinner=False, max_entries=16)
def load_upload(data: bytes, filename: str) -> tuple[Scenario | None, str | None]:
    """An uploaded scenario, or the one-line reason it was refused."""
    try:
        return ad.parse_upload(data, filename), None
    except ScenarioError as exc:
        return None, str(exc)


@st.cache_data(show_spinner=False, max_entries=24)
def simulate(key: str, save_root: str | None, _scenario: Scenario, engine: str,
             label: str, optimum: bool = False) -> ad.AppRun:
    """One run of ``_scenario`` (``key`` = ``app_data.run_key``: content, rules and engine),
    saved under ``label`` (the scenario with its what-ifs), with its offline optimum if
    asked."""
    return ad.simulate(_scenario, engine, save_root, label, optimum)


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass
class Settings:
    """Sidebar choices shared by every compared scenario."""

    slots: int
    horizon: float
    seed: int
    reps: int
    engine: str
    save: bool
    uploads: dict[str, Scenario] = field(default_factory=dict)
    optimum: bool = False


@dataclass
class Slot:
    """One compared scenario as configured: base, what-if, resulting scenario or error."""

    base_name: str
    base: Scenario
    whatif: ad.WhatIf
    scenario: Scenario | None
    label: str
    notes: list[str]
    error: str | None = None


#: Query parameters of a shareable link: sidebar settings (widget key, type, allowed range)
#: and library scenarios by slot.
_QP_SETTINGS = {"horizon": ("horizon", int, (1, 60)), "seed": ("seed", int, (0, 2**31 - 1)),
                "reps": ("reps", int, (1, 10)), "engine": ("engine", str, None),
                "n": ("n_slots", int, (2, MAX_SLOTS))}


def apply_query_params(library: Sequence[str]) -> None:
    """On a page's first load, take settings and library scenarios from the URL (a shared
    link: ``?a=omnichannel&b=dc_outage&horizon=14&run=1``); ``run=1`` runs the comparison."""
    if st.session_state.get("qp_applied"):
        return
    st.session_state["qp_applied"] = True
    qp = st.query_params
    for param, (key, cast, bounds) in _QP_SETTINGS.items():
        if param in qp:
            try:
                value = cast(float(qp[param])) if cast is int else qp[param]
            except (ValueError, OverflowError):
                continue                 # a mangled link keeps the defaults
            ok = value in ENGINES if bounds is None else bounds[0] <= value <= bounds[1]
            if ok:
                st.session_state[key] = value
    for i, letter in enumerate("abcd"):
        if qp.get(letter) in library:
            st.session_state[f"base_{i}"] = qp[letter]
    st.session_state["auto_run"] = qp.get("run") == "1"


def share_query_params(slots: Sequence[Slot], settings: Settings, ran: bool) -> None:
    """Write the current settings and library scenarios into the URL, so the link reopens
    this comparison (what-ifs, rule edits and uploads are not in the link)."""
    params = {"n": str(settings.slots), "horizon": f"{settings.horizon:g}",
              "seed": str(settings.seed), "reps": str(settings.reps),
              "engine": settings.engine}
    for letter, slot in zip("abcd", slots, strict=False):
        if not slot.base_name.startswith(UPLOAD_PREFIX):
            params[letter] = slot.base_name
    if ran:
        params["run"] = "1"
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def sidebar() -> Settings:
    """Global settings and the scenario upload."""
    sb = st.sidebar
    sb.header("Settings")
    slots = sb.number_input("Scenarios to compare", min_value=2, max_value=MAX_SLOTS, value=2,
                            step=1, key="n_slots")
    horizon = sb.number_input("Horizon (days)", min_value=1, max_value=60, value=7, step=1,
                              key="horizon", help="Short horizons keep the app fast; the "
                              "library scenarios run 28 days from the command line.")
    seed = sb.number_input("Seed", min_value=0, value=7, step=1, key="seed",
                           help="Every scenario runs on the same seed(s), so they see the same "
                           "orders (common random numbers).")
    reps = sb.number_input("Replications", min_value=1, max_value=10, value=1, step=1,
                           key="reps", help="More than one gives 95% confidence intervals "
                           "(paired by seed), on the seeds `domlab compare --reps` uses.")
    engine = sb.radio("Rule engine", ENGINES, key="engine", horizontal=True,
                      help="compiled: plain-Python closures (fast); durable: durable-rules, "
                      "the reference. Both decide identically.")
    optimum = sb.checkbox("Offline optimum (cost gap)", value=False, key="optimum",
                          help="Also solve each run's best possible fulfilment plan for the "
                          "same orders, stock and capacity (HiGHS; adds seconds per run) and "
                          "show how far the rules are from it, and where the money is.")
    save = sb.checkbox(f"Save runs to {_short(RUNS_ROOT)}/", value=True, key="save",
                       help="Saved runs appear under Past runs and render with "
                       "`domlab report`.")
    sb.divider()
    sb.subheader("Upload scenarios")
    files = sb.file_uploader("Scenario YAML files", type=["yaml", "yml"], key="upload",
                             accept_multiple_files=True,
                             max_upload_size=max(1, ad.MAX_UPLOAD_BYTES // 1_000_000),
                             help="Every uploaded file stays available below (e.g. two vendor "
                             "policy files side by side). Tables ({file: ...}) may only come "
                             "from scenarios/data; `extends:` may name a library scenario.")
    uploads: dict[str, Scenario] = {}
    for up in files or []:
        scenario, error = load_upload(up.getvalue(), up.name)
        if error:
            sb.error(error)
            continue
        name = ad.unique_labels([*uploads, f"{UPLOAD_PREFIX}{scenario.name}"])[-1]
        uploads[name] = scenario
        sb.success(f"{up.name}: scenario '{scenario.name}', {len(scenario.nodes)} nodes, "
                   f"{len(scenario.channels)} channels: pick '{name}' below.")
    return Settings(int(slots), float(horizon), int(seed), int(reps), str(engine), bool(save),
                    uploads, bool(optimum))


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def base_scenarios(settings: Settings) -> dict[str, Scenario]:
    """Library scenarios by file stem, then uploaded ones (or an error per broken file)."""
    out: dict[str, Scenario] = {}
    for stem, path in ad.library_scenarios().items():
        try:
            out[stem] = load_library_scenario(str(path), path.stat().st_mtime)
        except ScenarioError as exc:
            st.error(str(exc))
    out.update(settings.uploads)
    return out


#: The comparison the page opens with: the default network against its cost-first routing.
DEFAULT_COMPARISON = ("omnichannel", "omnichannel_cost_first")


def _day_window(label: str, horizon: float, key: str,
                disabled: bool) -> tuple[float, float] | None:
    """A range of days of the run; the whole horizon means "always" (None)."""
    lo, hi = st.slider(label, 0.0, horizon, (0.0, horizon), 0.5, key=key, disabled=disabled,
                       help="Days of the run (0 = the start date's midnight). Less than the "
                            "whole horizon makes it a dated event, shaded on time charts.")
    return None if disabled or (lo <= 0.0 and hi >= horizon) or hi <= lo else (lo, hi)


def slot_controls(i: int, bases: dict[str, Scenario], settings: Settings) -> Slot:
    """Widgets of compared scenario ``i``: base scenario, what-if edits and rule sets."""
    names = list(bases)
    preferred = [n for n in DEFAULT_COMPARISON if n in bases]
    rest = [n for n in names if n not in preferred]
    order = preferred + rest
    default = names.index(order[i % len(order)]) if names else 0
    letter = "ABCD"[i]
    name = st.selectbox(f"Scenario {letter}", names, index=default, key=f"base_{i}")
    base = bases[name]
    k = f"{i}_{name}"       # widgets reset when the base scenario changes
    with st.expander("What-if", expanded=False):
        demand = st.slider("Demand ×", 0.25, 3.0, 1.0, 0.05, key=f"demand_{k}",
                           help="Scales every channel's orders per day.")
        horizon = float(settings.horizon)
        close = st.selectbox("Close a node", [NONE, *[n.name for n in base.nodes]],
                             key=f"close_{k}")
        close_days = _day_window("closed on days", horizon, f"close_days_{k}_{horizon:g}",
                                 close == NONE)
        carriers = [c.name for c in base.carriers]
        carrier = st.selectbox("Delay a carrier", [NONE, *carriers], key=f"carrier_{k}")
        delay = st.number_input("+ transit days", 0, 10, 0, 1, key=f"delay_{k}",
                                disabled=carrier == NONE)
        delay_days = _day_window("for parcels collected on days", horizon,
                                 f"delay_days_{k}_{horizon:g}", carrier == NONE)
        stock = st.slider("Stock ×", 0.0, 3.0, 1.0, 0.05, key=f"stock_{k}",
                          help="Scales every node's opening days of supply.")
    policies = {}
    current = base.policies.model_dump()
    with st.expander("Rule sets", expanded=False):
        for point in POINTS:
            options = ad.library_rulesets(point)
            ref = current.get(point)
            if ref is not None and ref not in options:
                options.append(ref)
            if point not in ("sourcing", "split", "carrier", "reorder"):
                options = [NONE, *options]
            choice = st.selectbox(point, options, index=options.index(ref or NONE),
                                  key=f"rules_{k}_{point}")
            chosen = None if choice == NONE else choice
            if chosen != ref:
                policies[point] = chosen
    whatif = ad.WhatIf(demand=float(demand), close_node=None if close == NONE else close,
                       delay_carrier=None if carrier == NONE else carrier,
                       delay_days=int(delay) if carrier != NONE else 0, stock=float(stock),
                       policies=policies, close_days=close_days, delay_window=delay_days)
    what = whatif.describe(base)
    label = f"{base.name} ({what})" if what else base.name
    try:
        scenario, notes = ad.apply_whatif(base, whatif, settings.horizon, settings.seed)
    except ScenarioError as exc:
        st.error(str(exc))
        return Slot(name, base, whatif, None, label, [], str(exc))
    window = f"KPIs on days {scenario.warmup_days:g}–{scenario.horizon_days:g}"
    per_day = sum(c.orders_per_day for c in scenario.channels)
    st.caption(f"Runs as “{label}”: {len(scenario.nodes)} nodes, {per_day:,.0f} orders/day; "
               f"{window}. "
               + " ".join(n.capitalize() + "." for n in notes))
    for warning in scenario_warnings(scenario):
        st.warning(warning[0].upper() + warning[1:] + ".")
    st.download_button("Scenario YAML", ad.scenario_yaml(scenario), f"{scenario.name}.yaml",
                       "application/x-yaml", key=f"yaml_{i}", on_click="ignore", icon="⬇",
                       help="This configuration (base, what-ifs, rule sets, horizon, seed) as "
                       "a scenario file: `domlab run` accepts it and it can be uploaded here.")
    return Slot(name, base, whatif, scenario, label, notes)


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Result:
    """A finished comparison kept in the session."""

    config: str
    groups: list[ad.RunGroup]
    engine: str
    seconds: float


def config_key(slots: Sequence[Slot], settings: Settings) -> str:
    """Identity of the current inputs (to tell when shown results are stale)."""
    keys = [ad.run_key(s.scenario, settings.engine) if s.scenario else "?" for s in slots]
    return "|".join([*keys, f"reps={settings.reps}", f"optimum={settings.optimum}",
                     *[s.label for s in slots]])


def run_all(slots: Sequence[Slot], settings: Settings) -> Result | None:
    """Run every slot × replication with a progress bar; ``None`` (error shown) on failure."""
    labels = ad.unique_labels([s.label for s in slots])
    total = len(slots) * settings.reps
    bar = st.progress(0.0, text="Starting…")
    save_root = str(RUNS_ROOT) if settings.save else None

    def unseeded(scenario: Scenario) -> str:       # replications differ only by seed
        return ad.run_key(scenario.model_copy(update={"seed": 0}), settings.engine)

    names = {unseeded(s.scenario): s.label for s in slots}

    def run(scenario: Scenario, engine: str) -> ad.AppRun:
        label = names.get(unseeded(scenario), scenario.name)
        return simulate(ad.run_key(scenario, engine), save_root, scenario, engine, label,
                        settings.optimum)

    def progress(done: int, total: int, spec) -> None:
        bar.progress(done / total, text=f"{spec.labels['label']}: replication "
                     f"{spec.labels['rep'] + 1}/{settings.reps} (seed {spec.scenario.seed}) "
                     f"— run {done + 1} of {total}")

    t0 = time.perf_counter()
    try:
        groups = ad.run_groups([s.scenario for s in slots], labels, settings.reps,
                               settings.engine, run, progress, [s.notes for s in slots])
    except _ERRORS as exc:
        bar.empty()
        st.error(str(exc))
        return None
    secs = time.perf_counter() - t0
    bar.progress(1.0, text=f"Done: {total} run{'s' * (total > 1)} in {secs:.1f} s")
    return Result(config_key(slots, settings), groups, settings.engine, secs)


# ---------------------------------------------------------------------------------------------
# Results


_VERDICT_ICON = {"better": "🟢 better", "worse": "🔴 worse", "changed": "changed",
                 "no significant difference": "⚪ no significant difference",
                 sm.SINGLE_RUN: "one run: not tested"}


def show_summary(result: Result) -> None:
    """The executive summary: headline KPI cards per compared scenario and what changed."""
    groups = result.groups
    st.subheader("Summary")
    cards = sm.kpi_cards(groups)
    for g in groups[1:]:
        mine = [c for c in cards if c["scenario"] == g.label]
        st.markdown(f"**{g.label}** vs **{groups[0].label}**")
        per_row = 3
        cols = [col for _ in range(0, len(mine), per_row) for col in st.columns(per_row)]
        for col, c in zip(cols, mine, strict=False):
            tested = c["verdict"] not in (sm.SINGLE_RUN, "no significant difference")
            colour = ("off" if not tested or c["better"] not in ("higher", "lower")
                      else "normal" if c["better"] == "higher" else "inverse")
            col.metric(c["label"], c["value"], c["delta"], delta_color=colour, border=True,
                       delta_description=_VERDICT_ICON.get(c["verdict"], c["verdict"]))
    st.markdown(sm.headline_text(groups))


def show_kpis(result: Result) -> None:
    """The KPI table with deltas (and CIs with replications), and its exports."""
    groups = result.groups
    table = ad.kpi_table(groups)
    st.subheader("Key performance indicators")
    base = groups[0].label
    if table.with_ci:
        n = len(groups[0].runs)
        st.caption(f"Mean ± 95% CI half-width over {n} replications (seeds "
                   f"{', '.join(str(r.seed) for r in groups[0].runs)}); Δ = paired difference vs "
                   f"**{base}** with its 95% CI. Green/red: significantly better/worse.")
    else:
        st.caption(f"Δ = change vs **{base}** (the baseline). All scenarios ran on seed "
                   f"{groups[0].first.seed}: the same orders. One run per scenario gives no "
                   "confidence interval, so no change is marked better or worse: set "
                   "Replications to 2 or more to test changes against noise.")
    st.table(ad.style_kpi_table(table))
    export = sm.kpi_export(groups)
    c1, c2, c3 = st.columns([1, 1, 3])
    c1.download_button("KPI table (CSV)", export.to_csv(index=False), "kpis.csv", "text/csv",
                       key="kpis_csv", on_click="ignore", icon="⬇")
    c2.download_button("KPI table (Excel)", ad.excel_bytes({"KPIs": export}), "kpis.xlsx",
                       ad.XLSX_MIME, key="kpis_xlsx", on_click="ignore", icon="⬇")
    with c3.popover("Per-order tables"):
        g = st.selectbox("Scenario", [x.label for x in groups], key="orders_export_pick")
        run = groups[[x.label for x in groups].index(g)].first
        st.download_button("Orders (CSV)", run.orders.to_csv(index=False), "orders.csv",
                           "text/csv", key="orders_csv", on_click="ignore", icon="⬇")
        st.download_button("Shipments (CSV)", run.shipments.to_csv(index=False),
                           "shipments.csv", "text/csv", key="shipments_csv", on_click="ignore",
                           icon="⬇")
        if st.button("Prepare Excel workbook", key="orders_xlsx_prepare"):
            st.session_state["orders_xlsx"] = (g, ad.excel_bytes(
                {"orders": run.orders, "shipments": run.shipments}))
        ready = st.session_state.get("orders_xlsx")
        if ready and ready[0] == g:
            st.download_button("Orders and shipments (Excel)", ready[1], "orders.xlsx",
                               ad.XLSX_MIME, key="orders_xlsx", on_click="ignore", icon="⬇")
    rows = []
    for g in groups:
        for r in g.runs:
            rows.append(f"**{g.label}**: run `{r.run_id}` (seed {r.seed}, {r.engine}, "
                        f"{r.seconds:.1f} s)" + (f" saved to `{_short(Path(r.run_dir))}`"
                                                 if r.run_dir else ""))
    with st.expander("Runs"):
        st.markdown("\n".join(f"- {x}" for x in rows))
        dirs = [g.first.run_dir for g in groups]
        if all(dirs):
            st.code("domlab report " + " ".join(_short(Path(d)) for d in dirs)
                    + " --out out/report", language="sh")


#: Interactive chart rows on the Compare tab.
INTERACTIVE_ROWS = (("Cost per order", "Service levels"), ("Lead time", "Inventory on hand"),
                    ("Node mix", "Carrier service mix"), ("Node utilisation",))


def show_interactive_charts(views: Sequence[RunView], reps: dict[str, Any] | None = None,
                            where: str = "compare") -> None:
    """The comparison charts with tooltips, zoom and legend selection; CIs with replications
    (``reps``: scenario → one row of KPIs per replication)."""
    st.subheader("Charts")
    several = bool(reps) and min(len(r) for r in reps.values()) > 1
    st.caption("Hover for values; click a legend entry to highlight it; scroll or drag to zoom "
               "the lead-time and inventory charts. "
               + ("Error bars: 95% CI over replications; distributions show the first "
                  "replication." if several else "One run per scenario: no error bars."))
    for row in INTERACTIVE_ROWS:
        for col, title in zip(st.columns(len(row) if len(row) > 1 else 2), row, strict=False):
            with col:
                st.altair_chart(INTERACTIVE_CHARTS[title](views, reps), width="stretch",
                                key=f"{where}_chart_{title}")


def show_optimum(result: Result) -> None:
    """How far each scenario's rules are from the offline optimum, and where the money is."""
    groups = [g for g in result.groups if g.first.optimum is not None]
    if not groups:
        return
    st.subheader("Where the money is")
    st.caption("The offline optimum plans the same shipped orders with the same stock as it "
               "arrived, pick capacity and rate cards, keeping every promise the rules kept "
               "(HiGHS, daily windows; the gap uses the achievable MILP plan, the LP bound is "
               "below it). Saving = what the rules paid − what the optimum pays, by the rule "
               "that decided, node and service.")
    tabs = st.tabs([g.label for g in groups])
    for tab, g in zip(tabs, groups, strict=True):
        with tab:
            opt, k = g.first.optimum, g.first.kpis
            c = st.columns(3)
            c[0].metric("Gap to optimal", f"{k['cost_gap_to_optimal_pct']:.2f} %",
                        border=True)
            c[1].metric("Optimal fulfilment cost per order",
                        f"${k['cost_optimal_per_order']:,.2f}",
                        f"rules ${k['cost_per_order']:,.2f}", delta_color="off", border=True)
            c[2].metric("LP lower bound per order",
                        f"${opt['summary'].get('lp_bound_per_order', float('nan')):,.2f}",
                        border=True)
            for name, title in (("by_sourcing_rule", "By sourcing rule"),
                                ("by_node", "By node the rules used"),
                                ("moves", "Moves (rules' node → optimal node)"),
                                ("top_orders", "The 20 most expensive differing orders")):
                if name in opt and len(opt[name]):
                    st.markdown(f"**{title}**")
                    st.dataframe(opt[name].round(2), hide_index=True)


def show_breakdowns(result: Result) -> None:
    """KPIs by channel, region, node and promise, scenarios side by side."""
    st.subheader("Breakdowns")
    by = st.radio("By", list(dd.BREAKDOWNS), horizontal=True, key="breakdown_by",
                  format_func=lambda k: dd.BREAKDOWNS[k])
    st.caption("Orders created in the KPI window of each scenario's first replication; node: "
               "the shipments those orders made.")
    st.dataframe(dd.breakdowns_side_by_side(result.groups, by), hide_index=True)


#: Drill-down rows listed (the caption gives the full count).
_DRILL_ROWS = 500
_DRILLS = {"changed": "Decision changed vs baseline", "late": "Late orders",
           "backordered": "Backordered orders", "node": "A node's orders"}


def show_drilldown(result: Result) -> None:
    """The orders behind the numbers; selecting one shows its timeline in every scenario."""
    st.subheader("Drill-down")
    groups = result.groups
    labels = [g.label for g in groups]
    c1, c2, c3 = st.columns(3)
    what = c1.selectbox("Show", list(_DRILLS), format_func=_DRILLS.get, key="drill_what")
    choices = labels[1:] if what == "changed" else labels
    pick = c2.selectbox("Scenario", choices, key="drill_scenario")
    run = groups[labels.index(pick)].first
    if what == "changed":
        table = dd.changed_orders(groups[0].first, run)
        st.caption(f"Orders {pick} sourced, split or shipped differently from {labels[0]} "
                   "(node/carrier/service per parcel), largest change in shipping + handling "
                   "first.")
    elif what == "late":
        table = dd.late_orders(run)
    elif what == "backordered":
        table = dd.backordered_orders(run)
    else:
        node = c3.selectbox("Node", [n.name for n in run.scenario.nodes], key="drill_node")
        table = dd.node_orders(run, node)
    shown = table.head(_DRILL_ROWS)
    st.caption(f"{len(table):,} orders" + (f" (the first {_DRILL_ROWS} listed)"
                                          if len(table) > _DRILL_ROWS else "")
               + ". Select a row to see its timeline.")
    table = shown
    state = st.dataframe(table, hide_index=True, on_select="rerun",
                         selection_mode="single-row", key=f"drill_table_{what}_{pick}")
    rows = state.selection.rows if state is not None else []
    if rows:
        order_id = int(table["order_id"].iloc[rows[0]])
        st.markdown(f"#### Order {order_id}")
        render_timeline(result, order_id)


def show_sweep(slots: Sequence[Slot], settings: Settings) -> None:
    """A grid of 1–3 parameters over Scenario A as configured, each point on the same seed;
    points are cached, so a cancelled sweep resumes where it stopped."""
    st.subheader("Sweep")
    base = slots[0].scenario
    if base is None:
        st.info("Scenario A has an error: fix it to sweep it.")
        return
    st.caption(f"Varies **{slots[0].label}** (Scenario A as configured, {settings.horizon:g} "
               f"days, seed {settings.seed}). Parameters are field paths as in `domlab sweep` "
               "files (`nodes[DC-RENO].capacity.pickers`, `policies.sourcing`, "
               "`rules.split[split-in-two].then.max_shipments`); values comma-separated. "
               f"At most {sw.MAX_POINTS} points.")
    rows = st.data_editor(pd.DataFrame(sw.DEFAULT_GRID), num_rows="dynamic", hide_index=True,
                          key="sweep_grid", width="stretch")
    try:
        grid = sw.parse_grid(rows.to_dict("records"))
        with tempfile.TemporaryDirectory(prefix="domlab-sweep-") as tmp:
            points = sw.grid_scenarios(base, grid, Path(tmp))
    except ScenarioError as exc:
        st.error(str(exc))
        return
    c1, c2 = st.columns([1, 4])
    start = c1.button(f"Run sweep ({len(points)} points)", type="primary", key="sweep_run")
    c2.button("Cancel", key="sweep_cancel",
              help="Stops after the point running now; finished points stay (and are cached).")
    ident = (ad.run_key(base, settings.engine), json.dumps(grid, sort_keys=True, default=str))
    state = st.session_state.get("sweep")
    if start:
        state = st.session_state["sweep"] = {"id": ident, "params": list(grid), "done": [],
                                             "total": len(points)}
        bar = st.progress(0.0, text="Starting…")
        save_root = str(RUNS_ROOT) if settings.save else None
        for k, (params, sc) in enumerate(points):
            text = ", ".join(f"{p}={v}" for p, v in params.items())
            bar.progress(k / len(points), text=f"Point {k + 1} of {len(points)}: {text}")
            run = simulate(ad.run_key(sc, settings.engine), save_root, sc, settings.engine,
                           f"{slots[0].label} [{text}]")
            state["done"].append((params, run.kpis))
        bar.progress(1.0, text=f"Done: {len(points)} points")
    if not state or state["id"] != ident:
        return
    if len(state["done"]) < state["total"]:
        st.warning(f"Cancelled after {len(state['done'])} of {state['total']} points: run "
                   "again to finish (finished points are cached).")
    table = sw.pareto_points(state["done"])
    if table.empty:
        return
    st.altair_chart(sw.pareto_chart(table, state["params"]), width="stretch",
                    key="sweep_pareto")
    cols = [*state["params"], "pareto", "cost_per_order", "total_cost_per_order",
            "on_time_pct", "lead_time_mean_h", "order_fill_rate_pct", "node_utilisation_pct"]
    st.dataframe(table[cols].round(2), hide_index=True)
    st.download_button("Sweep points (CSV)", table.to_csv(index=False), "sweep.csv",
                       "text/csv", key="sweep_csv", on_click="ignore", icon="⬇")


def show_map(result: Result) -> None:
    """Nodes (sized by shipments) and node → customer-metro flows, on a map without basemap."""
    labels = [g.label for g in result.groups]
    pick = st.radio("Scenario", labels, horizontal=True, key="map_scenario")
    run = result.groups[labels.index(pick)].first
    data = ad.map_layers_data(run)
    layers = [
        pdk.Layer("GeoJsonLayer", data["states"], stroked=True, filled=True,
                  get_fill_color=[245, 245, 242, 255], get_line_color=[170, 170, 170, 255],
                  line_width_min_pixels=1, pickable=False),
        pdk.Layer("ArcLayer", data["flows"], get_source_position="source",
                  get_target_position="target", get_width="width",
                  get_source_color=[0, 114, 178, 150], get_target_color=[230, 159, 0, 150],
                  pickable=True, auto_highlight=True),
        pdk.Layer("ScatterplotLayer", data["metros"], get_position=["lon", "lat"],
                  get_radius=12_000, get_fill_color=[90, 90, 90, 160], pickable=True),
        pdk.Layer("ScatterplotLayer", data["nodes"], get_position=["lon", "lat"],
                  get_radius="radius", get_fill_color="color", stroked=True,
                  get_line_color=[255, 255, 255], line_width_min_pixels=1, pickable=True),
        pdk.Layer("TextLayer", [n for n in data["nodes"] if n["label"]],
                  get_position=["lon", "lat"], get_text="label", get_size=11,
                  get_color=[30, 30, 30], get_pixel_offset="offset",
                  get_text_anchor="anchor", get_alignment_baseline="'center'"),
    ]
    deck = pdk.Deck(layers=layers, map_provider=None,     # no basemap: nothing from the network
                    initial_view_state=pdk.ViewState(latitude=38.5, longitude=-96.5, zoom=3.2),
                    tooltip={"text": "{tooltip}"})
    st.pydeck_chart(deck, height=520)
    st.caption("Circles: nodes, area ∝ shipments (blue DC, orange store, green 3PL, grey "
               "closed); grey dots: customer metros; arcs: node → metro, width ∝ shipments "
               "(all shipments of the run). State outlines: US Census Bureau cartographic "
               "boundaries (public domain) via the TopoJSON US Atlas. Labels that would "
               "overlap are left out; hover a node for its name.")
    nodes = run.nodes.assign(share=lambda d: (100 * d["shipments"] / max(d["shipments"].sum(),
                                                                            1)).round(1))
    st.dataframe(nodes.rename(columns={"share": "share %"}), hide_index=True)


def show_coverage(result: Result) -> None:
    """How often each rule won per decision point, per scenario; rules that never fired."""
    st.subheader("Rule coverage")
    st.caption("Won: decisions the rule decided; Matched: decisions whose conditions it met "
               "(won or not), known only for collect/merge rule sets: a first-hit rule set "
               "stops at the first match, so its Matched is blank. From the run's decision "
               "trace.")
    tabs = st.tabs([g.label for g in result.groups])
    for tab, g in zip(tabs, result.groups, strict=True):
        with tab:
            run = g.first
            st.table(ad.coverage_table(run), hide_index=True)
            never = ad.never_fired(run)
            if never:
                st.warning("Never fired: " + "; ".join(f"{p}: {', '.join(r)}"
                                                       for p, r in never.items()))
            else:
                st.caption("Every rule matched at least one decision.")


def show_timeline(result: Result) -> None:
    """One order's events, shipments and decisions in every compared scenario."""
    st.subheader("Order timeline")
    n = len(result.groups[0].first.orders)
    order_id = st.number_input(f"Order id (0–{n - 1:,}; the same id is the same order in "
                               "every scenario)", min_value=0, value=None, step=1,
                               key="order_id", placeholder="e.g. 42")
    if order_id is None:
        st.caption("Enter an order id to see its events.")
        return
    render_timeline(result, int(order_id))


def render_timeline(result: Result, order_id: int) -> None:
    """Order ``order_id``'s summary, events, shipments and decisions, one tab per scenario."""
    tabs = st.tabs([g.label for g in result.groups])
    for tab, g in zip(tabs, result.groups, strict=True):
        with tab:
            tl = ad.order_timeline(g.first, int(order_id))
            if tl is None:
                st.warning(f"No order {int(order_id)} in {g.label}.")
                continue
            st.table(tl["summary"], hide_index=True)
            st.markdown("**Events**")
            st.table(tl["events"], hide_index=True)
            if len(tl["shipments"]):
                st.markdown("**Shipments**")
                st.table(tl["shipments"], hide_index=True)
            st.markdown("**Rule decisions**")
            st.table(tl["decisions"], hide_index=True)


def show_past_runs() -> None:
    """Runs saved under the runs root; chart up to four of them side by side."""
    st.subheader("Past runs")
    st.caption(f"From {_short(RUNS_ROOT)}/ (run registry and run directories)")
    runs = ad.past_runs(RUNS_ROOT)
    if runs.empty:
        st.info("No saved runs yet: run a comparison with 'Save runs' ticked, or "
                "`domlab run scenarios/omnichannel.yaml`.")
        return
    st.dataframe(runs.drop(columns=["has_view"]), hide_index=True)
    chartable = runs[runs["has_view"]]
    options = list(dict.fromkeys(chartable["run_id"]))
    picked = st.multiselect("Compare saved runs (up to 4; the first is the baseline)", options,
                            max_selections=MAX_SLOTS, key="past_pick")
    if not picked:
        return
    from reports.build import load_view, report_for_runs

    dirs = [Path(chartable.loc[chartable["run_id"] == rid, "run_dir"].iloc[0]) for rid in picked]
    views = [load_view(d) for d in dirs]
    names = ad.unique_labels([v.name for v in views])
    views = [RunView.from_dict({**v.to_dict(), "name": n}) for v, n in zip(views, names,
                                                                          strict=True)]
    st.table(ad.style_kpi_table(ad.views_table(views)))
    show_interactive_charts(views, where="past")
    if st.button("Build HTML report", key="past_report"):
        with tempfile.TemporaryDirectory(prefix="domlab-report-") as tmp:
            html = report_for_runs(dirs, Path(tmp), " vs ".join(names))
            st.session_state["past_html"] = (tuple(picked), html.read_bytes())
    built = st.session_state.get("past_html")
    if built and built[0] == tuple(picked):    # stays after a download (no rerun on click)
        st.download_button("Download report.html", built[1], "report.html", "text/html",
                           key="past_download", on_click="ignore", icon="⬇")


def main() -> None:
    """The page."""
    st.set_page_config(page_title="domlab decision dashboard", layout="wide")
    st.title("domlab decision dashboard")
    st.caption("Compare scenarios and what-ifs of a distributed order management network: "
               "same orders, different rules and conditions.")
    apply_query_params(list(ad.library_scenarios()))
    settings = sidebar()
    bases = base_scenarios(settings)
    if not bases:
        st.error("No scenarios found in scenarios/.")
        return
    cols = st.columns(settings.slots)
    slots = []
    for i, col in enumerate(cols):
        with col:
            slots.append(slot_controls(i, bases, settings))
    ready = all(s.scenario is not None for s in slots)
    # The button and its progress bar sit in the sidebar, so both stay in view however tall
    # the scenario columns are.
    clicked = st.sidebar.button("Run / compare", type="primary", key="run", disabled=not ready,
                                width="stretch")
    status = st.sidebar.container()
    if not clicked and ready and st.session_state.pop("auto_run", False):
        clicked = True           # a shared link with run=1 (runs are cached: instant again)
    tabs = st.tabs(["Compare", "Breakdowns", "Drill-down", "Map & flows", "Rule coverage",
                    "Order timeline", "Sweep", "Past runs"], key="view")
    if clicked:
        with status:
            fresh = run_all(slots, settings)
        if fresh is not None:
            st.session_state["result"] = fresh
    result: Result | None = st.session_state.get("result")
    share_query_params(slots, settings, result is not None)
    if result is None:
        for tab in tabs[:6]:
            with tab:
                st.info("Choose scenarios above and click **Run / compare** (sidebar).")
    else:
        with status:
            if not clicked:
                n = sum(len(g.runs) for g in result.groups)
                st.caption(f"Showing the last comparison: {n} run{'s' * (n > 1)} "
                           f"({result.engine} engine).")
            if ready and result.config != config_key(slots, settings):
                st.info("Inputs changed since these results ran: click **Run / compare** to "
                        "update.")
        with tabs[0]:
            show_summary(result)
            show_kpis(result)
            show_optimum(result)
            show_interactive_charts([g.first.run_view(g.label) for g in result.groups],
                                    {g.label: g.frame() for g in result.groups})
        with tabs[1]:
            show_breakdowns(result)
        with tabs[2]:
            show_drilldown(result)
        with tabs[3]:
            show_map(result)
        with tabs[4]:
            show_coverage(result)
        with tabs[5]:
            show_timeline(result)
    with tabs[6]:
        show_sweep(slots, settings)
    with tabs[7]:
        show_past_runs()


main()
