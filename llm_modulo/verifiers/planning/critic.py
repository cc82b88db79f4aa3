"""``PlanCritic``: the sound, hard critic for PDDL plans.

It runs the grounded STRIPS validator and turns its :class:`PlanReport` into a Verdict whose
violations are data (kind, step, detail) with a plain PDDL-vocabulary message. When the task
uses a PDDL feature outside the grounded fragment, it defers to unified-planning's validator
(``engine="unified-planning"``), which answers only valid or invalid.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from llm_modulo.errors import InputError, UnsupportedFeatureError
from llm_modulo.types import Candidate, Progress, Task, Verdict, VerdictStatus, Violation

from ..base import BaseCritic
from ._model import Literal
from .pddl import PlanningProblem
from .reference import UPReport, up_check
from .validator import PlanReport, StepFailure, to_ground_action, validate

log = logging.getLogger(__name__)

ENGINE = "grounded-strips"
FALLBACK_ENGINE = "unified-planning"


class PlanCritic(BaseCritic):
    """Validates ``candidate.answer`` (a sequence of ground actions) against ``task.payload``.

    ``task.payload`` is a :class:`PlanningProblem` or any object whose ``.problem`` is one.
    ``Verdict.progress`` says how far the plan got (valid prefix, best prefix, length).
    """

    name = "plan-validator"
    hard = True

    def __init__(self, refute_states: int = 5_000) -> None:
        self.refute_states = refute_states  # breadth-first search limit of :meth:`refute`

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        problem = planning_problem(task)
        plan = list(candidate.answer)
        if not problem.supported:
            return self._check_with_up(problem, plan)
        return verdict_from_report(validate(problem, plan))

    def _check_with_up(self, problem: PlanningProblem, plan: Sequence[Any]) -> Verdict:
        info: dict[str, Any] = {"plan_len": len(plan), "unsupported_feature": problem.unsupported}
        try:
            report = up_check(problem, [to_ground_action(s) for s in plan])
        except UnsupportedFeatureError as exc:
            log.warning("%s: no verdict: %s", problem.name, exc)
            return Verdict(
                status=VerdictStatus.UNKNOWN,
                critic=self.name,
                engine=FALLBACK_ENGINE,
                violations=[Violation(kind="undecided", message=str(exc))],
                info=info,
            )
        if report.valid:
            return Verdict(status=VerdictStatus.VALID, critic=self.name, score=1.0, engine=FALLBACK_ENGINE, info=info)
        return Verdict(
            status=VerdictStatus.INVALID,
            critic=self.name,
            engine=FALLBACK_ENGINE,
            violations=[up_violation(report, plan)],
            info=info,
        )

    def refute(self, task: Task) -> Verdict | None:
        """A proof that the task has no plan, or None: the goal is unreachable in the delete
        relaxation, or breadth-first search exhausts the whole (small) reachable state space.
        Grounded fragment only; sound because both searches over-approximate reachability."""
        from .shortest import shortest_plan

        problem = planning_problem(task)
        if not problem.supported:
            return None
        outcome = shortest_plan(problem, max_states=self.refute_states)
        if outcome.plan is not None or not outcome.complete:
            return None
        how = (
            "the goal is unreachable even when deletes are ignored"
            if outcome.relaxed_unreachable
            else f"no state of the {outcome.states} reachable ones satisfies the goal"
        )
        return Verdict(
            status=VerdictStatus.INVALID,
            critic=self.name,
            engine=ENGINE + " reachability",
            violations=[
                Violation(kind="no_solution", detail={"states": outcome.states}, message=f"no plan exists: {how}")
            ],
            info={"states": outcome.states},
        )


def up_violation(report: UPReport, plan: Sequence[Any]) -> Violation:
    """The one violation unified-planning's report locates (it stops at the first failure)."""
    if report.kind == "unmet_goal":
        return Violation(kind="unmet_goal", detail={"unmet": [], "reason": report.reason}, message=report.reason)
    action = to_ground_action(plan[report.step - 1]) if report.step is not None and report.step <= len(plan) else None
    detail: dict[str, Any] = {"reason": report.reason, "unmet": []}
    if action is not None:
        detail.update(action=action.name, args=list(action.args))
    where = f"step {report.step} {action}" if action is not None else "a step"
    return Violation(kind=report.kind, step=report.step, detail=detail, message=f"{where}: {report.reason}")


def planning_problem(task: Task) -> PlanningProblem:
    """The PlanningProblem of a task: its payload, or the payload's ``.problem``."""
    payload = task.payload
    if isinstance(payload, PlanningProblem):
        return payload
    inner = getattr(payload, "problem", None)
    if isinstance(inner, PlanningProblem):
        return inner
    raise InputError(
        f"task {task.id!r}: plan-validator needs a PlanningProblem payload (or one with .problem), "
        f"got {type(payload).__name__}"
    )


def verdict_from_report(report: PlanReport) -> Verdict:
    """The Verdict for a grounded validation report (critic name and timing are set by ``check``)."""
    progress = Progress(valid=report.valid_prefix_len, best=report.best_prefix_len, length=report.plan_len)
    if report.valid:
        return Verdict(status=VerdictStatus.VALID, critic=PlanCritic.name, score=1.0, engine=ENGINE, progress=progress)
    violations = [step_violation(f) for f in report.failures]
    if report.unmet_goals:
        violations.append(goal_violation(report))
    # Progress, for ranking invalid candidates: mostly the goals the valid prefix reached at its
    # best point, then (as a tie-break) how many steps were valid.
    score = 0.9 * report.best_goal_fraction + 0.1 * report.valid_prefix_len / (report.valid_prefix_len + 1)
    return Verdict(
        status=VerdictStatus.INVALID,
        critic=PlanCritic.name,
        violations=violations,
        score=min(score, 0.999),
        engine=ENGINE,
        progress=progress,
    )


def _literals_json(literals: Sequence[Literal]) -> list[list[Any]]:
    return [[positive, list(fact)] for positive, fact in literals]


def step_violation(failure: StepFailure) -> Violation:
    reason = failure.describe()
    return Violation(
        kind=failure.kind,
        step=failure.step,
        detail={
            "action": failure.action.name,
            "args": list(failure.action.args),
            "unmet": _literals_json(failure.unmet),
            "reason": reason,
        },
        message=failure.message(),
    )


def goal_violation(report: PlanReport) -> Violation:
    return Violation(
        kind="unmet_goal",
        detail={"unmet": _literals_json(report.unmet_goals), "after_steps": report.valid_prefix_len},
        message=report.goal_message(),
    )
