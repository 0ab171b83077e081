"""Order history: a planner's own orders, checked against a scenario, to replay as demand.

Column contract. A CSV (UTF-8) or Parquet file, one row per order line; column names are
matched without case or surrounding spaces, other columns are ignored:

=============== ======== =====================================================================
column          required meaning
=============== ======== =====================================================================
order_id        yes      text; the rows of one order share it
timestamp       yes      ISO-8601 date-time (``2026-01-05T14:30:00``; a date alone is 00:00),
                         the scenario's local time: no UTC offset
channel         yes      a channel name of the scenario
customer_id     no       text; blank = a new customer for this order. Rows with the same id
                         are one customer (repeat orders, consolidation), across channels
zip             one of   US ZIP ``#####`` (leading zeros kept; ZIP+4 ``#####-####`` reads as
lat, lon        these    its first five digits), resolved offline; or decimal degrees. A row
                         with a ZIP uses it (lat/lon then ignored)
sku             yes      a SKU id of the scenario
quantity        yes      a whole number ≥ 1 (``2`` or ``2.0``), at most 1,000,000
service         one of   a service-level name of the row's channel
promise_date    these    ISO date, 0–30 days after the order date; the promise in days is the
                         difference. With both, they must agree
tier            no       customer tier (default ``standard``): one of the channels' tier mixes
                         or ``brokering.tier_rank``
=============== ======== =====================================================================

Rows with the same ``order_id`` form one order and must agree on timestamp, channel,
customer_id, destination, service/promise and tier (else the disagreeing row is bad); a SKU
listed twice in an order is one line with the units added up.

Checking. Every row is checked, in the horizon or not. Each problem is reported as
``FILE: row N: COLUMN: message``, N being the line in a CSV file (as an editor numbers it: the
header is line 1 unless ``#`` comment lines precede it) or the 1-based data row of a Parquet
file. A file with bad rows is refused (``ScenarioError``, at most ``MAX_LISTED`` problems
listed) unless ``skip_bad_rows``: then every order with a bad row is dropped and counted. A
missing column, a file that is not UTF-8 or cannot be read are errors naming the file.

What is replayed. The orders of the replayed channels (``OrderHistory.channels``, or every
channel the file names) whose timestamp falls in [start_date 00:00, start + horizon_days);
orders outside it, and orders of other channels, are left out and counted, not errors (but
a file that leaves no order to replay is: usually a start_date that misses the file's dates).
A destination becomes the nearest scenario region (``sim.scenario.places``). Orders are sorted by
timestamp, then order_id, so two files with the same orders replay identically.

``load_history`` parses a file for a scenario once per process (an LRU keyed by path, content
digest and the scenario fields the check reads); ``attach_history`` is what the loader calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sim.scenario.loader import skip_bad_rows_override
from sim.scenario.models import Region, Scenario, ScenarioError
from sim.scenario.places import ZipError, nearest_regions, zip_location
from sim.scenario.tabular import Problem, Table, read_bytes, read_table

__all__ = ["COLUMNS", "MAX_LISTED", "HistoryOrder", "HistoryCounts", "History",
           "load_history", "replayed_history", "attach_history", "skip_bad_rows_override",
           "file_digest"]

#: Every column of the contract, in the order a normalised file writes them.
COLUMNS = ("order_id", "timestamp", "channel", "customer_id", "zip", "lat", "lon", "sku",
           "quantity", "service", "promise_date", "tier")
_REQUIRED = ("order_id", "timestamp", "channel", "sku", "quantity")
#: Problems listed in a refusal; the rest are counted.
MAX_LISTED = 20
_MAX_PROMISE_DAYS = 30
_MAX_QUANTITY = 1_000_000
_CACHE_SIZE = 4


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


class _Bad(ValueError):
    """A cell's problem (the message, without file, row and column)."""


