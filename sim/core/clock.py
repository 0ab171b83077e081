"""The run's clock: SimPy's event queue and a compiled queue of plain calls, run as one.

Most of what the model schedules is "call this in ``d`` hours" (a pick ending, a parcel
arriving, the next order). ``Clock.call_in`` queues a ``Call`` with the (time, priority,
sequence) key a SimPy ``Timeout`` made now would get, its sequence number from SimPy's own
counter, in the clock's queue: a heap of ``Call`` objects whose keys compare in compiled code
(SimPy's heap compares tuples of Python objects, a few thousand instructions an event in a
heap of thousands). ``run_until`` and ``run_until_processed`` are ``Environment.run`` with a
time or an event: they take the next event from whichever queue holds the smaller key, so
SimPy's processes (stock reviews, disruptions) and the calls interleave exactly as they would
with timeouts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappop
from typing import Any, Final

import simpy
from simpy.events import NORMAL, URGENT

__all__ = ["Call", "Clock", "InTurn"]

#: SimPy's priorities as compiled constants (reading the imported names is a dict lookup).
_URGENT: Final = 0
_NORMAL: Final = 1
assert (_URGENT, _NORMAL) == (URGENT, NORMAL)


class Call:
    """A call due at ``t`` (``priority``, then ``seq``, break ties): ``fn(call)``."""

    __slots__ = ("t", "priority", "seq", "fn")

    def __init__(self, t: float, priority: int, seq: int, fn: Callable[[Any], None]):
        self.t, self.priority, self.seq, self.fn = t, priority, seq, fn


def _before(a: Call, b: Call) -> bool:
    """Whether ``a`` is due before ``b``."""
    if a.t != b.t:
        return a.t < b.t
    if a.priority != b.priority:
        return a.priority < b.priority
    return a.seq < b.seq


class Clock:
    """The environment's queue and sequence counter, and the queue of calls: one per run,
    shared by everything that schedules (the World, its stations and its stock)."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        #: the time now: ``env.now`` as a compiled attribute (``_step`` sets both)
        self.now: float = env._now
        # (time, priority, sequence, event); a process starting at 0 is due at the int 0
        self._events: list[Any] = env._queue
        # SimPy's sequence counter, by its bound ``__next__`` (compiled, ``next()`` is a
        # generic call of the builtin)
        self._next_eid: Callable[[], int] = env._eid.__next__
        self._calls: list[Call] = []          # a binary heap by (t, priority, seq)

    def call_in(self, delay: float, callback: Callable[[Any], None]) -> None:
        """Call ``callback(call)`` ``delay`` hours from now (after everything already due by
        then, as a ``Timeout`` made now would be)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        self._push(Call(self.now + delay, _NORMAL, self._next_eid(), callback))

    def start(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(call)`` now, before the other events due now: where a process
        started now would take its first step."""
        self._push(Call(self.now, _URGENT, self._next_eid(), callback))

    def in_turn(self, times: Sequence[float], action: Callable[[int], None]) -> None:
        """Call ``action(k)`` at ``times[k]`` for k = 0, 1, ... (``times`` in order), starting
        where a process started now would (``InTurn``)."""
        self.start(InTurn(self, times, action).begin)

    def clear(self) -> None:
        """Drop every queued call and event (they never happen)."""
        self._calls.clear()
        self._events.clear()

    def run_until(self, until: float) -> None:
        """``env.run(until=until)``: process every event due before ``until``, in SimPy's
        order, and stop with the clock at ``until``."""
        env = self.env
        if until <= env._now:
            raise ValueError(f"until(={until}) must be > the current simulation time")
        stop = simpy.Event(env)
        stop._ok = True
        stop._value = None
        env.schedule(stop, URGENT, until - env._now)
        while self._step(stop):
            pass

    def run_until_processed(self, until: Any) -> None:
        """``env.run(until=event)``: process events until the SimPy event ``until`` has been
        processed (its ``callbacks`` are then None: typed ``Any``, as SimPy types them a
        list)."""
        while until.callbacks is not None and self._step(None):
            pass

    def _step(self, stop: simpy.Event | None) -> bool:
        """Process the next call or event; False when it is ``stop``."""
        calls, events = self._calls, self._events
        if calls and (not events or _call_first(calls[0], events[0])):
            call = self._pop()
            self.now = self.env._now = call.t
            call.fn(call)
            return True
        if not events:
            raise RuntimeError('No scheduled events left but "until" event was not '
                               f"triggered: {stop}")
        now, _, _, event = heappop(events)
        self.now = self.env._now = now
        if stop is not None and event is stop:
            stop.callbacks = None  # type: ignore[assignment]   # processed, as SimPy marks it
            return False
        callbacks = event.callbacks
        event.callbacks = None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            # A failed event nobody handled: raise its exception, as SimPy does.
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc
        return True

    def _push(self, call: Call) -> None:
        heap = self._calls
        heap.append(call)
        pos = len(heap) - 1
        while pos > 0:
            parent = (pos - 1) >> 1
            above = heap[parent]
            if not _before(call, above):
                break
            heap[pos] = above
            pos = parent
        heap[pos] = call

    def _pop(self) -> Call:
        heap = self._calls
        last = heap.pop()
        if not heap:
            return last
        first = heap[0]
        n, pos = len(heap), 0
        while True:
            child = 2 * pos + 1
            if child >= n:
                break
            if child + 1 < n and _before(heap[child + 1], heap[child]):
                child += 1
            if not _before(heap[child], last):
                break
            heap[pos] = heap[child]
            pos = child
        heap[pos] = last
        return first


def _call_first(call: Call, event: Any) -> bool:
    """Whether ``call`` is due before the SimPy queue entry ``event`` (time, priority, seq,
    event)."""
    t = event[0]
    if call.t != t:
        return call.t < t
    if call.priority != event[1]:
        return call.priority < event[1]
    return call.seq < event[2]


class InTurn:
    """``action(k)`` at ``times[k]``, in turn: each one due now at once, then a call at the
    next one's time. These are the steps, and so the event order, of a SimPy process looping
    over ``times`` with a timeout to each (which resumes it whatever the clock's rounding of
    that time): the order arrivals and the store walk-ins."""

    def __init__(self, clock: Clock, times: Sequence[float], action: Callable[[int], None]):
        self._clock, self._times, self._action = clock, times, action
        self._next = 0                   # the one the pending call waits for
        self._due_call = self._due       # the bound method, made once

    def begin(self, _call: object = None) -> None:
        """The first step: those due now, then a call at the next one's time."""
        self._from(0)

    def _due(self, _call: object = None) -> None:
        k = self._next
        self._action(k)
        self._from(k + 1)

    def _from(self, k: int) -> None:
        times, clock = self._times, self._clock
        while k < len(times):
            if times[k] > clock.now:
                self._next = k
                clock.call_in(times[k] - clock.now, self._due_call)
                return
            self._action(k)
            k += 1
