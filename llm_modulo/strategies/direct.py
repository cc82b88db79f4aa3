"""``direct``: one sample; the critics only score it."""

from __future__ import annotations

from llm_modulo.budget import BudgetTracker
from llm_modulo.strategies.base import BaseStrategy
from llm_modulo.strategies.options import DirectOptions
from llm_modulo.types import Result, ResultStatus, Task


class Direct(BaseStrategy):
    name = "direct"
    Options = DirectOptions

    def _run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.critics_for(task)
        tracker.usage.rounds = 1
        attempt = self.call(task, self.domain.prompt(task), 1, 1, tracker, critics, self.constraint_for(task))
        best = attempt.samples[0] if attempt.samples else None
        return self.result(task, best, [attempt], tracker, ResultStatus.FAILED)