@dataclass(frozen=True)
class HistoryOrder:
    """One replayed order: when, where from and to, what; indices refer to the scenario."""

    order_id: str
    timestamp: dt.datetime
    t: float                    # hours since start_date 00:00
    channel: int                # index into scenario.channels
    service: int | None         # index into the channel's service_levels; None: no level has
    promise_days: int           # this promise (replayed as ``promise_<N>d``)
    customer: str | None        # None: a new customer
    zip: str | None
    lat: float
    lon: float
    region: int                 # nearest scenario region
    tier: str
    skus: tuple[int, ...]       # index into scenario.skus, one per line
    qtys: tuple[int, ...]


@dataclass(frozen=True)
class HistoryCounts:
    """Rows and orders read, kept, and left out by cause (bad, other channel, out of horizon)."""

    rows: int
    orders: int
    bad_rows: int
    dropped_orders: int          # orders with a bad row (dropped when skip_bad_rows)
    dropped_rows: int            # every row of those orders
    other_channel_orders: int
    other_channel_rows: int
    out_of_horizon_orders: int
    out_of_horizon_rows: int
    kept_orders: int
    kept_rows: int


@dataclass(frozen=True)
class History:
    """A checked order-history file: the orders to replay (sorted by time, then order_id),
    the replayed channels, every problem found and the counts."""

    path: Path
    digest: str
    numbering: str               # what a row number counts: "line" (CSV) or "data row"
    window: tuple[dt.datetime, dt.datetime]          # the horizon: [start, end)
    orders: tuple[HistoryOrder, ...]
    channels: frozenset[int]
    channel_names: tuple[str, ...]
    problems: tuple[Problem, ...]
    counts: HistoryCounts

    def refusal(self) -> str:
        """The error for a file with bad rows: a count, then one line per problem."""
        c = self.counts
        lines = [f"{self.path}: {_n(c.bad_rows, 'bad row')} of {c.rows:,} (row = "
                 f"{self.numbering} number); fix them, or drop them and "
                 "their orders with --skip-bad-rows (order_history.skip_bad_rows: true)"]
        for p in self.problems[:MAX_LISTED]:
            where = f"row {p.row}: {p.column}: " if p.column else f"row {p.row}: "
            lines.append(f"{self.path}: {where}{p.message}")
        if len(self.problems) > MAX_LISTED:
            lines.append(f"… and {len(self.problems) - MAX_LISTED:,} more")
        return "\n".join(lines)

    def check(self, skip_bad_rows: bool) -> None:
        """Refuse the file (``ScenarioError``) if it has bad rows and they may not be skipped,
        or if no order is left to replay (a start date that misses the file's dates, say)."""
        if self.problems and not skip_bad_rows:
            raise ScenarioError(self.refusal())
        if not self.orders:
            c, (start, end) = self.counts, self.window
            raise ScenarioError(
                f"{self.path}: no order to replay in the horizon [{start:%Y-%m-%d %H:%M}, "
                f"{end:%Y-%m-%d %H:%M}): of {_n(c.orders, 'order')}, {c.dropped_orders:,} "
                f"had bad rows, {c.out_of_horizon_orders:,} fall outside the horizon and "
                f"{c.other_channel_orders:,} are of other channels; check start_date and "
                "horizon_days")

    def summary(self) -> str:
        """One line: what is replayed and what was left out, for the command line."""
        c = self.counts
        names = ", ".join(self.channel_names[i] for i in sorted(self.channels)) or "none"
        text = (f"order history {self.path.name}: {_n(c.kept_orders, 'order')} "
                f"({_n(c.kept_rows, 'row')}) replayed for {names}")
        if c.bad_rows:
            text += (f"; {_n(c.bad_rows, 'bad row')} skipped ({_n(c.dropped_orders, 'order')}, "
                     f"{_n(c.dropped_rows, 'row')} dropped)")
        if c.out_of_horizon_orders:
            text += f"; {_n(c.out_of_horizon_orders, 'order')} outside the horizon left out"
        if c.other_channel_orders:
            text += f"; {_n(c.other_channel_orders, 'order')} of other channels left out"
        return text

    def meta(self) -> dict[str, Any]:
        """The counts for a run's ``meta.json``."""
        return {"file": str(self.path), "digest": self.digest, **vars(self.counts)}


