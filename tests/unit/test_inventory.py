"""Inventory model: positions with backorders, exact time averages, multi-echelon transfers,
lot sizing, rounding of day-based levels, costs and the KPI fixes that came with them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, make_scenario, run_checked, single_item_scenario

from sim.core.events import Ev
from sim.core.inventory import nearest_units, units_from_days
from sim.core.model import Status
from sim.measure.kpis import COST_COMPONENTS, window_orders
from sim.scenario import ScenarioError, Supplier, WalkIns

HOURS = 24.0


def test_day_levels_round_to_nearest_with_tolerance():
    assert units_from_days(3, 55 / 3) == 55            # 54.999… is 55, not 56
    assert units_from_days(2.5, 1.0) == 3               # halves go up
    assert units_from_days(1.0, 2.4) == 2
    assert units_from_days(1.0, 2.6) == 3
    assert nearest_units(0.49999) == 0


def test_supplier_lot_applies_moq_then_multiple():
    lane = Supplier(name="v", lead_time_days={"kind": "const", "value": 1}, moq=10,
                    order_multiple=4)
    assert [lane.lot(q) for q in (1, 10, 11, 12, 13)] == [12, 12, 12, 12, 16]


def rule_files(tmp_path, reorder: str, sourcing: str = "{node_types: [dc, store]}"):
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "src.yaml").write_text(
        f"ruleset: src\npoint: sourcing\nrules:\n  - {{name: any, then: {sourcing}}}\n")
    (rules / "reorder.yaml").write_text(
        f"ruleset: re\npoint: reorder\nrules:\n{reorder}")
    return {"sourcing": str(rules / "src.yaml"), "reorder": str(rules / "reorder.yaml")}


def echelon_scenario(tmp_path, days=21, dc_days=3):
    """DC-WEST buys from the vendor; STORE-LA is replenished from DC-WEST (one-for-one)."""
    reorder = ("  - {name: store, priority: 5, when: {node_kind: store}, "
               "then: {policy: base_stock, S_days: 4}}\n"
               "  - {name: dc, then: {policy: sS, s_days: 6, S_days: 12}}\n")
    return make_scenario(
        horizon_days=days, warmup_days=2, seed=5,
        suppliers=[{"name": "vendor", "order_cost": 30.0},
                   {"name": "transfer", "lead_time_days": {"kind": "const", "value": 1},
                    "order_cost": 2.0, "unit_cost": 0.5}],
        nodes=[{"name": "DC-EAST", "closed": True},
               {"name": "DC-WEST", "stock": {"days_of_supply": dc_days}},
               {"name": "STORE-LA", "supplier": "transfer", "replenished_from": "DC-WEST",
                "stock": {"days_of_supply": 2}}],
        policies=rule_files(tmp_path, reorder))


def test_multi_echelon_conserves_units_and_dc_stock_feeds_the_store(tmp_path):
    out = run_checked(echelon_scenario(tmp_path))
    run, inv = out.run, out.run.inventory
    dc, store = 1, 2
    ev = run.events.to_arrow([n.name for n in run.scenario.nodes],
                             [s.id for s in run.scenario.skus]).to_pandas()
    transfers = ev[ev.event == "transfer_out"]
    assert len(transfers) > 0 and set(transfers.node) == {"DC-WEST"}
    # DC on hand fell by exactly what it transferred (and what it shipped to customers).
    np.testing.assert_array_equal(
        inv["on_hand"][dc],
        inv["opening"][dc] + inv["received"][dc] - inv["shipped"][dc] - inv["transferred"][dc])
    sent = transfers.groupby("sku").qty.sum()
    for k, sku in enumerate(s.id for s in run.scenario.skus):
        assert inv["transferred"][dc, k] == sent.get(sku, 0)
    # Supplier → DC → store → customer: the store only ever receives what the DC sent.
    assert inv["transferred"].sum() == inv["received"][store].sum() + inv["in_transit"]
    assert inv["transferred"][store].sum() == 0
    # Store orders go to the DC (no purchase price, only the lane's freight and order cost).
    from_dc = inv["po_source"] == dc
    assert from_dc.any() and np.all(inv["po_node"][from_dc] == store)
    assert np.all(inv["po_source"][inv["po_node"] == dc] == -1)
    # Whole-system units: opening + supplier receipts = customer shipments + on hand + transit.
    supplier_in = inv["received"].sum() - inv["received"][store].sum()
    assert inv["opening"].sum() + supplier_in == (inv["shipped"].sum() + inv["on_hand"].sum()
                                                  + inv["in_transit"])


def test_short_source_owes_transfers_and_pays_them_on_receipt(tmp_path):
    # The DC starts empty: store orders are owed, then sent as the DC's own receipts arrive.
    sc = echelon_scenario(tmp_path, dc_days=0)
    out = run_checked(sc)
    inv = out.run.inventory
    assert inv["transferred"][1].sum() > 0
    t_out = [r for r in out.run.events.rows if r[1] == Ev.TRANSFER_OUT]
    t_recv_dc = min(r[0] for r in out.run.events.rows if r[1] == Ev.RECEIVED and r[3] == 1)
    assert min(r[0] for r in t_out) >= t_recv_dc       # nothing left the DC before it had stock


def integrate_on_hand(run) -> float:
    """Σ on hand × hours over the window, rebuilt from events.parquet alone (plus the opening
    stock): receipts add, transfers out and walk-in sales subtract, a shipment's reserved
    units leave at its PACKED event (a shipment is one order at one node), and a rejected
    shipment's missing lines leave at their REJECTED event (found lines never left)."""
    sc = run.scenario
    table = run.events.to_arrow([n.name for n in sc.nodes], [s.id for s in sc.skus])
    ev = table.to_pandas()
    node_ix = {n.name: i for i, n in enumerate(sc.nodes)}
    sku_ix = {s.id: i for i, s in enumerate(sc.skus)}
    packed = ev[ev.event == "packed"].set_index(["order_id", "node"]).t_hours
    rejected = ev[ev.event == "rejected"].set_index(["order_id", "node", "sku"])
    changes = []        # (t, node, sku, delta)
    for r in ev[ev.event == "reserved"].itertuples():
        if (r.order_id, r.node) in packed.index:
            changes.append((packed[(r.order_id, r.node)], r.node, r.sku, -r.qty))
        else:                                       # rejected at pick
            rej = rejected.loc[(r.order_id, r.node, r.sku)]
            if rej.value == 1.0:
                changes.append((rej.t_hours, r.node, r.sku, -r.qty))
    for kind, sign in (("received", 1), ("transfer_out", -1), ("walk_in_sold", -1)):
        for r in ev[ev.event == kind].itertuples():
            changes.append((r.t_hours, r.node, r.sku, sign * r.qty))
    t0, t1 = sc.warmup_days * HOURS, sc.horizon_days * HOURS
    stocked = run.inventory["carried"] & ~run.inventory["unlimited"][:, None]
    level = run.inventory["opening"].astype(float).copy()
    last = np.zeros_like(level)
    area = 0.0
    for t, node, sku, delta in sorted(changes, key=lambda c: c[0]):
        n, s = node_ix[node], sku_ix[sku]
        lo, hi = max(last[n, s], t0), min(t, t1)
        if hi > lo and stocked[n, s]:
            area += level[n, s] * (hi - lo)
        level[n, s] += delta
        last[n, s] = t
    for n, s in zip(*np.nonzero(stocked), strict=True):
        lo = max(last[n, s], t0)
        if t1 > lo:
            area += level[n, s] * (t1 - lo)
    return area / (t1 - t0)


