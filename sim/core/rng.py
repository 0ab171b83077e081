"""Named random streams: one seeded ``numpy.random.Generator`` per purpose.

``stream(seed, "demand/web")`` is a pure function of its arguments, so adding a node or changing
a rule never shifts the demand another scenario sees (common random numbers), and same scenario +
seed gives identical draws.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from itertools import chain, islice

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


def _blocks(dist: Dist, rng: np.random.Generator, block: int) -> Iterator[list[float]]:
    """Blocks of ``block`` draws of ``dist`` from ``rng``, one block each time one is asked for."""
    while True:
        yield dist.sample(rng, block).tolist()


class BlockSampler:
    """Draws from a distribution one at a time, refilling in blocks to keep the hot path cheap.

    ``next()`` is the next draw and ``take(k)`` the next ``k`` draws as a list (the same numbers
    as ``k`` calls of ``next``). A block is drawn only when a draw is asked for and the last
    block is used up, so the generator's state moves exactly as with one ``sample`` call per
    block. ``next`` is the C-level ``__next__`` of one chained iterator over the blocks: no
    Python frame per draw on the hot path."""

    __slots__ = ("_draws", "next")

    def __init__(self, dist: Dist, rng: np.random.Generator, block: int = 1024):
        self._draws = chain.from_iterable(_blocks(dist, rng, block))
        #: the next draw (a bound ``__next__``: call it like a method)
        self.next: Callable[[], float] = self._draws.__next__

    def take(self, k: int) -> list[float]:
        """The next ``k`` draws, in order (for a caller that draws one per line)."""
        return list(islice(self._draws, k))
