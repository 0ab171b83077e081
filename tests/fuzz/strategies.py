"""Hypothesis strategies for fuzzing ``domlab run``: scenario files and rule sets, valid, at
the edges and hostile.

A *case* (``cases()``) is a small directory of files to write (``Case.files``: relative path →
text or bytes, plus special files such as FIFOs and symlink loops in ``Case.specials``), the
scenario to run and a ``--days`` override. Its scenario is one of

* **valid**: a small network (1–4 SKUs, 1–3 nodes, one carrier) drawn over every section a
  scenario has (launch dates, pre-orders, shifts, walk-ins, pickup, customers, events, returns,
  brokering, stock in days or units), kept cheap: at most a few hundred orders a day over at
  most three days, so a run takes well under a second;
* **edge**: a valid scenario with one number set to a boundary (0, the smallest or largest
  value a field takes, a warm-up of half the horizon);
* **hostile**: a valid scenario with one field replaced by a hostile value (NaN, ±Infinity,
  1e308, 1e-300, a 10**40 integer, a 300-character or control-character name, a wrong type),
  or its YAML text attacked (600-deep nesting, an alias bomb, a recursive alias, a 5,000-digit
  number, Latin-1 bytes, an impossible date, a >5 MB file), or a table reference to a device,
  a FIFO, a symlink loop, a directory or a missing file, a 30-long or cyclic ``extends``
  chain, or a generated rule set (hostile numbers in ``then`` and ``when``, the wrong point).

Names and sizes are drawn so that every valid scenario is cheap; what a case must do is in
``tests/fuzz/harness.py``.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

__all__ = ["Case", "cases", "valid_scenario", "rule_sets", "HOSTILE_NUMBERS", "HOSTILE_TEXT"]

#: Library rule sets a valid scenario uses, by decision point.
LIBRARY = {
    "sourcing": ["routing/nearest_first", "routing/cost_first", "routing/balanced_workload",
                 "routing/stores_first_dc_fallback", "routing/dc_strategies_collect"],
    "split": ["split/ship_complete", "split/ship_complete_then_split", "split/cost_based"],
    "carrier": ["carrier/cheapest_on_time", "carrier/fastest_for_express"],
    "reorder": ["reorder/ss_by_class", "reorder/periodic_weekly", "reorder/forecast_driven",
                "reorder/rq_dc_base_stock_store"],
    "priority": ["priority/service_then_tier"],
    "backorder": ["backorder/hold_reroute_cancel"],
}

HOSTILE_NUMBERS: list[Any] = [
    math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-300, 5e-324, 0, -1, -0.5, 10**40,
    2**63, -(2**63) - 1, 2**31, True, "12", None, [], {}, [1, 2], "nan", 1e15,
]
HOSTILE_TEXT: list[Any] = [
    "", "x" * 300, "a\x00b", "line\nbreak", "tab\there", ".", "..", "../../etc", "é" * 60,
    "\u202e\u200b", 123, None, ["a"], {"a": 1},
]
_NAME = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
_DAYS = st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True).map(sorted)


@dataclass
class Case:
    """Files of one fuzz case, the scenario to run (relative path) and what was drawn."""

    files: dict[str, str | bytes]
    scenario: str = "scenario.yaml"
    days: float | None = None
    specials: dict[str, str] = field(default_factory=dict)   # path → fifo | loop | dir | big
    label: str = "valid"


# ---------------------------------------------------------------------------------------------
# Valid scenarios


def _dist_small(mean_max: float) -> st.SearchStrategy[dict[str, Any]]:
    """A distribution with a mean of at most about ``mean_max`` (order sizes, times)."""
    return st.one_of(
        st.builds(lambda v: {"kind": "const", "value": v}, st.floats(0, mean_max)),
        st.builds(lambda m, s: {"kind": "poisson", "mean_extra": m, "shift": s},
                  st.floats(0, mean_max), st.integers(0, 2)),
        st.builds(lambda p: {"kind": "geometric", "p": p}, st.floats(1 / (mean_max + 1), 1)),
        st.builds(lambda m: {"kind": "exponential", "mean": m}, st.floats(0.01, mean_max)),
        st.builds(lambda m, cv: {"kind": "gamma", "mean": m, "cv": cv},
                  st.floats(0.01, mean_max), st.floats(0.01, 3)),
        st.builds(lambda m, cv: {"kind": "lognormal", "mean": m, "cv": cv},
                  st.floats(0.01, mean_max), st.floats(0.01, 3)),
        st.builds(lambda lo, w: {"kind": "uniform", "low": lo, "high": lo + w},
                  st.floats(0, mean_max / 2), st.floats(0, mean_max / 2)),
        st.builds(lambda lo, a, b: {"kind": "triangular", "low": lo, "mode": lo + a,
                                    "high": lo + a + b + 0.1},
                  st.floats(0, mean_max / 3), st.floats(0, mean_max / 3),
                  st.floats(0, mean_max / 3)),
        st.just({"kind": "discrete", "values": [1, 2, 3], "probs": [0.5, 0.3, 0.2]}),
    )


def _profile(n: int) -> st.SearchStrategy[list[float]]:
    flat = st.just([1.0] * n)
    drawn = st.lists(st.floats(0, 10), min_size=n, max_size=n).filter(lambda v: sum(v) > 0)
    return st.one_of(flat, drawn)


@st.composite
def _sku(draw, i: int) -> dict[str, Any]:
    price = draw(st.floats(0.01, 1000))
    sku = {"id": f"S{i}", "weight_lb": draw(st.floats(0.01, 80)), "price": price,
           "cost": draw(st.floats(0, price)), "popularity": draw(st.floats(0, 100))}
    launch = draw(st.sampled_from([None, None, None, -3, 1, 2, 400]))
    if launch is not None:
        sku["launch_date"] = f"2026-01-{5 + launch:02d}" if 0 <= 5 + launch <= 31 else \
            ("2027-02-09" if launch > 0 else "2025-12-31")
        sku["preorder"] = draw(st.booleans())
    if draw(st.booleans()):
        sku["group"] = draw(st.sampled_from(["kit1", "kit2"]))
    return sku


@st.composite
def _channel(draw, i: int, pickup: bool) -> dict[str, Any]:
    share = draw(st.floats(0.05, 0.95))
    ch: dict[str, Any] = {
        "name": f"ch{i}", "kind": draw(st.sampled_from(["web", "app", "marketplace", "b2b",
                                                        "call_center"])),
        "orders_per_day": draw(st.floats(0.01, 150)),
        "hour_profile": draw(_profile(24)), "dow_profile": draw(_profile(7)),
        "lines_per_order": draw(_dist_small(3)), "units_per_line": draw(_dist_small(3)),
        "service_levels": [{"name": "standard", "promise_days": draw(st.integers(0, 7)),
                            "share": share},
                           {"name": "express", "promise_days": draw(st.integers(0, 2)),
                            "share": 1 - share}],
    }
    if draw(st.booleans()):
        ch["season_multipliers"] = draw(st.lists(st.floats(0, 5), min_size=1, max_size=3))
    if draw(st.booleans()):
        ch["tier_mix"] = {"gold": 0.25, "standard": 0.75}
    if draw(st.booleans()):
        ch["customers"] = {"repeat_share": draw(st.floats(0, 0.9)),
                           "recency_hours": draw(st.floats(0.1, 48)),
                           "same_address": draw(st.floats(0, 1))}
    if pickup:
        ch["pickup"] = {"mode": draw(st.sampled_from(["bopis", "curbside"])),
                        "no_show_rate": draw(st.floats(0, 1))}
    return ch


@st.composite
def _node(draw, i: int, kind: str) -> dict[str, Any]:
    start = draw(st.floats(0, 23))
    node: dict[str, Any] = {
        "name": f"N{i}", "kind": kind, "lat": draw(st.floats(25, 48)),
        "lon": draw(st.floats(-124, -67)),
        "capacity": {"pickers": draw(st.integers(1, 6)),
                     "minutes_per_order": draw(st.floats(0.01, 10)),
                     "minutes_per_unit": draw(st.floats(0, 2)),
                     "time_cv": draw(st.floats(0.01, 3))},
        "shifts": [{"start_hour": start, "end_hour": draw(st.floats(start + 0.5, 24)),
                    "days": draw(_DAYS)}],
        "cutoff_hour": draw(st.floats(0, 24)),
        "handling": {"per_order": draw(st.floats(0, 10)), "per_unit": draw(st.floats(0, 1))},
        "stock": draw(st.one_of(
            st.builds(lambda d: {"days_of_supply": d}, st.floats(0, 20)),
            st.builds(lambda u: {"units": {"S0": u}}, st.integers(0, 500)),
            st.just({"unlimited": True}) if kind == "dropship" else st.just({}))),
        "supplier": "vendor", "priority": draw(st.integers(-5, 5)),
        "record_accuracy": draw(st.sampled_from([1.0, 1.0, 0.99, 0.5])),
    }
    if kind == "store" and draw(st.booleans()):
        node["walk_ins"] = {"units_per_day": draw(st.floats(0.1, 50))}
    if draw(st.integers(0, 4)) == 0:
        node["daily_order_capacity"] = draw(st.integers(1, 50))
    return node


def _service(name: str, base: float, transit: list[int], delay: dict) -> dict[str, Any]:
    rates = {f"z{z}": round(base + z, 2) for z in range(1, 9)}
    return {"name": name, "rate_card": [{"weight_lb_max": 20, **rates},
                                        {"weight_lb_max": 150, **rates}],
            "transit_days": transit, "delay_days": delay}


@st.composite
def valid_scenario(draw) -> dict[str, Any]:
    """A small valid scenario (see the module docstring): a mapping ready to dump as YAML."""
    n_skus = draw(st.integers(1, 4))
    skus = [draw(_sku(i)) for i in range(n_skus)]
    skus[0].update(popularity=draw(st.floats(0.1, 100)), launch_date=None, preorder=False)
    kinds = draw(st.lists(st.sampled_from(["dc", "store", "3pl", "dropship"]),
                          min_size=1, max_size=3))
    nodes = [draw(_node(i, k)) for i, k in enumerate(kinds)]
    pickup = "store" in kinds and draw(st.booleans())
    horizon = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    sc: dict[str, Any] = {
        "name": draw(_NAME.filter(lambda s: s not in (".", ".."))),
        "horizon_days": horizon,
        "warmup_days": draw(st.sampled_from([0.0, 0.0, horizon / 2, horizon * 0.9])),
        "seed": draw(st.one_of(st.integers(0, 1000), st.just(2**63 - 1))),
        "drain_days": draw(st.sampled_from([14, 30, 60])),
        "skus": skus,
        "regions": [{"metro": f"R{i}", "lat": draw(st.floats(25, 48)),
                     "lon": draw(st.floats(-124, -67)),
                     "population": draw(st.floats(0.01, 1e7))}
                    for i in range(draw(st.integers(1, 3)))],
        "channels": [draw(_channel(i, pickup and i == 0))
                     for i in range(draw(st.integers(1, 2)))],
        "suppliers": [{"name": "vendor", "lead_time_days": draw(_dist_small(5)),
                       "moq": draw(st.integers(1, 20))}],
        "nodes": nodes,
        "carriers": [{"name": "Post", "services": [
            _service("ground", 4, [1, 1, 2, 3, 4, 4, 5, 5], draw(_dist_small(1))),
            _service("express", 15, [1] * 8, {"kind": "const", "value": 0})]}],
        "policies": {p: draw(st.sampled_from(refs)) for p, refs in LIBRARY.items()
                     if p in ("sourcing", "split", "carrier", "reorder") or draw(st.booleans())},
    }
    if draw(st.booleans()):
        sc["returns"] = {"rate": draw(st.floats(0, 0.5)), "delay_days": draw(_dist_small(3))}
    if draw(st.booleans()):
        sc["brokering"] = {"mode": draw(st.sampled_from(["realtime", "batch"])),
                           "interval_minutes": draw(st.floats(1, 120))}
    if draw(st.booleans()):
        sc["events"] = [{"kind": "node_outage", "node": nodes[0]["name"],
                         "start": "2026-01-05T06:00:00", "end": "2026-01-06T00:00:00",
                         "queued": draw(st.sampled_from(["wait", "reroute"]))}]
    return sc


# ---------------------------------------------------------------------------------------------
# Edge and hostile mutations of a valid scenario


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every scalar (and every list or mapping) in a scenario mapping."""
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, (*path, i))
    return out


