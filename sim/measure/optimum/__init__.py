"""The offline optimum of a run: the cheapest sourcing, split and carrier-service plan for the
same orders, stock, pick capacity and rate cards (HiGHS, rolling daily windows), its LP lower
bound, the rules' cost gap to it and where the money is.

Modules, each with one job: ``pricing`` (the cost and time model of a shipment), ``supply``
(stock over time), ``problem`` (the problem and pick capacity), ``from_run`` (the problem of a
run), ``candidates`` (plans per order and their pruning), ``solve`` (the MILP and the LP bound),
``assignment`` (pricing and checking any assignment), ``result`` (the gap KPIs) and ``money``
(where the money is). Import from here.
"""

from sim.measure.optimum.assignment import (
    Assignment,
    assignment_cost,
    check_assignment,
    gap_pct,
    plan_assignment,
    rule_assignment,
)
from sim.measure.optimum.candidates import Plans, Settings, candidate_plans
from sim.measure.optimum.from_run import problem_from_run
from sim.measure.optimum.money import where_the_money_is
from sim.measure.optimum.problem import Orders, Problem, RulePlan, make_problem
from sim.measure.optimum.result import OptimumResult, optimise
from sim.measure.optimum.solve import Solution, solve

__all__ = ["Assignment", "OptimumResult", "Orders", "Plans", "Problem", "RulePlan", "Settings",
           "Solution", "assignment_cost", "candidate_plans", "check_assignment", "gap_pct",
           "make_problem", "optimise", "plan_assignment", "problem_from_run", "rule_assignment",
           "solve", "where_the_money_is"]
