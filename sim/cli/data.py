"""``domlab import orders``: check an order-history file against a scenario and write it back
normalised, the way the scenario would replay it.

The output keeps the column contract of ``sim.scenario.history`` (so it can be replayed as is)
with everything resolved: ``lat``/``lon`` beside every ZIP, a ``promise_date`` on every row (and
the ``service`` whose promise it is, when the channel has one), the default tier written out,
a SKU listed twice in an order merged into one line, and only the orders the scenario replays
(in the horizon, of the replayed channels), sorted by timestamp, then order_id. CSV or Parquet
by the output's suffix; written atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

from sim.cli import UsageError
from sim.cli.run import load_cli_scenario
from sim.measure.present import text_table
from sim.scenario import OrderHistory, Scenario
from sim.scenario.history import COLUMNS, History, load_history
from sim.scenario.tabular import CSV_SUFFIXES, PARQUET_SUFFIXES
from sim.store.atomic import write_atomic

__all__ = ["cmd_import_orders", "normalised_rows"]


def normalised_rows(history: History, scenario: Scenario) -> list[dict[str, Any]]:
    """One row per order line of the orders ``history`` replays, every value resolved (see the
    module docstring), in replay order."""
    skus = [s.id for s in scenario.skus]
    rows = []
    for o in history.orders:
        ch = scenario.channels[o.channel]
        promise = o.timestamp.date() + dt.timedelta(days=o.promise_days)
        order = {"order_id": o.order_id, "timestamp": o.timestamp, "channel": ch.name,
                 "customer_id": o.customer, "zip": o.zip, "lat": o.lat, "lon": o.lon,
                 "service": None if o.service is None else ch.service_levels[o.service].name,
                 "promise_date": promise, "tier": o.tier}
        rows += [{**order, "sku": skus[k], "quantity": q}
                 for k, q in zip(o.skus, o.qtys, strict=True)]
    return rows


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(COLUMNS)
    for r in rows:
        out.writerow(["" if r[c] is None else r[c].isoformat() if hasattr(r[c], "isoformat")
                      else r[c] for c in COLUMNS])
    return buf.getvalue().encode("utf-8")


def _parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"timestamp": pa.timestamp("us"), "lat": pa.float64(), "lon": pa.float64(),
             "quantity": pa.int64(), "promise_date": pa.date32()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def cmd_import_orders(args) -> int:
    """Check FILE against the scenario (exit 2 with row-numbered problems on bad rows, unless
    --skip-bad-rows) and write the normalised orders to --out."""
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise UsageError(f"--out {out}: write .csv or .parquet")
    scenario = load_cli_scenario(args.scenario, None, None, args.skip_bad_rows)
    own = scenario.order_history
    spec = OrderHistory(path=str(Path(args.file).resolve()),
                        channels=own.channels if own else None,
                        skip_bad_rows=args.skip_bad_rows)
    history = load_history(scenario.model_copy(update={"order_history": spec}))
    history.check(args.skip_bad_rows)
    rows = normalised_rows(history, scenario)
    write_atomic(out, _parquet_bytes(rows) if suffix in PARQUET_SUFFIXES else _csv_bytes(rows))
    c = history.counts
    counts = [("read", c.orders, c.rows), ("kept", c.kept_orders, c.kept_rows),
              ("skipped: bad rows", c.dropped_orders, c.dropped_rows),
              ("left out: outside the horizon", c.out_of_horizon_orders, c.out_of_horizon_rows),
              ("left out: other channels", c.other_channel_orders, c.other_channel_rows)]
    print(f"{args.file}: {c.bad_rows:,} bad rows")
    print(text_table(["", "orders", "rows"], [[k, f"{o:,}", f"{r:,}"] for k, o, r in counts],
                     left=1))
    print(f"written to {out}")
    return 0