def _set(sc: dict[str, Any], path: tuple, value: Any) -> None:
    node: Any = sc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


#: (field path, boundary value) pairs every scenario has: zeros, minimums and maximums.
_EDGES = [
    (("horizon_days",), 366), (("horizon_days",), 1e-9), (("warmup_days",), 0.0),
    (("seed",), 2**63 - 1), (("seed",), 0), (("drain_days",), 0), (("drain_days",), 366),
    (("skus", 0, "price"), 1e9), (("skus", 0, "price"), 1e-9), (("skus", 0, "cost"), 0),
    (("skus", 0, "weight_lb"), 100_000), (("skus", 0, "popularity"), 1e12),
    (("channels", 0, "orders_per_day"), 1e-9), (("nodes", 0, "capacity", "time_cv"), 0.01),
    (("nodes", 0, "capacity", "time_cv"), 100), (("nodes", 0, "capacity", "pickers"), 100_000),
    (("nodes", 0, "capacity", "minutes_per_order"), 1e-6),
    (("nodes", 0, "handling", "per_order"), 1e9), (("nodes", 0, "priority"), 10**6),
    (("nodes", 0, "priority"), -(10**6)), (("nodes", 0, "stock"), {"units": {"S0": 10**9}}),
    (("nodes", 0, "stock"), {"days_of_supply": 1000}),
    (("nodes", 0, "shifts"), [{"start_hour": 0, "end_hour": 0.01, "days": [3]}]),
    (("regions", 0, "population"), 1e12), (("suppliers", 0, "moq"), 10**9),
    (("suppliers", 0, "lead_time_days"), {"kind": "const", "value": 1e6}),
    (("suppliers", 0, "lead_time_days"), {"kind": "lognormal", "mean": 1e6, "cv": 100}),
    (("name",), "n" * 100),
]


