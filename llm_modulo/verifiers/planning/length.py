"""``PlanLengthCritic``: a soft critic that compares a valid plan's length with the optimum.

Soft (``hard = False``): it never certifies (``types.certified`` ignores it); its score ranks
candidates (``optimum / length``) and its violation is advice ("valid, but 12 steps; a 6-step
plan exists"). The reference length comes from the task's data when a loader found it
(``optimal_plan_length``, or ``known_plan_length``: a valid plan's length), else from a bounded
breadth-first search (:func:`~.shortest.shortest_plan`), else it is unknown.
"""

from __future__ import annotations

import weakref
from typing import Any

from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus, Violation

from ..base import BaseCritic
from .critic import planning_problem
from .pddl import PlanningProblem
from .shortest import shortest_plan
from .validator import validate

META_KEY = "optimal_plan_length"
KNOWN_KEY = "known_plan_length"


class PlanLengthCritic(BaseCritic):
    """Advice on plan length. UNKNOWN for plans that are not valid (the hard critic speaks for
    those) and when the optimum is unknown; VALID at the optimum; INVALID (kind ``suboptimal``)
    above it. ``info`` carries ``plan_len`` and ``optimum``."""

    name = "plan-length"
    hard = False

    def __init__(self, max_states: int = 20_000) -> None:
        self.max_states = max_states
        self._optima: weakref.WeakKeyDictionary[PlanningProblem, int | None] = weakref.WeakKeyDictionary()

    def optimum(self, task: Task) -> int | None:
        """The shortest plan length known for ``task`` (see :meth:`reference`)."""
        return self.reference(task)[0]

    def reference(self, task: Task) -> tuple[int | None, str]:
        """(length, where it comes from): ``task.meta["optimal_plan_length"]`` (data), else
        ``task.meta["known_plan_length"]`` (a valid plan in the data, e.g. PlanBench's ground truth:
        a bound on the optimum, so "a 6-step plan exists" stays true; PlanBench's matched
        breadth-first search on every instance we compared), else a breadth-first search within
        ``max_states`` (cached per problem), else unknown."""
        for key, source in ((META_KEY, "data (optimal)"), (KNOWN_KEY, "data (known plan)")):
            if task.meta.get(key) is not None:
                return int(task.meta[key]), source
        problem = planning_problem(task)
        if problem.supported:
            if problem not in self._optima:
                self._optima[problem] = shortest_plan(problem, self.max_states).length
            found = self._optima[problem]
            if found is not None:
                return found, "grounded-strips breadth-first search"
        return None, ""

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        problem = planning_problem(task)
        plan = list(candidate.answer)
        info: dict[str, Any] = {"plan_len": len(plan)}
        if not problem.supported or not validate(problem, plan).valid:
            return Verdict(status=VerdictStatus.UNKNOWN, critic=self.name, info=info)
        optimum, engine = self.reference(task)
        info["optimum"] = optimum
        if optimum is None:  # unknown: shorter still ranks higher
            return Verdict(
                status=VerdictStatus.UNKNOWN, critic=self.name, score=1.0 / (1 + len(plan)), engine=engine, info=info
            )
        if len(plan) <= optimum:
            return Verdict(status=VerdictStatus.VALID, critic=self.name, score=1.0, engine=engine, info=info)
        return Verdict(
            status=VerdictStatus.INVALID,
            critic=self.name,
            score=optimum / len(plan),
            engine=engine,
            violations=[
                Violation(
                    kind="suboptimal",
                    detail={"plan_len": len(plan), "optimum": optimum},
                    message=f"the plan is valid, but it has {len(plan)} steps; a {optimum}-step plan exists",
                )
            ],
            info=info,
        )
