"""ShiftCalendar.open_hours_before / open_hours_between: the vectorised shift-hours count."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.network import ShiftCalendar
from sim.scenario import Shift

ALL_DAYS = list(range(7))
MON_SAT = [0, 1, 2, 3, 4, 5]


def dc_calendar(start_weekday: int = 0) -> ShiftCalendar:
    return ShiftCalendar([Shift(start_hour=6, end_hour=22, days=MON_SAT),
                          Shift(start_hour=8, end_hour=16, days=[6])], start_weekday)


# Hours: whole hours often (adjacent / touching / wrapping shifts), arbitrary floats otherwise.
hour = st.one_of(st.integers(0, 24).map(float), st.floats(0.0, 24.0, allow_nan=False))


@st.composite
def shifts(draw):
    out = []
    for _ in range(draw(st.integers(1, 3))):
        a, b = draw(hour), draw(hour)
        if a == b:
            b = 24.0 if a < 24.0 else 23.0
        start, end = min(a, b), max(a, b)
        days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
        out.append(Shift(start_hour=start, end_hour=end, days=days))
    return out


time = st.one_of(st.integers(0, 2000).map(float), st.floats(0.0, 2000.0, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(shifts(), st.integers(0, 6), st.lists(st.tuples(time, time), min_size=1, max_size=20))
def test_between_matches_scalar_open_hours(shift_list, start_weekday, pairs):
    cal = ShiftCalendar(shift_list, start_weekday)
    a = np.array([min(p) for p in pairs])
    b = np.array([max(p) for p in pairs])
    got = cal.open_hours_between(a, b)
    assert got.shape == a.shape
    for i in range(len(a)):
        assert got[i] == pytest.approx(cal.open_hours(a[i], b[i]), abs=1e-9)
        assert got[i] <= b[i] - a[i] + 1e-9
        assert got[i] >= 0.0


@settings(max_examples=100, deadline=None)
@given(shifts(), st.integers(0, 6))
def test_before_is_monotone(shift_list, start_weekday):
    cal = ShiftCalendar(shift_list, start_weekday)
    grid = np.linspace(-400.0, 2000.0, 4801)
    before = cal.open_hours_before(grid)
    assert np.all(np.diff(before) >= -1e-9)
    assert cal.open_hours_before(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-9)


def test_always_open():
    cal = ShiftCalendar([Shift(start_hour=0, end_hour=24, days=ALL_DAYS)], 3)
    assert cal.always
    t = np.array([0.0, 1.5, 24.0, 168.0, 1000.25])
    np.testing.assert_array_equal(cal.open_hours_before(t), t)
    np.testing.assert_allclose(cal.open_hours_between(np.array([1.0, 5.0]),
                                                      np.array([3.5, 5.0])), [2.5, 0.0])


def test_no_spans_gives_zero():
    cal = ShiftCalendar([], 2)
    assert not cal.spans
    t = np.array([0.0, 10.0, 500.0])
    np.testing.assert_array_equal(cal.open_hours_before(t), np.zeros(3))
    np.testing.assert_array_equal(cal.open_hours_between(np.zeros(3), t), np.zeros(3))


def test_dc_calendar_by_hand():
    cal = dc_calendar(0)                                   # day 0 is a Monday
    t = np.array([0.0, 6.0, 10.0, 24.0, 24 + 15.5, 6 * 24 + 12, 7 * 24.0, 14 * 24.0, -168.0])
    want = [0.0, 0.0, 4.0, 16.0, 16 + 9.5, 6 * 16 + 4, 104.0, 208.0, -104.0]
    np.testing.assert_allclose(cal.open_hours_before(t), want, atol=1e-12)
    # A pick from Tuesday 21:00 to Wednesday 07:00 is 1 + 1 = 2 shift hours, not 10.
    a, b = np.array([24 + 21.0]), np.array([48 + 7.0])
    np.testing.assert_allclose(cal.open_hours_between(a, b), [2.0])
    assert cal.open_hours(a[0], b[0]) == pytest.approx(2.0)
    # Starting on a Sunday: day 0 is 08-16 (8 h), day 1 is Monday.
    sun = dc_calendar(6)
    np.testing.assert_allclose(sun.open_hours_before(np.array([12.0, 24.0, 36.0, 168.0])),
                               [4.0, 8.0, 14.0, 104.0])


def test_shift_wrapping_sunday_midnight():
    shift_list = [Shift(start_hour=20, end_hour=24, days=[6]),
                  Shift(start_hour=0, end_hour=4, days=[0])]
    mon = ShiftCalendar(shift_list, 0)
    assert mon.spans == [(-4.0, 4.0)]                      # merged over the week boundary
    t = np.array([2.0, 4.0, 24.0, 6 * 24 + 20, 6 * 24 + 22, 168.0, 170.0, 200.0])
    np.testing.assert_allclose(mon.open_hours_before(t), [2, 4, 4, 4, 6, 8, 10, 12])
    sun = ShiftCalendar(shift_list, 6)                     # day 0 is a Sunday
    t = np.array([20.0, 22.0, 24.0, 26.0, 28.0, 168.0, 168 + 24 + 4])
    np.testing.assert_allclose(sun.open_hours_before(t), [0, 2, 4, 6, 8, 8, 16])
    np.testing.assert_allclose(sun.open_hours_between(np.array([22.0]), np.array([26.0])), [4.0])


def test_between_is_vectorised_over_many_shipments():
    cal = dc_calendar(2)
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 2000, 100_000)
    b = a + rng.exponential(3.0, a.size)
    got = cal.open_hours_between(a, b)
    assert got.shape == a.shape
    assert np.all(got <= b - a + 1e-9) and np.all(got >= 0)
    for i in rng.choice(a.size, 200, replace=False):
        assert got[i] == pytest.approx(cal.open_hours(a[i], b[i]), abs=1e-9)
