"""Rule-set file format: parsing, validation and the condition syntax tree.

A rule-set file is data (YAML or JSON, read with a safe loader):

.. code-block:: yaml

    ruleset: routing-cost-first
    point: sourcing
    hit_policy: first
    rules:
      - name: marketplace-dc-only
        priority: 10
        when: {all: [{channel: marketplace}, {order_value: {$gte: 100}}]}
        then: {node_types: [dc, 3pl], rank_by: [ship_cost, distance]}

``when`` uses durable-rules' operators (``$lt $lte $gt $gte $neq``, ``$and $or``) written
field-first as above, plus ``$in: [...]``; ``all``/``any`` combine conditions; an empty or
missing ``when`` always matches. Every field is checked against the facts the decision point
provides, and every value against the field's type, so a misspelt field is an error here rather
than a rule that silently never fires (durable-rules itself accepts any field name).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from rules.files import first_error, format_loc, read_yaml
from rules.limits import FINITE, MAX_COUNT, Count, PosCount, Priority, Text
from rules.vocabulary import NODE_KINDS, NodeKind

__all__ = [
    "RuleError", "FACT_FIELDS", "POINTS", "OUTCOMES", "Cond", "Rule", "RuleSet", "fields_read",
    "load_ruleset", "ruleset_from_dict", "parse_condition", "resolve_ruleset_path", "LIBRARY",
    "SourcingStrategy", "SourcingOutcome", "SplitOutcome", "CarrierOutcome", "ReorderOutcome",
    "PriorityOutcome", "BackorderOutcome", "hit_outcome", "outcome_data",
]

LIBRARY = Path(__file__).parent / "library"


class RuleError(ValueError):
    """A rule-set file is invalid, or a rule set cannot decide; one line naming file and rule."""


# ---------------------------------------------------------------------------------------------
# Facts each decision point provides: field -> type ("str" | "num" | "bool").

_ORDER_FACTS = {
    "channel": "str",          # channel kind: web, app, marketplace, store, call_center, b2b
    "channel_name": "str",
    "service_level": "str",
    "promise_days": "num",
    "order_value": "num",
    "units": "num",
    "lines": "num",
    "weight_lb": "num",
    "region": "str",           # customer metro
    "state": "str",            # customer state (2 letters)
    "hour": "num",             # hour of day the order arrived, 0..23
    "weekday": "num",          # 0=Monday..6=Sunday
    "is_retry": "bool",        # a backordered order being re-decided
    "customer_tier": "str",    # e.g. gold, silver, standard (channel tier mix)
}

FACT_FIELDS: dict[str, dict[str, str]] = {
    "sourcing": dict(_ORDER_FACTS),
    "split": {**_ORDER_FACTS, "single_node_fill": "bool", "nodes_needed": "num"},
    "carrier": {**_ORDER_FACTS, "zone": "num", "distance_mi": "num", "node": "str",
                "node_kind": "str", "shipment_weight_lb": "num", "shipment_units": "num"},
    "priority": {**_ORDER_FACTS, "node": "str", "node_kind": "str", "age_hours": "num"},
    "backorder": {**_ORDER_FACTS, "lines_short": "num", "age_hours": "num"},
    "reorder": {"node": "str", "node_kind": "str", "sku": "str", "sku_class": "str",
                "daily_demand": "num", "lead_time_days": "num", "unit_cost": "num",
                "price": "num", "replenished_from": "str"},
}
POINTS = tuple(FACT_FIELDS)


# ---------------------------------------------------------------------------------------------
# Outcomes: the declarative ``then`` of each decision point.

class _Outcome(BaseModel):
    model_config = FINITE


RankKey = Literal["distance", "ship_cost", "landed_cost", "node_priority", "backlog",
                  "days_of_supply", "co2"]


class SourcingStrategy(_Outcome):
    """How candidate nodes are filtered and ranked (one strategy).

    Filters: node kinds, excluded nodes, radius, stock held back (store protection for walk-ins,
    safety stock everywhere), pick backlog per picker, node daily order capacity (both waived on
    ``capacity_bypass_dates``, e.g. peak days), and SLA feasibility (some carrier service can
    still meet the promise from the node). Ranking keys, in order: ``distance``, ``ship_cost``
    (cheapest on-time rate from the node), ``landed_cost`` (ship cost + handling),
    ``node_priority`` (higher first), ``backlog`` (fewest queued shipments per picker first:
    workload balancing), ``days_of_supply`` (most stock for the order's lines, relative to
    forecast demand, first: ship overstock first), ``co2`` (least estimated kg CO2e of a parcel
    of the order by the cheapest on-time service from the node: distance × weight × that
    service's mode factor, plus packaging; ``sim.core.emissions``)."""

    node_types: list[NodeKind] = Field(default_factory=lambda: list(NODE_KINDS),
                                       min_length=1)
    rank_by: list[RankKey] = Field(default_factory=lambda: ["distance"], min_length=1)
    protect_store_units: Count = Field(0, description="units a store keeps for walk-ins")
    safety_stock_units: Count = Field(0, description="units every node keeps back")
    max_distance_mi: float | None = Field(None, gt=0, le=100_000)
    exclude_nodes: list[str] = Field(default_factory=list, max_length=10_000)
    max_backlog_per_picker: float | None = Field(None, ge=0, le=MAX_COUNT)
    respect_daily_capacity: bool = False
    capacity_bypass_dates: list[dt.date] = Field(default_factory=list, max_length=10_000)
    require_on_time: bool = False
    pickup_transfer_from: list[NodeKind] = Field(default_factory=list, description="node kinds "
                                                 "that may ship a store-pickup order to its "
                                                 "pickup store when the store lacks the stock")


class SourcingOutcome(SourcingStrategy):
    """A primary strategy, fallback strategies tried in order, and what to do when none fills.

    ``unfillable``: ``backorder`` (wait for stock; see the backorder point), ``cancel``, or
    ``retry`` (decide again after ``retry_hours``, up to ``max_retries`` times, then backorder).
    ``consolidate``: with the scenario's ``brokering.consolidation`` on, the order may join (or
    host) a parcel of the same customer's other orders; false keeps it in its own parcels."""

    fallback: list[SourcingStrategy] = Field(default_factory=list, max_length=5)
    unfillable: Literal["backorder", "cancel", "retry"] = "backorder"
    retry_hours: float = Field(4.0, ge=0.01, le=24 * 366)
    max_retries: int = Field(3, ge=1, le=50)
    consolidate: bool = True

    @property
    def strategies(self) -> list[SourcingStrategy]:
        """Primary first, then the fallbacks."""
        return [self, *self.fallback]


class SplitOutcome(_Outcome):
    """Ship complete from one node, split over up to ``max_shipments`` nodes, or split only
    when that is cheaper than one parcel from a farther node (``cost_based``: shipping plus the
    scenario's split penalty per extra parcel)."""

    mode: Literal["ship_complete", "allow_split", "cost_based"]
    max_shipments: int = Field(1, ge=1, le=20)
    prefer_single_node: bool = Field(True, description="when splitting is allowed, still ship "
                                     "from one node if any ranked node can fill every line")
    keep_groups: bool = Field(True, description="lines of one kit/item group ship together")


class CarrierOutcome(_Outcome):
    """How to pick a carrier service for a shipment, and what to do when that service's pickup
    is full (``pickup_capacity``): wait for its ``next_day`` pickup, or move to the
    ``next_service`` with room at the same node (cheapest on time, else fastest)."""

    strategy: Literal["cheapest_on_time", "fastest", "cheapest"]
    carriers: list[str] | None = None
    services: list[str] | None = None
    overflow: Literal["next_day", "next_service"] = "next_day"


class ReorderOutcome(_Outcome):
    """Replenishment policy for one node×SKU. Levels are in units (``s_units``…) or in days of
    forecast demand (``s_days``…; units = nearest integer to days × daily forecast, halves
    rounded up, with a 1e-9 tolerance so 3 × 18.333… gives 55). A ``*_units`` level overrides
    the same ``*_days`` level.

    Continuous review, decided on every demand event (filled or backordered) against the
    inventory position = on hand − reserved + on order − backorders: ``sS`` orders up to S when
    the position is at or below s; ``RQ`` orders the smallest multiple of Q that lifts the
    position above the reorder point r (= s); ``base_stock`` orders up to S on every unit
    (s = S − 1). Periodic review, every ``review_days``: ``periodic`` is (R,s,S), order up to S
    when the position is at or below s; ``RS`` orders up to S whenever the position is below it;
    ``forecast`` is (R,S) with S re-set at each review from a forecast updated daily from the
    demand the node observes: S = d̂·(L+R) + z·σ̂·√(L+R) (d̂ and σ̂ per day by
    ``moving_average`` over ``window_days`` or ``exp_smoothing`` with ``alpha``; L is the lane's
    mean lead time). ``none``: never replenish."""

    policy: Literal["sS", "RQ", "base_stock", "periodic", "RS", "forecast", "none"]
    s_days: float = Field(0.0, ge=0, le=1000)
    S_days: float = Field(0.0, ge=0, le=1000)
    Q_days: float = Field(0.0, ge=0, le=1000)
    s_units: int | None = Field(None, ge=-1_000_000, le=MAX_COUNT,
                                description="reorder point in units")
    S_units: Count | None = Field(None, description="order-up-to level in units")
    Q_units: PosCount | None = Field(None, description="order quantity in units")
    review_days: float = Field(7.0, ge=1 / 24, le=366)
    forecast: Literal["moving_average", "exp_smoothing"] = "exp_smoothing"
    window_days: int = Field(28, ge=2, le=366)
    alpha: float = Field(0.2, gt=0, le=1)
    z: float = Field(1.65, ge=0, le=6, description="safety factor on forecast error")

    @model_validator(mode="after")
    def _levels(self):
        has_S = self.S_units is not None or self.S_days > 0
        if self.policy in ("sS", "periodic"):
            if self.S_units is not None and self.s_units is not None:
                if self.S_units <= self.s_units:
                    raise ValueError("S_units must exceed s_units")
            elif self.S_units is None and self.s_units is None and self.S_days <= self.s_days:
                raise ValueError("S_days must exceed s_days")
        if self.policy in ("base_stock", "RS") and not has_S:
            raise ValueError(f"{self.policy} needs S_days > 0 or S_units")
        if self.policy == "RQ" and self.Q_units is None and self.Q_days <= 0:
            raise ValueError("RQ needs Q_days > 0 or Q_units")
        return self


class PriorityOutcome(_Outcome):
    """Queue priority at the node: lower is picked first."""

    priority: Priority


class BackorderOutcome(_Outcome):
    """What happens to an order no node can fill: ``hold`` it for stock (optionally decided
    again with all strategies after ``reroute_after_hours``), or ``cancel`` it now; either way
    it is cancelled if still waiting after ``cancel_after_days``."""

    action: Literal["hold", "cancel"]
    reroute_after_hours: float | None = Field(None, ge=0.01, le=24 * 366)
    cancel_after_days: float | None = Field(None, gt=0, le=366)


OUTCOMES: dict[str, type[_Outcome]] = {
    "sourcing": SourcingOutcome, "split": SplitOutcome, "carrier": CarrierOutcome,
    "reorder": ReorderOutcome, "priority": PriorityOutcome, "backorder": BackorderOutcome,
}


# ---------------------------------------------------------------------------------------------
# Conditions

_OPS = {"$lt": "lt", "$lte": "lte", "$gt": "gt", "$gte": "gte", "$neq": "neq", "$eq": "eq"}
_NUMERIC_OPS = {"lt", "lte", "gt", "gte"}
#: Bound on the size of a number a condition compares with (int64; the lint warns sooner).
_MAX_CONDITION = 2**63


@dataclass(frozen=True, slots=True)
class Cond:
    """A node of a condition tree: ``and``/``or`` over ``args``, or ``cmp`` of a field."""

    kind: Literal["and", "or", "cmp", "true"]
    args: tuple[Cond, ...] = ()
    field: str = ""
    op: str = ""
    value: Any = None


class _CondError(ValueError):
    def __init__(self, path: str, msg: str):
        super().__init__(f"{path}: {msg}")


def _check_value(field: str, ftype: str, op: str, value: Any, path: str) -> None:
    if ftype == "num":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _CondError(path, f"field '{field}' is a number; got {value!r}")
        if not (abs(value) < _MAX_CONDITION):              # also NaN and ±Infinity
            raise _CondError(path, f"field '{field}': {value!r} is not a finite number "
                             "between -2**63 and 2**63")
    elif ftype == "str":
        if not isinstance(value, str):
            raise _CondError(path, f"field '{field}' is text; got {value!r}")
        if op in _NUMERIC_OPS:
            raise _CondError(path, f"operator ${op} needs a number field; '{field}' is text")
    elif ftype == "bool":
        if not isinstance(value, bool):
            raise _CondError(path, f"field '{field}' is true/false; got {value!r}")
        if op in _NUMERIC_OPS:
            raise _CondError(path, f"operator ${op} needs a number field; '{field}' is true/false")


def _field_cond(field: str, spec: Any, fields: dict[str, str], path: str) -> Cond:
    if field not in fields:
        known = ", ".join(sorted(fields))
        raise _CondError(path, f"unknown field '{field}' (known: {known})")
    ftype = fields[field]
    if not isinstance(spec, dict):
        _check_value(field, ftype, "eq", spec, path)
        return Cond("cmp", field=field, op="eq", value=spec)
    parts = []
    for op_key, value in spec.items():
        sub = f"{path}.{op_key}"
        if op_key == "$in":
            if not isinstance(value, list) or not value:
                raise _CondError(sub, "$in needs a non-empty list")
            for i, v in enumerate(value):
                _check_value(field, ftype, "eq", v, f"{sub}[{i}]")
            alts = tuple(Cond("cmp", field=field, op="eq", value=v) for v in value)
            parts.append(alts[0] if len(alts) == 1 else Cond("or", alts))
            continue
        if op_key not in _OPS:
            allowed = ", ".join([*_OPS, "$in"])
            raise _CondError(sub, f"unknown operator '{op_key}' (allowed: {allowed})")
        _check_value(field, ftype, _OPS[op_key], value, sub)
        parts.append(Cond("cmp", field=field, op=_OPS[op_key], value=value))
    if not parts:
        raise _CondError(path, "empty condition")
    return parts[0] if len(parts) == 1 else Cond("and", tuple(parts))


def _cond(node: Any, fields: dict[str, str], path: str) -> Cond:
    if not isinstance(node, dict) or not node:
        raise _CondError(path, "a condition must be a non-empty mapping")
    parts = []
    for key, spec in node.items():
        sub = f"{path}.{key}"
        if key in ("all", "any", "$and", "$or"):
            if not isinstance(spec, list) or not spec:
                raise _CondError(sub, "needs a non-empty list of conditions")
            args = tuple(_cond(c, fields, f"{sub}[{i}]") for i, c in enumerate(spec))
            kind = "and" if key in ("all", "$and") else "or"
            parts.append(args[0] if len(args) == 1 else Cond(kind, args))
        elif key.startswith("$"):
            raise _CondError(sub, f"unknown operator '{key}' here (use all/any/$and/$or)")
        else:
            parts.append(_field_cond(key, spec, fields, sub))
    return parts[0] if len(parts) == 1 else Cond("and", tuple(parts))


def fields_read(ruleset: RuleSet) -> tuple[str, ...]:
    """The fact fields the conditions of ``ruleset`` read, sorted: a rule set's decision
    depends on these facts only."""
    found: set[str] = set()
    stack = [r.when for r in ruleset.rules]
    while stack:
        cond = stack.pop()
        if cond.kind in ("and", "or"):
            stack.extend(cond.args)
        elif cond.kind != "true":
            found.add(cond.field)
    return tuple(sorted(found))


def parse_condition(when: Any, point: str, path: str = "when") -> Cond:
    """Parse a ``when`` block for a decision point into a checked condition tree."""
    if when is None or when == {}:
        return Cond("true")
    return _cond(when, FACT_FIELDS[point], path)


# ---------------------------------------------------------------------------------------------
# Rule sets


class _RawRule(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    priority: Priority = 0
    description: Text = ""
    when: dict[str, Any] | None = None
    then: dict[str, Any]


class _RawRuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    ruleset: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    point: Literal["sourcing", "split", "carrier", "priority", "reorder", "backorder"]
    hit_policy: Literal["first", "collect", "merge"] = "first"
    description: Text = ""
    rules: list[_RawRule] = Field(min_length=1, max_length=10_000)


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated rule: its condition tree and its typed outcome."""

    name: str
    priority: int
    order: int            # position in the file: breaks priority ties deterministically
    when: Cond
    then: BaseModel
    then_raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A validated rule set; ``rules`` are in evaluation order (priority, then file order)."""

    name: str
    point: str
    hit_policy: str
    description: str
    rules: tuple[Rule, ...]
    digest: str
    source: str
    key: str         # name plus content hash: unique per rule-set version


def _validate_outcome(outcome_type: type[_Outcome], then: dict[str, Any], label: str,
                      partial: bool) -> BaseModel:
    """Validate a ``then`` block; for ``merge`` rule sets a block may set only some fields."""
    if partial:
        unknown = sorted(set(then) - set(outcome_type.model_fields))
        if unknown:
            raise RuleError(f"{label}: then.{unknown[0]}: unknown outcome field")
        fields = {k: v for k, v in outcome_type.model_fields.items() if k in then}
        outcome_type = create_model(f"Partial{outcome_type.__name__}",
                                    __config__=ConfigDict(extra="forbid",
                                                          allow_inf_nan=False),
                                    **{k: (f.annotation, f) for k, f in fields.items()})
    try:
        return outcome_type.model_validate(then)
    except ValidationError as exc:
        loc, msg = first_error(exc, unknown="unknown outcome field")
        raise RuleError(f"{label}: {format_loc(('then', *loc))}: {msg}") from None


def hit_outcome(point: str, hit_policy: str, rules: Sequence[Rule]) -> Any:
    """The outcome of matched ``rules`` (evaluation order) under a hit policy: the first rule's
    ``then``, the tuple of them (collect), or the merge. A merge applies outcomes from the
    last-evaluated match up to the first, so a higher-priority rule's keys override: the
    default supplies the base and more specific rules patch it."""
    if hit_policy == "first":
        return rules[0].then
    if hit_policy == "collect":
        return tuple(r.then for r in rules)
    merged: dict[str, Any] = {}
    for r in reversed(rules):
        merged.update(r.then_raw)
    return OUTCOMES[point].model_validate(merged)


def outcome_data(outcome: Any) -> Any:
    """An outcome (or a collect tuple of them) as plain JSON-ready data."""
    if isinstance(outcome, tuple):
        return [o.model_dump(mode="json") for o in outcome]
    return outcome.model_dump(mode="json")


def _check_merges(point: str, ordered: tuple[Rule, ...], source: str) -> None:
    """Each rule merged over every lower-priority rule must form a complete, valid outcome."""
    for k, rule in enumerate(ordered):
        try:
            hit_outcome(point, "merge", ordered[k:])
        except ValidationError as exc:
            loc, msg = first_error(exc)
            raise RuleError(f"{source}: rule '{rule.name}': merged with the rules below it, "
                            f"{format_loc(('then', *loc))}: {msg}") from None


def ruleset_from_dict(raw: Any, source: str = "<rules>") -> RuleSet:
    """Validate a raw mapping into a RuleSet, raising a one-line ``RuleError``."""
    if not isinstance(raw, dict):
        raise RuleError(f"{source}: (top level): must be a mapping with ruleset, point, rules")
    try:
        spec = _RawRuleSet.model_validate(raw)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        where = ""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = raw.get("rules") or []
            name = rules[loc[1]].get("name") if isinstance(rules[loc[1]], dict) else None
            where = f"rule '{name}': " if name else ""
        raise RuleError(f"{source}: {where}{format_loc(loc)}: {msg}") from None
    outcome_type = OUTCOMES[spec.point]
    rules = []
    for i, r in enumerate(spec.rules):
        label = f"{source}: rule '{r.name}' (rules[{i}])"
        try:
            when = parse_condition(r.when, spec.point)
        except _CondError as exc:
            raise RuleError(f"{label}: {exc}") from None
        partial = spec.hit_policy == "merge"
        then = _validate_outcome(outcome_type, r.then, label, partial)
        rules.append(Rule(r.name, r.priority, i, when, then, r.then))
    names = [r.name for r in rules]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise RuleError(f"{source}: rule '{dup}': duplicate rule name")
    ordered = tuple(sorted(rules, key=lambda r: (-r.priority, r.order)))
    if spec.hit_policy == "merge":
        _check_merges(spec.point, ordered, source)
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return RuleSet(spec.ruleset, spec.point, spec.hit_policy, spec.description, ordered,
                   digest[:10], source, f"{spec.ruleset}-{digest[:10]}")


def load_ruleset(path: str | Path) -> RuleSet:
    """Read and validate a rule-set file (YAML or JSON; never executed)."""
    path = Path(path)
    raw = read_yaml(path, RuleError)
    return ruleset_from_dict(raw, str(path))


def resolve_ruleset_path(ref: str, base_dir: Path | None = None) -> Path:
    """Find a rule set: a file path (relative to ``base_dir``) or a library name like
    ``routing/nearest_first``."""
    candidates = []
    p = Path(ref)
    if p.suffix in (".yaml", ".yml", ".json"):
        candidates += [p] if p.is_absolute() else [(base_dir or Path.cwd()) / p, Path.cwd() / p]
    candidates += [LIBRARY / f"{ref}.yaml", LIBRARY / ref]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    raise RuleError(f"{ref}: rule set not found (looked for a file, and in {LIBRARY})")