@st.composite
def edge_scenario(draw) -> dict[str, Any]:
    """A valid scenario with one field at a boundary it accepts (or just past it)."""
    sc = draw(valid_scenario())
    path, value = draw(st.sampled_from(_EDGES))
    _set(sc, path, value)
    return sc


@st.composite
def hostile_field(draw) -> dict[str, Any]:
    """A valid scenario with one field (any scalar, list or mapping) replaced by a hostile
    value, or a hostile field added (an unknown key, a huge list)."""
    sc = draw(valid_scenario())
    how = draw(st.sampled_from(["replace", "replace", "replace", "unknown", "empty"]))
    if how == "unknown":
        sc[draw(st.sampled_from(["unknown_key", "nodes_", "Seed"]))] = \
            draw(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_TEXT))
        return sc
    path = draw(st.sampled_from(_leaves(sc)))
    if how == "empty":
        _set(sc, path, draw(st.sampled_from([[], {}, None])))
        return sc
    _set(sc, path, draw(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_TEXT)))
    return sc


# ---------------------------------------------------------------------------------------------
# Attacks on the YAML text and on referenced files


def _bomb(levels: int) -> str:
    lines = ['  l0: &l0 ["x","x","x","x","x","x","x","x","x"]']
    for k in range(1, levels):
        lines.append(f"  l{k}: &l{k} [" + ",".join([f"*l{k - 1}"] * 9) + "]")
    return "unknown_key:\n" + "\n".join(lines) + "\n"