def test_avg_on_hand_is_the_exact_integral_of_the_event_log(tmp_path):
    sc = echelon_scenario(tmp_path, days=14)
    store = sc.nodes[2].model_copy(update={"walk_ins": WalkIns(units_per_day=30),
                                           "record_accuracy": 0.9})
    out = run_checked(sc.model_copy(update={"nodes": [*sc.nodes[:2], store]}))
    assert out.kpis["kpis"]["walk_in_units"] > 0
    assert out.kpis["kpis"]["written_off_units"] > 0
    assert out.kpis["kpis"]["avg_on_hand_units"] == pytest.approx(
        integrate_on_hand(out.run), abs=1e-5)


def test_position_counts_backorders_so_rq_reorders_when_short(tmp_path):
    """With backorders in the position, (r,Q) keeps the position in {r+1, …, r+Q} through
    stock-outs: receipts and released backorders leave it unchanged, every demand (filled or
    backordered) is reviewed. The old position (ignoring backorders) drifted above r+Q."""
    r, q = 2, 5
    reorder = f"  - {{name: rq, then: {{policy: RQ, s_units: {r}, Q_units: {q}}}}}\n"
    sc = make_scenario(
        horizon_days=10, warmup_days=1, seed=3,
        suppliers=[{"name": "vendor", "lead_time_days": {"kind": "const", "value": 3}}],
        nodes=[{"name": "DC-EAST", "stock": {"days_of_supply": 0}},
               {"name": "DC-WEST", "closed": True}, {"name": "STORE-LA", "closed": True}],
        policies=rule_files(tmp_path, reorder, "{node_types: [dc]}"))
    out = run_checked(sc)
    inv = out.run.inventory
    assert np.all(inv["po_qty"] % q == 0)
    assert out.kpis["kpis"]["avg_backorder_units"] > 0
    assert out.kpis["kpis"]["cycle_service_pct"] < 100.0
    position = (inv["on_hand"] - inv["reserved"] + inv["on_order"] - inv["backorders"])[0]
    assert np.all((position > r) & (position <= r + q)), position


