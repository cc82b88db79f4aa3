"""``self-critique``: the language model judges its own candidate and revises it; the critics only score.

Each round draws one candidate, then asks the *same* model whether it is valid (the domain's
optional ``judge_prompt(task, candidate) -> Prompt`` hook, else the task prompt followed by the
candidate and "Is this answer correct? Answer yes or no, then explain."). If the model says
yes, the loop stops on that candidate; if not, the model's own judgement goes back into the
prompt as the critique (``Feedback(answer, critique=<its text>)``) and it revises, until the
budget is spent. Judge calls are LLM calls: they go through :meth:`BaseStrategy.call` and count
toward the budget.

The sound critics still judge every candidate (the trace records their verdicts), but no
decision reads them: this is the self-verification baseline, and ``Result.info`` counts how
often the model accepted an invalid answer (``false_accepts``) or rejected a valid one
(``false_rejects``), so its known collapse is measured rather than hidden.
"""

from __future__ import annotations

import re
from typing import Any

from llm_modulo.budget import BudgetTracker
from llm_modulo.protocols import Feedback, LineConstraint, Prompt
from llm_modulo.strategies.base import BaseStrategy
from llm_modulo.strategies.options import SelfCritiqueOptions
from llm_modulo.types import Attempt, Candidate, Result, ResultStatus, Sample, Task

JUDGE_QUESTION = "Is this answer correct? Answer yes or no, then explain."
JUDGE_YES = "Yes, the answer is correct."
JUDGE_NO = "No, the answer is not correct."
JUDGE_END = "[END]"
NO_EXPLANATION = "The answer is not correct."  # critique when the judge said "no" and nothing more

_LEADING_YES_NO = re.compile(r"^[\W_]*(?:(?:answer|verdict|judgement|judgment)\s*[:\-]?\s*)?[\W_]*(yes|no)\b")
_NEGATIVE = re.compile(r"\b(?:not\s+(?:valid|correct)|invalid|incorrect|wrong)\b")
_POSITIVE = re.compile(r"\b(?:valid|correct)\b")


def parse_judgement(text: str) -> bool | None:
    """The model's verdict on its own answer: True (valid), False (not valid), None (unclear).

    The judge is asked to answer yes or no first; failing a leading yes/no, the first
    non-empty line is read for "not valid"/"invalid"/"incorrect" versus "valid"/"correct".
    """
    low = text.strip().lower()
    m = _LEADING_YES_NO.match(low)
    if m:
        return m.group(1) == "yes"
    first = next((line for line in low.splitlines() if line.strip()), "")
    if _NEGATIVE.search(first):
        return False
    if _POSITIVE.search(first):
        return True
    return None


def fallback_judge_prompt(base: Prompt, candidate: Candidate) -> Prompt:
    """The task prompt, the candidate as the model's answer, then the yes/no question."""
    return Prompt(
        messages=(
            *base.messages,
            {"role": "assistant", "content": candidate.text},
            {"role": "user", "content": JUDGE_QUESTION},
        )
    )


FALLBACK_JUDGE_CONSTRAINT = LineConstraint(
    lines=(JUDGE_YES, JUDGE_NO), end=JUDGE_END, max_lines=1, exclude_first=frozenset({JUDGE_END})
)


class SelfCritique(BaseStrategy):
    """Generate one candidate, let the model judge it, revise on its own critique; stop when it says yes."""

    name = "self-critique"
    Options = SelfCritiqueOptions
    options: SelfCritiqueOptions

    @property
    def history(self) -> bool:
        return self.options.history

    def judge_prompt(self, task: Task, candidate: Candidate) -> Prompt:
        hook = getattr(self.domain, "judge_prompt", None)
        if hook is not None:
            return hook(task, candidate)  # type: ignore[no-any-return]
        return fallback_judge_prompt(self.domain.prompt(task), candidate)

    def judge_constraint(self, task: Task) -> LineConstraint | None:
        """The judge's grammar (one yes/no line) when decoding is constrained; free text otherwise."""
        if self.constrained == "none":
            return None
        hook = getattr(self.domain, "judge_constraint", None)
        return hook(task) if hook is not None else FALLBACK_JUDGE_CONSTRAINT

    def _run(self, task: Task) -> Result:
        tracker = BudgetTracker(self.budget)
        critics = self.critics_for(task)
        constraint = self.constraint_for(task)
        judge_constraint = self.judge_constraint(task)
        trace: list[Attempt] = []
        feedback: list[Feedback] = []
        judgements: list[dict[str, Any]] = []
        judge_attempts: list[int] = []
        current: Sample | None = None
        accepted = False
        judged_last = False
        # A round is one candidate and its judgement; ``usage.rounds`` counts finished rounds, so
        # the rounds limit is checked before a round starts and the judge of the last round runs.
        while tracker.next_batch(1) > 0:
            round_no = tracker.usage.rounds + 1
            shown = feedback if self.history else feedback[-1:]
            attempt = self.call(task, self.domain.prompt(task, shown), 1, round_no, tracker, critics, constraint)
            trace.append(attempt)
            if not attempt.samples:  # the model had nothing more to give
                tracker.usage.rounds = round_no
                break
            current, judged_last = attempt.samples[0], False
            if tracker.next_batch(1) == 0:  # no budget left to judge it
                tracker.usage.rounds = round_no
                break
            judge = self.call(
                task, self.judge_prompt(task, current.candidate), 1, round_no, tracker, (), judge_constraint
            )
            tracker.usage.rounds = round_no
            judge_attempts.append(len(trace))
            trace.append(judge)
            if not judge.samples:
                break
            text = judge.samples[0].completion
            said = parse_judgement(text)
            judged_last = True
            # recorded for the report only; no decision below reads ``current.certified``
            judgements.append({"round": round_no, "said_valid": said, "critics_valid": current.certified})
            if said is True:
                accepted = True
                break
            critique = text.strip()
            if judge_constraint is not None:  # the grammar's end marker is no part of the judgement
                critique = critique.removesuffix(judge_constraint.end).strip()
            feedback.append(Feedback(answer=current.candidate.text, critique=critique or NO_EXPLANATION))

        result = self.result(task, current, trace, tracker, ResultStatus.FAILED if accepted else ResultStatus.EXHAUSTED)
        result.info = {
            **result.info,
            "self_judged_valid": accepted,
            "judge_calls": len(judge_attempts),
            "judge_attempts": judge_attempts,  # indices into the trace
            "candidates": len(trace) - len(judge_attempts),
            "final_judged": judged_last,
            "judgements": judgements,
            "false_accepts": sum(j["said_valid"] is True and not j["critics_valid"] for j in judgements),
            "false_rejects": sum(j["said_valid"] is False and j["critics_valid"] for j in judgements),
            "true_accepts": sum(j["said_valid"] is True and j["critics_valid"] for j in judgements),
            "true_rejects": sum(j["said_valid"] is False and not j["critics_valid"] for j in judgements),
            "unclear_judgements": sum(j["said_valid"] is None for j in judgements),
        }
        return result
