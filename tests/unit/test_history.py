"""Order-history replay: the column contract is checked row by row, replayed channels take
exactly the file's orders, the other channels keep their synthetic demand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_scenario, run_checked

from sim.core.demand import generate_demand
from sim.scenario import ScenarioError, scenario_hash
from sim.scenario.history import attach_history, load_history

START = dt.datetime(2026, 1, 5)            # TINY's start_date; horizon 7 days
HEADER = ["order_id", "timestamp", "channel", "customer_id", "zip", "lat", "lon", "sku",
          "quantity", "service", "promise_date", "tier"]
APP = {"name": "app", "kind": "app", "orders_per_day": 30,
       "lines_per_order": {"kind": "const", "value": 1},
       "units_per_line": {"kind": "const", "value": 1},
       "service_levels": [{"name": "standard", "promise_days": 3, "share": 1.0}]}


def write_csv(path, rows, header=HEADER):
    """A CSV with ``header`` and one line per row (dicts: missing columns blank)."""
    lines = [",".join(header)] + [",".join(str(r.get(c, "")) for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(oid, hours, sku="A", qty=1, channel="web", **cells):
    """One order line at ``hours`` after the start, to New York (ZIP 10001) by default."""
    base = {"order_id": oid, "timestamp": (START + dt.timedelta(hours=hours)).isoformat(),
            "channel": channel, "zip": "10001", "sku": sku, "quantity": qty,
            "service": "standard"}
    return {**base, **cells}


def replaying(path, skip_bad_rows=False, **overrides):
    """The tiny scenario replaying ``path`` (checked and hashed, as the loader does)."""
    history = {"path": str(path), "skip_bad_rows": skip_bad_rows}
    return attach_history(make_scenario(order_history=history, **overrides))


def lines_of(d, i):
    a, b = d.line_start[i], d.line_start[i + 1]
    return d.sku[a:b].tolist(), d.qty[a:b].tolist()


def sample_rows():
    """30 orders over the week: repeat and guest customers, ZIPs and coordinates, two-line
    orders, services and promise dates."""
    rows = []
    for i in range(30):
        cells = {"customer_id": "" if i % 5 == 0 else f"c{i % 7}"}
        if i % 6 == 1:
            cells.update(zip="", lat="34.05", lon="-118.24")        # Los Angeles, no ZIP
        elif i % 2:
            cells["zip"] = "90210"
        if i % 3 == 2:
            day = (START + dt.timedelta(hours=5 * i + 0.25)).date()
            cells.update(service="", promise_date=(day + dt.timedelta(days=1)).isoformat())
        rows.append(row(f"O{i:03d}", 5 * i + 0.25, "ABC"[i % 3], 1 + i % 3, **cells))
        if i % 4 == 0:
            rows.append(row(f"O{i:03d}", 5 * i + 0.25, "C" if i % 3 != 2 else "A", 2, **cells))
    return rows


def test_replay_reproduces_exactly_the_files_orders(tmp_path):
    rows = sample_rows()
    sc = replaying(write_csv(tmp_path / "orders.csv", rows))
    d = generate_demand(sc)
    assert d.n == 30 and len(d.sku) == len(rows) == 38
    sku_ids = [s.id for s in sc.skus]
    for i in range(30):
        mine = [r for r in rows if r["order_id"] == f"O{i:03d}"]
        ts = dt.datetime.fromisoformat(mine[0]["timestamp"])
        assert d.t[i] == pytest.approx((ts - START).total_seconds() / 3600, abs=1e-9)
        skus, qtys = lines_of(d, i)
        assert [sku_ids[k] for k in skus] == [r["sku"] for r in mine]
        assert qtys == [r["quantity"] for r in mine]
    assert d.region.tolist() == [0 if i % 2 == 0 else 1 for i in range(30)]  # East / West
    # promise dates of one day are the web channel's express level (1 day)
    assert [d.service_table[s][1] for s in d.service[:3]] == ["standard", "standard", "express"]
    # a customer id is one customer; a blank one a new customer each time
    assert d.customer[7] == d.customer[14] != d.customer[0]
    assert len({d.customer[0], d.customer[5], d.customer[10]}) == 3
    # the run simulates exactly these orders
    o = run_checked(sc).run.orders
    assert len(o["t_created"]) == 30
    np.testing.assert_array_equal(o["t_created"], d.t)
    assert o["units"].tolist() == [sum(r["quantity"] for r in rows if r["order_id"] == f"O{i:03d}")
                                   for i in range(30)]


def test_replications_vary_the_random_parts_but_not_the_orders(tmp_path):
    sc = replaying(write_csv(tmp_path / "orders.csv", sample_rows()))
    a, b = (run_checked(sc.model_copy(update={"seed": s})).run.orders for s in (1, 2))
    for col in ("t_created", "units", "lines", "region", "customer", "promise_days"):
        np.testing.assert_array_equal(a[col], b[col])
    assert not np.array_equal(a["delivered_at"], b["delivered_at"], equal_nan=True)


def test_synthetic_channels_keep_their_demand_when_another_is_replayed(tmp_path):
    path = write_csv(tmp_path / "orders.csv",
                     [row(f"P{i}", 3 * i + 1, channel="app", qty=2) for i in range(20)])
    plain = make_scenario(channels=[APP])
    mixed = attach_history(make_scenario(channels=[APP], order_history={"path": str(path)}))
    a, b = generate_demand(plain), generate_demand(mixed)
    web_a, web_b = np.flatnonzero(a.channel == 0), np.flatnonzero(b.channel == 0)
    assert len(web_a) == len(web_b) > 300
    for col in ("t", "service", "region", "tier", "customer", "address"):
        np.testing.assert_array_equal(getattr(a, col)[web_a], getattr(b, col)[web_b])
    assert [lines_of(a, i) for i in web_a] == [lines_of(b, i) for i in web_b]
    assert a.service_table == b.service_table
    app = np.flatnonzero(b.channel == 1)
    assert len(app) == 20 and b.t[app].tolist() == [3.0 * i + 1 for i in range(20)]
    assert b.qty[b.line_start[app]].tolist() == [2] * 20


def test_bad_rows_are_reported_by_row_and_column_and_skipping_drops_their_orders(tmp_path):
    rows = [row("A", 1), row("A", 1, sku="B", zip="00000"), row("B", 2, qty=-2),
            row("C", 3, sku="NOPE"), row("D", 4, qty="2.5"), row("E", 5)]
    path = write_csv(tmp_path / "orders.csv", rows)
    with pytest.raises(ScenarioError) as err:
        replaying(path)
    lines = str(err.value).splitlines()
    assert lines[0].startswith(f"{path}: 4 bad rows of 6 (row = line number)")
    assert lines[1:] == [f"{path}: row 3: zip: unknown ZIP '00000'",
                         f"{path}: row 4: quantity: -2 must be ≥ 1",
                         f"{path}: row 5: sku: unknown SKU 'NOPE' (known: A, B, C)",
                         f"{path}: row 6: quantity: '2.5' is not a whole number"]
    sc = replaying(path, skip_bad_rows=True)
    h = load_history(sc)
    assert (h.counts.bad_rows, h.counts.dropped_orders, h.counts.dropped_rows) == (4, 4, 5)
    assert [o.order_id for o in h.orders] == ["E"]
    assert generate_demand(sc).n == 1
    # every bad row is collected, the first 20 problems listed
    many = write_csv(tmp_path / "many.csv", [row(f"X{i}", 1, sku="NOPE") for i in range(25)])
    with pytest.raises(ScenarioError) as err:
        replaying(many)
    lines = str(err.value).splitlines()
    assert len(lines) == 22 and lines[0].startswith(f"{many}: 25 bad rows of 25")
    assert lines[20].startswith(f"{many}: row 21: sku:") and lines[21] == "… and 5 more"


def test_cell_problems_name_the_column(tmp_path):
    rows = [row("A", 1, channel="shop"), row("B", 1, service="overnight"),
            row("C", 1, timestamp="2026-01-05 25:00"), row("D", 1, timestamp="2026-01-05T10:00Z"),
            row("E", 1, zip="1234"), row("F", 1, zip="", lat="40.7"),
            row("G", 1, service="", promise_date="2026-01-04"),
            row("H", 1, service="express", promise_date="2026-01-08"), row("I", 1, tier="vip"),
            row("J", 1), row("J", 2), row("K", 1, order_id="")]
    with pytest.raises(ScenarioError) as err:
        replaying(write_csv(tmp_path / "orders.csv", rows))
    found = [ln.split(": ", 1)[1] for ln in str(err.value).splitlines()[1:]]
    assert found == [
        "row 2: channel: unknown channel 'shop' (known: web)",
        "row 3: service: unknown service 'overnight' for channel 'web' (known: standard, "
        "express)",
        "row 4: timestamp: '2026-01-05 25:00' is not an ISO-8601 date-time (e.g. "
        "2026-01-05T14:30:00)",
        "row 5: timestamp: '2026-01-05T10:00Z' has a UTC offset: write the scenario's local "
        "time, without one",
        "row 6: zip: '1234' is not a 5-digit ZIP (keep leading zeros: 02134, not 2134)",
        "row 7: lon: missing value (lat and lon go together)",
        "row 8: promise_date: 2026-01-04 is -1 days after the order date; must be 0–30",
        "row 9: promise_date: 2026-01-08 is 3 days after the order, but service 'express' "
        "promises 1",
        "row 10: tier: unknown tier 'vip' (known: gold, silver, standard)",
        "row 12: timestamp: order 'J' has timestamp '2026-01-05T01:00:00' on row 11",
        "row 13: order_id: missing value"]


def test_a_missing_column_is_one_message_naming_it(tmp_path):
    path = write_csv(tmp_path / "orders.csv", [row("A", 1)],
                     [c for c in HEADER if c != "quantity"])
    with pytest.raises(ScenarioError) as err:
        replaying(path)
    assert str(err.value) == (f"{path}: missing column 'quantity' (columns found: order_id, "
                              "timestamp, channel, customer_id, zip, lat, lon, sku, service, "
                              "promise_date, tier)")


def test_non_utf8_bytes_are_an_error_naming_the_byte_offset(tmp_path):
    path = write_csv(tmp_path / "orders.csv", [row("A", 1), row("B", 2, customer_id="X")])
    data = path.read_bytes().replace(b",X,", b",Jos\xe9,")
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as err:
        replaying(path)
    offset = data.index(b"\xe9")
    assert str(err.value) == (f"{path}: not UTF-8: byte 0xE9 at byte offset {offset} (line 3); "
                              "save it as UTF-8")


def test_orders_outside_the_horizon_are_left_out_and_counted(tmp_path):
    rows = [row("early", -0.5), row("first", 0), row("last", 7 * 24 - 1 / 3600),
            row("late", 7 * 24), row("late", 7 * 24, sku="B")]
    sc = replaying(write_csv(tmp_path / "orders.csv", rows))
    h = load_history(sc)
    assert [o.order_id for o in h.orders] == ["first", "last"]
    assert (h.counts.out_of_horizon_orders, h.counts.out_of_horizon_rows) == (2, 3)
    assert h.problems == () and "2 orders outside the horizon left out" in h.summary()
    assert generate_demand(sc).t.tolist() == pytest.approx([0.0, 7 * 24 - 1 / 3600])
    # a file that misses the horizon altogether (a wrong start_date, say) replays nothing
    with pytest.raises(ScenarioError) as err:
        replaying(write_csv(tmp_path / "late.csv", rows[3:]))
    assert str(err.value) == (
        f"{tmp_path / 'late.csv'}: no order to replay in the horizon [2026-01-05 00:00, "
        "2026-01-12 00:00): of 1 order, 0 had bad rows, 1 fall outside the horizon and 0 are "
        "of other channels; check start_date and horizon_days")


def test_promises_reuse_a_service_level_or_add_promise_n_days(tmp_path):
    rows = [row("A", 1, service="", promise_date="2026-01-06"),        # 1 day: express
            row("B", 2, service="", promise_date="2026-01-08"),        # 3 days: no level
            row("C", 3, service="", promise_date="2026-01-08"),
            row("D", 30, service="", promise_date="2026-01-06T00:00:00")]   # 0 days
    d = generate_demand(replaying(write_csv(tmp_path / "orders.csv", rows)))
    assert d.service_table[:2] == ((0, "standard", 4), (0, "express", 1))
    assert [d.service_table[s] for s in d.service] == [
        (0, "express", 1), (0, "promise_3d", 3), (0, "promise_3d", 3), (0, "promise_0d", 0)]


def test_parquet_rows_are_numbered_by_data_row(tmp_path):
    ts = [START + dt.timedelta(hours=h) for h in (1, 2, 3)]
    table = pa.table({"order_id": ["A", "B", "C"], "timestamp": pa.array(ts, pa.timestamp("s")),
                      "channel": ["web"] * 3, "zip": [10001, 2134, 90210],
                      "sku": ["A", "Z", "B"], "quantity": [1, 2, 3],
                      "promise_date": pa.array([t.date() for t in ts], pa.date32())})
    pq.write_table(table, tmp_path / "orders.parquet")
    with pytest.raises(ScenarioError) as err:
        replaying(tmp_path / "orders.parquet")
    assert "(row = data row number)" in str(err.value)
    assert str(err.value).splitlines()[1:] == [
        f"{tmp_path / 'orders.parquet'}: row 2: sku: unknown SKU 'Z' (known: A, B, C)"]
    h = load_history(replaying(tmp_path / "orders.parquet", skip_bad_rows=True))
    assert [(o.order_id, o.zip, o.region, o.promise_days) for o in h.orders] == [
        ("A", "10001", 0, 0), ("C", "90210", 1, 0)]


def test_the_digest_follows_the_data_and_a_changed_file_is_caught(tmp_path):
    path = write_csv(tmp_path / "orders.csv", [row("A", 1)])
    first = replaying(path)
    assert len(first.order_history.digest) == 64
    write_csv(path, [row("A", 1, qty=2)])
    second = replaying(path)
    assert scenario_hash(first) != scenario_hash(second)
    assert generate_demand(first).qty.tolist() == [1]    # parsed at load: the data it named
    with pytest.raises(ScenarioError, match="changed since the scenario was loaded"):
        generate_demand(first.model_copy(update={"horizon_days": 6}))   # parsed again
    # a scenario without a history dumps (and hashes) as before the field existed
    assert "order_history" not in make_scenario().model_dump(mode="json")
