"""Delete-relaxation heuristics for guiding step-level search over any STRIPS problem.

``relaxed_plan_length`` is FF's heuristic: the size of a relaxed plan (preconditions must
hold, deletes ignored) extracted from a layered relaxed planning graph. It follows from the
PDDL alone, so it serves every domain, and it is only a *guide*: the critics still decide
whether a plan is valid. Negative preconditions and negative goals are ignored by the
relaxation (it stays a guide, never a judge).
"""

from __future__ import annotations

from typing import Any

INFINITY = float("inf")


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class RelaxedPlanHeuristic:
    """h_FF for one :class:`~llm_modulo.verifiers.planning.pddl.PlanningProblem`."""

    def __init__(self, problem: Any) -> None:
        self.problem = problem
        self.ops = list(problem._index())  # the relaxed-reachable ground ops
        self.goal = problem._goal_pos
        self._pre_bits = [_bits(op.pre_pos) for op in self.ops]

    def __call__(self, state: int) -> float:
        """Relaxed plan length from ``state`` (0 at the goal, ``inf`` where the goal is relaxed-unreachable)."""
        return self.evaluate(state)[0]

    def helpful(self, state: int) -> list[Any]:
        """FF's helpful actions in ``state``: the ground ops of its relaxed plan that are applicable
        there (Fast Downward's preferred operators); empty at the goal or a relaxed dead end."""
        return [self.ops[i] for i in self.evaluate(state)[1]]

    def evaluate(self, state: int) -> tuple[float, list[int]]:
        """(relaxed plan length, indices of the relaxed plan's ops applicable in ``state``)."""
        goal = self.goal
        if state & goal == goal:
            return 0, []
        reached = state
        achiever: dict[int, int] = {}  # fact bit -> index of the op that first adds it
        remaining = list(range(len(self.ops)))
        ops = self.ops
        while reached & goal != goal:
            new = 0
            still = []
            for i in remaining:
                op = ops[i]
                if op.pre_pos & reached == op.pre_pos:
                    fresh = op.add & ~reached & ~new
                    if fresh:
                        for bit in _bits(fresh):
                            achiever[bit] = i
                        new |= fresh
                else:
                    still.append(i)
            if not new:
                return INFINITY, []
            reached |= new
            remaining = still
        chosen: set[int] = set()
        stack = _bits(goal & ~state)
        seen: set[int] = set()
        while stack:
            bit = stack.pop()
            if bit in seen:
                continue
            seen.add(bit)
            i = achiever[bit]
            if i in chosen:
                continue
            chosen.add(i)
            stack.extend(b for b in self._pre_bits[i] if not state >> b & 1)
        applicable = sorted(i for i in chosen if ops[i].pre_pos & state == ops[i].pre_pos)
        return len(chosen), applicable
