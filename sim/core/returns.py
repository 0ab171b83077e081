"""Customer returns (``Scenario.returns``): which delivered units come back, when, to which
node, and how many go back into stock.

Everything about a return is decided when its parcel is delivered, from streams
``returns/<channel>`` (units and grading) and ``returns/<channel>/delay``, so routing rules
never shift the draws of other parts of the model. The stock effect happens when the return
arrives (if that is before the run ends). ``Binomials`` draws the units and grading: NumPy's
binomial numbers, without a NumPy call per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.core.network import Network
from sim.core.rng import BlockSampler, stream
from sim.scenario import Scenario
from sim.scenario.models import Returns

__all__ = ["Return", "ReturnDesk", "RETURN_COLUMNS", "return_columns", "Binomials"]

#: Columns of the returns table: one row per returned line.
RETURN_COLUMNS = ("order", "due", "node", "sku", "qty", "restocked", "cost", "arrived")


@dataclass(slots=True)
class Return:
    """The lines of one returned parcel: where and when they arrive, what is restocked."""

    order: int
    due: float
    node: int                  # -1: no node takes it back (everything scrapped)
    skus: list[int]
    qtys: list[int]
    restock: list[int]
    cost: float                # return shipping + handling
    arrived: bool = False


class Binomials:
    """``rng.binomial(n, p)``, one draw at a time: the very numbers of those calls, in order.

    NumPy draws a binomial with ``min(p, 1 - p) × n ≤ 30`` by inversion from uniform draws
    of its generator (``random_binomial_inversion`` in NumPy's ``distributions.c``); this
    is that algorithm, on the same uniforms, drawn a block at a time (``rng.random(k)`` gives
    the same doubles as ``k`` calls). A draw NumPy makes otherwise (BTPE, for large ``n``,
    or an invalid argument, which NumPy refuses) goes to ``rng.binomial`` itself, after
    putting the generator back to where the uniforms used so far leave it. Should a NumPy
    release change its algorithm, ``tests/unit/test_hot_path_helpers.py`` (every draw equal
    to ``rng.binomial``'s) fails."""

    def __init__(self, rng: np.random.Generator, block: int = 1024):
        self._rng, self._block = rng, block
        self._start: Any = None          # the generator's state where the block starts
        self._uniforms: list[float] = []
        self._next = 0                   # index of the next unused uniform of the block

    def draw(self, n: int, p: float) -> int:
        """A binomial(``n``, ``p``) number, as ``rng.binomial(n, p)`` would draw it now."""
        if n >= 0 and 0.0 <= p <= 1.0:           # else NumPy refuses the arguments
            if n == 0 or p == 0.0:
                return 0
            if p <= 0.5 and p * n <= 30.0:
                return self._inversion(n, p)
            if p > 0.5 and (1.0 - p) * n <= 30.0:
                return n - self._inversion(n, 1.0 - p)
        return self._numpy(n, p)

    def _uniform(self) -> float:
        if self._next == len(self._uniforms):
            self._start = self._rng.bit_generator.state
            self._uniforms = self._rng.random(self._block).tolist()
            self._next = 0
        u = self._uniforms[self._next]
        self._next += 1
        return u

    def _inversion(self, n: int, p: float) -> int:
        q = 1.0 - p
        qn = math.exp(n * math.log(q))
        mean = n * p
        bound = int(min(float(n), mean + 10.0 * math.sqrt(mean * q + 1)))
        x, px, u = 0, qn, self._uniform()
        while u > px:
            x += 1
            if x > bound:
                x, px, u = 0, qn, self._uniform()
            else:
                u -= px
                px = ((n - x + 1) * p * px) / (x * q)
        return x

    def _numpy(self, n: int, p: float) -> int:
        if self._uniforms:               # rewind the block to the uniforms used
            self._rng.bit_generator.state = self._start
            if self._next:
                self._rng.random(self._next)
            self._uniforms, self._next = [], 0
        return int(self._rng.binomial(n, p))


class ReturnDesk:
    """Decides the returns of delivered parcels for one run."""

    def __init__(self, scenario: Scenario, net: Network):
        spec = scenario.returns
        assert spec is not None, "a ReturnDesk needs the scenario's returns"
        self.spec: Returns = spec
        by_class: dict[str, float] = {str(c): f for c, f in spec.class_factor.items()}
        factor = [by_class.get(c, 1.0) for c in net.sku_class]
        self._rate = [[min(1.0, spec.rate_by_channel.get(ch.name, spec.rate) * f)
                       for f in factor] for ch in scenario.channels]
        self._draws = [Binomials(stream(scenario.seed, f"returns/{ch.name}"))
                       for ch in scenario.channels]
        self._delay = [BlockSampler(spec.delay_days, stream(scenario.seed,
                                                            f"returns/{ch.name}/delay"))
                       for ch in scenario.channels]
        self._carried: list[list[bool]] = net.carried.tolist()
        # Per region: open, finite-stock nodes of the first kind in ``to`` that has one,
        # nearest first (a SKU goes to the nearest of them that carries it).
        nodes = scenario.nodes
        by_kind = [[n for n in range(len(nodes)) if nodes[n].kind == kind and not nodes[n].closed
                    and not nodes[n].stock.unlimited] for kind in spec.to]
        candidates = next((c for c in by_kind if c), [])
        self._dest = [_nearest(candidates, net.distance[:, r])
                      for r in range(len(scenario.regions))]

    def on_delivery(self, order: int, channel: int, region: int, delivered: float,
                    skus: list[int], qtys: list[int]) -> Return | None:
        """The return of a parcel delivered at ``delivered`` (hours), or None."""
        draws, rate = self._draws[channel], self._rate[channel]
        # One draw per line, in line order: the numbers of one array draw (NumPy loops over
        # the elements alike).
        back = [draws.draw(qtys[j], rate[skus[j]]) for j in range(len(skus))]
        if not any(q > 0 for q in back):       # a generator: compiled, ``any`` is a loop
            return None
        r_skus = [skus[j] for j in range(len(skus)) if back[j]]
        r_qtys = [q for q in back if q]
        share = self.spec.restock_share
        restock = [draws.draw(q, share) for q in r_qtys]
        dest = self._dest[region]
        carried = self._carried
        node = next((n for n in dest if all(carried[n][s] for s in r_skus)),
                    dest[0] if dest else -1)
        restock = [restock[j] if node >= 0 and carried[node][r_skus[j]] else 0
                   for j in range(len(r_skus))]
        due = delivered + 24.0 * max(0.0, self._delay[channel].next())
        cost = self.spec.shipping_per_return + self.spec.handling_per_unit * sum(q for q in r_qtys)
        return Return(order, due, node, r_skus, r_qtys, restock, cost)


def _nearest(nodes: list[int], distance: np.ndarray) -> list[int]:
    """``nodes`` nearest first by ``distance`` (indexed by node), ties by node index."""
    return sorted(nodes, key=lambda n: (distance[n], n))


def return_columns(returns: list[Return]) -> dict[str, np.ndarray]:
    """The returns table (one row per returned line)."""
    rows = [(r.order, r.due, r.node, s, q, k, r.cost if j == 0 else 0.0, r.arrived)
            for r in returns
            for j, (s, q, k) in enumerate(zip(r.skus, r.qtys, r.restock, strict=True))]
    types = (np.int64, float, np.int64, np.int64, np.int64, np.int64, float, bool)
    if not rows:
        return {c: np.zeros(0, dtype=t) for c, t in zip(RETURN_COLUMNS, types, strict=True)}
    cols = list(zip(*rows, strict=True))
    return {c: np.asarray(v, dtype=t) for c, v, t in zip(RETURN_COLUMNS, cols, types,
                                                          strict=True)}