def _text_attack(text: str, kind: str, n: int) -> str | bytes:
    if kind == "deep":
        return text + "extra: " + "[" * n + "]" * n + "\n"
    if kind == "deep_map":
        return text + "extra: " + "{a: " * n + "1" + "}" * n + "\n"
    if kind == "bomb":
        return text + _bomb(max(3, n % 12))
    if kind == "recursive":
        return text + "unknown_key: &r [1, *r]\n"
    if kind == "bigint":
        return text.replace("seed:", "seed: " + "9" * n + "\nold_seed:", 1)
    if kind == "latin1":
        return text.encode() + "description: caf\xe9\n".encode("latin-1")
    if kind == "bad_date":
        return text + "start_date: 2026-13-45\n"
    if kind == "bom":
        return "\ufeff" + text
    if kind == "huge":
        return text + "description: '" + "x" * (5 * 2**20) + "'\n"
    if kind == "not_mapping":
        return "- just\n- a list\n"
    if kind == "garbage":
        return text[: n % max(len(text), 1)] + "\n  ]]: {{\n"
    raise ValueError(kind)


_TEXT_ATTACKS = ["deep", "deep_map", "bomb", "recursive", "bigint", "latin1", "bad_date", "bom",
                 "huge", "not_mapping", "garbage"]
