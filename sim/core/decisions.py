"""Every rule decision of a run in one place: the facts a decision point sees, the engine call
and the trace row it leaves.

``Decisions`` builds each point's facts from the ``OrderBook`` (and the shipment or node×SKU
being decided), asks the ``Engine`` and appends a ``TraceRow``, so the model's pipeline only
says *which* decision it needs and acts on the outcome.

A rule set's decision depends only on the facts its conditions read (``fields_read``), so an
order's facts hold just the fields some order-time rule set of the run reads: the decisions,
and so the run, are those of the full facts.
"""

from __future__ import annotations

from typing import Any

from rules.engine import Decision, Engine
from rules.schema import FACT_FIELDS, fields_read
from sim.core.clock import Clock
from sim.core.conditions import Test, to_test
from sim.core.conditions import first_match as first_hit
from sim.core.fulfillment import Shipment
from sim.core.records import HOURS, OrderBook, Trace, round_to
from sim.core.rule_checks import REQUIRED_POINTS, check_rule_references, check_rules
from sim.core.sourcing import Coverage
from sim.scenario import Node, Scenario, Sku

__all__ = ["Decisions", "REQUIRED_POINTS", "check_rules", "check_rule_references",
           "first_outcome"]

_PRIORITY_FACTS = set(FACT_FIELDS["priority"])
#: The points decided per order (or shipment), whose facts start from the order's.
_ORDER_POINTS = ("sourcing", "split", "carrier", "priority", "backorder")
#: Order facts in the order ``FACT_FIELDS`` names them; what the split and carrier points add.
_ORDER_FIELDS = tuple(FACT_FIELDS["sourcing"])
_COVERAGE_FIELDS = ("single_node_fill", "nodes_needed")
_SHIPMENT_FIELDS = ("zone", "distance_mi", "node", "node_kind", "shipment_weight_lb",
                    "shipment_units")


def first_outcome(outcome: Any) -> Any:
    """The outcome of a decision, or the first one under a ``collect`` hit policy (a tuple)."""
    return outcome[0] if isinstance(outcome, tuple) else outcome


