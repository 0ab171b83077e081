"""Stock per node×SKU: on hand, reserved, available to promise, on order; replenishment.

``Stock`` owns every stock number of a run and the replenishment policies (continuous-review
(s,S), base-stock and (R,Q), and periodic review), so conservation is one class's invariant:
opening + received = shipped + on hand. Supplier lead times come from the ``supply/<name>``
streams. After the horizon no purchase orders are placed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import simpy

from rules.schema import ReorderOutcome
from sim.events import Ev, EventLog
from sim.network import Network
from sim.rng import BlockSampler, stream

__all__ = ["Stock"]

HOURS = 24.0
_NONE, _SS, _RQ, _PERIODIC = 0, 1, 2, 3
_POLICY_CODES = {"none": _NONE, "sS": _SS, "base_stock": _SS, "RQ": _RQ, "periodic": _PERIODIC}


class Stock:
    """Stock levels and replenishment of one run (lists of lists: fast scalar updates)."""

    def __init__(self, env: simpy.Environment, net: Network, log: EventLog, horizon: float,
                 on_receipt: Callable[[int, int], None]):
        sc = net.scenario
        self.env, self.log, self.horizon, self.on_receipt = env, log, horizon, on_receipt
        self.opening = net.opening.copy()
        zeros = np.zeros_like(net.opening)
        self.on_hand = net.opening.tolist()
        self.atp = net.opening.tolist()               # on hand minus reserved
        self.reserved, self.on_order = zeros.tolist(), zeros.tolist()
        self.received, self.shipped = zeros.tolist(), zeros.tolist()
        self.unlimited = [n.stock.unlimited for n in sc.nodes]
        self.unit_cost = np.array([s.cost for s in sc.skus])
        self.snapshots: list[list[int]] = []
        self.snapshot_value: list[list[float]] = []
        n_nodes, n_skus = net.opening.shape
        self.policy = [[_NONE] * n_skus for _ in range(n_nodes)]
        self.s_level = [[-1] * n_skus for _ in range(n_nodes)]
        self.S_level = [[0] * n_skus for _ in range(n_nodes)]
        self.Q_level = [[0] * n_skus for _ in range(n_nodes)]
        self.reviews: dict[float, list[tuple[int, int]]] = defaultdict(list)
        self._supplier = [n.supplier for n in sc.nodes]
        self._lead = {s.name: BlockSampler(s.lead_time_days, stream(sc.seed, f"supply/{s.name}"))
                      for s in sc.suppliers}

    # -- policies ---------------------------------------------------------------------------

    def set_policy(self, node: int, sku: int, o: ReorderOutcome, daily: float) -> None:
        """Turn a reorder outcome (levels in days of forecast demand) into unit levels."""
        s_units = math.ceil(daily * o.s_days)
        if o.policy in ("sS", "periodic"):
            self.s_level[node][sku] = s_units
            self.S_level[node][sku] = max(s_units + 1, math.ceil(daily * o.S_days))
        elif o.policy == "base_stock":
            S_units = max(1, math.ceil(daily * o.S_days))
            self.s_level[node][sku], self.S_level[node][sku] = S_units - 1, S_units
        elif o.policy == "RQ":
            self.s_level[node][sku] = s_units
            self.Q_level[node][sku] = max(1, math.ceil(daily * o.Q_days))
        self.policy[node][sku] = _POLICY_CODES[o.policy]
        if o.policy == "periodic":
            self.reviews[o.review_days].append((node, sku))

    def start(self) -> None:
        """Initial replenishment check and the periodic review processes."""
        for n, row in enumerate(self.policy):
            for s, code in enumerate(row):
                if code != _NONE:
                    self.reorder(n, s)
        for days, items in sorted(self.reviews.items()):
            self.env.process(self._periodic_review(days, items))
        self.env.process(self._snapshots())

    # -- stock movements --------------------------------------------------------------------

    def reserve(self, node: int, sku: int, qty: int) -> None:
        """Promise ``qty`` units to a shipment (ATP falls; on hand stays until packed)."""
        self.atp[node][sku] -= qty
        self.reserved[node][sku] += qty
        self.reorder(node, sku)

    def ship(self, node: int, sku: int, qty: int) -> None:
        """Reserved units leave the node."""
        self.on_hand[node][sku] -= qty
        self.reserved[node][sku] -= qty
        self.shipped[node][sku] += qty

    def reorder(self, node: int, s: int) -> None:
        """Continuous review: (s,S) and base-stock order up to S, (R,Q) orders multiples of Q."""
        code = self.policy[node][s]
        if code in (_NONE, _PERIODIC) or self.env.now >= self.horizon or self.unlimited[node]:
            return
        position = self.atp[node][s] + self.on_order[node][s]
        if position > self.s_level[node][s]:
            return
        if code == _RQ:
            q = self.Q_level[node][s]
            qty = q * ((self.s_level[node][s] - position) // q + 1)
        else:
            qty = self.S_level[node][s] - position
        self._place_po(node, s, qty)

    def _periodic_review(self, days: float, items: list[tuple[int, int]]):
        """Every ``days``: order up to S where the position is at or below s."""
        while True:
            for node, s in items:
                position = self.atp[node][s] + self.on_order[node][s]
                if position <= self.s_level[node][s]:
                    self._place_po(node, s, self.S_level[node][s] - position)
            yield self.env.timeout(days * HOURS)
            if self.env.now >= self.horizon:
                return

    def _place_po(self, node: int, s: int, qty: int) -> None:
        self.on_order[node][s] += qty
        self.log.add(self.env.now, Ev.PO_PLACED, node=node, sku=s, qty=qty)
        lead = max(0.0, self._lead[self._supplier[node]].next()) * HOURS
        self.env.timeout(lead).callbacks.append(lambda _ev: self._receive(node, s, qty))

    def _receive(self, node: int, s: int, qty: int) -> None:
        self.on_hand[node][s] += qty
        self.atp[node][s] += qty
        self.on_order[node][s] -= qty
        self.received[node][s] += qty
        self.log.add(self.env.now, Ev.RECEIVED, node=node, sku=s, qty=qty)
        self.on_receipt(node, s)
        self.reorder(node, s)

    def _snapshots(self):
        while True:
            self.snapshots.append([sum(row) for row in self.on_hand])
            self.snapshot_value.append((np.array(self.on_hand) @ self.unit_cost).tolist())
            yield self.env.timeout(HOURS)

    def tables(self) -> dict[str, np.ndarray]:
        """Final stock tables and daily snapshots for KPIs and invariants."""
        return {"opening": self.opening, "received": np.asarray(self.received),
                "shipped": np.asarray(self.shipped), "on_hand": np.asarray(self.on_hand),
                "reserved": np.asarray(self.reserved), "on_order": np.asarray(self.on_order),
                "snapshots": np.asarray(self.snapshots, dtype=np.int64),
                "snapshot_value": np.asarray(self.snapshot_value, dtype=float),
                "unlimited": np.asarray(self.unlimited), "unit_cost": self.unit_cost}
