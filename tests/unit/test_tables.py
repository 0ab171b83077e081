"""Tables feeding scenarios: CSV and Excel sheets read alike, dotted columns nest, every bad row
is reported with its file, sheet, row and column, and an opening-stock snapshot sets units."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEFAULT, ROOT, TINY, make_scenario
from openpyxl import Workbook

from sim.core.network import build_network
from sim.scenario import ScenarioError, load_scenario, merge, scenario_from_dict, scenario_hash
from sim.scenario.history import attach_history
from sim.scenario.loader import _read_yaml
from sim.scenario.tables import read_table

SCENARIOS = ROOT / "scenarios"


def flat(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted columns, lists as JSON cells (how a planner's sheet looks)."""
    out: dict[str, Any] = {}
    for k, v in item.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v) if isinstance(v, list) else v
    return out


def sheet_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    """Header and rows for ``items`` (flattened), columns in first-seen order."""
    rows = [flat(i) for i in items]
    header = list(dict.fromkeys(k for r in rows for k in r))
    return [header, *([r.get(k) for k in header] for r in rows)]


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def scenario_file(tmp_path: Path, name: str = "s.yaml", **fields: Any) -> Path:
    """The tiny scenario as a YAML file, top-level ``fields`` replaced (tables: ``{file: …}``)."""
    p = tmp_path / name
    p.write_text(yaml.safe_dump({**copy.deepcopy(TINY), "name": "tiny", **fields}))
    return p


def problems(err: pytest.ExceptionInfo) -> list[str]:
    """The listed lines of a several-problem ScenarioError (its first line is the head)."""
    return [ln.strip() for ln in str(err.value).splitlines()[1:]]


# --- Reading tables ---------------------------------------------------------------------------

def test_xlsx_sheet_gives_the_same_scenario_as_the_csv(tmp_path):
    (tmp_path / "skus.csv").write_text(
        "# three SKUs\nid,weight_lb,price,cost,popularity,launch_date,preorder\n"
        "A,1.0,20,8,5,,\n\nB,2.5,35.5,15,3,2026-03-02,true\n# retired below\n"
        "C,0.5,12,4,1,,\n")
    book = workbook(tmp_path / "book.xlsx", {"Other": [["x"], [1]], "SKUs": [
        ["# three SKUs"], [],
        ["id", "weight_lb", "price", "cost", "popularity", "launch_date", "preorder"],
        ["A", 1.0, 20, 8, 5, None, None], [None] * 7,
        ["B", 2.5, 35.5, 15, 3, dt.datetime(2026, 3, 2), True],
        ["C ", 0.5, 12, 4, 1, "", None]]})
    via_csv = load_scenario(scenario_file(tmp_path, "a.yaml", skus={"file": "skus.csv"}))
    via_xlsx = load_scenario(scenario_file(tmp_path, "b.yaml",
                                           skus={"file": book.name, "sheet": "SKUs"}))
    assert via_xlsx == via_csv
    assert [s.id for s in via_xlsx.skus] == ["A", "B", "C"]
    assert via_xlsx.skus[1].launch_date == dt.date(2026, 3, 2) and via_xlsx.skus[1].preorder
    assert via_xlsx.skus[0].launch_date is None and via_xlsx.skus[1].price == 35.5
    first = read_table({"file": str(book)})          # no sheet: the first one
    assert first.source == f"{book}[Other]" and first.rows == [{"x": 1}]
    table = read_table({"file": str(book), "sheet": "SKUs"})
    assert table.row_numbers == [4, 6, 7]            # the sheet's rows, header on row 3
    assert read_table({"file": str(tmp_path / "skus.csv")}).row_numbers == [3, 5, 7]


