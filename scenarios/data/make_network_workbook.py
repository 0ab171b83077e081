"""Build ``network.xlsx``: the default scenario's network as a workbook a planner would keep.

Sheets: ``Nodes`` (the nodes of ``omnichannel.yaml``, nested fields as dotted columns such as
``capacity.pickers``, lists as JSON cells), ``SKUs`` (``skus.csv``), ``Stock`` (an opening-stock
snapshot: the 3 DCs × the 20 most popular SKUs, units seeded) and ``Rates-ParcelCo-ground``
(``rates_parcelco_ground.csv``). ``omnichannel_from_excel.yaml`` reads them back.

Run from the repository root: ``python scenarios/data/make_network_workbook.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook

from sim.core.network import build_network
from sim.scenario import load_scenario
from sim.scenario.tables import read_table

HERE = Path(__file__).resolve().parent
OUT = HERE / "network.xlsx"
SEED = 20260105
TOP_SKUS = 20


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"capacity": {"pickers": 6}}`` → ``{"capacity.pickers": 6}``; lists become JSON
    text (the loader parses ``[...]`` cells back), ``None`` and empty mappings are left out."""
    out: dict[str, Any] = {}
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{name}."))
        elif isinstance(v, list):
            out[name] = json.dumps(_plain(v))
        elif v is not None:
            out[name] = _plain(v)
    return out


def _plain(v: Any) -> Any:
    """Whole floats as ints (``18`` rather than ``18.0``), inside lists and mappings too."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def add_sheet(book: Workbook, title: str, note: str, rows: list[dict[str, Any]],
              order: list[str] = ()) -> None:
    """A sheet with a ``#`` note row, a header (every key: those in ``order`` first, in that
    order, then the rest as first seen) and ``rows``."""
    ws = book.create_sheet(title)
    keys = dict.fromkeys(k for row in rows for k in row)
    header = [k for k in order if k in keys] + [k for k in keys if k not in order]
    ws.append([f"# {note}"])
    ws.append(header)
    for row in rows:
        ws.append([row.get(k) for k in header])
    ws.freeze_panes = "A3"


def stock_snapshot(scenario) -> list[dict[str, Any]]:
    """Units on hand at each DC for the most popular SKUs: the DC's opening stock (days of
    supply) times a seeded factor in [0.3, 1.1), as if counted part-way through a cycle."""
    net = build_network(scenario)
    rng = np.random.default_rng(SEED)
    top = sorted(range(len(scenario.skus)), key=lambda k: -scenario.skus[k].popularity)
    rows = []
    for n, node in enumerate(scenario.nodes):
        if node.kind != "dc":
            continue
        for k in top[:TOP_SKUS]:
            units = int(net.opening[n, k] * rng.uniform(0.3, 1.1))
            rows.append({"node": node.name, "sku": scenario.skus[k].id, "units": units})
    return rows


def main() -> None:
    """Write ``network.xlsx`` next to this script."""
    scenario = load_scenario(HERE.parent / "omnichannel.yaml")
    book = Workbook()
    book.remove(book.active)
    nodes = [flatten(n.model_dump(mode="json", exclude_defaults=True)) for n in scenario.nodes]
    fields = list(flatten(scenario.nodes[-1].model_dump(mode="json")))  # the model's order
    add_sheet(book, "Nodes", "Nodes of omnichannel.yaml; dotted columns nest, [..] cells are "
              "JSON lists, blank cells take the default", nodes, fields)
    add_sheet(book, "SKUs", "Catalog from skus.csv", read_table({"file": str(HERE / "skus.csv")})
              .rows)
    add_sheet(book, "Stock", f"Opening stock snapshot: 3 DCs x top {TOP_SKUS} SKUs (units on "
              "hand; overrides days_of_supply for these node x SKU)", stock_snapshot(scenario))
    add_sheet(book, "Rates-ParcelCo-ground", "ParcelCo Ground rate card (rates_parcelco_ground"
              ".csv): USD per parcel by weight bracket (lb) and zone 1..8",
              read_table({"file": str(HERE / "rates_parcelco_ground.csv")}).rows)
    book.properties.creator = "domlab scenarios/data/make_network_workbook.py"
    book.save(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
