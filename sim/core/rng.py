"""Named random streams: one seeded ``numpy.random.Generator`` per purpose.

``stream(seed, "demand/web")`` is a pure function of its arguments, so adding a node or changing
a rule never shifts the demand another scenario sees (common random numbers), and same scenario +
seed gives identical draws.
"""

from __future__ import annotations

import zlib

import numpy as np

from sim.scenario.dists import Dist

__all__ = ["stream", "BlockSampler", "replication_seeds"]


def stream(seed: int, name: str) -> np.random.Generator:
    """Generator for the stream ``name`` of run ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


def replication_seeds(seed: int, reps: int) -> list[int]:
    """Independent run seeds for ``reps`` replications, spawned from one root seed."""
    children = np.random.SeedSequence(seed).spawn(reps)
    return [int(s.generate_state(1, np.uint32)[0]) for s in children]


class BlockSampler:
    """Draws from a distribution one at a time, refilling in blocks to keep the hot path cheap."""

    __slots__ = ("_dist", "_rng", "_block", "_buf", "_i")

    def __init__(self, dist: Dist, rng: np.random.Generator, block: int = 1024):
        self._dist, self._rng, self._block = dist, rng, block
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        """The next draw."""
        if self._i >= len(self._buf):
            self._buf = self._dist.sample(self._rng, self._block).tolist()
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return v
