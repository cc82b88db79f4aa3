"""``self-consistency``: k samples, a majority vote over normalised answers; the critics only score.

The vote never looks at a verdict: answers are grouped by the domain's optional
``normalize(task, candidate) -> Hashable | None`` hook (fallback: the JSON of
``candidate.answer``), unparseable or empty answers abstain, and the most frequent answer wins
(ties go to the answer seen first). The critics then score the winner, and ``Result.info``
also says whether *any* sample was certified ("oracle@k"), so a report shows the gap between
voting and verifier-based selection at the same budget.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from llm_modulo.budget import BudgetTracker
from llm_modulo.protocols import Domain
from llm_modulo.strategies.base import BaseStrategy
from llm_modulo.strategies.options import SelfConsistencyOptions
from llm_modulo.types import Attempt, Candidate, Result, ResultStatus, Sample, Task

DEFAULT_K = 8


def vote_key(domain: Domain, task: Task, candidate: Candidate) -> Hashable | None:
    """What a candidate votes for: the domain's ``normalize`` hook, else the JSON of its answer.

    ``None`` means no vote (unparseable or empty answer).
    """
    hook = getattr(domain, "normalize", None)
    if hook is not None:
        return hook(task, candidate)  # type: ignore[no-any-return]
    answer = candidate.answer
    if answer is None or candidate.parse_errors:
        return None
    if isinstance(answer, (str, bytes, list, tuple, dict, set, frozenset)) and len(answer) == 0:
        return None
    if isinstance(answer, str) and not answer.strip():
        return None
    return json.dumps(answer, sort_keys=True, default=str)


def majority(keys: list[Hashable | None]) -> tuple[int | None, int, int]:
    """(index of the winner's first occurrence, its votes, number of distinct answers).

    ``None`` keys abstain; ties go to the answer that occurred first. Index ``None`` when nobody voted.
    """
    counts: dict[Hashable, int] = {}
    first: dict[Hashable, int] = {}
    for i, key in enumerate(keys):
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, i)
    if not counts:
        return None, 0, 0
    winner = max(counts, key=lambda key: (counts[key], -first[key]))
    return first[winner], counts[winner], len(counts)


class SelfConsistency(BaseStrategy):
    """Draws ``k`` samples in batches of ``n`` (within the budget) and returns the majority answer.

    ``k`` defaults to the budget's sample limit, or 8 when samples are unlimited.
    """

    name = "self-consistency"

    Options = SelfConsistencyOptions
    options: SelfConsistencyOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        k = self.options.k
        self.k = k if k is not None else (self.budget.samples if self.budget.samples is not None else DEFAULT_K)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "k": self.k}

    def _run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.critics_for(task)
        constraint = self.constraint_for(task)
        prompt = self.domain.prompt(task)
        trace: list[Attempt] = []
        samples: list[Sample] = []
        while len(samples) < self.k and (m := tracker.next_batch(min(self.n, self.k - len(samples)))) > 0:
            tracker.usage.rounds += 1
            attempt = self.call(task, prompt, m, tracker.usage.rounds, tracker, critics, constraint)
            trace.append(attempt)
            if not attempt.samples:  # the model had nothing more to give
                break
            samples.extend(attempt.samples)

        # The vote: normalised answers only, never a verdict.
        keys = [vote_key(self.domain, task, s.candidate) for s in samples]
        index, votes, distinct = majority(keys)
        winner = samples[index] if index is not None else None

        result = self.result(task, winner, trace, tracker, ResultStatus.FAILED)
        voters = sum(key is not None for key in keys)
        result.info = {
            **result.info,
            "k": self.k,
            "samples": len(samples),
            "votes": votes,  # for the winner
            "voters": voters,  # samples with a parseable, non-empty answer
            "abstained": len(samples) - voters,
            "distinct_answers": distinct,
            "vote_share": votes / voters if voters else 0.0,
            "majority_certified": result.verified,
            "oracle_at_k": any(s.certified for s in samples),  # what verifier selection would have found
            "certified_samples": sum(s.certified for s in samples),
        }
        return result
