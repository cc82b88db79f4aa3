"""Imitation targets for planning: a short certified plan per generated Blocksworld problem.

A plan comes from breadth-first search (optimal, where the state space is small), weighted A*
with the relaxed-plan heuristic, or else the project's own step-level search
(:class:`~llm_modulo.strategies.search.Search` with the uniform random proposer), shortened by
removing steps while the plan stays valid (:func:`shorten`, also used to shorten expert plans).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.types import Budget, Task

from .. import canon
from ..chat import training_domain
from .records import certify, record

log = logging.getLogger(__name__)

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
    import heapq
    import itertools

    from llm_modulo.domains.planning.heuristic import RelaxedPlanHeuristic

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


def blocksworld_plan(
    domain: Any,
    task: Task,
    *,
    method: str = "auto",
    max_states: int = 20_000,
    max_nodes: int = 2_000,
    seed: int = 0,
    shorten_plan: bool = True,
) -> tuple[list[Step], str] | None:
    """(plan, how) for a planning task: ``"bfs"`` (optimal), ``"astar"`` (:func:`astar_plan`, short),
    ``"search"`` (the project's search with the random proposer and the relaxed-plan heuristic,
    then :func:`shorten`), or ``"auto"``: BFS within ``max_states`` states, else A* within
    ``10 * max_states``, else search."""
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
        steps = astar_plan(problem, max_states=10 * max_states)
        if steps is not None:
            return (shorten(problem, steps) if shorten_plan else steps), "astar"
        if method == "astar":
            return None
    from llm_modulo.models.random_proposer import RandomProposer
    from llm_modulo.strategies.search import Search

    search = Search(
        RandomProposer(seed),
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


def imitation_blocksworld(
    folder: str | Path,
    *,
    prompt_format: str = "compact",
    method: str = "auto",
    max_states: int = 20_000,
    max_nodes: int = 2_000,
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified imitation record per problem file in ``folder`` (see :func:`.generate.write_blocksworld`).

    A problem whose key is a test instance's raises :class:`InputError` unless ``allow_test``.
    """
    from llm_modulo.domains.planning.domain import PLAN_END

    folder = Path(folder)
    domain = training_domain("blocksworld", prompt_format)
    excluded = frozenset() if allow_test else canon.blocksworld_test_keys()
    files = sorted((p for p in folder.glob("*.pddl") if "domain" not in p.name.lower()), key=_natural)
    if not files:
        raise InputError(f"no problem files in {folder}")
    for path in files:
        task = domain.load_files(folder / "domain.pddl", path, task_id=path.stem)
        key = canon.problem_key(task.payload.problem)
        if key in excluded:
            raise InputError(f"{path} is a test instance (up to renaming the blocks); refusing to train on it")
        found = blocksworld_plan(domain, task, method=method, max_states=max_states, max_nodes=max_nodes, seed=seed)
        if found is None:
            log.warning("%s: no plan found; skipped", path.name)
            continue
        steps, how = found
        completion = domain.plan_text(steps, task) + PLAN_END
        if not certify(domain, task, completion):
            log.warning("%s: the plan was not certified; skipped", path.name)
            continue
        yield record(
            domain,
            task,
            completion,
            "imitation",
            key,
            prompt_format,
            plan_len=len(steps),
            method=how,
            optimal=how == "bfs",
            problem_file=str(path),
        )


def _natural(path: Path) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.stem))


__all__ = ["PLAN_METHODS", "Step", "astar_plan", "blocksworld_plan", "imitation_blocksworld", "shorten"]
