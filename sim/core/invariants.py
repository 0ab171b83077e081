"""Conservation and consistency checks every run must pass.

Units in = units out + on hand; no negative stock; every order in exactly one terminal state;
costs ≥ 0; the event log agrees with the tables. Returns a list of violations (empty = OK) so
tests, the CLI and experiments can all use it.
"""

from __future__ import annotations

import numpy as np

from sim.core.events import Ev
from sim.core.model import RunResult, Status

__all__ = ["check_invariants", "TERMINAL"]

TERMINAL = (Status.DELIVERED, Status.BACKORDERED, Status.CANCELLED)


def check_invariants(run: RunResult) -> list[str]:
    """Every violated invariant of ``run``, as readable sentences."""
    bad: list[str] = []
    inv, o, sh = run.inventory, run.orders, run.shipments
    balance = (inv["opening"] + inv["received"] + inv["restocked"] - inv["shipped"]
               - inv["transferred"]
               - inv["sold_walk_in"] - inv["written_off"] - inv["on_hand"])
    if np.any(balance != 0):
        n, k = np.argwhere(balance != 0)[0]
        bad.append(f"units not conserved at node {n}, sku {k}: opening + received + restocked - "
                   f"shipped - transferred - sold to walk-ins - written off - on_hand = "
                   f"{balance[n, k]}")
    fed = inv["po_source"] >= 0                  # transfer orders from another node
    fed_nodes = np.unique(inv["po_node"][fed])
    arrived = int(inv["received"][fed_nodes].sum())
    if int(inv["transferred"].sum()) != arrived + int(inv["in_transit"]):
        bad.append("transfers not conserved: sent != arrived + in transit")
    if int(inv["po_qty"][fed].sum()) != arrived + int(inv["in_transit"]) + int(inv["owed"].sum()):
        bad.append("transfer orders not conserved: ordered != arrived + in transit + owed")
    if np.any(inv["on_hand"] < 0) or np.any(inv["snapshots"] < 0):
        bad.append("negative on-hand stock")
    for level in ("on_order", "backorders", "owed"):
        if np.any(inv[level] < 0):
            bad.append(f"negative {level}")
    if np.any(inv["reserved"] != 0):
        bad.append(f"{int(inv['reserved'].sum())} units still reserved after the run")
    if np.any(inv["on_hand"] - inv["reserved"] < 0):
        bad.append("reservations exceed on-hand stock")
    status = o["status"]
    nonterminal = ~np.isin(status, [int(s) for s in TERMINAL])
    if nonterminal.any():
        bad.append(f"{int(nonterminal.sum())} orders not in a terminal state")
    if np.any(np.isnan(o["decided_at"])) or np.any(o["decided_at"] < o["t_created"] - 1e-9):
        bad.append("an order was never decided, or decided before it arrived")
    delivered = status == Status.DELIVERED
    if np.any(np.isnan(o["delivered_at"][delivered])) or np.any(o["n_shipments"][delivered] < 1):
        bad.append("a delivered order lacks a delivery time or shipment")
    if np.any(o["n_shipments"][~delivered] != 0):
        bad.append("an order that is not delivered has shipments")
    if np.any(o["delivered_at"][delivered] < o["t_created"][delivered] - 1e-6):
        bad.append("an order was delivered before it was created")
    for col in ("ship_cost", "handling"):
        if len(sh[col]) and np.any(sh[col].astype(float) < 0):
            bad.append(f"negative {col}")
    if int(o["n_shipments"].sum()) != len(sh["node"]):
        bad.append("shipment count differs between orders and shipments tables")
    logged = run.events.mode != "none"          # ``--events none`` keeps no events to check
    counts = run.events.kind_counts() if logged else None
    if logged and int(counts[Ev.ORDER_CREATED]) != len(status):
        bad.append("event log: ORDER_CREATED count differs from orders")
    if logged and int(counts[Ev.DELIVERED]) != len(sh["node"]):
        bad.append("event log: DELIVERED count differs from shipments")
    if len(sh["node"]):
        order = sh["order"].astype(np.int64)
        t = o["t_created"][order]
        stamps = [sh[c].astype(float) for c in ("created", "pick_start", "packed", "shipped",
                                                 "delivered")]
        eps = 1e-6     # SimPy advances the clock by adding delays: allow float rounding
        if np.any(stamps[0] < t - eps) or any(np.any(b < a - eps)
                                              for a, b in zip(stamps, stamps[1:], strict=False)):
            bad.append("shipment timestamps out of order")
        bad += _parcel_violations(run)
    bad += _return_violations(run)
    return bad


def _return_violations(run: RunResult) -> list[str]:
    """Returns: no order sends back more than it was shipped, restocked ≤ returned, and the
    units restocked by returns that arrived are the ones the event log put back."""
    r = run.returns
    if not r or not len(r["qty"]):
        return []
    bad = []
    if np.any(r["restocked"] < 0) or np.any(r["restocked"] > r["qty"]):
        bad.append("a return restocked more units than came back")
    n = len(run.orders["status"])
    back = np.bincount(r["order"], weights=r["qty"], minlength=n)
    sent = np.bincount(run.shipments["order"].astype(np.int64),
                       weights=run.shipments["units"].astype(float), minlength=n)
    if np.any(back > sent):
        bad.append("an order returned more units than it was shipped")
    if run.events.mode == "none":
        return bad
    logged = run.events.value_sum(Ev.RETURNED)
    if int(logged) != int(r["restocked"][r["arrived"]].sum()):
        bad.append("restocked returns differ from the event log")
    return bad


def _parcel_violations(run: RunResult) -> list[str]:
    """Consolidated parcels: riders share their host's node and journey, and every order in a
    parcel arrived within the consolidation window of the others."""
    sh, t = run.shipments, run.orders["t_created"]
    host = sh["host"].astype(np.int64)
    riders = np.flatnonzero(host >= 0)
    if not len(riders):
        return []
    consolidation = run.scenario.brokering.consolidation
    if consolidation is None:
        return ["orders were consolidated without brokering.consolidation"]
    ids = sh["id"].astype(np.int64)
    row = np.searchsorted(ids, host[riders])
    if np.any(row >= len(ids)) or np.any(ids[np.minimum(row, len(ids) - 1)] != host[riders]):
        return ["a consolidated shipment's host parcel is missing"]
    bad = []
    for col in ("node", "service", "shipped", "delivered"):
        if np.any(sh[col][riders] != sh[col][row]):
            bad.append(f"a consolidated shipment's {col} differs from its parcel's")
    order = sh["order"].astype(np.int64)
    parcel = np.unique(row)
    lo = np.full(len(parcel), np.inf)
    hi = np.full(len(parcel), -np.inf)
    k = np.searchsorted(parcel, row)
    np.minimum.at(lo, k, t[order[riders]])
    np.maximum.at(hi, k, t[order[riders]])
    lo = np.minimum(lo, t[order[parcel]])
    hi = np.maximum(hi, t[order[parcel]])
    if np.any(hi - lo > consolidation.window_hours + 1e-9):
        bad.append(f"a consolidated parcel spans {float(np.max(hi - lo)):.3f} h of orders, "
                   f"more than the {consolidation.window_hours:g} h window")
    return bad
