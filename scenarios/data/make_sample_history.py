"""Write ``orders_sample.csv``: a SYNTHETIC order history for ``replay_sample.yaml``.

No real customers or orders: everything is drawn from ``numpy.random.default_rng(SEED)``, so
running this again writes the same file (given the same ``zipcodes`` data). It follows the
column contract of ``sim/scenario/history.py``: the ``web`` and ``app`` channels of
``omnichannel.yaml`` over its first 14 days, about 3,600 orders shaped by hour of day and day of
week, shipped to real ZIP codes within 15 miles of the large metros of ``us_metros.csv``
(metros by population), repeat customers (some at a new address), guest orders without a
customer id, a few multi-line orders, a few gold-tier customers, and a mix of ``service`` and
``promise_date`` rows (including promises no service level offers: 3 and 4 days).

    PYTHONPATH=. python scenarios/data/make_sample_history.py
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import zipcodes

from sim.scenario import load_scenario

HERE = Path(__file__).resolve().parent
OUT = HERE / "orders_sample.csv"
SEED = 20260105
DAYS = 14
ORDERS_PER_DAY = {"web": 150.0, "app": 110.0}     # replay_sample.yaml sets the same rates
HOUR_PROFILE = np.array([1.2, 0.8, 0.5, 0.4, 0.4, 0.6, 1.2, 2.2, 3.4, 4.4, 5.0, 5.4,
                         5.8, 5.6, 5.4, 5.2, 5.2, 5.4, 5.8, 6.4, 6.8, 6.2, 4.4, 2.6])
DOW = np.array([1.10, 1.05, 1.00, 0.98, 0.95, 0.92, 1.00])
ZIPS_PER_METRO = 40
RADIUS_MI = 15
REPEAT_SHARE = 0.3          # orders from a customer who ordered before
GUEST_SHARE = 0.2           # new customers checking out without an id (blank customer_id)
MOVE_SHARE = 0.05           # repeat orders shipped to another ZIP of the same metro
GOLD_SHARE = 0.05
PROMISE_DATE_SHARE = 0.3    # orders giving a promise date instead of a service name
EXTRA_PROMISES = (3, 4)     # promise days no service level of web/app offers


def metro_zips(scenario, rng: np.random.Generator) -> list[list[str]]:
    """Per scenario region, up to ZIPS_PER_METRO standard ZIPs within RADIUS_MI of it."""
    out = []
    for r in scenario.regions:
        near = sorted(z["zip_code"] for z in
                      zipcodes.filter_by_coordinates(r.lat, r.lon, RADIUS_MI)
                      if z["zip_code_type"] == "STANDARD" and z["active"])
        if not near:
            raise SystemExit(f"no ZIP within {RADIUS_MI} miles of {r.metro}")
        k = min(ZIPS_PER_METRO, len(near))
        out.append(sorted(rng.choice(near, size=k, replace=False).tolist()))
    return out


def arrival_times(rng: np.random.Generator, per_day: float, start: dt.date) -> list[float]:
    """Sorted arrival hours of a Poisson process shaped by hour of day and day of week."""
    hours = np.arange(DAYS * 24)
    weekday = (start.weekday() + hours // 24) % 7
    rate = per_day * HOUR_PROFILE[hours % 24] / HOUR_PROFILE.sum() * DOW[weekday] / DOW.mean()
    counts = rng.poisson(rate)
    t = np.repeat(hours, counts) + rng.random(counts.sum())
    return sorted(t.tolist())


def main() -> None:
    """Draw the orders and write the CSV."""
    scenario = load_scenario(HERE.parent / "omnichannel.yaml")
    rng = np.random.default_rng(SEED)
    zips = metro_zips(scenario, rng)
    pop = np.array([r.population for r in scenario.regions], dtype=float)
    sku_ids = [s.id for s in scenario.skus]
    sku_w = np.array([s.popularity for s in scenario.skus], dtype=float)
    channels = {c.name: c for c in scenario.channels}
    start = dt.datetime.combine(scenario.start_date, dt.time())
    arrivals = sorted((t, name) for name, per_day in ORDERS_PER_DAY.items()
                      for t in arrival_times(rng, per_day, scenario.start_date))
    customers: list[tuple[str, int, str]] = []         # (id, metro, zip) of known customers
    gold: set[str] = set()
    buf = io.StringIO()
    buf.write("# SYNTHETIC order history, not real customers: written by "
              f"make_sample_history.py (numpy default_rng({SEED})).\n")
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["order_id", "timestamp", "channel", "customer_id", "zip", "sku", "quantity",
                  "service", "promise_date", "tier"])
    for n, (t, name) in enumerate(arrivals):
        if customers and rng.random() < REPEAT_SHARE:
            # a recent customer more likely than an old one
            k = len(customers) - 1 - min(int(rng.exponential(200)), len(customers) - 1)
            cid, metro, code = customers[k]
            if rng.random() < MOVE_SHARE:
                code = str(rng.choice(zips[metro]))
        else:
            metro = int(rng.choice(len(pop), p=pop / pop.sum()))
            code = str(rng.choice(zips[metro]))
            cid = "" if rng.random() < GUEST_SHARE else f"C{len(customers) + 1:05d}"
            if cid:
                customers.append((cid, metro, code))
                if rng.random() < GOLD_SHARE:
                    gold.add(cid)
        when = start + dt.timedelta(seconds=int(t * 3600))
        levels = channels[name].service_levels
        level = levels[int(rng.choice(len(levels), p=[s.share for s in levels]))]
        service, promise = level.name, ""
        if rng.random() < PROMISE_DATE_SHARE:
            days = int(rng.choice(EXTRA_PROMISES)) if rng.random() < 0.2 else level.promise_days
            service, promise = "", (when.date() + dt.timedelta(days=days)).isoformat()
        lines = 1 + int(rng.random() < 0.12) + int(rng.random() < 0.03)
        skus = rng.choice(len(sku_ids), size=lines, replace=False, p=sku_w / sku_w.sum())
        for k in skus:
            qty = 1 + int(rng.random() < 0.15) + int(rng.random() < 0.04)
            out.writerow([f"SO{100001 + n}", when.isoformat(), name, cid, code, sku_ids[k], qty,
                          service, promise, "gold" if cid in gold else ""])
    OUT.write_text(buf.getvalue(), encoding="utf-8")
    print(f"{OUT}: {len(arrivals):,} orders, {buf.getvalue().count(chr(10)) - 2:,} rows, "
          f"{OUT.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