def test_costs_are_complete_and_non_negative(tmp_path):
    out = run_checked(echelon_scenario(tmp_path))
    k, parts = out.kpis["kpis"], out.kpis["breakdowns"]["total_cost"]
    assert set(parts) == {key for key, _ in COST_COMPONENTS}
    assert all(v >= 0 for v in parts.values())
    assert sum(parts.values()) == pytest.approx(k["total_cost"], abs=1e-3)
    assert k["total_cost_per_order"] == pytest.approx(k["total_cost"] / k["orders"], rel=1e-6)
    assert parts["holding"] > 0 and parts["ordering"] > 0 and parts["purchase"] > 0
    # Holding is the rate × value × time of the exact average on hand.
    run = out.run
    inv = run.inventory
    stocked = inv["carried"] & ~inv["unlimited"][:, None]
    value = (np.where(stocked, inv["window_area"][0], 0).sum(axis=0) @ inv["unit_cost"])
    assert parts["holding"] == pytest.approx(
        value * run.scenario.costs.holding_rate_per_year / (365 * HOURS), rel=1e-4)
    # Purchase = external purchases in the window − growth of the network's position at
    # purchase price + freight per unit ordered (transfers pay freight, not the price again).
    w = (inv["po_t"] >= 2 * HOURS) & (inv["po_t"] < 21 * HOURS)
    ext = w & (inv["po_source"] < 0)
    bought = float((inv["unit_cost"][inv["po_sku"][ext]] * inv["po_qty"][ext]).sum())
    start, end = inv["window_positions"]
    growth = float(((end - start) * inv["unit_cost"][None, :]).sum())
    freight = 0.5 * inv["po_qty"][w & (inv["po_source"] >= 0)].sum()
    assert parts["purchase"] == pytest.approx(bought - growth + freight, rel=1e-4)
    # With no lost sales, that is the cost of the units customers took in the window.
    demanded = float((out.run.orders["cogs"][window_orders(run)]).sum())
    assert bought - growth == pytest.approx(demanded, rel=1e-9)


