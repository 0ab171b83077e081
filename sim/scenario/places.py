"""Where customers are: a US ZIP code's coordinates and the scenario region nearest a point.

ZIPs resolve offline through the ``zipcodes`` package (MIT; the USPS ZIP list with a centroid
per code ships inside the wheel), imported only when a file has ZIPs. The model routes and
prices by region, so an order-history destination becomes the region whose centre is nearest
(great-circle distance; ``sim.core.geo`` has the same formula, but the scenario layer may not
import the core).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from sim.scenario.models import Region

__all__ = ["ZipError", "zip_location", "nearest_regions"]

_EARTH_RADIUS_MI = 3958.7613
_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")


class ZipError(ValueError):
    """A ZIP code is malformed or unknown (the message says which, for a row report)."""


@lru_cache(maxsize=65536)
def zip_location(code: str) -> tuple[float, float]:
    """(lat, lon) of a US ZIP code ``#####`` (or ZIP+4 ``#####-####``, its first five digits),
    offline; raises ``ZipError`` for a malformed or unknown code."""
    m = _ZIP.fullmatch(code)
    if m is None:
        raise ZipError(f"'{code}' is not a 5-digit ZIP (keep leading zeros: 02134, not 2134)")
    try:
        import zipcodes
    except ImportError:
        raise ZipError("resolving ZIPs needs the zipcodes package (pip install zipcodes); "
                       "or give lat and lon instead") from None
    found = zipcodes.matching(m[1])
    if not found or not found[0].get("lat") or not found[0].get("long"):
        raise ZipError(f"unknown ZIP '{m[1]}'")
    return float(found[0]["lat"]), float(found[0]["long"])


def nearest_regions(lat: np.ndarray, lon: np.ndarray, regions: list[Region]) -> np.ndarray:
    """Index of the region nearest each point (haversine; ties go to the earlier region)."""
    rlat = np.radians([r.lat for r in regions])[None, :]
    rlon = np.radians([r.lon for r in regions])[None, :]
    plat = np.radians(np.asarray(lat, dtype=float))[:, None]
    plon = np.radians(np.asarray(lon, dtype=float))[:, None]
    a = (np.sin((rlat - plat) / 2) ** 2
         + np.cos(plat) * np.cos(rlat) * np.sin((rlon - plon) / 2) ** 2)
    miles = 2 * _EARTH_RADIUS_MI * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.argmin(miles, axis=1).astype(np.int64) if len(miles) else np.zeros(0, np.int64)
