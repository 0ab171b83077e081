"""Replayed demand: the orders of a scenario's order-history file as demand columns.

``sim.scenario.history`` reads and checks the file (parsed once per process; its
``replayed_history`` is re-exported here); this module turns its orders into the columns
``sim.core.demand.generate_demand`` merges with the synthetic channels'. Nothing here is
random: every replication replays the same orders, only picking, transit and the other random
streams change with the seed.

Ids follow the demand's conventions: a service is an index into the service table (a promise
no service level of the channel offers is added as ``promise_<N>d``), a tier an index into the
tier names (unknown ones appended), and customer and address ids are numbered after the
synthetic ones: one customer per ``customer_id`` (a blank one is a new customer per order),
one address per customer and destination.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.scenario import Scenario
from sim.scenario.history import History, replayed_history

__all__ = ["replayed_history", "replay_columns", "replay_meta"]

ServiceTable = tuple[tuple[int, str, int], ...]


def replay_meta(scenario: Scenario) -> dict[str, Any]:
    """What a run's ``meta.json`` records of its order history (nothing without one)."""
    history = replayed_history(scenario)
    return {} if history is None else {"order_history": history.meta()}


def _services(scenario: Scenario, history: History,
              table: ServiceTable) -> tuple[np.ndarray, ServiceTable]:
    """Service-table index of every order, adding ``promise_<N>d`` entries as needed."""
    first = np.cumsum([0] + [len(ch.service_levels) for ch in scenario.channels])
    out, extra = list(table), {}
    service = np.empty(len(history.orders), dtype=np.int64)
    for i, o in enumerate(history.orders):
        if o.service is not None:
            service[i] = first[o.channel] + o.service
            continue
        key = (o.channel, o.promise_days)
        if key not in extra:
            extra[key] = len(out)
            out.append((o.channel, f"promise_{o.promise_days}d", o.promise_days))
        service[i] = extra[key]
    return service, tuple(out)


def _ids(keys: list[Any]) -> np.ndarray:
    """Dense ids in order of first appearance; a None key is always new."""
    seen: dict[Any, int] = {}
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        if key is None:
            out[i] = len(seen)
            seen[(None, i)] = out[i]
        else:
            out[i] = seen.setdefault(key, len(seen))
    return out


def replay_columns(scenario: Scenario, history: History, table: ServiceTable,
                   tier_names: tuple[str, ...], offset: int):
    """The history's orders as one part of ``generate_demand``: ``((t, channel, service,
    region, lines per order, sku, qty, tier, customer, address), service table, tier names)``,
    the table and names extended as needed; customer and address ids start at ``offset``."""
    orders = history.orders
    service, table = _services(scenario, history, table)
    names = list(tier_names) + sorted({o.tier for o in orders} - set(tier_names))
    customer = _ids([o.customer for o in orders])
    address = _ids([(c, round(o.lat, 5), round(o.lon, 5))
                    for c, o in zip(customer.tolist(), orders, strict=True)])
    columns = (np.array([o.t for o in orders], dtype=float),
               np.array([o.channel for o in orders], dtype=np.int64), service,
               np.array([o.region for o in orders], dtype=np.int64),
               np.array([len(o.skus) for o in orders], dtype=np.int64),
               np.array([k for o in orders for k in o.skus], dtype=np.int64),
               np.array([q for o in orders for q in o.qtys], dtype=np.int64),
               np.array([names.index(o.tier) for o in orders], dtype=np.int64),
               customer + offset, address + offset)
    return columns, table, tuple(names)