#: Table references a scenario may hold for ``skus``: (file value, special file to create).
_FILE_ATTACKS = [("/dev/urandom", None), ("/dev/zero", None), ("/dev/null", None),
                 ("fifo.csv", "fifo"), ("loop.csv", "loop"), ("folder.csv", "dir"),
                 ("missing.csv", None), ("latin1.csv", "latin1"), ("big.csv", "big"),
                 ("book.xlsx", "dev_zero_link"), ("skus.csv", "good"), ("cell.csv", "bigcell"),
                 ("json.csv", "deepjson"), ("nan.csv", "nancells"), ("empty.csv", "empty"),
                 ("book2.xlsx", "notzip")]
def _nan_cells(good: str) -> str:
    """Every data row's second cell ``nan`` and last cell ``1e999`` (infinite as a float)."""
    head, *rows = good.splitlines()
    cells = [r.split(",") for r in rows]
    return "\n".join([head, *(",".join([c[0], "nan", *c[2:-1], "1e999"]) for c in cells)]) + "\n"


#: Hostile contents of a table or history file, from its good text.
_CONTENTS = {
    "latin1": lambda good: good.replace("S0", "S\xe9").encode("latin-1"),
    "bigcell": lambda good: good + "S9," + "x" * 200_000 + ",1,1,1\n",
    "deepjson": lambda good: good + '"' + "[" * 30_000 + "]" * 30_000 + '",1,1,1,1\n',
    "nancells": lambda good: _nan_cells(good),
    "empty": lambda good: "",
    "notzip": lambda good: good,
}


def _dump(sc: dict[str, Any]) -> str:
    return yaml.safe_dump(sc, sort_keys=False, allow_unicode=True)


def _skus_csv(skus: list[dict[str, Any]]) -> str:
    cols = ["id", "weight_lb", "price", "cost", "popularity"]
    return "\n".join([",".join(cols)] + [",".join(str(s[c]) for c in cols) for s in skus]) + "\n"


def _history_csv(sc: dict[str, Any]) -> str:
    """A short order history for the scenario's first channel (the first day's orders)."""
    ch = sc["channels"][0]
    head = "order_id,timestamp,channel,lat,lon,sku,quantity,service"
    rows = [f"o{k},2026-01-05T{k % 24:02d}:30:00,{ch['name']},40.7,-74.0,S0,{1 + k % 3},standard"
            for k in range(12)]
    return "\n".join([head, *rows]) + "\n"


@st.composite
def file_attack(draw) -> Case:
    """A valid scenario whose ``skus`` table or ``order_history`` file is something hostile
    (or fine)."""
    sc = draw(valid_scenario())
    ref, special = draw(st.sampled_from(_FILE_ATTACKS))
    history = draw(st.booleans())
    files: dict[str, str | bytes] = {}
    specials = {}
    good = _history_csv(sc) if history else _skus_csv(sc["skus"])
    if special == "good":
        files[ref] = good
    elif special in _CONTENTS:
        files[ref] = _CONTENTS[special](good)
    elif special is not None:
        specials[ref] = special
    if history:
        sc["order_history"] = {"path": ref, "skip_bad_rows": draw(st.booleans())}
    else:
        sc["skus"] = {"file": ref}
    files["scenario.yaml"] = _dump(sc)
    return Case(files, specials=specials,
                label=f"file:{'order_history' if history else 'skus'}:{special or ref}")


