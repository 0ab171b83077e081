"""Read the offline problem out of a finished run's tables.

* **Planned orders**: every order the run shipped by carrier (at least one shipment, all of
  them by carrier), outside store-pickup channels. Their lines are the units the run actually
  shipped (reservations in the event log less rejected ones), so the plan serves exactly the
  demand the rules served. An order is **released** when the run made its last (kept)
  reservation: on arrival for most, at the batch for batch brokering, when stock came for a
  backorder, after a rejection for a re-sourced one.
* **Stock**: opening stock, then every change the plan does not decide, at its time: receipts
  (supplier orders and transfers in), transfers out, walk-in sales, restocked returns and
  pickup no-shows, phantom units written off, and the reservations of orders that are not
  planned (store pickups), net of their rejections. Replenishment is therefore taken as it
  happened in the run (it would differ under other decisions; that feedback is left out).
* **The rule's plan**: the run's final shipments of the planned orders, at what they cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.events import Ev
from sim.core.model import RunResult
from sim.measure.kpis import window_orders
from sim.measure.optimum.problem import Orders, Problem, RulePlan, make_problem

__all__ = ["problem_from_run", "planned_mask"]

_T, _KIND, _ORDER, _NODE, _SKU, _QTY, _VALUE = range(7)


def planned_mask(run: RunResult) -> np.ndarray:
    """Orders of the run the optimum re-decides (see the module docstring)."""
    o, sh = run.orders, run.shipments
    n = len(o["t_created"])
    order = sh["order"].astype(np.int64)
    by_carrier = sh["service"].astype(np.int64) >= 0
    shipped = np.bincount(order, minlength=n) > 0
    other = np.bincount(order[~by_carrier], minlength=n) > 0
    pickup = np.array([ch.pickup is not None for ch in run.scenario.channels])
    return shipped & ~other & ~pickup[o["channel"]]


def _events(run: RunResult) -> np.ndarray:
    """The event log as a float array, one row per event (columns as ``EventLog`` rows)."""
    cols = run.events.columns()
    return np.column_stack([cols[k].astype(float) for k in
                            ("t", "kind", "order", "node", "sku", "qty", "value")])


def _reservations(ev: np.ndarray) -> pd.DataFrame:
    """Net units each order kept per node×SKU: reserved less rejected (found or missing)."""
    kind = ev[:, _KIND]
    res = ev[(kind == Ev.RESERVED) | (kind == Ev.REJECTED)]
    sign = np.where(res[:, _KIND] == Ev.RESERVED, 1, -1)
    df = pd.DataFrame({"order": res[:, _ORDER].astype(np.int64),
                       "node": res[:, _NODE].astype(np.int64),
                       "sku": res[:, _SKU].astype(np.int64),
                       "qty": sign * res[:, _QTY].astype(np.int64)})
    df = df.groupby(["order", "node", "sku"], sort=True)["qty"].sum().reset_index()
    return df[df["qty"] > 0]


def _stock_changes(run: RunResult, ev: np.ndarray, planned: np.ndarray
                   ) -> tuple[np.ndarray, ...]:
    """(node, sku, t, delta) of every stock change the plan does not decide."""
    kind, qty = ev[:, _KIND], ev[:, _QTY]
    order = ev[:, _ORDER].astype(np.int64)
    is_planned = np.zeros(len(ev), dtype=bool)
    has_order = order >= 0
    is_planned[has_order] = planned[order[has_order]]
    gone = ev[:, _VALUE] > 0.5                   # a rejected line that was missing (written off)
    delta = np.select(
        [kind == Ev.RECEIVED, kind == Ev.RESTOCKED, kind == Ev.RETURNED,
         kind == Ev.TRANSFER_OUT, kind == Ev.WALK_IN_SOLD,
         (kind == Ev.REJECTED) & is_planned & gone,
         (kind == Ev.RESERVED) & ~is_planned,
         (kind == Ev.REJECTED) & ~is_planned & ~gone],
        [qty, qty, ev[:, _VALUE], -qty, -qty, -qty, -qty, qty], default=0).astype(np.int64)
    keep = delta != 0
    opening = run.inventory["opening"]
    unlimited = run.inventory["unlimited"]
    n0, s0 = np.nonzero((opening > 0) & ~unlimited[:, None])
    return (np.concatenate([n0, ev[keep, _NODE].astype(np.int64)]),
            np.concatenate([s0, ev[keep, _SKU].astype(np.int64)]),
            np.concatenate([np.zeros(len(n0)), ev[keep, _T]]),
            np.concatenate([opening[n0, s0].astype(np.int64), delta[keep]]))


def problem_from_run(run: RunResult) -> Problem:
    """The offline problem of ``run``'s planned orders (see the module docstring)."""
    o, sh = run.orders, run.shipments
    ev = _events(run)
    planned = planned_mask(run)
    kept = _reservations(ev)
    kept = kept[planned[kept["order"].to_numpy()]]
    planned &= np.bincount(kept["order"], minlength=len(planned)) > 0
    ship = pd.DataFrame({k: sh[k] for k in ("order", "node", "service", "weight", "units",
                                            "ship_cost", "handling", "created")})
    ship["carrier_rule"] = sh["carrier_rule"]
    ship = ship[planned[ship["order"].astype(np.int64).to_numpy()]]
    release = ship.groupby("order")["created"].max()
    ids = release.index.to_numpy(np.int64)
    rel = release.to_numpy(float)
    sort = np.lexsort((ids, rel))
    ids, rel = ids[sort], rel[sort]
    index = np.full(len(planned), -1, dtype=np.int64)
    index[ids] = np.arange(len(ids))
    lines = kept.groupby(["order", "sku"], sort=False)["qty"].sum().reset_index()
    lines["i"] = index[lines["order"].to_numpy()]
    lines = lines.sort_values(["i", "sku"], kind="stable")
    counts = np.bincount(lines["i"], minlength=len(ids))
    orders = Orders(order_id=ids, release=rel, region=o["region"][ids].astype(np.int64),
                    deadline=o["deadline"][ids].astype(float),
                    line_start=np.concatenate([[0], np.cumsum(counts)]),
                    sku=lines["sku"].to_numpy(np.int64), qty=lines["qty"].to_numpy(np.int64),
                    in_window=window_orders(run)[ids])
    rule = RulePlan(order=index[ship["order"].astype(np.int64).to_numpy()],
                    node=ship["node"].to_numpy(np.int64),
                    service=ship["service"].to_numpy(np.int64),
                    weight=ship["weight"].to_numpy(float), units=ship["units"].to_numpy(np.int64),
                    cost=(ship["ship_cost"] + ship["handling"]).to_numpy(float),
                    carrier_rule=ship["carrier_rule"].to_numpy(object),
                    use_order=index[kept["order"].to_numpy()], use_node=kept["node"].to_numpy(),
                    use_sku=kept["sku"].to_numpy(), use_qty=kept["qty"].to_numpy())
    return make_problem(run.scenario, orders, _stock_changes(run, ev, planned), rule)
