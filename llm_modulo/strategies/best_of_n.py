"""``best-of-n``: repeated sampling of the same prompt; the first candidate the critics accept wins."""

from __future__ import annotations

from llm_modulo.budget import BudgetTracker
from llm_modulo.strategies.base import BaseStrategy, score
from llm_modulo.strategies.options import BestOfNOptions
from llm_modulo.types import Attempt, Result, ResultStatus, Sample, Task


class BestOfN(BaseStrategy):
    """Draws batches of ``n`` until a candidate is certified or the budget is spent."""

    name = "best-of-n"
    Options = BestOfNOptions

    def _run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.critics_for(task)
        constraint = self.constraint_for(task)
        prompt = self.domain.prompt(task)
        trace: list[Attempt] = []
        best: Sample | None = None
        while (k := tracker.next_batch(self.n)) > 0:
            tracker.usage.rounds += 1
            attempt = self.call(task, prompt, k, tracker.usage.rounds, tracker, critics, constraint)
            trace.append(attempt)
            for sample in attempt.samples:
                if sample.certified:
                    return self.result(task, sample, trace, tracker, ResultStatus.EXHAUSTED)
                if best is None or score(sample) > score(best):
                    best = sample
        return self.result(task, best, trace, tracker, ResultStatus.EXHAUSTED)
