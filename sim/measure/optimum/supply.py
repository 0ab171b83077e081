"""Stock the planned orders may draw on, over time, per node×SKU.

Given every change of a node×SKU's stock that the plan does not decide (opening stock,
receipts, transfers out, walk-in sales, restocks, write-offs, other orders' reservations) as
``(node, sku, t, delta)``, the stock S(t) left for the planned orders is their running sum. A
plan is feasible when, at every time t, the units planned orders released by t take from the
pair are at most S(t). Since units taken are never given back, that is the same as taking at
most the *suffix minimum* ``level(t) = min over t' ≥ t of S(t')`` by each t: a non-decreasing
step function, so the constraints only need checking where it steps up (a receipt that is not
spoken for later). ``Supply`` holds those steps for every pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["Supply"]

_SCALE = 1e5          # hours per pair in the combined search key (a run is far shorter)


class Supply:
    """Usable stock level per node×SKU as a non-decreasing step function of time.

    Steps are stored pair by pair (pair = node × n_skus + sku), in time order; ``step_at``
    finds the step in force at a time (events at exactly that time included), ``level`` its
    units. A pair without events has no stock (level 0); an ``unlimited`` node never binds."""

    def __init__(self, node: np.ndarray, sku: np.ndarray, t: np.ndarray, delta: np.ndarray,
                 n_skus: int, unlimited: np.ndarray):
        self.n_skus = n_skus
        self.unlimited = np.asarray(unlimited, dtype=bool)
        df = pd.DataFrame({"pair": np.asarray(node, dtype=np.int64) * n_skus + sku,
                           "t": np.asarray(t, dtype=float),
                           "delta": np.asarray(delta, dtype=np.int64)})
        df = df.groupby(["pair", "t"], sort=True)["delta"].sum().reset_index()
        df["stock"] = df.groupby("pair")["delta"].cumsum()
        # suffix minimum within each pair: cumulative minimum of the reversed rows
        rev = df.iloc[::-1]
        df["level"] = rev.groupby("pair")["stock"].cummin().iloc[::-1].to_numpy()
        # keep the first step of each pair and every rise
        first = df["pair"].ne(df["pair"].shift())
        rise = df["level"].gt(df["level"].shift())
        df = df[first | rise]
        self.pair = df["pair"].to_numpy(np.int64)
        self.time = df["t"].to_numpy(float)
        self.level = np.maximum(df["level"].to_numpy(np.int64), 0)
        self._key = self.pair * _SCALE + self.time

    def pair_of(self, node: np.ndarray, sku: np.ndarray) -> np.ndarray:
        """Pair id of each node×SKU."""
        return np.asarray(node, dtype=np.int64) * self.n_skus + np.asarray(sku, dtype=np.int64)

    def step_at(self, pair: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Index of the step in force for each (pair, time), or -1 before the pair's first
        event (no stock yet)."""
        pair = np.asarray(pair, dtype=np.int64)
        k = np.searchsorted(self._key, pair * _SCALE + np.asarray(t, dtype=float),
                            side="right") - 1
        ok = (k >= 0) & (self.pair[np.maximum(k, 0)] == pair)
        return np.where(ok, k, -1)

    def available(self, node: np.ndarray, sku: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Usable units of each node×SKU at time t (before any planned order takes some);
        a very large number at unlimited nodes."""
        k = self.step_at(self.pair_of(node, sku), t)
        units = np.where(k >= 0, self.level[np.maximum(k, 0)], 0)
        return np.where(self.unlimited[np.asarray(node, dtype=np.int64)], np.iinfo(np.int64).max,
                        units)


class Headroom:
    """What a plan may still take of each node×SKU by a time e so that every order released
    from e on can still take what a reference plan (the rules') gave it:
    ``H(e) = min over t ≥ e of (level(t) − R(t)) + R(before e)``, with R(t) the reference's
    cumulative take of orders released by t. A rolling plan that keeps each window's take
    within ``H(window end)`` never strands a later order: the reference plan stays feasible."""

    def __init__(self, supply: Supply, pair: np.ndarray, t: np.ndarray, qty: np.ndarray):
        self.supply = supply
        ref = pd.DataFrame({"pair": np.asarray(pair, dtype=np.int64),
                            "t": np.asarray(t, dtype=float),
                            "qty": np.asarray(qty, dtype=np.int64)})
        ref = ref.groupby(["pair", "t"], sort=True)["qty"].sum().reset_index()
        ref["R"] = ref.groupby("pair")["qty"].cumsum()
        self._ref_key = ref["pair"].to_numpy(np.int64) * _SCALE + ref["t"].to_numpy(float)
        self._ref_pair = ref["pair"].to_numpy(np.int64)
        self._ref_cum = ref["R"].to_numpy(float)
        steps = pd.DataFrame({"pair": supply.pair, "t": supply.time})
        grid = pd.concat([steps, ref[["pair", "t"]]]).drop_duplicates().sort_values(
            ["pair", "t"], kind="stable")
        gp, gt = grid["pair"].to_numpy(np.int64), grid["t"].to_numpy(float)
        k = supply.step_at(gp, gt)
        level = np.where(k >= 0, supply.level[np.maximum(k, 0)], 0)
        g = pd.Series(level - self._cum_by(gp, gt, "right"))
        self._pair, self._key = gp, gp * _SCALE + gt
        self._suffix_min = g.iloc[::-1].groupby(gp[::-1]).cummin().iloc[::-1].to_numpy(float)

    def _cum_by(self, pair: np.ndarray, t: np.ndarray, side: str) -> np.ndarray:
        """The reference's cumulative take of each pair by t (``right``: releases at t
        included; ``left``: before t)."""
        k = np.searchsorted(self._ref_key, pair * _SCALE + t, side=side) - 1
        ok = (k >= 0) & (self._ref_pair[np.maximum(k, 0)] == pair)
        return np.where(ok, self._ref_cum[np.maximum(k, 0)], 0.0)

    def at(self, pair: np.ndarray, e: float) -> np.ndarray:
        """H(e) for each pair (see the class docstring)."""
        pair = np.asarray(pair, dtype=np.int64)
        t = np.full(len(pair), float(e))
        k = np.searchsorted(self._key, pair * _SCALE + t, side="right") - 1
        inside = (k >= 0) & (self._pair[np.maximum(k, 0)] == pair)
        # before the pair's first point the level is 0 and nothing is taken: G = 0 there
        first = np.searchsorted(self._pair, pair, side="left")
        has = (first < len(self._pair)) & (self._pair[np.minimum(first, len(self._pair) - 1)]
                                           == pair)
        after = np.where(has, self._suffix_min[np.minimum(first, len(self._pair) - 1)], 0.0)
        g_min = np.where(inside, self._suffix_min[np.maximum(k, 0)], np.minimum(0.0, after))
        return g_min + self._cum_by(pair, t, "left")
