"""unified-planning's ``SequentialPlanValidator`` as the reference (and fallback) validator.

Slow (milliseconds per step) but general: it covers the PDDL features the grounded validator
leaves out. It is the oracle the grounded validator is tested against.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from llm_modulo.errors import UnsupportedFeatureError

from ._model import GroundAction
from .pddl import PlanningProblem

log = logging.getLogger(__name__)


def up_plan(problem: PlanningProblem, plan: Iterable[GroundAction | tuple[str, Sequence[str]]]) -> Any | None:
    """The plan as a unified-planning ``SequentialPlan``, or None if a step names no ground action.

    Steps with an unknown action or object, the wrong number of arguments or a wrong-typed
    argument cannot be built as unified-planning action instances.
    """
    from unified_planning.plans import ActionInstance, SequentialPlan

    up_problem = problem.up_problem
    actions = {a.name.lower(): a for a in up_problem.actions}
    objects = {o.name.lower(): o for o in up_problem.all_objects}
    steps = []
    for raw in plan:
        step = GroundAction.of(raw)
        action = actions.get(step.name.lower())
        args = [a.lower() for a in step.args]
        if action is None or len(args) != len(action.parameters):
            return None
        if any(a not in objects for a in args):
            return None
        if not all(problem.fits(a, p.type.name.lower()) for a, p in zip(args, action.parameters)):
            return None
        steps.append(ActionInstance(action, [objects[a] for a in args]))
    return SequentialPlan(steps)


def up_validate(problem: PlanningProblem, plan: Iterable[GroundAction | tuple[str, Sequence[str]]]) -> bool:
    """True iff unified-planning's sequential plan validator accepts ``plan``.

    Ill-formed plans (see :func:`up_plan`) are False. Raises :class:`UnsupportedFeatureError`
    if unified-planning cannot validate this kind of problem, or gives no definite answer.
    """
    from unified_planning.engines.results import ValidationResultStatus
    from unified_planning.exceptions import UPException

    from .pddl import _quiet_up

    _quiet_up()
    if problem.up_problem is None:
        raise UnsupportedFeatureError("no unified-planning problem to validate against")
    plan_obj = up_plan(problem, plan)
    if plan_obj is None:
        return False
    validator = _validator(problem)
    try:
        result = validator.validate(problem.up_problem, plan_obj)
    except UPException as exc:
        raise UnsupportedFeatureError(f"unified-planning could not validate the plan: {exc}") from exc
    if result.status is ValidationResultStatus.UNKNOWN:
        raise UnsupportedFeatureError("unified-planning's validator could not decide")
    return result.status is ValidationResultStatus.VALID


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
