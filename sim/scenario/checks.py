"""Warnings about valid scenarios that probably do not measure what their author meant: a
seasonal peak or a scheduled event that falls outside the simulated horizon, or only inside the
warm-up (before the KPI window)."""

from __future__ import annotations

from sim.scenario.models import Scenario

__all__ = ["scenario_warnings"]


def scenario_warnings(scenario: Scenario) -> list[str]:
    """One sentence per problem, naming the field (empty when there is nothing to say)."""
    out = []
    horizon, warmup = scenario.horizon_days, scenario.warmup_days
    for ch in scenario.channels:
        season = ch.season_multipliers
        if not season or max(season) <= 1.0:
            continue
        week = season.index(max(season))
        if 7 * week >= horizon:
            out.append(f"channels[{ch.name}].season_multipliers: the peak (week {week + 1}, "
                       f"×{max(season):g}) starts on day {7 * week}, after the "
                       f"{horizon:g}-day horizon ends: the run has no peak")
    for k, ev in enumerate(scenario.events):
        a, b = (h / 24.0 for h in ev.hours(scenario.start_date))
        name = f"events[{k}] ({ev.label or ev.kind})"
        if a >= horizon:
            out.append(f"{name}: starts on day {a:g}, after the {horizon:g}-day horizon ends")
        elif b <= 0:
            out.append(f"{name}: ends before the run starts ({scenario.start_date})")
        elif b <= warmup:
            out.append(f"{name}: ends on day {b:g}, inside the {warmup:g}-day warm-up: "
                       "outside the KPI window")
    return out
