"""unified-planning's ``SequentialPlanValidator`` as the reference (and fallback) validator.

Slow (milliseconds per step) but general: it covers the PDDL features the grounded validator
leaves out. It is the oracle the grounded validator is tested against.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llm_modulo.errors import UnsupportedFeatureError

from ._model import GroundAction
from .pddl import PlanningProblem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UPReport:
    """unified-planning's answer, with the first failure it found located.

    ``kind`` is "" (valid), an ill-formed step's kind (``unknown_action``, ``wrong_arity``,
    ``unknown_object``, ``wrong_type``), ``inapplicable`` or ``unmet_goal``; ``step`` is 1-based
    (None for ``unmet_goal``). Unlike the grounded validator it stops at the first failure.
    """

    valid: bool
    kind: str = ""
    step: int | None = None
    reason: str = ""


def _ill_formed(
    problem: PlanningProblem, step: GroundAction, actions: dict[str, Any], objects: dict[str, Any]
) -> tuple[str, str] | None:
    """(kind, reason) if ``step`` names no ground action of the problem, else None."""
    name = step.name.lower()
    action = actions.get(name)
    args = [a.lower() for a in step.args]
    if action is None:
        return "unknown_action", f"unknown action {name}"
    if len(args) != len(action.parameters):
        return "wrong_arity", f"{name} takes {len(action.parameters)} arguments, got {len(args)}"
    unknown = [a for a in args if a not in objects]
    if unknown:
        return "unknown_object", "unknown object " + ", ".join(unknown)
    unions = problem.either_params.get(name, {})
    for i, (a, p) in enumerate(zip(args, action.parameters, strict=False)):
        ptype = unions.get(i, p.type.name.lower())
        if not problem.fits(a, ptype):
            return (
                "wrong_type",
                f"{a} is of type {problem.objects[a]}, but parameter ?{p.name.lower()} of {name} needs type {ptype}",
            )
    return None


def up_plan(problem: PlanningProblem, plan: Iterable[GroundAction | tuple[str, Sequence[str]]]) -> Any | None:
    """The plan as a unified-planning ``SequentialPlan``, or None if a step names no ground action.

    Steps with an unknown action or object, the wrong number of arguments or a wrong-typed
    argument (``either`` types included) cannot be built as unified-planning action instances.
    """
    steps = [GroundAction.of(raw) for raw in plan]
    built, bad = _build(problem, steps)
    return built if bad is None else None


def _build(problem: PlanningProblem, steps: Sequence[GroundAction]) -> tuple[Any, tuple[int, str, str] | None]:
    """(SequentialPlan of the steps before the first ill-formed one, (index, kind, reason) of that step or None)."""
    from unified_planning.plans import ActionInstance, SequentialPlan

    up_problem = problem.up_problem
    actions = {a.name.lower(): a for a in up_problem.actions}
    objects = {o.name.lower(): o for o in up_problem.all_objects}
    instances: list[Any] = []  # unified_planning ActionInstances
    for i, step in enumerate(steps):
        bad = _ill_formed(problem, step, actions, objects)
        if bad is not None:
            return SequentialPlan(instances), (i, *bad)
        action = actions[step.name.lower()]
        instances.append(ActionInstance(action, [objects[a.lower()] for a in step.args]))
    return SequentialPlan(instances), None


def up_check(problem: PlanningProblem, plan: Iterable[GroundAction | tuple[str, Sequence[str]]]) -> UPReport:
    """unified-planning's verdict on ``plan``, with the first failing step located.

    Raises :class:`UnsupportedFeatureError` if unified-planning cannot validate this kind of
    problem, or gives no definite answer.
    """
    from unified_planning.engines.results import FailedValidationReason, ValidationResultStatus
    from unified_planning.exceptions import UPException

    from ._parse import quiet_up

    quiet_up()
    if problem.up_problem is None:
        raise UnsupportedFeatureError("no unified-planning problem to validate against")
    steps = [GroundAction.of(raw) for raw in plan]
    plan_obj, bad = _build(problem, steps)
    validator = _validator(problem)
    try:
        result = validator.validate(problem.up_problem, plan_obj)
    except UPException as exc:
        raise UnsupportedFeatureError(f"unified-planning could not validate the plan: {exc}") from exc
    if result.status is ValidationResultStatus.UNKNOWN:
        raise UnsupportedFeatureError("unified-planning's validator could not decide")
    if result.status is ValidationResultStatus.VALID:
        return UPReport(True) if bad is None else UPReport(False, bad[1], bad[0] + 1, bad[2])
    message = " ".join(m.message for m in (result.log_messages or [])).strip()
    if result.reason is FailedValidationReason.INAPPLICABLE_ACTION:
        failing = result.inapplicable_action
        index = next((i for i, a in enumerate(plan_obj.actions) if a is failing), None)
        return UPReport(False, "inapplicable", None if index is None else index + 1, message)
    if bad is not None:  # the well-formed prefix runs: the plan fails at its ill-formed step
        return UPReport(False, bad[1], bad[0] + 1, bad[2])
    return UPReport(False, "unmet_goal", None, message or "the goal does not hold after the plan")


def up_validate(problem: PlanningProblem, plan: Iterable[GroundAction | tuple[str, Sequence[str]]]) -> bool:
    """True iff unified-planning's sequential plan validator accepts ``plan``.

    Ill-formed plans (see :func:`up_plan`) are False. Raises :class:`UnsupportedFeatureError`
    if unified-planning cannot validate this kind of problem, or gives no definite answer.
    """
    return up_check(problem, plan).valid


def _validator(problem: PlanningProblem) -> Any:
    """unified-planning's validator for this problem, built once (computing a problem's kind is slow)."""
    from unified_planning.engines.plan_validator import SequentialPlanValidator

    validator = problem._up_validator
    if validator is None:
        kind = problem.up_problem.kind
        if not SequentialPlanValidator.supports(kind):
            features = ", ".join(sorted(str(f).lower() for f in kind.features))
            raise UnsupportedFeatureError(
                f"unified-planning's plan validator does not support this problem ({features})"
            )
        validator = problem._up_validator = SequentialPlanValidator(problem_kind=kind)
    return validator
