"""Build ``us_states.geojson`` (state outlines under the app's map) from a TopoJSON US atlas.

Source: ``us-10m.json`` of the vega-datasets repository (https://github.com/vega/vega-datasets,
``data/us-10m.json``), itself the TopoJSON US Atlas (https://github.com/topojson/us-atlas, ISC
licence), a redistribution of the US Census Bureau's cartographic boundary files (public
domain, https://www.census.gov/geographies/mapping-files/time-series/geo/cartographic-boundary.html).

Usage: ``python reports/data/make_us_states.py us-10m.json`` (writes next to this script). Only
the ``states`` object is kept, coordinates rounded to 0.01° (about 1 km) and repeated points
dropped, so the file stays small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("us_states.geojson")


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    """Every arc of a quantized TopoJSON as lon/lat points (delta decoding, then transform)."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 2), round(y * sy + ty, 2)))
        arcs.append(points)
    return arcs


def ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    """A closed ring from arc indices (``~i`` means arc ``i`` reversed), repeats dropped."""
    points: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        for p in arc[1:] if points else arc:
            if not points or p != points[-1]:
                points.append(p)
    return [list(p) for p in points]


def states(topo: dict) -> dict:
    """The ``states`` object as a GeoJSON FeatureCollection (id = state FIPS code)."""
    arcs = decode_arcs(topo)
    features = []
    for g in topo["objects"]["states"]["geometries"]:
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        coords = [[ring(r, arcs) for r in poly] for poly in polygons]
        features.append({"type": "Feature", "properties": {"fips": str(g["id"])},
                         "geometry": {"type": "MultiPolygon", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": features}


if __name__ == "__main__":
    topo = json.loads(Path(sys.argv[1]).read_text())
    OUT.write_text(json.dumps(states(topo), separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
