"""The verifier's reward for a sampled plan, and group-relative advantages.

:func:`plan_reward` judges an answer with every critic the domain has (as the strategies do):
an answer every hard critic accepts earns exactly 1. Any other answer earns a dense partial reward
below :data:`PARTIAL_CAP` (so nothing uncertified can tie a certified answer), from the plan
validator's report: the share of the plan's steps that apply before the first flaw (its valid
prefix), and how far the state that prefix reaches is toward the goal, by FF's relaxed-plan
distance (:mod:`llm_modulo.domains.planning.heuristic`; ``1 - h(end) / h(initial)``, clipped to
[0, 1]). The heuristic only shapes the reward: it never certifies.

:func:`group_advantages` is GRPO's baseline: each reward minus its group's mean, over the group's
standard deviation (population, plus ``eps``); a group whose rewards are all equal gets zeros.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_modulo.strategies.base import judge
from llm_modulo.types import Task, certified

PARTIAL_CAP = 0.5  # the most an uncertified answer can earn
EXECUTABLE_WEIGHT = 0.5  # the executable share's part of the partial reward; the goal progress has the rest


@dataclass(frozen=True)
class Reward:
    """One answer's reward and what it was made of."""

    value: float
    certified: bool
    valid: int  # steps that apply before the first flaw
    length: int  # steps in the answer
    progress: float  # goal progress of the state the valid prefix reaches, in [0, 1]


def goal_progress(h_start: float, h_end: float) -> float:
    """``1 - h_end / h_start`` clipped to [0, 1]; 0 where the start's distance is 0 or infinite."""
    if not math.isfinite(h_start) or h_start <= 0 or not math.isfinite(h_end):
        return 0.0
    return min(1.0, max(0.0, 1.0 - h_end / h_start))


def partial_reward(valid: int, length: int, progress: float, cap: float = PARTIAL_CAP) -> float:
    """The reward of an uncertified answer: below ``cap``, increasing in the executable share
    ``valid / length`` and in the goal ``progress``; 0 for an empty answer."""
    if length <= 0:
        return 0.0
    share = min(max(valid, 0), length) / length
    value = cap * (EXECUTABLE_WEIGHT * share + (1.0 - EXECUTABLE_WEIGHT) * min(1.0, max(0.0, progress)))
    return min(value, math.nextafter(cap, 0.0))  # strictly below the cap


class PlanScorer:
    """Scores answers to one planning task (the relaxed-plan heuristic is built once per task)."""

    def __init__(self, domain: Any, task: Task) -> None:
        self.domain, self.task = domain, task
        self._heuristic: Any = None
        self._h_start: float | None = None

    def distance(self, state: Any) -> float:
        from llm_modulo.domains.planning.heuristic import RelaxedPlanHeuristic

        if self._heuristic is None:
            self._heuristic = RelaxedPlanHeuristic(self.task.payload.problem)
        return float(self._heuristic(state))

    def __call__(self, text: str) -> Reward:
        candidate, verdicts = judge(self.domain, self.task, text)
        if certified(verdicts):
            steps = len(candidate.answer or [])
            return Reward(1.0, True, steps, steps, 1.0)
        reports = [v.progress for v in verdicts if v.hard and v.progress is not None]
        if not reports:  # no critic measured the plan (an undecided verdict): no partial credit
            return Reward(0.0, False, 0, 0, 0.0)
        valid, length = min(p.valid for p in reports), max(p.length for p in reports)
        progress = self._progress(candidate.answer or [], valid)
        return Reward(partial_reward(valid, length, progress), False, valid, length, progress)

    def _progress(self, steps: Sequence[Any], valid: int) -> float:
        problem = getattr(self.task.payload, "problem", None)
        if problem is None or valid <= 0:
            return 0.0
        state = problem.initial_state()
        if self._h_start is None:
            self._h_start = self.distance(state)
        for step in list(steps)[:valid]:
            state = problem.apply(state, step)
        return goal_progress(self._h_start, self.distance(state))


def plan_reward(domain: Any, task: Task, text: str) -> Reward:
    """The reward of the answer ``text`` (the prefill included) to ``task``."""
    return PlanScorer(domain, task)(text)


def group_advantages(rewards: Sequence[float], group: int, eps: float = 1e-4) -> list[float]:
    """GRPO's advantages: ``(r - mean) / (std + eps)`` within consecutive groups of ``group`` rewards."""
    if group < 1 or len(rewards) % group:
        raise ValueError(f"{len(rewards)} rewards do not split into groups of {group}")
    out: list[float] = []
    for start in range(0, len(rewards), group):
        chunk = [float(r) for r in rewards[start : start + group]]
        mean = sum(chunk) / len(chunk)
        std = math.sqrt(sum((r - mean) ** 2 for r in chunk) / len(chunk))
        out += [0.0 if std == 0 else (r - mean) / (std + eps) for r in chunk]
    return out


__all__ = [
    "EXECUTABLE_WEIGHT",
    "PARTIAL_CAP",
    "PlanScorer",
    "Reward",
    "goal_progress",
    "group_advantages",
    "partial_reward",
    "plan_reward",
]