class Decisions:
    """The engine, the decision trace and the fact builders of one run.

    One method per decision point builds that point's facts, decides through ``decide`` (the
    only place the engine is called and a ``TraceRow`` appended) and returns the ``Decision``.
    """

    def __init__(self, engine: Engine, clock: Clock, scenario: Scenario,
                 book: OrderBook, weekday0: int):
        self.engine = engine
        self.trace = Trace()
        self.has_priority = "priority" in engine.rulesets
        self.has_backorder = "backorder" in engine.rulesets
        self._clock, self._book, self._weekday0 = clock, book, weekday0
        self._service_table, self._tier_names = book.demand.service_table, book.demand.tier_names
        #: ``id(decision)`` (with the subject, if any) → (the decision, its ``Trace``
        #: combination code); holding the decision keeps its id from being reused
        self._codes: dict[int | tuple[int, str], tuple[Decision, int]] = {}
        #: per point with a compiled first-hit rule set: its rules' conditions as tests and,
        #: per rule, (its decision, trace code) once first used
        self._fast: dict[str, tuple[list[Test], list]] = {}
        for point, rs in engine.rulesets.items():
            if engine.first_predicates(point) is not None:
                self._fast[point] = ([to_test(r.when) for r in rs.rules], [None] * len(rs.rules))
        # The fields the order-time rule sets read: the order facts built, and whether the
        # split and carrier points add theirs.
        read = {f for p in _ORDER_POINTS if p in engine.rulesets
                for f in fields_read(engine.rulesets[p])}
        self._order_fields = [f for f in _ORDER_FIELDS if f in read]
        self._coverage_facts = any(f in read for f in _COVERAGE_FIELDS)
        self._shipment_fields = [f for f in _SHIPMENT_FIELDS if f in read]
        # Per channel (kind, name) and per region (metro, state): what order facts name.
        self._channel_facts = [(ch.kind, ch.name) for ch in scenario.channels]
        self._region_facts = [(r.metro, r.state) for r in scenario.regions]

    def decide(self, point: str, facts: dict[str, Any], order: int = -1,
               subject: str = "") -> Decision:
        """Apply the point's rules to ``facts`` and record the decision in the trace."""
        fast = self._fast.get(point)
        if fast is not None and not subject:     # a compiled first-hit rule set
            i = first_hit(fast[0], facts)
            if i >= 0:
                hit = fast[1][i]
                if hit is None:
                    dec = self.engine.decision_at(point, i)
                    hit = fast[1][i] = (dec, self._code(dec, subject))
                self.trace.add(self._clock.now, order, hit[1])
                return hit[0]
        dec = self.engine.decide(point, facts)
        key = (id(dec), subject) if subject else id(dec)    # a decision knows its point
        hit = self._codes.get(key)
        if hit is None or hit[0] is not dec:
            hit = self._codes[key] = (dec, self._code(dec, subject))
        self.trace.add(self._clock.now, order, hit[1])
        return dec

    def _code(self, dec: Decision, subject: str) -> int:
        """The trace's combination code of ``dec`` about ``subject``."""
        return self.trace.code(dec.point, dec.ruleset, dec.winner, ",".join(dec.matched),
                               subject)

    # -- facts ------------------------------------------------------------------------------

    def order_facts(self, i: int, retry: bool) -> dict[str, Any]:
        """Facts about order ``i`` every order-level point sees (those the run's rules read)."""
        return {f: self.order_fact(f, i, retry) for f in self._order_fields}

    def order_fact(self, field: str, i: int, retry: bool) -> Any:
        """The order fact ``field`` of order ``i`` (see ``rules.schema.FACT_FIELDS``)."""
        b = self._book
        if field == "channel":
            return self._channel_facts[b.channel[i]][0]
        if field == "order_value":
            return b.fact_value[i]
        if field == "channel_name":
            return self._channel_facts[b.channel[i]][1]
        if field == "service_level":
            return self._service_table[b.service[i]][1]
        if field == "promise_days":
            return self._service_table[b.service[i]][2]
        if field == "units":
            return b.units[i]
        if field == "lines":
            return b.starts[i + 1] - b.starts[i]
        if field == "weight_lb":
            return b.fact_weight[i]
        if field == "region":
            return self._region_facts[b.region[i]][0]
        if field == "state":
            return self._region_facts[b.region[i]][1]
        if field == "hour":
            return int(b.t[i] % HOURS)
        if field == "weekday":
            return (self._weekday0 + int(b.t[i] // HOURS)) % 7
        if field == "is_retry":
            return retry
        if field == "customer_tier":
            return self._tier_names[b.tier[i]]
        raise KeyError(field)

    def _age_hours(self, i: int) -> float:
        return round_to(self._clock.now - self._book.t[i], 3)

    # -- decision points --------------------------------------------------------------------

    def sourcing(self, i: int, retry: bool) -> tuple[dict[str, Any], Decision]:
        """Where order ``i`` may be filled from; also returns the order's facts, which the split
        and carrier decisions of this attempt extend."""
        facts = self.order_facts(i, retry)
        return facts, self.decide("sourcing", facts, i)

    def split(self, facts: dict[str, Any], i: int, cov: Coverage) -> Decision:
        """How order ``i`` may split, given what the ranked nodes can fill (``cov``); adds the
        coverage facts to ``facts``."""
        if self._coverage_facts:
            facts["single_node_fill"] = cov.single is not None
            facts["nodes_needed"] = len(cov.greedy) if cov.greedy is not None else 0
        return self.decide("split", facts, i)

    def shipment(self, facts: dict[str, Any], i: int, ship: Shipment,
                 node: Node) -> tuple[Decision, Decision | None]:
        """Carrier rules for a shipment of order ``i`` from ``node``, and its pick priority when
        the scenario has priority rules (else None)."""
        cfacts = facts              # the rules read no shipment fact: the order's, unchanged
        if self._shipment_fields:
            cfacts = dict(facts)
            for f in self._shipment_fields:
                cfacts[f] = _shipment_fact(f, ship, node)
        carrier = self.decide("carrier", cfacts, i)
        if not self.has_priority:
            return carrier, None
        return carrier, self.priority(cfacts, i)

    def priority(self, facts: dict[str, Any], i: int) -> Decision:
        """Pick priority of a shipment of order ``i`` (``facts`` name its node), at the order's
        age now."""
        pfacts = {k: v for k, v in facts.items() if k in _PRIORITY_FACTS}
        pfacts["age_hours"] = self._age_hours(i)
        return self.decide("priority", pfacts, i)

    def pick_priority(self, facts: dict[str, Any], i: int, node: Node) -> int:
        """The pick priority of a shipment of order ``i`` (``facts``: the order's) at
        ``node``, at the order's age now."""
        nfacts = dict(facts, node=node.name, node_kind=node.kind)
        return first_outcome(self.priority(nfacts, i).outcome).priority

    def reprioritised(self, ship: Shipment, node: Node) -> int:
        """The pick priority a queued shipment has now (age-based rules see how long its order
        has waited)."""
        return self.pick_priority(self.order_facts(ship.order, False), ship.order, node)

    def backorder(self, i: int, lines_short: int) -> Decision:
        """What to do with order ``i`` while it waits: ``lines_short`` lines no node has."""
        facts = dict(self.order_facts(i, True), lines_short=lines_short,
                     age_hours=self._age_hours(i))
        return self.decide("backorder", facts, i)

    def reorder(self, node: Node, sku: Sku, sku_class: str, daily: float,
                lead_time_days: float) -> Decision:
        """The replenishment policy of ``sku`` at ``node`` (``daily`` forecast units a day)."""
        facts = {"node": node.name, "node_kind": node.kind, "sku": sku.id,
                 "sku_class": sku_class, "daily_demand": round(daily, 4),
                 "lead_time_days": lead_time_days, "unit_cost": sku.cost,
                 "price": sku.price, "replenished_from": node.replenished_from or ""}
        return self.decide("reorder", facts, -1, f"{node.name}/{sku.id}")

    # -- results ----------------------------------------------------------------------------

    def ruleset_keys(self) -> dict[str, str]:
        """Rule-set key (name + content hash) per decision point."""
        return {p: rs.key for p, rs in self.engine.rulesets.items()}

    def outcomes(self) -> dict[tuple[str, str], Any]:
        """(rule-set key, matched rules) → the outcome they produced, for every traced pair."""
        out: dict[tuple[str, str], Any] = {}
        for _point, ruleset, _winner, matched, _subject in self.trace.combinations():
            key = (ruleset, matched)
            if key not in out:
                out[key] = self.engine.outcome_record(ruleset, tuple(matched.split(",")))
        return out


def _shipment_fact(field: str, ship: Shipment, node: Node) -> Any:
    """The carrier-point fact ``field`` of a shipment from ``node``."""
    if field == "zone":
        return ship.zone
    if field == "distance_mi":
        return round_to(ship.distance, 1)
    if field == "node":
        return node.name
    if field == "node_kind":
        return node.kind
    if field == "shipment_weight_lb":
        return round_to(ship.weight, 3)
    return ship.units
