"""Imitation targets for planning (the ``imitation_target`` capability): a short plan per task.

A plan comes from breadth-first search (optimal, where the state space is small), weighted A*
with the relaxed-plan heuristic, or else the project's own step-level search
(:class:`~llm_modulo.strategies.search.Search`, with a proposer the caller passes: domains sit
below the models), shortened by removing steps while the plan stays valid (:func:`shorten`,
also used to shorten expert plans). Works for any STRIPS domain, not only Blocksworld.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.types import Budget, Task

from .render import PLAN_END

Step = tuple[str, tuple[str, ...]]
PLAN_METHODS = ("auto", "bfs", "astar", "search")


def _valid(problem: Any, steps: Sequence[Step]) -> bool:
    state = problem.initial_state()
    for step in steps:
        if not problem.is_applicable(state, step):
            return False
        state = problem.apply(state, step)
    return bool(problem.goal_reached(state))


def shorten(problem: Any, steps: Sequence[Step]) -> list[Step]:
    """Remove single steps and pairs of steps while the plan stays valid (greedy, to a fixpoint)."""
    plan = list(steps)
    changed = True
    while changed:
        changed = False
        n = len(plan)
        for i in range(n):
            for j in [i, *range(i + 1, n)]:
                trial = [s for k, s in enumerate(plan) if k not in (i, j)]
                if _valid(problem, trial):
                    plan, changed = trial, True
                    break
            if changed:
                break
    return plan


def astar_plan(problem: Any, weight: float = 1.0, max_states: int = 50_000) -> list[Step] | None:
    """A plan by weighted A* (f = g + weight * h_FF) over the grounded states; None past ``max_states``.

    h_FF is not admissible, so the plan is short but not proven optimal.
    """
    from .heuristic import RelaxedPlanHeuristic

    h = RelaxedPlanHeuristic(problem)
    start = problem.initial_state()
    parent: dict[Any, tuple[Any, Any] | None] = {start: None}
    cost = {start: 0}
    tie = itertools.count()
    frontier = [(weight * h(start), next(tie), start)]
    while frontier:
        _, _, state = heapq.heappop(frontier)
        if problem.goal_reached(state):
            steps = []
            link = parent[state]
            while link is not None:
                state, action = link
                steps.append((str(action.name), tuple(str(a) for a in action.args)))
                link = parent[state]
            return steps[::-1]
        g = cost[state] + 1
        for action in problem.applicable(state):
            nxt = problem.apply(state, action)
            if nxt in cost and cost[nxt] <= g:
                continue
            estimate = h(nxt)
            if estimate == float("inf"):
                continue
            cost[nxt], parent[nxt] = g, (state, action)
            if len(cost) > max_states:
                return None
            heapq.heappush(frontier, (g + weight * estimate, next(tie), nxt))
    return None


def find_plan(
    domain: Any,
    task: Task,
    *,
    method: str = "auto",
    max_states: int = 20_000,
    max_nodes: int = 2_000,
    seed: int = 0,
    shorten_plan: bool = True,
    proposer: Any = None,
    weight: float = 1.0,
) -> tuple[list[Step], str] | None:
    """(plan, how) for a planning task: ``"bfs"`` (optimal), ``"astar"`` (:func:`astar_plan`, short),
    ``"search"`` (the project's search with ``proposer`` and the relaxed-plan heuristic, then
    :func:`shorten`), or ``"auto"``: BFS within ``max_states`` states, else A* within
    ``10 * max_states``, else search. Without a ``proposer`` there is no search (None).
    ``weight``: A*'s weight on the heuristic (above 1: faster, plans less short before shortening)."""
    from llm_modulo.verifiers.planning.shortest import shortest_plan

    if method not in PLAN_METHODS:
        raise InputError(f"unknown plan method {method!r}; known: {', '.join(PLAN_METHODS)}")
    problem = task.payload.problem
    if method in ("auto", "bfs"):
        found = shortest_plan(problem, max_states=max_states)
        if found.plan is not None:
            return [(a.name, tuple(a.args)) for a in found.plan], "bfs"
        if method == "bfs" or found.complete:
            return None
    if method in ("auto", "astar"):
        steps = astar_plan(problem, weight=weight, max_states=10 * max_states)
        if steps is not None:
            return (shorten(problem, steps) if shorten_plan else steps), "astar"
        if method == "astar":
            return None
    if proposer is None:
        return None
    from llm_modulo.strategies.search import Search

    search = Search(
        proposer,
        domain,
        Budget(rounds=None, samples=None, nodes=max_nodes),
        heuristic="relaxed-plan",
        trace_nodes=False,
        seed=seed,
    )
    result = search.run(task)
    if not result.verified:
        return None
    steps = [(str(name), tuple(str(a) for a in args)) for name, args in result.answer]
    return (shorten(problem, steps) if shorten_plan else steps), "search"


def imitation_target(domain: Any, task: Task, **options: Any) -> tuple[str, dict[str, Any]] | None:
    """(completion, figures) for ``task``: the plan of :func:`find_plan` (``options``: its keywords)
    in the domain's answer format with the end marker; figures ``plan_len``, ``method`` (how the
    plan was found) and ``optimal``. None when no plan is found."""
    found = find_plan(domain, task, **options)
    if found is None:
        return None
    steps, how = found
    if getattr(domain, "state_cot", False):  # the checked chain of thought: State lines too
        completion = domain.answer_text(task.payload.problem, steps, task) + PLAN_END
    else:
        completion = domain.plan_text(steps, task) + PLAN_END
    return completion, {"plan_len": len(steps), "method": how, "optimal": how == "bfs"}


def shortened_target(domain: Any, task: Task, steps: Sequence[Step]) -> tuple[list[Step], str]:
    """(steps, completion): ``steps`` without the ones the plan does not need (:func:`shorten`), and
    their completion in the domain's answer format with the end marker."""
    short = shorten(task.payload.problem, steps)
    return short, domain.plan_text(short, task) + PLAN_END


def finish_plan(domain: Any, task: Task, prefill: str, max_states: int = 20_000) -> str | None:
    """A shortest completion (action lines, then the end marker) of the answer opened by ``prefill``.

    None when the prefill already reaches the goal (``modulo`` accepts it without a call), when
    a step of it does not apply, or when breadth-first search finds no plan within ``max_states``.
    """
    from llm_modulo.verifiers.planning.shortest import shortest_plan

    problem = task.payload.problem
    state = problem.initial_state()
    for name, args in domain.parse(task, prefill).answer or []:
        step = (name, tuple(args))
        if not problem.is_applicable(state, step):
            return None
        state = problem.apply(state, step)
    if problem.goal_reached(state):
        return None
    found = shortest_plan(problem, max_states=max_states, start=state)
    if found.plan is None:
        return None
    return str(domain.plan_text([(a.name, tuple(a.args)) for a in found.plan], task)) + PLAN_END


__all__ = [
    "PLAN_METHODS",
    "Step",
    "astar_plan",
    "find_plan",
    "finish_plan",
    "imitation_target",
    "shorten",
    "shortened_target",
]
