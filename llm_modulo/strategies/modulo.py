"""``modulo``: rounds of n samples with the critics' findings back-prompted at a feedback level.

Each round the best candidate (highest critic score) is critiqued in the domain's own
vocabulary at the chosen level (none / binary / first / all) and the critique goes back into
the prompt, alone or with the history of earlier rounds. With ``reuse_prefix`` the next round
continues from the part of the best candidate the critics found no fault in (the domain's
``valid_prefix``), so a tiny model does not have to rewrite steps it already got right
(see :meth:`Modulo._next_prefix` for the policy).
With constrained decoding, the first choices the critics rejected right after the current
prefix (a failing step, or stopping short of the goal) are excluded when the loop continues
from that prefix again: the first-error critique acts on decoding, not only on the prompt.
With ``remember_rejected`` every rejected sample's first error is excluded after the exact steps
that led to it, in every later round, wherever the answer starts: a model that rewrites the
whole plan cannot repeat a mistake the critics have already found.
With ``backprompt=False`` the critique never enters the prompt: every round asks the task's own
prompt again, and the critics act on the model only through decoding (the exclusions above). A
model never trained on a critique then keeps the distribution it was trained on, minus each
mistake already found.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from llm_modulo.budget import BudgetTracker
from llm_modulo.contract import has
from llm_modulo.protocols import Feedback, LineConstraint
from llm_modulo.strategies.base import BaseStrategy, score
from llm_modulo.strategies.options import ModuloOptions, StrategyOptions
from llm_modulo.types import Attempt, Result, ResultStatus, Sample, Task
from llm_modulo.types import certified as certified_verdicts

log = logging.getLogger(__name__)


class Modulo(BaseStrategy):
    name = "modulo"

    Options = ModuloOptions
    options: ModuloOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        o = self.options
        self.feedback = o.feedback
        self.history = o.history
        self.reuse_prefix = o.reuse_prefix if o.reuse_prefix is not None else has(self.domain, "valid_prefix")
        self.exclude_rejected = o.exclude_rejected
        self.retry_excluded = o.retry_excluded
        self.remember_rejected = o.remember_rejected
        self.backprompt = o.backprompt
        if not o.backprompt and (self.constrained == "none" or not o.exclude_rejected):
            log.warning(
                "modulo without the back-prompt and without constrained decoding that excludes rejected steps: "
                "the critics cannot reach the model, so every round repeats best-of-n (set constrained, and "
                "remember_rejected for the strongest form)"
            )

    def needs(self, options: StrategyOptions) -> dict[str, str]:
        need = super().needs(options)
        assert isinstance(options, ModuloOptions)
        if options.reuse_prefix:
            need["valid_prefix"] = "reuse_prefix"
        if options.remember_rejected:
            need["valid_prefix"] = "remember_rejected"
            need["rejected_continuation"] = "remember_rejected"
        return need

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "reuse_prefix": self.reuse_prefix,
            "exclude_rejected": self.exclude_rejected and self.constrained != "none",
        }

    def _run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.critics_for(task)
        trace: list[Attempt] = []
        feedback: list[Feedback] = []
        prefill = ""
        rejected: dict[str, set[str]] = {}  # prefix -> first choices the critics rejected after it
        nogoods: dict[str, set[str]] = {}  # the same from every sample's own first error (never from backtracking)
        hook = getattr(self.domain, "rejected_continuation", None) if self.exclude_rejected else None
        best: Sample | None = None
        while (k := tracker.next_batch(self.n)) > 0:
            tracker.usage.rounds += 1
            shown = (feedback if self.history else feedback[-1:]) if self.backprompt else []
            prompt = self.domain.prompt(task, shown, prefill)
            constraint = self._constraint_at(task, prefill, rejected)
            excluded_now = frozenset(rejected.get(prefill, ()))
            if constraint is not None and self.remember_rejected and hook is not None:
                constraint = replace(constraint, exclude_after=_after(nogoods, prefill))
            attempt = self.call(task, prompt, k, tracker.usage.rounds, tracker, critics, constraint)
            trace.append(attempt)
            certified = next((s for s in attempt.samples if s.certified), None)
            if certified is not None:
                return self.result(task, certified, trace, tracker, ResultStatus.EXHAUSTED)
            if not attempt.samples:
                break
            if hook is not None and constraint is not None:  # what the critics rejected right after the prefix
                for sample in attempt.samples:
                    line = hook(task, sample.candidate, sample.verdicts, prefill)
                    if line is not None:
                        rejected.setdefault(prefill, set()).add(line)
                    if self.remember_rejected:  # and right after each sample's own valid prefix
                        where = self.domain.valid_prefix(task, sample.candidate, sample.verdicts, to_best=False)
                        if where != prefill:  # at the prefill the hook has just answered
                            line = hook(task, sample.candidate, sample.verdicts, where)
                        if line is not None:
                            nogoods.setdefault(where, set()).add(line)
            round_best = max(attempt.samples, key=score)
            improved = best is None or score(round_best) > score(best)
            if improved:
                best = round_best
            critique = self.critique(task, round_best, self.feedback)
            feedback.append(Feedback(answer=round_best.candidate.text, critique=critique))
            if self.reuse_prefix:
                learned = not rejected.get(prefill, set()) <= excluded_now
                prefill = self._next_prefix(task, round_best, improved, prefill, rejected, learned)
                # a candidate may reach the goal and then wander on: its cut-back prefix alone
                # can already be an answer, which the critics judge like any other
                while True:
                    candidate, verdicts = self.evaluate(task, prefill, critics)
                    if certified_verdicts(verdicts):
                        sample = Sample(completion="", tokens=0, candidate=candidate, verdicts=verdicts)
                        return self.result(task, sample, trace, tracker, ResultStatus.EXHAUSTED)
                    # a prefix after which the grammar allows no step can only end there, uncertified:
                    # back off now instead of spending a round of samples that can only say so
                    if not prefill or self._steps_after(task, prefill, rejected):
                        break
                    prefill = _backtrack(prefill, rejected)
        return self.result(task, best, trace, tracker, ResultStatus.EXHAUSTED)

    def _constraint_at(self, task: Task, prefill: str, rejected: dict[str, set[str]]) -> LineConstraint | None:
        """The grammar after ``prefill``, less the first choices the critics rejected there."""
        constraint = self.constraint_for(task, prefill)
        excluded = frozenset(rejected.get(prefill, ()))
        return replace(constraint, exclude_first=excluded) if constraint is not None and excluded else constraint

    def _steps_after(self, task: Task, prefill: str, rejected: dict[str, set[str]]) -> bool:
        """Whether the grammar allows a step after ``prefill`` that was not rejected there (True without one)."""
        constraint = self._constraint_at(task, prefill, rejected)
        return constraint is None or not constraint.dynamic or bool(constraint.choices(())[0])

    def _next_prefix(
        self,
        task: Task,
        round_best: Sample,
        improved: bool,
        prefill: str,
        rejected: dict[str, set[str]],
        learned: bool = False,
    ) -> str:
        """Where the next round continues from.

        After progress: the best candidate's valid prefix, cut back to its point of most progress.
        Without progress: its whole valid prefix, so the search walks on past a local optimum.
        If even that does not move and ``retry_excluded`` is set and this round rejected first
        choices at the prefix that were not yet excluded there (``learned``), stay: the next round
        decodes from the same prefix without them (say, a model that stops short of the goal is
        made to write a next step). Otherwise backtrack: drop the last line of the prefix and exclude it
        there (answers are line-based wherever a grammar is used), so a deterministic model is
        not sent down the same dead end again.
        """
        nxt = self.domain.valid_prefix(task, round_best.candidate, round_best.verdicts, to_best=improved)
        if improved or nxt != prefill:
            return nxt
        if self.retry_excluded and learned:
            return prefill
        return _backtrack(prefill, rejected)


def _backtrack(prefill: str, rejected: dict[str, set[str]]) -> str:
    """``prefill`` without its last line, which is then rejected right after the shorter prefix."""
    lines = prefill.splitlines(keepends=True)
    if not lines:
        return ""
    shorter = "".join(lines[:-1])
    rejected.setdefault(shorter, set()).add(lines[-1].rstrip("\n"))
    return shorter


def _after(nogoods: dict[str, set[str]], prefill: str) -> frozenset[tuple[tuple[str, ...], str]]:
    """The rejected choices at or below ``prefill``, keyed by the lines generated after it."""
    return frozenset(
        (tuple(prefix[len(prefill) :].splitlines()), line)
        for prefix, lines in nogoods.items()
        if prefix.startswith(prefill)
        for line in lines
    )
