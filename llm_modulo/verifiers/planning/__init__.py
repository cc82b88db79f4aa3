"""PDDL planning critics: a grounded STRIPS validator with unified-planning as reference and fallback.

Importing this package does not import unified-planning; it loads on the first parse or
reference validation.
"""

from ._model import ActionSchema, Fact, GroundAction, Literal, SchemaEquality, SchemaLiteral, fact_str, literal_str
from .critic import PlanCritic, verdict_from_report
from .length import PlanLengthCritic
from .pddl import PlanningProblem, State, load_problem
from .plan_text import LenientPlan, PlanSyntaxError, PlanText, read_lenient, read_strict
from .reference import UPReport, up_check, up_validate
from .shortest import ShortestPlan, shortest_plan
from .validator import PlanReport, StepFailure, parse_pddl_plan, to_ground_action, validate

__all__ = [
    "ActionSchema",
    "Fact",
    "GroundAction",
    "LenientPlan",
    "Literal",
    "PlanCritic",
    "PlanLengthCritic",
    "PlanReport",
    "PlanSyntaxError",
    "PlanText",
    "PlanningProblem",
    "SchemaEquality",
    "ShortestPlan",
    "SchemaLiteral",
    "State",
    "StepFailure",
    "UPReport",
    "fact_str",
    "literal_str",
    "load_problem",
    "parse_pddl_plan",
    "read_lenient",
    "read_strict",
    "shortest_plan",
    "to_ground_action",
    "up_check",
    "up_validate",
    "validate",
    "verdict_from_report",
]
