"""The checks of a scenario's rule sets that need no model: every required decision point has
a rule set and no outcome names a node, carrier or service the scenario lacks.

Kept apart from ``sim.core.decisions`` (which imports SimPy) so ``domlab validate`` can run
them without loading the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rules.schema import RuleError

if TYPE_CHECKING:
    from rules.engine import Engine
    from sim.scenario import Scenario

__all__ = ["REQUIRED_POINTS", "check_rules", "check_rule_references"]

#: Decision points every scenario needs a rule set for (priority and backorder are optional).
REQUIRED_POINTS = ("sourcing", "split", "carrier", "reorder")


def check_rule_references(scenario: Scenario, engine: Engine) -> None:
    """Fail early when an outcome names a node, carrier or service the scenario lacks."""
    nodes = {n.name for n in scenario.nodes}
    carriers = {c.name for c in scenario.carriers}
    services = {s.name for c in scenario.carriers for s in c.services}
    for rs in engine.rulesets.values():
        for r in rs.rules:
            t = r.then
            for attr, known, what in (("exclude_nodes", nodes, "node"),
                                      ("carriers", carriers, "carrier"),
                                      ("services", services, "service")):
                for name in getattr(t, attr, None) or ():
                    if name not in known:
                        raise RuleError(f"{rs.source}: rule '{r.name}': then.{attr}: unknown "
                                        f"{what} '{name}' in scenario '{scenario.name}'")


def check_rules(scenario: Scenario, engine: Engine) -> None:
    """Fail before building anything when a required point has no rule set or an outcome
    names something the scenario lacks."""
    for point in REQUIRED_POINTS:
        if point not in engine.rulesets:
            raise RuleError(f"scenario '{scenario.name}': no rule set for point '{point}'")
    check_rule_references(scenario, engine)