def test_lost_sales_cost_their_margin(tmp_path):
    reorder = "  - {name: none, then: {policy: none}}\n"
    sc = make_scenario(policies=rule_files(tmp_path, reorder,
                                           "{node_types: [dc], unfillable: cancel}"),
                       nodes=[{"name": "DC-EAST", "stock": {"days_of_supply": 1}},
                              {"name": "DC-WEST", "stock": {"days_of_supply": 1}}])
    out = run_checked(sc)
    o = out.run.orders
    w = window_orders(out.run) & (o["status"] == Status.CANCELLED)
    assert w.sum() > 0
    assert out.kpis["breakdowns"]["total_cost"]["lost_sale"] == pytest.approx(
        float((o["value"][w] - o["cogs"][w]).sum()), abs=1e-3)


def test_line_fill_counts_fallback_strategies(tmp_path):
    """An order filled by a fallback strategy has all its lines filled."""
    sourcing = ("{node_types: [store], fallback: [{node_types: [dc]}]}")
    reorder = "  - {name: none, then: {policy: none}}\n"
    sc = make_scenario(policies=rule_files(tmp_path, reorder, sourcing),
                       nodes=[{"name": "STORE-LA", "stock": {"days_of_supply": 0}},
                              {"name": "DC-EAST", "stock": {"days_of_supply": 60}},
                              {"name": "DC-WEST", "stock": {"days_of_supply": 60}}])
    k = run_checked(sc).kpis["kpis"]
    assert k["order_fill_rate_pct"] == 100.0
    assert k["line_fill_rate_pct"] == 100.0


def test_keep_groups_false_lets_a_kit_split(tmp_path):
    """Two SKUs of one group, each stocked at a different node: with keep_groups the order
    cannot be filled; with keep_groups: false it ships in two parcels."""
    def run(keep: bool):
        rules = tmp_path / f"split{keep}.yaml"
        flag = str(keep).lower()
        rules.write_text("ruleset: s\npoint: split\nrules:\n  - {name: any, then: {mode: "
                         f"allow_split, max_shipments: 2, keep_groups: {flag}}}}}\n")
        sc = make_scenario(
            replace={"skus": [{"id": k, "weight_lb": 1.0, "price": 20.0, "cost": 8.0,
                               "popularity": 1, "group": "kit"} for k in ("A", "B")],
                     "channels": [{"name": "web", "kind": "web", "orders_per_day": 30,
                                   "lines_per_order": {"kind": "const", "value": 2},
                                   "units_per_line": {"kind": "const", "value": 1},
                                   "service_levels": [{"name": "standard", "promise_days": 4,
                                                       "share": 1.0}]}]},
            nodes=[{"name": "DC-EAST", "stock": {"days_of_supply": 0, "units": {"A": 500}}},
                   {"name": "DC-WEST", "stock": {"days_of_supply": 0, "units": {"B": 500}}},
                   {"name": "STORE-LA", "closed": True}],
            policies={**rule_files(tmp_path, "  - {name: none, then: {policy: none}}\n",
                                   "{node_types: [dc]}"), "split": str(rules)})
        return run_checked(sc)
    kept_out, split_out = run(True), run(False)
    kept, split = kept_out.kpis["kpis"], split_out.kpis["kpis"]
    w = window_orders(kept_out.run)
    one_sku = 100.0 * float(np.mean(kept_out.run.orders["lines"][w] == 1))
    assert kept["order_fill_rate_pct"] == pytest.approx(one_sku)    # only one-SKU baskets fill
    assert kept["split_rate_pct"] == 0.0
    assert split["order_fill_rate_pct"] == 100.0
    assert split["split_rate_pct"] == pytest.approx(100.0 - one_sku, abs=1e-4)