# -------------------------------------------------------------------------------------------
# What the check reads of a scenario (hashable: part of the cache key)


@dataclass(frozen=True)
class _Context:
    start: dt.datetime
    horizon_h: float
    skus: tuple[str, ...]
    channels: tuple[str, ...]
    services: tuple[tuple[tuple[str, int], ...], ...]      # per channel: (name, promise days)
    tiers: frozenset[str]
    regions: tuple[Region, ...]
    replay: tuple[str, ...] | None

    @classmethod
    def of(cls, sc: Scenario) -> _Context:
        chans = sc.order_history.channels if sc.order_history else None
        tiers = {"standard", *sc.brokering.tier_rank, *(t for c in sc.channels for t in c.tier_mix)}
        return cls(dt.datetime.combine(sc.start_date, dt.time()), sc.horizon_days * 24.0,
                   tuple(s.id for s in sc.skus), tuple(c.name for c in sc.channels),
                   tuple(tuple((s.name, s.promise_days) for s in c.service_levels)
                         for c in sc.channels),
                   frozenset(tiers), tuple(sc.regions), tuple(chans) if chans else None)

    @cached_property
    def sku_index(self) -> dict[str, int]:
        return {s: k for k, s in enumerate(self.skus)}

    @cached_property
    def channel_index(self) -> dict[str, int]:
        return {c: k for k, c in enumerate(self.channels)}

    def hours(self, ts: dt.datetime) -> float:
        """Hours from the scenario start to ``ts``."""
        return (ts - self.start).total_seconds() / 3600.0


# -------------------------------------------------------------------------------------------
# Cells (each parser returns the value or raises ``_Bad`` with the problem)


def _one_of(kind: str, value: str, known: tuple[str, ...], where: str = "") -> str:
    if len(known) > 12:
        return f"unknown {kind} '{value}'{where}"
    return f"unknown {kind} '{value}'{where} (known: {', '.join(known)})"


def _member(kind: str, value: str, index: dict[str, int]) -> int:
    if not value:
        raise _Bad("missing value")
    if value not in index:
        raise _Bad(_one_of(kind, value, tuple(index)))
    return index[value]


def _required(value: str) -> str:
    if not value:
        raise _Bad("missing value")
    return value


def _timestamp(v: str) -> dt.datetime:
    try:
        if len(_required(v)) > 10 and v[10] not in "T ":
            raise ValueError(v)                 # Python takes any separator; ISO 8601 does not
        ts = dt.datetime.fromisoformat(v)
    except ValueError:
        raise _Bad(f"'{v}' is not an ISO-8601 date-time (e.g. 2026-01-05T14:30:00)") from None
    if ts.tzinfo is not None:
        raise _Bad(f"'{v}' has a UTC offset: write the scenario's local time, without one")
    return ts


def _quantity(v: str) -> int:
    try:
        q = float(_required(v))
    except ValueError:
        raise _Bad(f"'{v}' is not a whole number") from None
    if not q.is_integer():
        raise _Bad(f"'{v}' is not a whole number")
    if q < 1:
        raise _Bad(f"{v} must be ≥ 1")
    if q > _MAX_QUANTITY:
        raise _Bad(f"{v} is more than {_MAX_QUANTITY:,}")
    return int(q)


def _degrees(v: str, limit: float) -> float:
    try:
        x = float(v)
    except ValueError:
        raise _Bad(f"'{v}' is not a number") from None
    if not -limit <= x <= limit:
        raise _Bad(f"{v} is outside -{limit:g}..{limit:g}")
    return x


