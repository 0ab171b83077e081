"""What the charts and the app read of one run (``RunView``), as plain data: built from a
``RunResult`` or from a run directory's ``view.json``.

Kept apart from the charts so that saving a run (``domlab run``) never imports matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["HOURS", "RunView"]

HOURS = 24.0      # hours a day (the charts' time axes too)


def _float_array(values: Any) -> np.ndarray:
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    arr.flags.writeable = False
    return arr


def _json_float(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _json_floats(arr: np.ndarray) -> list[float | None]:
    return [_json_float(v) for v in np.asarray(arr, dtype=float).tolist()]


def _from_json_float(v: Any) -> float:
    return math.nan if v is None else float(v)


@dataclass(frozen=True, eq=False)
class RunView:
    """What the charts need from one run; buildable from a ``RunResult`` or from saved JSON.

    ``lead_time_hours`` and ``lateness_hours`` cover delivered orders created inside the KPI
    window; ``on_hand_by_day`` is on-hand units at each day start (days × stocked nodes, for the
    whole horizon) with ``node_names`` naming its columns; ``warmup_days`` marks the days
    before the KPI window; ``events`` are the scenario's scheduled events as (first day, end
    day, label), shaded on time charts.
    """

    name: str
    kpis: Mapping[str, float]
    breakdowns: Mapping[str, Mapping[str, float]]
    lead_time_hours: np.ndarray
    lateness_hours: np.ndarray
    on_hand_by_day: np.ndarray
    node_names: tuple[str, ...]
    warmup_days: float = 0.0
    events: tuple[tuple[float, float, str], ...] = ()

    __hash__ = None  # type: ignore[assignment]  # holds dicts and arrays

    def __post_init__(self):
        setf = object.__setattr__
        setf(self, "kpis", {str(k): float(v) for k, v in self.kpis.items()})
        setf(self, "breakdowns", {str(k): {str(n): float(x) for n, x in v.items()}
                                  for k, v in self.breakdowns.items()})
        setf(self, "lead_time_hours", _float_array(np.ravel(self.lead_time_hours)))
        setf(self, "lateness_hours", _float_array(np.ravel(self.lateness_hours)))
        setf(self, "node_names", tuple(str(n) for n in self.node_names))
        on_hand = np.array(self.on_hand_by_day)
        if on_hand.size == 0:
            on_hand = np.zeros((0, len(self.node_names)), dtype=np.int64)
        if on_hand.ndim != 2 or on_hand.shape[1] != len(self.node_names):
            raise ValueError(f"RunView '{self.name}': on_hand_by_day must be days × "
                             f"{len(self.node_names)} nodes, got shape {on_hand.shape}")
        on_hand.flags.writeable = False
        setf(self, "on_hand_by_day", on_hand)
        setf(self, "warmup_days", float(self.warmup_days))
        setf(self, "events", tuple((float(a), float(b), str(label))
                                   for a, b, label in self.events))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunView):
            return NotImplemented
        return (self.name == other.name and self.kpis == other.kpis
                and self.breakdowns == other.breakdowns and self.node_names == other.node_names
                and self.warmup_days == other.warmup_days and self.events == other.events
                and np.array_equal(self.lead_time_hours, other.lead_time_hours, equal_nan=True)
                and np.array_equal(self.lateness_hours, other.lateness_hours, equal_nan=True)
                and np.array_equal(self.on_hand_by_day, other.on_hand_by_day))

    @classmethod
    def from_run(cls, name: str, run: Any, kpis_dict: Mapping[str, Any]) -> RunView:
        """Extract a view from a ``sim.core.model.RunResult`` and its ``compute_kpis`` output.

        ``kpis_dict`` is ``{"kpis": ..., "breakdowns": ...}``; a flat ``{name: value}`` dict is
        accepted too, and the breakdowns are then computed from ``run``.
        """
        from sim.core.model import Status
        from sim.measure.kpis import breakdowns, window_orders

        if "kpis" in kpis_dict and isinstance(kpis_dict["kpis"], Mapping):
            kpis = kpis_dict["kpis"]
            bd = kpis_dict.get("breakdowns") or breakdowns(run)
        else:
            kpis, bd = kpis_dict, breakdowns(run)
        o = run.orders
        delivered = window_orders(run) & (o["status"] == Status.DELIVERED)
        lead = o["delivered_at"][delivered] - o["t_created"][delivered]
        late = o["delivered_at"][delivered] - o["deadline"][delivered]
        sc = run.scenario
        stocked = ~np.asarray(run.inventory["unlimited"], dtype=bool)
        snaps = np.asarray(run.inventory["snapshots"])
        days = int(math.ceil(sc.horizon_days))
        if snaps.ndim == 2 and snaps.shape[0]:
            on_hand = snaps[:days][:, stocked]
        else:
            on_hand = np.zeros((0, int(stocked.sum())), dtype=np.int64)
        names = tuple(n.name for n, keep in zip(sc.nodes, stocked, strict=True) if keep)
        events = tuple((a / HOURS, b / HOURS, ev.label or ev.kind.replace("_", " "))
                       for ev, (a, b) in ((e, e.hours(sc.start_date)) for e in sc.events))
        return cls(name=name, kpis=kpis, breakdowns=bd, lead_time_hours=lead,
                   lateness_hours=late, on_hand_by_day=on_hand, node_names=names,
                   warmup_days=sc.warmup_days, events=events)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (lists, no NaN: non-finite floats become ``None``)."""
        on_hand = self.on_hand_by_day
        rows = (on_hand.tolist() if np.issubdtype(on_hand.dtype, np.integer)
                else [_json_floats(r) for r in on_hand])
        return {
            "name": self.name,
            "kpis": {k: _json_float(v) for k, v in self.kpis.items()},
            "breakdowns": {k: {n: _json_float(x) for n, x in v.items()}
                           for k, v in self.breakdowns.items()},
            "lead_time_hours": _json_floats(self.lead_time_hours),
            "lateness_hours": _json_floats(self.lateness_hours),
            "on_hand_by_day": rows,
            "node_names": list(self.node_names),
            "warmup_days": self.warmup_days,
            "events": [list(e) for e in self.events],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunView:
        """Rebuild a view written by ``to_dict`` (e.g. read back from a run directory)."""
        names = tuple(d.get("node_names", ()))
        rows = d.get("on_hand_by_day") or []
        if rows and all(isinstance(x, int) for r in rows for x in r):
            on_hand = np.array(rows, dtype=np.int64).reshape(len(rows), len(names))
        else:
            on_hand = np.array([[_from_json_float(x) for x in r] for r in rows],
                               dtype=float).reshape(len(rows), len(names))
        return cls(
            name=d["name"],
            kpis={k: _from_json_float(v) for k, v in d.get("kpis", {}).items()},
            breakdowns={k: {n: _from_json_float(x) for n, x in v.items()}
                        for k, v in d.get("breakdowns", {}).items()},
            lead_time_hours=[_from_json_float(x) for x in d.get("lead_time_hours", [])],
            lateness_hours=[_from_json_float(x) for x in d.get("lateness_hours", [])],
            on_hand_by_day=on_hand, node_names=names,
            warmup_days=float(d.get("warmup_days", 0.0)),
            events=tuple(tuple(e) for e in d.get("events", ())),
        )