def test_dotted_columns_nest_and_list_cells_parse_as_json(tmp_path):
    p = tmp_path / "nodes.csv"
    p.write_text('name,capacity.pickers,capacity.minutes_per_order,stock.units.A,shifts,note\n'
                 'N1,2,4.5,7,"[{""start_hour"": 6, ""end_hour"": 22, ""days"": [0, 1]}]",\n'
                 'N2,3,,,,plain text\n')
    assert read_table({"file": str(p)}).rows == [
        {"name": "N1", "capacity": {"pickers": 2, "minutes_per_order": 4.5},
         "stock": {"units": {"A": 7}},
         "shifts": [{"start_hour": 6, "end_hour": 22, "days": [0, 1]}]},
        {"name": "N2", "capacity": {"pickers": 3}, "note": "plain text"}]
    q = tmp_path / "carriers.csv"
    q.write_bytes(b'\xef\xbb\xbfname,transit_days\nground,"[1, 1, 2, 3]"\n')  # Excel's BOM
    assert read_table({"file": str(q)}).rows == [{"name": "ground",
                                                   "transit_days": [1, 1, 2, 3]}]


def test_whole_node_list_from_a_sheet_equals_the_yaml_nodes(tmp_path):
    book = workbook(tmp_path / "net.xlsx", {"Nodes": sheet_rows(TINY["nodes"])})
    sc = load_scenario(scenario_file(tmp_path, nodes={"file": book.name, "sheet": "Nodes"}))
    assert sc.nodes == make_scenario().nodes
    assert sc.nodes[2].shifts[0].start_hour == 10 and sc.nodes[0].capacity.minutes_per_unit == 1


def test_bad_header_and_bad_json_cells_are_refused(tmp_path):
    p = tmp_path / "skus.csv"
    p.write_text("id,stock,stock.units\nA,1,2\n")
    s = scenario_file(tmp_path, skus={"file": "skus.csv"})
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert str(err.value) == (f"{s}: skus.file: {p} row 1: columns 'stock' and 'stock.units': "
                              "both a value and a group")
    p.write_text('id,weight_lb,price,cost,popularity,group\nA,1,2,1,1,"[1, 2]]"\n'
                 'B,1,2,1,1,"[x]"\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert [ln.split(" (")[0] for ln in problems(err)] == [
        f"{p} row 2: group: not a JSON list", f"{p} row 3: group: not a JSON list"]


# --- Row-level errors -------------------------------------------------------------------------

def bad_workbook(tmp_path: Path) -> tuple[Path, Path]:
    """A workbook with three bad rows (pickers 0, an unknown supplier, negative units) and the
    scenario that reads it."""
    nodes = copy.deepcopy(TINY["nodes"])
    nodes[1]["capacity"]["pickers"] = 0
    nodes[2]["supplier"] = "acme"
    book = workbook(tmp_path / "network.xlsx", {
        "Nodes": [["# the network"], *sheet_rows(nodes)],
        "Stock": [["node", "sku", "units"], ["DC-EAST", "A", 10], ["DC-WEST", "B", -4]]})
    s = scenario_file(tmp_path, nodes={"file": book.name, "sheet": "Nodes"},
                      opening_stock={"file": book.name, "sheet": "Stock"})
    return book, s


def test_every_bad_row_is_named_by_sheet_row_and_column(tmp_path):
    book, s = bad_workbook(tmp_path)
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert str(err.value).splitlines()[0] == f"{s}: 3 problems:"
    assert problems(err) == [
        f"{book}[Nodes] row 4: capacity.pickers: Input should be greater than or equal to 1",
        f"{book}[Nodes] row 5: supplier: unknown supplier 'acme'",
        f"{book}[Stock] row 3: units: Input should be greater than or equal to 0"]


def test_validate_exits_2_listing_the_bad_rows(tmp_path, domlab):
    book, s = bad_workbook(tmp_path)
    res = domlab("validate", s)
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0] == f"domlab: error: {s}: 3 problems:"
    assert lines[1:] == [
        f"  {book}[Nodes] row 4: capacity.pickers: Input should be greater than or equal to 1",
        f"  {book}[Nodes] row 5: supplier: unknown supplier 'acme'",
        f"  {book}[Stock] row 3: units: Input should be greater than or equal to 0"]


def test_many_bad_rows_are_listed_up_to_twenty(tmp_path):
    p = tmp_path / "skus.csv"
    p.write_text("id,weight_lb,price,cost,popularity\n"
                 + "".join(f"S{i},-1,2,1,1\n" for i in range(25)))
    s = scenario_file(tmp_path, skus={"file": "skus.csv"})
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    lines = problems(err)
    assert str(err.value).splitlines()[0] == f"{s}: 25 problems:"
    assert len(lines) == 21 and lines[-1] == "… and 5 more"
    assert lines[0] == f"{p} row 2: weight_lb: Input should be greater than 0"
    assert lines[19] == f"{p} row 21: weight_lb: Input should be greater than 0"


