"""PDDL planning critics: a grounded STRIPS validator with unified-planning as reference and fallback.

Importing this package imports nothing else: each name loads its module on first access, so the
validator's own modules load without pydantic (the critics' Verdicts) or unified-planning (the
reference validator, which loads on the first parse beyond the own reader or reference validation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llm_modulo._lazy import load_lazy

if TYPE_CHECKING:
    from ._model import ActionSchema, Fact, GroundAction, Literal, SchemaEquality, SchemaLiteral, fact_str, literal_str
    from .critic import PlanCritic, verdict_from_report
    from .length import PlanLengthCritic
    from .pddl import PlanningProblem, State, load_problem
    from .plan_text import LenientPlan, PlanSyntaxError, PlanText, read_lenient, read_strict
    from .reference import UPReport, up_check, up_validate
    from .shortest import ShortestPlan, shortest_plan
    from .validator import PlanReport, StepFailure, parse_pddl_plan, to_ground_action, validate

_LAZY = {
    "ActionSchema": "._model",
    "Fact": "._model",
    "GroundAction": "._model",
    "Literal": "._model",
    "SchemaEquality": "._model",
    "SchemaLiteral": "._model",
    "fact_str": "._model",
    "literal_str": "._model",
    "PlanCritic": ".critic",
    "verdict_from_report": ".critic",
    "PlanLengthCritic": ".length",
    "PlanningProblem": ".pddl",
    "State": ".pddl",
    "load_problem": ".pddl",
    "LenientPlan": ".plan_text",
    "PlanSyntaxError": ".plan_text",
    "PlanText": ".plan_text",
    "read_lenient": ".plan_text",
    "read_strict": ".plan_text",
    "UPReport": ".reference",
    "up_check": ".reference",
    "up_validate": ".reference",
    "ShortestPlan": ".shortest",
    "shortest_plan": ".shortest",
    "PlanReport": ".validator",
    "StepFailure": ".validator",
    "parse_pddl_plan": ".validator",
    "to_ground_action": ".validator",
    "validate": ".validator",
}


def __getattr__(name: str) -> Any:
    return load_lazy(__name__, _LAZY, globals(), name)


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
