"""Where the money is: the per-order difference between the rules' decision and the optimal
plan (rule cost − optimal cost, the *saving*), summed by the rule that decided, by the node and
the carrier service the rules used, by the move from the rules' node to the optimal one, and
the most expensive orders the optimum decides differently, with both decisions.
"""

from __future__ import annotations

import pandas as pd

from sim.measure.optimum.result import OptimumResult

__all__ = ["GROUPS", "where_the_money_is", "saving_by"]

#: Table name → column of ``OptimumResult.orders`` it groups by.
GROUPS = {"by_sourcing_rule": "sourcing_rule", "by_split_rule": "split_rule",
          "by_carrier_rule": "carrier_rule", "by_node": "rule_nodes",
          "by_service": "rule_services"}

_TOP_COLUMNS = ["order_id", "channel", "region", "sourcing_rule", "split_rule", "carrier_rule",
                "rule_nodes", "rule_services", "rule_cost", "optimal_nodes", "optimal_services",
                "optimal_cost", "saving"]


def saving_by(orders: pd.DataFrame, keys: str | list[str]) -> pd.DataFrame:
    """Per value of ``keys``: orders, orders decided differently, rule and optimal cost, the
    saving, saving per order and share of the total saving (%), largest saving first."""
    g = orders.groupby(keys, sort=True)
    out = g.agg(orders=("saving", "size"), differing=("differs", "sum"),
                rule_cost=("rule_cost", "sum"), optimal_cost=("optimal_cost", "sum"),
                saving=("saving", "sum")).reset_index()
    out["saving_per_order"] = out["saving"] / out["orders"]
    total = float(orders["saving"].sum())
    out["share_pct"] = 100.0 * out["saving"] / total if total else 0.0
    return out.sort_values(["saving", *([keys] if isinstance(keys, str) else keys)],
                           ascending=[False] + [True] * (1 if isinstance(keys, str)
                                                         else len(keys)),
                           kind="stable").reset_index(drop=True)


def where_the_money_is(result: OptimumResult, top: int = 20) -> dict[str, pd.DataFrame]:
    """The saving by decision rule, node and service (``GROUPS``), by move (``moves``: the
    rules' nodes → the optimal nodes, differing orders only) and the ``top`` orders with the
    largest saving among those decided differently (``top_orders``)."""
    orders = result.orders
    out = {name: saving_by(orders, col) for name, col in GROUPS.items()}
    differing = orders[orders["differs"]]
    out["moves"] = saving_by(differing, ["rule_nodes", "optimal_nodes"])
    out["top_orders"] = differing.sort_values(["saving", "order_id"], ascending=[False, True],
                                              kind="stable").head(top)[_TOP_COLUMNS] \
        .reset_index(drop=True)
    return out