@st.composite
def extends_attack(draw) -> Case:
    """A chain of ``extends`` bases (up to 30 long), sometimes closed into a cycle."""
    sc = draw(valid_scenario())
    n = draw(st.integers(1, 30))
    cyclic = draw(st.booleans())
    files: dict[str, str | bytes] = {f"base{n}.yaml": _dump(sc)}
    for k in range(n - 1, -1, -1):
        files[f"base{k}.yaml"] = f"extends: base{k + 1}.yaml\nseed: {k}\n"
    if cyclic:
        files[f"base{n}.yaml"] = "extends: scenario.yaml\n" + _dump(sc)
    files["scenario.yaml"] = files.pop("base0.yaml")
    return Case(files, label=f"extends:{n}{'-cycle' if cyclic else ''}")


# ---------------------------------------------------------------------------------------------
# Rule sets


_REORDER_THEN = st.fixed_dictionaries({
    "policy": st.sampled_from(["sS", "RQ", "base_stock", "periodic", "RS", "forecast", "none"]),
    "s_days": st.floats(0, 10), "S_days": st.floats(10, 40), "Q_days": st.floats(0.1, 10),
    "review_days": st.sampled_from([1e-300, 1 / 24, 1, 7, 366, math.nan]),
})
_SOURCING_THEN = st.fixed_dictionaries({
    "rank_by": st.sampled_from([["distance"], ["ship_cost", "distance"], ["backlog"]]),
    "unfillable": st.sampled_from(["backorder", "cancel", "retry"]),
    "retry_hours": st.sampled_from([1e-300, 0.01, 4, math.inf]),
    "safety_stock_units": st.sampled_from([0, 1, 10**40, -1]),
})


@st.composite
def rule_sets(draw) -> tuple[str, dict[str, Any]]:
    """A rule set for the reorder or sourcing point: (point, mapping), numbers in ``then``
    and ``when`` drawn from valid values and ``HOSTILE_NUMBERS``."""
    point = draw(st.sampled_from(["reorder", "sourcing"]))
    then = _REORDER_THEN if point == "reorder" else _SOURCING_THEN
    fact = "daily_demand" if point == "reorder" else "order_value"
    limit = draw(st.one_of(st.floats(0, 1000), st.sampled_from(HOSTILE_NUMBERS)))
    rules = [{"name": "r1", "priority": draw(st.sampled_from([1, 10**40, -5, math.nan])),
              "when": {fact: {"$gte": limit}}, "then": draw(then)},
             {"name": "default", "then": draw(then)}]
    return point, {"ruleset": f"fuzz-{point}", "point": point, "rules": rules}


@st.composite
def rule_attack(draw) -> Case:
    """A valid scenario using a generated rule set (sometimes at the wrong point)."""
    sc = draw(valid_scenario())
    point, ruleset = draw(rule_sets())
    at = point if draw(st.integers(0, 4)) else draw(st.sampled_from(list(LIBRARY)))
    sc["policies"][at] = "rules.yaml"
    return Case({"scenario.yaml": _dump(sc), "rules.yaml": _dump(ruleset)},
                label=f"rules:{point}->{at}")


# ---------------------------------------------------------------------------------------------
# Cases


@st.composite
def _from_scenario(draw, scenarios, label: str) -> Case:
    sc = draw(scenarios)
    days = draw(st.sampled_from([None, None, 1.0, 0.5]))
    if days is not None and sc.get("horizon_days") != days and \
            isinstance(sc.get("warmup_days"), float) and sc["warmup_days"] >= days:
        days = None
    return Case({"scenario.yaml": _dump(sc)}, days=days, label=label)


@st.composite
def text_attack(draw) -> Case:
    """A valid scenario whose YAML text is attacked (see ``_text_attack``)."""
    sc = draw(valid_scenario())
    kind = draw(st.sampled_from(_TEXT_ATTACKS))
    n = draw(st.sampled_from([10, 63, 64, 65, 600, 5000]))
    return Case({"scenario.yaml": _text_attack(_dump(sc), kind, n)}, label=f"text:{kind}")


def cases() -> st.SearchStrategy[Case]:
    """Every kind of case, valid ones most often (a valid run is what can go wrong silently)."""
    return st.one_of(
        _from_scenario(valid_scenario(), "valid"),
        _from_scenario(valid_scenario(), "valid"),
        _from_scenario(edge_scenario(), "edge"),
        _from_scenario(hostile_field(), "hostile:field"),
        _from_scenario(hostile_field(), "hostile:field"),
        text_attack(), file_attack(), extends_attack(), rule_attack(),
    )
