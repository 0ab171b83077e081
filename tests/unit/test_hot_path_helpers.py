"""Hot-path helpers give exactly the numbers of the plain code they replace: block sampling
(``next``/``take``), the order book's vectorised rounding and deadlines, the scalar rounding
of rule facts, the event log's, the shipments table's and the decision trace's buffers and
the returns' binomial draws (the stock time integrals are checked against the event log in
``test_inventory``)."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from conftest import make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.demand import generate_demand
from sim.core.events import Columns, Ev, EventLog
from sim.core.fulfillment import SHIPMENT_COLUMNS, Shipment, ShipmentTable
from sim.core.records import Catalog, OrderBook, Trace, TraceRow, round_to, rounded
from sim.core.returns import Binomials
from sim.core.rng import BlockSampler, stream
from sim.scenario.dists import Uniform

UNIT = Uniform(kind="uniform", low=0.0, high=1.0)


def test_block_sampler_next_and_take_give_one_sequence_across_blocks():
    ref = stream(7, "x").random(40).tolist()              # blocks of 4: the same draws
    sampler = BlockSampler(UNIT, stream(7, "x"), block=4)
    got = [sampler.next(), *sampler.take(6), sampler.next(), *sampler.take(0),
           *sampler.take(13)]
    got += [sampler.next() for _ in range(19)]
    assert got == ref


def test_block_sampler_draws_a_block_only_when_a_draw_needs_it():
    rng, twin = stream(3, "y"), stream(3, "y")
    sampler = BlockSampler(UNIT, rng, block=5)
    assert rng.bit_generator.state == twin.bit_generator.state     # nothing drawn yet
    sampler.take(5)
    twin.random(5)
    assert rng.bit_generator.state == twin.bit_generator.state     # block used up, no refill
    sampler.next()
    twin.random(5)
    assert rng.bit_generator.state == twin.bit_generator.state


def _bits(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), 0, x.view(np.int64))


def test_rounded_is_the_builtin_round_bit_for_bit():
    rng = np.random.default_rng(0)
    money = np.round(rng.random(20_000) * 500, 2)
    xs = np.concatenate([
        rng.random(50_000) * 1000, money * 3, money + 0.005, np.round(rng.random(20_000), 3),
        np.arange(0, 50, 0.0005), -rng.random(1000),
        [0.0, -0.0, -0.001, 2.675, 0.125, 0.375, 1e300, -1e300, 5e-324, 2.0 ** 30 / 100,
         math.inf, -math.inf, math.nan]])
    for ndigits in (2, 3):
        want = np.array([round(float(v), ndigits) for v in xs])
        assert np.array_equal(_bits(rounded(xs, ndigits)), _bits(want))


def test_round_to_is_the_builtin_round_bit_for_bit():
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.random(20_000) * 3000, np.round(rng.random(5000) * 500, 2) * 3,
                         np.arange(0, 30, 0.0005), -rng.random(1000), rng.random(1000) * 1e9,
                         [0.0, -0.0, -0.0001, -0.04, 2.675, 0.125, 0.05, 1e300, -1e300, 5e-324,
                          math.inf, -math.inf, math.nan]]).tolist()
    for ndigits in (1, 2, 3, 4):
        want = np.array([round(v, ndigits) for v in xs])
        got = np.array([round_to(v, ndigits) for v in xs])
        assert np.array_equal(_bits(got), _bits(want)), ndigits
    assert math.copysign(1.0, round_to(-0.0001, 3)) == -1.0       # -0.0, as the builtin


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False), st.sampled_from([1, 2, 3, 4]))
def test_round_to_matches_round_for_any_float(value, ndigits):
    assert _bits(np.array([round_to(value, ndigits)])) == _bits(np.array([round(value,
                                                                                 ndigits)]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20),
       st.sampled_from([0, 2, 3]))
def test_rounded_matches_round_for_any_floats(values, ndigits):
    xs = np.array(values)
    want = np.array([round(v, ndigits) for v in values])
    assert np.array_equal(_bits(rounded(xs, ndigits)), _bits(want))


def test_order_book_columns_equal_the_scalar_formulas():
    scenario = make_scenario(horizon_days=5)
    book = OrderBook(generate_demand(scenario), Catalog(scenario.skus))
    promise = [book.demand.service_table[s][2] for s in book.service]
    assert book.demand.n > 50
    assert list(book.deadline) == [(math.floor(t / 24.0) + p + 1) * 24.0
                                   for t, p in zip(book.t, promise, strict=True)]
    assert list(book.fact_value) == [round(v, 2) for v in book.value]
    assert list(book.fact_weight) == [round(w, 3) for w in book.weight]



def test_shipment_table_keeps_every_row_across_buffers_in_id_order():
    rng = np.random.default_rng(5)
    n = ShipmentTable.BUFFER + 1234                     # two chunks, the second one partial
    ships = []
    for k in rng.permutation(n).tolist():               # added out of id order
        s = Shipment(k, k // 2, k % 7, [1, 2], [1, 3], 4, float(rng.random() * 30), k * 0.5)
        s.zone, s.service, s.carrier_rule = k % 8 + 1, k % 3, f"rule-{k % 5}"
        s.switched = bool(k % 2)
        s.ship_cost, s.delivered, s.host = rng.random(), k * 0.25, -1 if k % 3 else k - 1
        # every other field distinct too, so that a column written out of place shows
        s.distance, s.handling, s.priority, s.cogs = k * 1.5, k * 0.75, k % 11, k * 2.5
        s.pick_start, s.packed, s.shipped = k + 0.1, k + 0.2, k + 0.3
        s.bumped, s.saved, s.created, s.units = k % 4, k * 0.125, k * 0.0625, k % 9 + 1
        ships.append(s)
    cols = ShipmentTable()
    for s in ships:
        cols.add(s)
    assert len(cols) == n
    table = cols.columns()
    want = sorted((operator.attrgetter(*SHIPMENT_COLUMNS)(s) for s in ships), key=lambda r: r[0])
    assert list(table) == list(SHIPMENT_COLUMNS)
    for j, name in enumerate(SHIPMENT_COLUMNS):
        assert table[name].tolist() == [r[j] for r in want], name
    assert table["id"].dtype == np.int64 and table["weight"].dtype == np.float64
    assert table["switched"].dtype == bool and table["carrier_rule"].dtype == object


def test_binomials_draw_numpys_binomial_numbers_one_at_a_time():
    rng = np.random.default_rng(11)
    args = [(int(n), float(p)) for n, p in zip(rng.integers(0, 12, 3000),
                                                rng.choice([0.0, 0.03, 0.1, 0.35, 0.5, 0.5001,
                                                            0.8, 0.97, 1.0], 3000),
                                                strict=True)]
    args[500:500] = [(400, 0.3), (1, 0.2), (250, 0.9), (61, 0.5), (60, 0.5), (3, 1.0)]  # BTPE too
    ref = stream(4, "returns/web")
    want = [int(ref.binomial(n, p)) for n, p in args]
    draws = Binomials(stream(4, "returns/web"), block=64)
    assert [draws.draw(n, p) for n, p in args] == want
    assert sum(want) > 3000
    with pytest.raises(ValueError):
        draws.draw(3, 1.5)                   # refused as NumPy refuses it


def test_trace_reads_back_every_row_across_its_buffers():
    rows = [TraceRow(k * 0.5 if k else 0, k % 97 - 1, ("sourcing", "split")[k % 2], "rs#1",
                     f"rule-{k % 3}", f"rule-{k % 3},x", "" if k % 5 else "n/s")
            for k in range(Columns.BUFFER * 2 + 77)]
    trace = Trace(rows[:10])
    for row in rows[10:]:
        trace.append(row)
    assert len(trace) == len(rows) and trace == rows and list(trace) == rows
    assert trace[Columns.BUFFER + 3] == rows[Columns.BUFFER + 3] and trace[-1] == rows[-1]
    t, order, code = trace.columns()
    assert t == [r.t for r in rows] and order.tolist() == [r.order for r in rows]
    assert [trace.combinations()[c][2] for c in code.tolist()] == [r.winner for r in rows]
    trace.append(rows[0])                                   # buffered again, read again
    assert trace[-1] == rows[0] and len(trace.columns()[1]) == len(rows) + 1


def test_event_log_keeps_every_row_across_its_buffers():
    rng = np.random.default_rng(3)
    kinds = list(Ev)
    rows = [(float(t), kinds[k], int(o), int(n), -1, int(q), float(v))
            for t, k, o, n, q, v in zip(rng.random(Columns.BUFFER + 999) * 300,
                                        rng.integers(0, len(kinds), Columns.BUFFER + 999),
                                        rng.integers(-1, 5000, Columns.BUFFER + 999),
                                        rng.integers(-1, 9, Columns.BUFFER + 999),
                                        rng.integers(0, 4, Columns.BUFFER + 999),
                                        rng.random(Columns.BUFFER + 999) * 50, strict=True)]
    log = EventLog()
    for row in rows:
        log.add(*row)
    assert len(log) == len(rows) and log.rows == rows
    assert all(type(r[1]) is Ev for r in log.rows[:50])
    assert log.kind_counts().tolist() == [sum(r[1] == k for r in rows) for k in kinds]
    assert log.value_sum(Ev.SHIPPED) == sum(r[6] for r in rows if r[1] == Ev.SHIPPED)
    table = log.to_arrow([f"n{k}" for k in range(9)], ["s"])
    assert table["t_hours"].to_pylist() == sorted(r[0] for r in rows)
    log.add(*rows[0])                                       # buffered again, read again
    assert log.rows == [*rows, rows[0]] and log.kind_counts().sum() == len(rows) + 1
    assert EventLog().rows == [] and len(EventLog().to_arrow([], [])) == 0