def test_a_yaml_problem_comes_first_then_every_table_row(tmp_path):
    p = tmp_path / "skus.csv"
    p.write_text("id,weight_lb,price,cost,popularity\nA,1,2,1,1\nA,1,2,1,1\nB,1,0,1,1\n")
    s = scenario_file(tmp_path, skus={"file": "skus.csv"}, horizon_days=-1)
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert problems(err) == [
        f"{s}: horizon_days: Input should be greater than 0",
        f"{p} row 3: id: duplicate id 'A'",
        f"{p} row 4: price: Input should be greater than 0"]


def test_unreadable_tables_name_the_file(tmp_path):
    p = tmp_path / "skus.csv"
    p.write_bytes(b"id,weight_lb,price,cost,popularity\nCAF\xc9,1,2,1,1\n")
    s = scenario_file(tmp_path, skus={"file": "skus.csv"})
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert str(err.value) == (f"{s}: skus.file: {p}: not UTF-8: byte 0xC9 at byte offset 38 "
                              "(line 2); save it as UTF-8")
    book = workbook(tmp_path / "net.xlsx", {"Nodes": [["name"]], "Stock": [["node"]]})
    s = scenario_file(tmp_path, skus={"file": book.name, "sheet": "SKU"})
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert str(err.value) == (f"{s}: skus.sheet: {book} has no sheet 'SKU' (sheets: Nodes, "
                              "Stock)")
    for missing in ("gone.xlsx", "gone.csv"):
        s = scenario_file(tmp_path, skus={"file": missing})
        with pytest.raises(ScenarioError) as err:
            load_scenario(s)
        assert str(err.value) == (f"{s}: skus.file: cannot read {tmp_path / missing}: "
                                  "No such file or directory")
    (tmp_path / "fake.xlsx").write_text("id\nA\n")
    s = scenario_file(tmp_path, skus={"file": "fake.xlsx"})
    with pytest.raises(ScenarioError, match=r"skus\.file: cannot read .*fake\.xlsx: not an "):
        load_scenario(s)


# --- Opening stock ----------------------------------------------------------------------------

def test_opening_stock_overrides_node_units_per_sku(tmp_path):
    (tmp_path / "stock.csv").write_text("# counted 2026-01-04\nnode,sku,units\n"
                                        "DC-EAST,A,50\nSTORE-LA,C,3\nDC-WEST,B,0\n")
    nodes = copy.deepcopy(TINY["nodes"])
    nodes[0]["stock"] = {"days_of_supply": 5, "units": {"A": 5, "B": 7}}
    sc = load_scenario(scenario_file(tmp_path, nodes=nodes,
                                     opening_stock={"file": "stock.csv"}))
    east, west, la = sc.nodes
    assert east.stock.units == {"A": 50, "B": 7}         # the snapshot wins for A only
    assert la.stock.units == {"C": 3} and west.stock.units == {"B": 0}
    net = build_network(sc)
    assert net.opening[0, 0] == 50 and net.opening[0, 1] == 7
    assert net.opening[2, 2] == 3 and net.carried[2, 2] and net.opening[1, 1] == 0
    # dumps carry the folded units, not the rows: a reloaded scenario is the same scenario
    assert "opening_stock" not in sc.model_dump()
    assert scenario_hash(scenario_from_dict(sc.model_dump(mode="json"))) == scenario_hash(sc)
    inline = make_scenario(replace={"opening_stock": [{"node": "DC-EAST", "sku": "A",
                                                       "units": 50}]})
    assert inline.nodes[0].stock.units == {"A": 50}


