"""Scenario loading: valid files load, bad ones fail with one line naming file and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import DEFAULT, TINY, make_scenario

from sim.scenario import ScenarioError, load_scenario


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_default_scenario_loads_with_its_data_tables():
    sc = load_scenario(DEFAULT)
    assert len(sc.skus) >= 200
    assert len(sc.regions) == 50
    assert sc.regions[0].metro == "New York"
    kinds = [n.kind for n in sc.nodes]
    assert kinds.count("dc") == 3 and kinds.count("store") >= 8 and kinds.count("3pl") == 1
    assert {c.kind for c in sc.channels} == {"web", "app", "marketplace", "b2b", "call_center"}
    parcel = [c for c in sc.carriers if c.name != "FreightLine"]
    assert len(parcel) >= 2
    assert all({s.name for s in c.services} == {"ground", "two_day", "overnight"}
               for c in parcel)
    assert sc.carriers[0].services[0].rate_card[0].z1 > 0
    (ltl,) = [s for c in sc.carriers for s in c.services if s.pricing == "ltl"]
    assert ltl.min_weight_lb > 0 and ltl.min_charge > 0


def test_extends_overrides_named_items_and_keeps_the_rest(tmp_path):
    child = write(tmp_path, "child.yaml", f"""
        extends: {DEFAULT}
        name: child
        nodes:
          - name: DC-RENO
            capacity: {{pickers: 9}}
        """)
    base, sc = load_scenario(DEFAULT), load_scenario(child)
    reno = next(n for n in sc.nodes if n.name == "DC-RENO")
    assert reno.capacity.pickers == 9
    assert reno.capacity.minutes_per_order == 5.0          # merged, not replaced
    assert len(sc.nodes) == len(base.nodes)
    assert sc.skus == base.skus and sc.name == "child"


@pytest.mark.parametrize("yaml_text, expected", [
    ("nodes:\n  - name: DC-RENO\n    capacity: {pickers: -3}\n",
     "nodes[2].capacity.pickers: Input should be greater than or equal to 1"),
    ("nodes:\n  - name: DC-RENO\n    kind: warehouse\n",
     "nodes[2].kind: Input should be 'dc', 'store', '3pl' or 'dropship'"),
    ("channels:\n  - name: web\n    orders_per_dya: 5\n",
     "channels[0].orders_per_dya: unknown field"),
    ("nodes:\n  - name: DC-RENO\n    supplier: nobody\n",
     "nodes[2].supplier: unknown supplier 'nobody'"),
])
def test_bad_fields_name_file_and_path(tmp_path, yaml_text, expected):
    p = write(tmp_path, "bad.yaml", f"extends: {DEFAULT}\n" + yaml_text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    msg = str(err.value)
    assert msg.startswith(str(p)) and msg.endswith(expected), msg
    assert "\n" not in msg


def test_malformed_yaml_names_line(tmp_path):
    p = write(tmp_path, "broken.yaml", "name: x\nnodes: [\n  - a: 1\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml: malformed YAML: line \d+"):
        load_scenario(p)


def test_bad_csv_row_names_the_csv(tmp_path):
    csv = tmp_path / "skus.csv"
    csv.write_text("id,weight_lb,price,cost,popularity\nA,1,10,5,1\nB,-2,10,5,1\n")
    p = write(tmp_path, "s.yaml", f"extends: {DEFAULT}\nskus: {{file: skus.csv}}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    assert str(err.value) == f"{csv} row 3: weight_lb: Input should be greater than 0"


def test_yaml_tags_are_not_executed(tmp_path):
    p = write(tmp_path, "evil.yaml", "name: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ScenarioError, match="malformed YAML"):
        load_scenario(p)


def test_valid_variants_are_accepted():
    sc = make_scenario(nodes=[{"name": "DC-EAST", "shifts": [
        {"start_hour": 22, "end_hour": 24}, {"start_hour": 0, "end_hour": 6}]}],
        suppliers=[{"name": "vendor", "lead_time_days": {"kind": "const", "value": 0}}])
    assert sc.nodes[0].shifts[0].end_hour == 24
    assert sc.suppliers[0].lead_time_days.mean == 0
    assert TINY["name"] == "tiny"


def test_shares_must_sum_to_one():
    with pytest.raises(ScenarioError, match=r"channels\[0\]: service_levels shares must sum"):
        make_scenario(channels=[{"name": "web", "service_levels": [
            {"name": "standard", "promise_days": 4, "share": 0.5}]}])


def _demand(lines: float, values: list[float], probs: list[float]) -> list[dict]:
    """One channel of a million orders a day, ``lines`` lines each, units drawn from a table."""
    return [{"name": "web", "orders_per_day": 1e6,
             "lines_per_order": {"kind": "const", "value": lines},
             "units_per_line": {"kind": "discrete", "values": values, "probs": probs}}]


@pytest.mark.parametrize("lines, values, probs, refused", [
    (1000, [1000, 2000], [0.5, 0.5], "1,500,000,000,000"),     # far over: exact means decide
    (1000, [1], [1.0], None),                                  # exactly at the limit: accepted
    (1001, [1], [1.0], "1,001,000,000"),                       # just over
    (1, [1, 2], [0.8, 0.2], None),                             # far under: no NumPy needed
], ids=["far-over", "at-limit", "just-over", "far-under"])
def test_demand_limit_is_decided_on_the_exact_means(lines, values, probs, refused):
    """Near or over ``MAX_UNITS_PER_DAY`` the exact (NumPy) means decide and name the total."""
    if refused is None:
        make_scenario(channels=_demand(lines, values, probs))
        return
    with pytest.raises(ScenarioError, match=rf"channels: expected demand of {refused} units a "
                                            r"day is more than 1,000,000,000"):
        make_scenario(channels=_demand(lines, values, probs))


def test_approx_mean_is_within_mean_rtol_of_the_exact_mean():
    """``Discrete.approx_mean`` (no NumPy, for validation) stays within ``MEAN_RTOL`` of
    ``mean`` (NumPy's dot product, what the model sizes stock from), up to 10,000 values."""
    import random

    from sim.scenario.dists import MEAN_RTOL, Discrete

    rng = random.Random(5)
    for n in (1, 2, 3, 17, 100, 1000, 10_000):
        for _ in range(20):
            weights = [rng.random() for _ in range(n)]
            total = sum(weights)
            d = Discrete(kind="discrete", values=[rng.uniform(0, 1e6) for _ in range(n)],
                         probs=[w / total for w in weights])
            assert d.approx_mean == pytest.approx(d.mean, rel=MEAN_RTOL, abs=0)
