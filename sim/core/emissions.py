"""CO2e of shipments: distance × weight × the service mode's emission factor, plus packaging.

The one place emissions are computed: the KPIs (``sim.measure.kpis``), the sourcing rank key
``co2`` (``sim.core.sourcing``) and the offline optimum's plans all call ``shipment_co2_kg``.

Factors, in kg CO2e per tonne-km, tank-to-wheel (fuel burnt by the vehicle; upstream fuel
production is left out of both modes alike), and where they come from:

* **ground** 0.12366: Defra/DECC, *2012 Guidelines to Defra / DECC's GHG Conversion Factors
  for Company Reporting*, Annex 7 "Freight Transport Conversion Tables", Table 7e "Diesel HGV
  Road Freight Conversion Factors (UK Average Vehicle Loads): Tonne.km Basis", row "ALL HGVs UK
  average" (57% laden, 7.40 t average payload), column "Total Direct GHG" (CO2 0.12168 + CH4 +
  N2O). The row's grand total with indirect (well-to-tank) emissions is 0.14993. Road distance
  is the great-circle distance × 1.20, the circuity of US road travel (Ballou, Rahardja and
  Sakai 2002, "Selected country circuity factors for road travel distance estimation",
  Transportation Research A 36(9)).
* **air** 0.498: Smart Freight Centre, *GLEC Framework for Logistics Emissions Accounting and
  Reporting* v3.0 (2023), Table 1 "Air transport emission intensity factors", freighter,
  flights over 1500 km, TTW (IATA RP1678 method). GLEC adds 95 km to the great-circle distance
  of a flight (taxiing, holding, routing). Shorter flights burn more per tonne-km, so this
  understates the air share of short overnight lanes: a conservative gap between the modes.
* **packaging** 0.15 kg CO2e per parcel: an assumption, not a table value: a corrugated
  shipping box of about 0.25 kg at roughly 0.6 kg CO2e per kg of board. It is charged once per
  parcel (a consolidated order riding in another order's parcel adds none).

Both modes ignore the road legs to and from the airport and the last-mile van, and LTL pallets
use the ground factor. Change the constants here (they are the data) to use other factors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ModeFactor", "MODES", "PACKAGING_KG_PER_PARCEL", "KM_PER_MILE", "TONNES_PER_LB",
           "transport_co2_kg", "shipment_co2_kg", "air_services"]

KM_PER_MILE = 1.609344
TONNES_PER_LB = 0.00045359237


@dataclass(frozen=True)
class ModeFactor:
    """Emission factor of one transport mode and how its distance is derived from the
    great-circle distance: ``km = great_circle_km × circuity + extra_km``."""

    kg_per_tonne_km: float
    circuity: float
    extra_km: float
    source: str


MODES: dict[str, ModeFactor] = {
    "ground": ModeFactor(0.12366, 1.20, 0.0,
                         "Defra/DECC 2012 GHG conversion factors, Annex 7 Table 7e, ALL HGVs UK "
                         "average, total direct GHG; road circuity 1.20 (Ballou et al. 2002)"),
    "air": ModeFactor(0.498, 1.0, 95.0,
                      "GLEC Framework v3.0 (2023) Table 1, air freighter > 1500 km, TTW; "
                      "+95 km per flight (GLEC)"),
}

#: kg CO2e of packaging one parcel (assumption: ~0.25 kg corrugated board, ~0.6 kg CO2e/kg).
PACKAGING_KG_PER_PARCEL = 0.15


def transport_co2_kg(distance_mi, weight_lb, air):
    """Kg CO2e of moving ``weight_lb`` over a great-circle ``distance_mi`` by air (``air``
    true) or by road. Works element-wise on arrays (and on scalars)."""
    g, a = MODES["ground"], MODES["air"]
    km = np.asarray(distance_mi, dtype=float) * KM_PER_MILE
    tonnes = np.asarray(weight_lb, dtype=float) * TONNES_PER_LB
    kg = np.where(air, (km * a.circuity + a.extra_km) * a.kg_per_tonne_km,
                  (km * g.circuity + g.extra_km) * g.kg_per_tonne_km) * tonnes
    return kg if kg.ndim else float(kg)


def shipment_co2_kg(distance_mi, weight_lb, air, parcels=1):
    """Kg CO2e of a shipment: its transport plus packaging for ``parcels`` parcels (0 for a
    shipment riding in another's parcel). Element-wise, like ``transport_co2_kg``."""
    kg = transport_co2_kg(distance_mi, weight_lb, air) + \
        np.asarray(parcels, dtype=float) * PACKAGING_KG_PER_PARCEL
    return kg if np.ndim(kg) else float(kg)


def air_services(scenario) -> np.ndarray:
    """Whether each carrier service of ``scenario`` flies, indexed like ``Network.services``
    (carriers in order, each carrier's services in order)."""
    return np.array([s.mode == "air" for c in scenario.carriers for s in c.services],
                    dtype=bool)
