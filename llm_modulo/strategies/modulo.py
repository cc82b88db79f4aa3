"""``modulo``: rounds of n samples with the critics' findings back-prompted at a feedback level.

Each round the best candidate (highest critic score) is critiqued in the domain's own
vocabulary at the chosen level (none / binary / first / all) and the critique goes back into
the prompt, alone or with the history of earlier rounds. With ``reuse_prefix`` the next round
continues from the part of the best candidate the critics found no fault in (the domain's
``valid_prefix``), so a tiny model does not have to rewrite steps it already got right.
"""

from __future__ import annotations

from llm_modulo.budget import BudgetTracker
from llm_modulo.protocols import Feedback
from llm_modulo.strategies.base import BaseStrategy, score
from llm_modulo.types import Attempt, Result, ResultStatus, Sample, Task


class Modulo(BaseStrategy):
    name = "modulo"

    def run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.domain.critics(task)
        constraint = self.constraint_for(task)
        trace: list[Attempt] = []
        feedback: list[Feedback] = []
        prefill = ""
        best: Sample | None = None
        while (k := tracker.next_batch(self.n)) > 0:
            tracker.usage.rounds += 1
            shown = feedback if self.history else feedback[-1:]
            prompt = self.domain.prompt(task, shown, prefill)
            attempt = self.call(task, prompt, k, tracker.usage.rounds, tracker, critics, constraint)
            trace.append(attempt)
            certified = next((s for s in attempt.samples if s.certified), None)
            if certified is not None:
                return self.result(task, certified, trace, tracker, ResultStatus.EXHAUSTED)
            if not attempt.samples:
                break
            round_best = max(attempt.samples, key=score)
            if best is None or score(round_best) > score(best):
                best = round_best
            critique = self.domain.critique(task, round_best.candidate, round_best.verdicts, self.feedback)
            feedback.append(Feedback(answer=round_best.candidate.text, critique=critique))
            if self.reuse_prefix:
                prefill = self.domain.valid_prefix(task, round_best.candidate, round_best.verdicts)
        return self.result(task, best, trace, tracker, ResultStatus.EXHAUSTED)