def test_opening_stock_rows_are_checked_row_by_row(tmp_path):
    p = tmp_path / "stock.csv"
    p.write_text("node,sku,units\nDC-EAST,A,5\n# mid-file note\nDC-NORTH,A,5\nDC-EAST,Z,5\n"
                 "DC-WEST,B,-1\nDC-WEST,C,2.5\nDC-EAST,A,6\nSTORE-LA,A,\n")
    s = scenario_file(tmp_path, opening_stock={"file": "stock.csv"})
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    assert problems(err) == [
        f"{p} row 4: node: unknown node 'DC-NORTH'",
        f"{p} row 5: sku: unknown SKU 'Z'",
        f"{p} row 6: units: Input should be greater than or equal to 0",
        f"{p} row 7: units: Input should be a valid integer, got a number with a fractional "
        "part",
        f"{p} row 8: duplicate: an earlier row sets node 'DC-EAST', SKU 'A'",
        f"{p} row 9: units: Field required"]
    with pytest.raises(ScenarioError, match=r"^<scenario>: opening_stock\[0\]\.sku: unknown "):
        make_scenario(replace={"opening_stock": [{"node": "DC-EAST", "sku": "Q", "units": 1}]})


# --- Shipped scenarios and the sample workbook ------------------------------------------------

def _old_csv_rows(path: Path) -> list[dict[str, Any]]:
    """The CSV reader before Excel support (kept here as the reference it must still match)."""
    def cell(v):
        if v is None or v.strip() == "":
            return None
        for conv in (int, float):
            try:
                return conv(v.strip())
            except ValueError:
                pass
        return v.strip()
    with path.open(newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.lstrip().startswith("#") and ln.strip()]
    return [{k.strip(): cell(v) for k, v in rec.items() if k is not None}
            for rec in csv.DictReader(lines)]


def _with_old_tables(node: Any) -> Any:
    if isinstance(node, dict) and set(node) == {"file"}:
        return _old_csv_rows(Path(node["file"]))
    if isinstance(node, dict):
        return {k: _with_old_tables(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_old_tables(v) for v in node]
    return node


CSV_SCENARIOS = sorted(p.name for p in SCENARIOS.glob("*.yaml") if ".xlsx" not in p.read_text())


@pytest.mark.parametrize("name", CSV_SCENARIOS)
def test_shipped_csv_scenarios_load_exactly_as_before(name):
    path = (SCENARIOS / name).resolve()
    before = attach_history(scenario_from_dict(_with_old_tables(_read_yaml(path))))
    assert load_scenario(path).model_dump() == before.model_dump()
    assert scenario_hash(load_scenario(path)) == scenario_hash(before)


def test_sample_workbook_scenario_is_the_default_plus_a_dc_stock_snapshot():
    base = load_scenario(DEFAULT)
    xl = load_scenario(SCENARIOS / "omnichannel_from_excel.yaml")
    assert (SCENARIOS / "data" / "network.xlsx").stat().st_size < 200_000
    assert xl.skus == base.skus and xl.carriers == base.carriers
    snapshot = read_table({"file": str(SCENARIOS / "data" / "network.xlsx"), "sheet": "Stock"})
    assert len(snapshot.rows) == 60
    for a, b in zip(base.nodes, xl.nodes, strict=True):
        assert a.model_copy(update={"stock": b.stock}) == b, \
            "network.xlsx is stale: run python scenarios/data/make_network_workbook.py"
        rows = {r["sku"]: r["units"] for r in snapshot.rows if r["node"] == a.name}
        assert b.stock.units == rows and len(rows) == (20 if a.kind == "dc" else 0)
        assert b.stock.days_of_supply == a.stock.days_of_supply


def test_a_table_replaces_a_list_whole_under_extends():
    base = {"skus": {"file": "/a.xlsx", "sheet": "SKUs"}, "nodes": [{"name": "N1"}]}
    over = {"skus": {"file": "/b.csv"}, "nodes": {"file": "/n.xlsx", "sheet": "Nodes"}}
    assert merge(base, over) == over
    assert merge(over, {"skus": [{"id": "A"}]})["skus"] == [{"id": "A"}]


def test_model_level_checks_point_at_the_row_too(tmp_path):
    nodes = copy.deepcopy(TINY["nodes"])
    nodes[2]["replenished_from"] = "DC-NOWHERE"
    book = workbook(tmp_path / "net.xlsx", {"Nodes": sheet_rows(nodes)})
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario_file(tmp_path, nodes={"file": book.name}))
    assert str(err.value) == (f"{book}[Nodes] row 4: replenished_from: unknown node "
                              "'DC-NOWHERE'")
