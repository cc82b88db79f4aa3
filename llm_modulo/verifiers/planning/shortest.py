"""Shortest plans by breadth-first search over the grounded state space, for small problems.

The search is exact (a returned plan is optimal in steps) and bounded: past ``max_states``
distinct states it gives up and says so (``complete=False``). A complete search that finds no
plan proves that none exists. Delete-relaxed reachability is checked first: a goal that is
unreachable even when deletes are ignored has no plan, whatever the size of the space.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ._model import GroundAction
from .pddl import PlanningProblem, State


@dataclass(frozen=True)
class ShortestPlan:
    """``plan``: an optimal plan, or None. ``complete``: the answer is exact (a plan was found,
    or every reachable state was seen); False when the search hit its state limit."""

    plan: tuple[GroundAction, ...] | None
    complete: bool
    states: int
    relaxed_unreachable: bool = False

    @property
    def length(self) -> int | None:
        return None if self.plan is None else len(self.plan)


def shortest_plan(problem: PlanningProblem, max_states: int = 20_000, start: State | None = None) -> ShortestPlan:
    """A shortest plan of ``problem`` (grounded fragment only) from ``start`` (default: the initial
    state), or why there is none."""
    if start is None:
        start = problem.initial_state()
    if problem.goal_reached(start):
        return ShortestPlan((), True, 1)
    if not relaxed_reachable(problem, start):
        return ShortestPlan(None, True, 1, relaxed_unreachable=True)
    parent: dict[int, tuple[int, GroundAction] | None] = {start: None}
    frontier = deque([start])
    while frontier:
        state = frontier.popleft()
        for action in problem.applicable(state):
            nxt = problem.apply(state, action)
            if nxt in parent:
                continue
            parent[nxt] = (state, action)
            if problem.goal_reached(nxt):
                return ShortestPlan(_path(parent, nxt), True, len(parent))
            if len(parent) >= max_states:
                return ShortestPlan(None, False, len(parent))
            frontier.append(nxt)
    return ShortestPlan(None, True, len(parent))


def _path(parent: dict[int, tuple[int, GroundAction] | None], state: int) -> tuple[GroundAction, ...]:
    steps = []
    link = parent[state]
    while link is not None:
        state, action = link
        steps.append(action)
        link = parent[state]
    return tuple(reversed(steps))


def relaxed_reachable(problem: PlanningProblem, state: int) -> bool:
    """True if the positive goals hold in the delete relaxation's fixpoint from ``state``
    (False proves the goal unreachable: negative preconditions and deletes only restrict)."""
    ops = problem._index()
    reached = state
    changed = True
    while changed:
        changed = False
        for op in ops:
            if op.pre_pos & reached == op.pre_pos and op.add & ~reached:
                reached |= op.add
                changed = True
    goal = problem._goal_pos
    return reached & goal == goal
