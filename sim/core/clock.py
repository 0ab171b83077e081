"""The run's clock: SimPy's event queue, driven by a compiled loop, and plain scheduled calls.

Most of what the model schedules is "call this in ``d`` hours" (a pick ending, a parcel
arriving, the next order). ``Clock.call_in`` puts a ``Call`` on SimPy's own queue with the same
(time, priority, sequence) key a ``Timeout`` would get, so SimPy's processes (stock reviews,
disruptions) and these calls interleave exactly as they would with timeouts; a ``Call`` is
just cheaper to make than a ``Timeout`` (no Python ``__init__``). ``Clock.run_until`` is
``Environment.run(until=t)``, the same steps in the same order, as a loop of compiled code.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT

__all__ = ["Call", "Clock"]

class Call:
    """A scheduled call, in the shape SimPy's ``Environment.step`` processes: its callbacks
    run, in order, with the call as argument, when it comes due. It never fails."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callback: Callable[[Any], None]):
        self.callbacks: list[Callable[[Any], None]] | None = [callback]
        self._ok = True
        self._value: Any = None


class Clock:
    """The environment's queue and sequence counter, held for scheduling and stepping."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        # (time, priority, sequence, event); a process starting at 0 is due at the int 0
        self._queue: list[Any] = env._queue
        self._eid: count[int] = env._eid

    def start(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(call)`` now, before the other events due now: where a process
        started now would take its first step."""
        heappush(self._queue, (self.env._now, URGENT, next(self._eid), Call(callback)))

    def call_in(self, delay: float, callback: Callable[[Any], None]) -> None:
        """Call ``callback(call)`` ``delay`` hours from now (after everything already due by
        then, as a ``Timeout`` made now would be)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        heappush(self._queue, (self.env._now + delay, NORMAL, next(self._eid), Call(callback)))

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
        queue = self._queue
        while queue:
            now, _, _, event = heappop(queue)
            env._now = now
            if event is stop:
                stop.callbacks = None
                return
            callbacks = event.callbacks
            event.callbacks = None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                # A failed event nobody handled: raise its exception, as SimPy does.
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        raise RuntimeError(f'No scheduled events left but "until" event was not triggered: '
                           f"{stop}")
