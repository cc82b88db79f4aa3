"""``best-of-n``: repeated sampling of the same prompt; the first candidate the critics accept wins.

With ``rank`` other than "sampled", each call's samples are ordered first (by the soft critics'
score, e.g. a learned critic; by the model's own log-probability; or at random) and the hard
critics check them in that order, stopping at the first certified one: a good ranking saves
hard-critic calls. The ranking only orders: a sample is certified by the hard critics alone.
"""

from __future__ import annotations

import random
from typing import Any

from llm_modulo.budget import BudgetTracker
from llm_modulo.errors import InputError
from llm_modulo.protocols import Prompt
from llm_modulo.strategies.base import BaseStrategy, checked, score
from llm_modulo.strategies.options import BestOfNOptions
from llm_modulo.types import Attempt, Result, ResultStatus, Sample, Task


class BestOfN(BaseStrategy):
    """Draws batches of ``n`` until a candidate is certified or the budget is spent."""

    name = "best-of-n"
    Options = BestOfNOptions
    options: BestOfNOptions

    def _run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.critics_for(task)
        ranked = self.options.rank != "sampled"
        hard = [c for c in critics if getattr(c, "hard", True)]
        soft = [c for c in critics if not getattr(c, "hard", True)]
        constraint = self.constraint_for(task)
        prompt = self.domain.prompt(task)
        trace: list[Attempt] = []
        best: Sample | None = None
        while (k := tracker.next_batch(self.n)) > 0:
            tracker.usage.rounds += 1
            # ranked: the soft critics judge every sample now, the hard ones only in the ranking's order
            attempt = self.call(task, prompt, k, tracker.usage.rounds, tracker, soft if ranked else critics, constraint)
            trace.append(attempt)
            samples = self._ranked(task, prompt, attempt, tracker) if ranked else attempt.samples
            for checks, sample in enumerate(samples, 1):
                if ranked:
                    sample.verdicts = [*sample.verdicts, *(checked(c, task, sample.candidate) for c in hard)]
                    attempt.info["checked"] = checks
                if sample.certified:
                    return self.result(task, sample, trace, tracker, ResultStatus.EXHAUSTED)
                if best is None or score(sample) > score(best):
                    best = sample
        return self.result(task, best, trace, tracker, ResultStatus.EXHAUSTED)

    def _ranked(self, task: Task, prompt: Prompt, attempt: Attempt, tracker: BudgetTracker) -> list[Sample]:
        """``attempt``'s samples in the order of ``rank`` (recorded in ``attempt.info["order"]``)."""
        samples = attempt.samples
        keys: list[Any]
        if self.options.rank == "soft":  # the weakest soft critic's score, best first
            keys = [-score(s)[1] for s in samples]
        elif self.options.rank == "logprob":
            scorer = getattr(self.model, "score", None)
            if not callable(scorer):
                raise InputError(f"rank='logprob' needs a model with score(); {self.model!r} has none")
            batch = scorer(prompt, [s.completion for s in samples])
            tracker.record_call(0, batch.prompt_tokens, 0)
            tracker.usage.scored_tokens += batch.tokens
            keys = [-lp for lp in batch.logprobs]
        else:
            seed = None if self.seed is None else self.seed + 1000 * attempt.round
            rng = random.Random(seed)
            keys = [rng.random() for _ in samples]
        order = sorted(range(len(samples)), key=lambda i: keys[i])
        attempt.info["order"] = order
        attempt.info["rank"] = self.options.rank
        return [samples[i] for i in order]