def _promise(pdate: str, ts: dt.datetime, levels: tuple[tuple[str, int], ...],
             idx: int | None) -> tuple[int | None, int]:
    """(service index, promise days) of a promise date; with a named service (``idx``) the two
    must agree, else the first level with that promise, or None."""
    try:
        days = (dt.date.fromisoformat(pdate[:10]) - ts.date()).days
    except ValueError:
        raise _Bad(f"'{pdate}' is not an ISO-8601 date (e.g. 2026-01-08)") from None
    if not 0 <= days <= _MAX_PROMISE_DAYS:
        raise _Bad(f"{pdate} is {days} days after the order date; must be 0–"
                   f"{_MAX_PROMISE_DAYS}")
    if idx is not None and levels[idx][1] != days:
        raise _Bad(f"{pdate} is {days} days after the order, but service '{levels[idx][0]}' "
                   f"promises {levels[idx][1]}")
    if idx is None:
        idx = next((k for k, (_, d) in enumerate(levels) if d == days), None)
    return idx, days


# -------------------------------------------------------------------------------------------
# Rows


class _Row:
    """One data row's parsed values (a value is absent when its cell was bad) and problems."""

    __slots__ = ("line", "oid", "values", "problems", "dest_col", "svc_col")

    def __init__(self, line: int):
        self.line = line
        self.oid = ""
        self.values: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.dest_col = "zip"          # the column named when the order's rows disagree
        self.svc_col = "service"

    def parse(self, column: str, parse: Callable[[], Any], key: str | None = None) -> None:
        """Store ``parse()`` under ``key`` (default ``column``), or its problem."""
        try:
            self.values[key or column] = parse()
        except (_Bad, ZipError) as exc:
            self.problems.append(Problem(self.line, column, str(exc)))

    def problem(self, column: str, message: str) -> None:
        """Record a problem of ``column``."""
        self.problems.append(Problem(self.line, column, message))


def _destination(row: _Row, cells: dict[str, str], has_zip: bool) -> None:
    """``dest`` = (zip or None, lat, lon): a ZIP's centroid, else lat and lon as given."""
    code, lat, lon = cells.get("zip", ""), cells.get("lat", ""), cells.get("lon", "")
    if code:
        row.parse("zip", lambda: (code[:5], *zip_location(code)), key="dest")
        return
    row.dest_col = "lat" if lat or not has_zip else "zip"
    if not lat or not lon:
        row.problem(row.dest_col if not lat and not lon else "lon" if lat else "lat",
                    "missing: give zip, or lat and lon" if not lat and not lon else
                    "missing value (lat and lon go together)")
        return
    row.parse("lat", lambda: _degrees(lat, 90))
    row.parse("lon", lambda: _degrees(lon, 180))
    if "lat" in row.values and "lon" in row.values:
        row.values["dest"] = (None, row.values.pop("lat"), row.values.pop("lon"))


def _service(row: _Row, cells: dict[str, str], ctx: _Context) -> None:
    """``service`` = (service index or None, promise days), from service and/or promise_date
    (judged only once the row's channel, and for a promise date its timestamp, are right)."""
    name, pdate = cells.get("service", ""), cells.get("promise_date", "")
    row.svc_col = "service" if name or not pdate else "promise_date"
    if not name and not pdate:
        row.problem("service", "missing: give service or promise_date")
        return
    if "channel" not in row.values:
        return
    levels = ctx.services[row.values["channel"]]
    names = tuple(n for n, _ in levels)
    idx = None
    if name:
        if name not in names:
            where = f" for channel '{ctx.channels[row.values['channel']]}'"
            row.problem("service", _one_of("service", name, names, where))
            return
        idx = names.index(name)
    if not pdate:
        row.values["service"] = (idx, levels[idx][1])
    elif "timestamp" in row.values:
        row.parse("promise_date", lambda: _promise(pdate, row.values["timestamp"], levels, idx),
                  key="service")


def _tier(value: str, ctx: _Context) -> str:
    tier = value or "standard"
    if tier not in ctx.tiers:
        raise _Bad(_one_of("tier", tier, tuple(sorted(ctx.tiers))))
    return tier


