"""Great-circle distances and USPS-style carrier zones."""

from __future__ import annotations

import numpy as np

__all__ = ["EARTH_RADIUS_MI", "ZONE_LIMITS_MI", "haversine_mi", "zone_for_miles"]

EARTH_RADIUS_MI = 3958.7613
#: Upper distance bound (miles) of zones 1..7; anything farther is zone 8.
ZONE_LIMITS_MI = (50.0, 150.0, 300.0, 600.0, 1000.0, 1400.0, 1800.0)


def haversine_mi(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in miles; broadcasts over numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MI * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def zone_for_miles(miles) -> np.ndarray:
    """Carrier zone 1..8 for a distance, using the bands in ``ZONE_LIMITS_MI``."""
    return np.searchsorted(ZONE_LIMITS_MI, np.asarray(miles), side="left") + 1
