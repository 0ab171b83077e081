"""Candidate plans per order: the columns of the optimisation.

A plan serves one order whole: one shipment per node it uses, each by the cheapest carrier
service scheduled to deliver by the order's latest allowed time (carriers have no capacity in
the model, so choosing the service per shipment loses nothing). Its cost is the shipments'
rates and handling plus the split penalty per extra shipment (``PlanModel``).

**Pruning** (``Settings``), and what it can cost:

* A node is a candidate for a line only if it carries the SKU, is open when the order is
  released, and has at least the line's units usable then (``Supply.available``: stock not
  spoken for later, before any other planned order takes some). These filters lose nothing:
  no plan could use such a node.
* **Single-node plans**: the ``nodes_per_order`` cheapest nodes that can fill the whole order.
  A costlier node is needed only when all cheaper ones run out of stock or pick capacity for
  this order; then the solver may fall back on a split or on the rule's node.
* **The rule's own plan** is always a candidate (its node as a single-node plan, or its split
  as it shipped), and the solver keeps room for it (``sim.measure.optimum.solve``), so the
  optimum is never dearer than the rules on the same model: the gap is never negative (but for
  consolidated orders, whose shared parcel the model prices as their own).
* **Two-node splits** for orders of 2 to ``split_max_lines`` lines: every division of the lines
  between two of the order's ``split_nodes`` cheapest nodes (by the cost of shipping the whole
  order from there) that can fill their part; the ``splits_per_order`` cheapest are kept.
  Splits over three or more nodes, and splits of longer orders other than the rule's, are not
  considered. A split pays an extra parcel, handling and the split penalty, so it wins only
  when stock or capacity forces it, or when two near nodes beat one far one on an express
  service.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from itertools import combinations

import numpy as np

from sim.measure.optimum.pricing import Options
from sim.measure.optimum.problem import Problem

__all__ = ["Settings", "Plans", "SINGLE", "SPLIT", "RULE", "candidate_plans", "expand"]

SINGLE, SPLIT, RULE = 0, 1, 2


@dataclass(frozen=True)
class Settings:
    """Pruning and solver limits of the offline optimum."""

    nodes_per_order: int = 4
    split_nodes: int = 4
    splits_per_order: int = 2
    split_max_lines: int = 4
    window_days: int = 1              # orders released in this many days are solved together
    time_limit_s: float = 60.0        # per window and solve
    mip_rel_gap: float = 1e-6

    def __post_init__(self):
        least = {"nodes_per_order": 1, "split_nodes": 2, "splits_per_order": 0,
                 "split_max_lines": 1, "window_days": 1}
        for name, low in least.items():
            if getattr(self, name) < low:
                raise ValueError(f"optimum settings: {name} must be ≥ {low} "
                                 f"(got {getattr(self, name)})")
        if self.time_limit_s <= 0 or self.mip_rel_gap < 0:
            raise ValueError("optimum settings: time_limit_s must be > 0 and mip_rel_gap ≥ 0")


@dataclass(frozen=True)
class Plans:
    """Every candidate plan, flat: plans sorted by order; shipments and units taken (per plan,
    node and SKU) sorted by plan."""

    order: np.ndarray
    cost: np.ndarray
    kind: np.ndarray              # SINGLE, SPLIT or RULE
    ship_plan: np.ndarray
    ship_node: np.ndarray
    ship_service: np.ndarray
    ship_weight: np.ndarray
    ship_units: np.ndarray
    ship_eta: np.ndarray
    ship_day: np.ndarray          # day the pick starts
    ship_hours: np.ndarray        # pick hours
    use_plan: np.ndarray
    use_node: np.ndarray
    use_sku: np.ndarray
    use_qty: np.ndarray

    @property
    def n(self) -> int:
        """Number of plans."""
        return len(self.order)


def expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Flat indices ``starts[k] .. starts[k] + counts[k] - 1`` for every k, in order."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + \
        np.arange(int(counts.sum())) - offsets


def _plans(order, kind, ships: tuple, uses: tuple, penalty: float) -> Plans:
    """Plans of one kind from their shipments ``(plan, node, weight, units, Options)`` and
    units taken ``(plan, node, sku, qty)``; cost = shipments + split penalty."""
    plan, node, weight, units, opts = ships
    n = len(order)
    count = np.bincount(plan, minlength=n)
    cost = np.bincount(plan, weights=opts.cost, minlength=n) + penalty * (count - 1)
    return Plans(np.asarray(order, dtype=np.int64), cost, np.full(n, kind), plan, node,
                 opts.service, weight, units, opts.eta, opts.pick_day, opts.pick_hours,
                 *uses)


def _concat(parts: list[Plans]) -> Plans:
    """One ``Plans`` of all parts, plans sorted by (order, cost, kind)."""
    offset = np.cumsum([0] + [p.n for p in parts[:-1]])
    cols = {}
    for f in fields(Plans):
        arrays = [getattr(p, f.name) + (off if f.name in ("ship_plan", "use_plan") else 0)
                  for p, off in zip(parts, offset, strict=True)]
        cols[f.name] = np.concatenate(arrays)
    perm = np.lexsort((cols["kind"], cols["cost"], cols["order"]))
    new = np.empty(len(perm), dtype=np.int64)
    new[perm] = np.arange(len(perm))
    for f in fields(Plans):
        if f.name.startswith("ship_") or f.name.startswith("use_"):
            continue
        cols[f.name] = cols[f.name][perm]
    for prefix in ("ship_", "use_"):
        cols[prefix + "plan"] = new[cols[prefix + "plan"]]
        keep = np.argsort(cols[prefix + "plan"], kind="stable")
        for f in fields(Plans):
            if f.name.startswith(prefix):
                cols[f.name] = cols[f.name][keep]
    return Plans(**cols)


class _Builder:
    """Candidate generation over one problem (see the module docstring)."""

    def __init__(self, problem: Problem, settings: Settings):
        self.p, self.s = problem, settings
        o = problem.orders
        self.line_order = o.line_order
        self.nlines = np.diff(o.line_start)
        n_nodes = len(problem.scenario.nodes)
        rel = o.release[self.line_order]
        carried = problem.net.carried
        # ok[line, node]: the node carries the SKU and has the line's units usable at release
        self.ok = np.stack([carried[n, o.sku] & (problem.supply.available(
            np.full(len(o.sku), n), o.sku, rel) >= o.qty) for n in range(n_nodes)], axis=1)
        open_ = np.stack([problem.node_open(np.full(o.n, n), o.release)
                          for n in range(n_nodes)], axis=1)
        starts = o.line_start[:-1]
        self.all_ok = np.logical_and.reduceat(self.ok, starts, axis=0) & open_
        self.any_ok = np.logical_or.reduceat(self.ok, starts, axis=0) & open_
        # the whole order as one parcel from every node holding part of it (split ranking)
        self.i, self.n = np.nonzero(self.any_ok)
        self.full = self._cheapest(self.i, self.n, problem.weight[self.i],
                                   problem.units[self.i])
        self.rule_node = self._rule_single_node()

    def _cheapest(self, i, node, weight, units) -> Options:
        p, o = self.p, self.p.orders
        return p.model.cheapest(node, o.region[i], weight, units, o.release[i], p.latest[i])

    def _rule_single_node(self) -> np.ndarray:
        """Per order, the node of the rule's plan when it shipped in one shipment, else -1."""
        out = np.full(self.p.orders.n, -1, dtype=np.int64)
        r = self.p.rule
        if r is None:
            return out
        count = np.bincount(r.order, minlength=len(out))
        single = count[r.order] == 1
        out[r.order[single]] = r.node[single]
        return out

    def _line_uses(self, plan: np.ndarray, lines: np.ndarray, node: np.ndarray) -> tuple:
        o = self.p.orders
        return plan, node, o.sku[lines], o.qty[lines]

    def singles(self) -> Plans:
        """The cheapest single-node plans per order, and the rule's node."""
        i, n, f = self.i, self.n, self.full
        ok = self.all_ok[i, n] & (f.service >= 0)
        i, n, f = i[ok], n[ok], _take(f, ok)
        sort = np.lexsort((n, f.cost, i))
        i, n, f = i[sort], n[sort], _take(f, sort)
        first = np.searchsorted(i, i, side="left")
        keep = (np.arange(len(i)) - first < self.s.nodes_per_order) | (n == self.rule_node[i])
        i, n, f = i[keep], n[keep], _take(f, keep)
        plan = np.arange(len(i))
        o = self.p.orders
        lines = expand(o.line_start[i], self.nlines[i])
        line_plan = np.repeat(plan, self.nlines[i])
        return _plans(i, SINGLE, (plan, n, self.p.weight[i], self.p.units[i], f),
                      self._line_uses(line_plan, lines, n[line_plan]), 0.0)

    def splits(self) -> Plans:
        """The cheapest two-node splits of orders of 2..split_max_lines lines."""
        parts = [self._splits_of(k) for k in range(2, self.s.split_max_lines + 1)]
        return _concat([p for p in parts if p.n]) if any(p.n for p in parts) else _empty()

    def _top_nodes(self, orders: np.ndarray) -> np.ndarray:
        """[order, k]: the ``split_nodes`` nodes with the cheapest whole-order parcel (-1 pad)."""
        k = self.s.split_nodes
        pos = np.full(self.p.orders.n, -1, dtype=np.int64)
        pos[orders] = np.arange(len(orders))
        m = (pos[self.i] >= 0) & np.isfinite(self.full.cost)
        i, n, c = pos[self.i[m]], self.n[m], self.full.cost[m]
        sort = np.lexsort((n, c, i))
        i, n = i[sort], n[sort]
        rank = np.arange(len(i)) - np.searchsorted(i, i, side="left")
        top = np.full((len(orders), k), -1, dtype=np.int64)
        r = rank < k
        top[i[r], rank[r]] = n[r]
        return top

    def _splits_of(self, n_lines: int) -> Plans:
        p, o = self.p, self.p.orders
        orders = np.flatnonzero(self.nlines == n_lines)
        if not len(orders):
            return _empty()
        top = self._top_nodes(orders)
        pa, pb = (np.array(x, dtype=np.int64) for x in
                  zip(*combinations(range(self.s.split_nodes), 2), strict=True))
        bits = ((np.arange(1, 2 ** n_lines - 1)[:, None] >> np.arange(n_lines)) & 1).astype(bool)
        node_a, node_b = top[:, pa], top[:, pb]                      # [order, pair]
        lines = o.line_start[orders][:, None] + np.arange(n_lines)   # [order, line]
        ok_a = self.ok[lines[:, None, :], np.maximum(node_a, 0)[:, :, None]]
        ok_b = self.ok[lines[:, None, :], np.maximum(node_b, 0)[:, :, None]]
        fits = np.where(bits[None, None], ok_a[:, :, None], ok_b[:, :, None]).all(-1)
        fits &= ((node_a >= 0) & (node_b >= 0))[:, :, None]          # [order, pair, mask]
        oi, pi, mi = np.nonzero(fits)
        if not len(oi):
            return _empty()
        w_line = np.array([s.weight_lb for s in p.scenario.skus])[o.sku] * o.qty
        lw, lu = w_line[lines[oi]], o.qty[lines[oi]]
        b = bits[mi]
        i = orders[oi]
        a_w, a_u = (lw * b).sum(1), (lu * b).sum(1)
        na, nb = node_a[oi, pi], node_b[oi, pi]
        fa = self._cheapest(i, na, a_w, a_u)
        fb = self._cheapest(i, nb, p.weight[i] - a_w, p.units[i] - a_u)
        cost = fa.cost + fb.cost + p.model.split_penalty
        good = np.isfinite(cost)
        sort = np.lexsort((mi[good], pi[good], cost[good], i[good]))
        idx = np.flatnonzero(good)[sort]
        first = np.searchsorted(i[idx], i[idx], side="left")
        idx = idx[np.arange(len(idx)) - first < self.s.splits_per_order]
        k = len(idx)
        plan = np.arange(k)
        ships = (np.concatenate([plan, plan]), np.concatenate([na[idx], nb[idx]]),
                 np.concatenate([a_w[idx], p.weight[i[idx]] - a_w[idx]]),
                 np.concatenate([a_u[idx], p.units[i[idx]] - a_u[idx]]),
                 _join(_take(fa, idx), _take(fb, idx)))
        line_plan = np.repeat(plan, n_lines)
        line = lines[oi[idx]].ravel()
        line_node = np.where(bits[mi[idx]], na[idx][:, None], nb[idx][:, None]).ravel()
        return _plans(i[idx], SPLIT, ships, self._line_uses(line_plan, line, line_node),
                      p.model.split_penalty)

    def rules(self, singles: Plans) -> Plans:
        """The rule's plan of every order no single-node candidate covers (its splits, or a
        node the filters dropped), priced and scheduled by the same model."""
        r, p = self.p.rule, self.p
        if r is None or not len(r.order):
            return _empty()
        covered = np.zeros(p.orders.n, dtype=bool)
        covered[singles.order[singles.ship_node == self.rule_node[singles.order]]] = True
        need = ~covered[r.order]
        orders = np.unique(r.order[need])
        pos = np.full(p.orders.n, -1, dtype=np.int64)
        pos[orders] = np.arange(len(orders))
        o = p.orders
        s_plan = pos[r.order[need]]
        node, service, units = r.node[need], r.service[need], r.units[need]
        i = r.order[need]
        eta, day, hours = p.model.schedule(node, service, o.region[i], o.release[i], units)
        cost = p.model.cost(node, service, o.region[i], r.weight[need], units)
        opts = Options(service, cost, eta, day, hours)
        u = pos[r.use_order] >= 0
        return _plans(orders, RULE, (s_plan, node, r.weight[need], units, opts),
                      (pos[r.use_order[u]], r.use_node[u], r.use_sku[u], r.use_qty[u]),
                      p.model.split_penalty)


def _take(opts: Options, idx) -> Options:
    return Options(*(getattr(opts, f.name)[idx] for f in fields(Options)))


def _join(a: Options, b: Options) -> Options:
    return Options(*(np.concatenate([getattr(a, f.name), getattr(b, f.name)])
                     for f in fields(Options)))


def _empty() -> Plans:
    z = np.zeros(0, dtype=np.int64)
    return Plans(z, np.zeros(0), z, z, z, z, np.zeros(0), z, np.zeros(0), z, np.zeros(0),
                 z, z, z, z)


def candidate_plans(problem: Problem, settings: Settings | None = None) -> Plans:
    """Every order's candidate plans (see the module docstring for the pruning)."""
    b = _Builder(problem, settings or Settings())
    singles = b.singles()
    return _concat([singles, b.splits(), b.rules(singles)])