def _parse_row(line: int, cells: dict[str, str], ctx: _Context, has_zip: bool) -> _Row:
    row = _Row(line)
    row.oid = cells.get("order_id", "")
    if not row.oid:
        row.problem("order_id", "missing value")
    row.parse("timestamp", lambda: _timestamp(cells.get("timestamp", "")))
    row.parse("channel", lambda: _member("channel", cells.get("channel", ""),
                                         ctx.channel_index))
    row.values["customer"] = cells.get("customer_id", "") or None
    _destination(row, cells, has_zip)
    row.parse("sku", lambda: _member("SKU", cells.get("sku", ""), ctx.sku_index))
    row.parse("quantity", lambda: _quantity(cells.get("quantity", "")))
    _service(row, cells, ctx)
    row.parse("tier", lambda: _tier(cells.get("tier", ""), ctx))
    return row


def _same(key: str, a: Any, b: Any) -> bool:
    return a[1:] == b[1:] if key == "dest" else a == b     # a destination: by coordinates


#: Order-level values every row of an order must agree on: (value key, column for messages).
_ORDER_FIELDS = (("timestamp", "timestamp"), ("channel", "channel"),
                 ("customer", "customer_id"), ("dest", None), ("service", None),
                 ("tier", "tier"))


def _agree(rows: list[_Row], cells: dict[int, dict[str, str]]) -> None:
    """Report every row of an order that disagrees with the order's first row."""
    first = rows[0]
    for row in rows[1:]:
        for key, column in _ORDER_FIELDS:
            if key in first.values and key in row.values and \
                    not _same(key, first.values[key], row.values[key]):
                col = column or (row.dest_col if key == "dest" else row.svc_col)
                was = cells[first.line].get(col, "") or "(blank)"
                row.problem(col, f"order '{row.oid}' has {col} '{was}' on row {first.line}")


# -------------------------------------------------------------------------------------------
# The file


def _missing_columns(path: Path, columns: tuple[str, ...]) -> None:
    have = set(columns)
    missing = [f"missing column '{c}'" for c in _REQUIRED if c not in have]
    if "zip" not in have and not {"lat", "lon"} <= have:
        missing.append("missing column 'lon' (lat needs lon)" if "lat" in have else
                       "missing column 'lat' (lon needs lat)" if "lon" in have else
                       "missing column 'zip' (or 'lat' and 'lon')")
    if "service" not in have and "promise_date" not in have:
        missing.append("missing column 'service' (or 'promise_date')")
    if missing:
        found = ", ".join(c for c in columns if c) or "none"
        raise ScenarioError("\n".join(f"{path}: {m} (columns found: {found})" for m in missing))


def _order(rows: list[_Row], ctx: _Context, region: int) -> HistoryOrder:
    v = rows[0].values
    lines: dict[int, int] = {}
    for r in rows:
        lines[r.values["sku"]] = lines.get(r.values["sku"], 0) + r.values["quantity"]
    zip_code, lat, lon = v["dest"]
    service, promise = v["service"]
    return HistoryOrder(rows[0].oid, v["timestamp"], ctx.hours(v["timestamp"]),
                        v["channel"], service, promise, v["customer"], zip_code, lat, lon,
                        region, v["tier"], tuple(lines), tuple(lines.values()))


