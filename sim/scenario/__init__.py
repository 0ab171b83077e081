"""Scenarios: the typed models (``models``), their distributions (``dists``), reading files
with ``extends:`` and tables (``loader``), editing fields by path (``edit``) and order-history
files checked against a scenario (``history``, reading them through ``tabular`` and ``places``).

Everything a caller needs is importable from ``sim.scenario`` directly.
"""

from sim.scenario.checks import scenario_warnings
from sim.scenario.edit import edit_scenario, parse_path, set_path
from sim.scenario.loader import load_scenario, merge, scenario_from_dict, scenario_hash
from sim.scenario.models import *  # noqa: F403
from sim.scenario.models import __all__ as _models

__all__ = [*_models, "load_scenario", "merge", "scenario_from_dict", "scenario_hash",
           "edit_scenario", "parse_path", "set_path", "scenario_warnings"]