def test_utilisation_never_exceeds_100_pct_when_picks_run_past_shift_end():
    """Stores overloaded with long picks: busy time outside shift hours is overtime."""
    sc = make_scenario(horizon_days=14, nodes=[
        {"name": "STORE-LA", "capacity": {"pickers": 1, "minutes_per_order": 11},
         "stock": {"days_of_supply": 30}},
        {"name": "DC-EAST", "closed": True}, {"name": "DC-WEST", "closed": True}],
        policies={"sourcing": "routing/nearest_first"}, drain_days=60)
    out = run_checked(sc)
    util = out.kpis["breakdowns"]["node_utilisation_pct"]["STORE-LA"]
    assert 95.0 <= util <= 100.0


@pytest.mark.parametrize("shipped", sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
def test_every_shipped_scenario_conserves_units_and_keeps_utilisation_at_most_100(shipped):
    """One week of every scenario we ship: every invariant (units conserved through transfers,
    walk-ins, pickups, no-shows and rejections; one terminal state per order) and utilisation
    ≤ 100%."""
    from sim.scenario import load_scenario
    sc = load_scenario(ROOT / "scenarios" / f"{shipped}.yaml").model_copy(
        update={"horizon_days": 7.0, "warmup_days": 1.0})
    util = run_checked(sc).kpis["breakdowns"]["node_utilisation_pct"]
    assert max(util.values()) <= 100.0


def test_replenishment_from_unknown_or_cyclic_node_is_refused():
    with pytest.raises(ScenarioError, match=r"nodes\[2\]\.replenished_from: unknown node"):
        make_scenario(nodes=[{"name": "STORE-LA", "replenished_from": "DC-NOWHERE"}])
    with pytest.raises(ScenarioError, match="replenishment cycle"):
        make_scenario(nodes=[{"name": "DC-EAST", "replenished_from": "DC-WEST"},
                             {"name": "DC-WEST", "replenished_from": "DC-EAST"}])


def test_supplier_capacity_paces_receipts(tmp_path):
    """A lane that ships 10 units a day cannot deliver a 20-a-day demand: receipts by day d
    never exceed 10·d (first come, first served), and backorders pile up."""
    sc = single_item_scenario(tmp_path, {"policy": "base_stock", "S_units": 40}, lam=20.0,
                              lead=1.0, days=20, warmup=2, opening=40, seed=9,
                              supplier={"capacity_per_day": 10.0})
    out = run_checked(sc)
    ev = [r for r in out.run.events.rows if r[1] == Ev.RECEIVED]
    t = np.array([r[0] for r in ev])
    q = np.cumsum([r[5] for r in ev])
    assert len(t) > 10
    assert np.all(q <= 10.0 * (t / HOURS - 1.0) + 1e-6)    # capacity, then a day's lead time
    assert q[-1] >= 10.0 * (t[-1] / HOURS - 1.0) - 20       # and the lane is kept busy
    assert out.kpis["kpis"]["avg_backorder_units"] > 20


def test_forecast_policy_follows_observed_demand(tmp_path):
    """Forecast-driven (R,S): a higher safety factor z holds more stock and fills more."""
    def run(z: float):
        sc = single_item_scenario(
            tmp_path, {"policy": "forecast", "review_days": 1, "z": z, "alpha": 0.3},
            lam=20.0, lead=2.0, days=60, warmup=10, opening=60, seed=2)
        return run_checked(sc).kpis["kpis"]
    lean, safe = run(0.0), run(2.5)
    assert safe["avg_on_hand_units"] > lean["avg_on_hand_units"] + 10
    assert safe["unit_fill_rate_pct"] > 97.0 > lean["unit_fill_rate_pct"]
    # Order-up-to ≈ d(L+R) + zσ√(L+R): the position averages near d(L+R) − d/2 + z·√(20·3)
    # (σ of daily Poisson demand is √20), within a few units.
    assert abs(safe["avg_inventory_position_units"] - (20 * 3 - 10 + 2.5 * (20 * 3) ** 0.5)) < 8