def _parse(path: Path, data: bytes, digest: str, ctx: _Context) -> History:
    table: Table = read_table(path, data)
    _missing_columns(path, table.columns)
    has_zip = "zip" in table.columns
    rows = [_parse_row(line, cells, ctx, has_zip) for line, cells in table.rows]
    by_line = dict(table.rows)
    row_at = {r.line: r for r in rows}
    for p in table.problems:                   # row problems the reader found come first
        row_at[p.row].problems.insert(0, p)
    orders: dict[str, list[_Row]] = {}
    for r in rows:
        if r.oid:
            orders.setdefault(r.oid, []).append(r)
    for group in orders.values():
        _agree(group, by_line)
    bad = {r.line for r in rows if r.problems}
    problems = tuple(p for r in rows for p in r.problems)
    if ctx.replay is not None:
        replay = frozenset(ctx.channel_index[c] for c in ctx.replay)
    else:
        replay = frozenset(r.values["channel"] for r in rows if "channel" in r.values)
    groups: dict[str, list[list[_Row]]] = {"bad": [], "other": [], "outside": [], "kept": []}
    for group in orders.values():
        v = group[0].values
        kind = ("bad" if any(r.line in bad for r in group) else
                "other" if v["channel"] not in replay else
                "outside" if not 0 <= ctx.hours(v["timestamp"]) < ctx.horizon_h else "kept")
        groups[kind].append(group)
    kept = groups["kept"]
    regions = nearest_regions([g[0].values["dest"][1] for g in kept],
                              [g[0].values["dest"][2] for g in kept], list(ctx.regions))
    out = sorted((_order(g, ctx, int(reg)) for g, reg in zip(kept, regions, strict=True)),
                 key=lambda o: (o.timestamp, o.order_id))
    nrows = {k: sum(len(g) for g in v) for k, v in groups.items()}
    counts = HistoryCounts(
        rows=len(rows), orders=len(orders), bad_rows=len(bad),
        dropped_orders=len(groups["bad"]),
        dropped_rows=nrows["bad"] + sum(1 for r in rows if not r.oid),
        other_channel_orders=len(groups["other"]), other_channel_rows=nrows["other"],
        out_of_horizon_orders=len(groups["outside"]), out_of_horizon_rows=nrows["outside"],
        kept_orders=len(kept), kept_rows=nrows["kept"])
    window = (ctx.start, ctx.start + dt.timedelta(hours=ctx.horizon_h))
    return History(path, digest, table.numbering, window, tuple(out), replay, ctx.channels,
                   tuple(sorted(problems, key=lambda p: p.row)), counts)


# -------------------------------------------------------------------------------------------
# Entry points

_cache: OrderedDict[tuple, History] = OrderedDict()     # (path, digest, context) → History
_lock = threading.Lock()


def _cached(key: tuple, history: History | None = None) -> History | None:
    """The cached history of ``key`` (most recently used now), after storing ``history``."""
    with _lock:
        if history is not None:
            _cache[key] = history
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return hit


def file_digest(data: bytes) -> str:
    """sha256 of a file's content (hex): ``OrderHistory.digest``."""
    return hashlib.sha256(data).hexdigest()


def load_history(scenario: Scenario) -> History:
    """The scenario's order-history file, checked against it (not yet refused: see
    ``History.check``). Parsed once per process for the same file content and scenario fields
    (replications and sweeps reuse it without reading the file); a file that changed since the
    loader hashed it (``OrderHistory.digest``) is an error, so a run never replays other data
    than the scenario was checked with."""
    spec = scenario.order_history
    if spec is None:
        raise ValueError("the scenario has no order_history")
    ctx = _Context.of(scenario)
    hit = _cached((spec.path, spec.digest, ctx)) if spec.digest else None
    if hit is not None:
        return hit
    path = Path(spec.path)
    data = read_bytes(path, "order_history.path")
    digest = file_digest(data)
    if spec.digest and digest != spec.digest:
        raise ScenarioError(f"{path}: changed since the scenario was loaded (its sha256 is not "
                            "order_history.digest); load the scenario again")
    key = (spec.path, digest, ctx)
    hit = _cached(key)
    return hit if hit is not None else _cached(key, _parse(path, data, digest, ctx))


def replayed_history(scenario: Scenario) -> History | None:
    """The scenario's checked order history (None without one); a file with bad rows is
    refused (``ScenarioError``) unless ``order_history.skip_bad_rows``."""
    spec = scenario.order_history
    if spec is None:
        return None
    history = load_history(scenario)
    history.check(spec.skip_bad_rows)
    return history


def attach_history(scenario: Scenario) -> Scenario:
    """``scenario`` with its order history checked (bad rows refused unless skipped) and its
    digest filled in; unchanged without an order history. The loader calls this, so
    ``domlab validate`` reports bad rows and the scenario hash follows the data."""
    spec = scenario.order_history
    if spec is None:
        return scenario
    history = load_history(scenario.model_copy(
        update={"order_history": spec.model_copy(update={"digest": None})}))
    history.check(spec.skip_bad_rows)
    return scenario.model_copy(
        update={"order_history": spec.model_copy(update={"digest": history.digest})})
