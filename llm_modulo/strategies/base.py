"""What every strategy shares: one sampling call, scoring with the critics, building the Result.

A strategy keeps all per-run state in local variables of ``run``; the instance only holds its
configuration, so one strategy object can serve many tasks, in parallel if need be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from llm_modulo.budget import BudgetTracker
from llm_modulo.errors import CriticError
from llm_modulo.protocols import Domain, LanguageModel, LineConstraint, Prompt, SamplingParams
from llm_modulo.types import (
    Attempt,
    Budget,
    Candidate,
    FeedbackLevel,
    Result,
    ResultStatus,
    Sample,
    Task,
    Usage,
    Verdict,
    VerdictStatus,
    certified,
)

log = logging.getLogger(__name__)


def judge(domain: Domain, task: Task, text: str, critics: Sequence[Any] | None = None) -> tuple[Candidate, list[Verdict]]:
    """(candidate, verdicts): ``text`` parsed by ``domain`` and judged by ``critics`` (by default
    every critic the domain has for ``task``)."""
    candidate = domain.parse(task, text)
    return candidate, [critic.check(task, candidate) for critic in (domain.critics(task) if critics is None else critics)]


def score(sample: Sample) -> tuple[float, float]:
    """How good a candidate is, for ranking: (the weakest hard critic's score, 1.0 only when
    certified; then the weakest soft critic's score, 1.0 without soft critics). Soft critics
    only break ties between candidates the hard critics rank equal; they never certify."""
    hard = [v.score for v in sample.verdicts if v.hard]
    soft = [v.score for v in sample.verdicts if not v.hard]
    return (min(hard) if hard else 0.0, min(soft) if soft else 1.0)


CONSTRAINT_MODES = ("none", "well-formed", "executable")


def _constraint_mode(value: bool | str) -> str:
    """``False``/``True`` are shorthands for "none"/"well-formed"."""
    if isinstance(value, bool):
        return "well-formed" if value else "none"
    if value not in CONSTRAINT_MODES:
        raise ValueError(f"unknown constraint mode {value!r}; known: {', '.join(CONSTRAINT_MODES)}")
    return value


class BaseStrategy:
    """Configuration shared by the strategies; subclasses implement :meth:`run`."""

    name = "base"

    def __init__(
        self,
        model: LanguageModel,
        domain: Domain,
        budget: Budget | None = None,
        n: int = 8,
        params: SamplingParams | None = None,
        constrained: bool | str = False,  # "none" | "well-formed" | "executable"
        feedback: FeedbackLevel | str = FeedbackLevel.FIRST,
        history: bool = False,
        reuse_prefix: bool = False,
        exclude_rejected: bool = True,
        seed: int | None = None,
        refute: bool = True,
    ) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        self.model = model
        self.domain = domain
        self.budget = budget or Budget()
        self.n = n
        self.params = params or SamplingParams()
        self.constrained = _constraint_mode(constrained)
        self.feedback = FeedbackLevel(feedback)
        self.history = history
        self.reuse_prefix = reuse_prefix
        self.exclude_rejected = exclude_rejected
        self.seed = seed if seed is not None else self.params.seed
        self.refute = refute

    # -- pieces ------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "strategy": self.name,
            "model": getattr(self.model, "name", type(self.model).__name__),
            "domain": getattr(self.domain, "name", type(self.domain).__name__),
            "budget": self.budget.model_dump(),
            "n": self.n,
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
            "constrained": self.constrained,
            "feedback": self.feedback.value,
            "history": self.history,
            "reuse_prefix": self.reuse_prefix,
            "exclude_rejected": self.exclude_rejected and self.constrained != "none",
            "seed": self.seed,
            "refute": self.refute,
        }

    def evaluate(self, task: Task, text: str, critics: Sequence[Any]) -> tuple[Candidate, list[Verdict]]:
        return judge(self.domain, task, text, critics)

    def call(
        self,
        task: Task,
        prompt: Prompt,
        k: int,
        round_no: int,
        tracker: BudgetTracker,
        critics: Sequence[Any],
        constraint: LineConstraint | None,
    ) -> Attempt:
        """One batched LLM call of ``k`` samples, each parsed and judged."""
        seed = None if self.seed is None else self.seed + 1000 * round_no
        start = time.perf_counter()
        batch = self.model.sample(prompt, k, replace(self.params, seed=seed), constraint=constraint)
        completions = batch.completions[:k]
        tracker.record_completions(completions)
        samples = []
        for completion in completions:
            candidate, verdicts = self.evaluate(task, prompt.prefill + completion.text, critics)
            samples.append(
                Sample(completion=completion.text, tokens=completion.tokens, candidate=candidate, verdicts=verdicts)
            )
        return Attempt(
            round=round_no,
            prompt=prompt.render_plain(),
            prefill=prompt.prefill,
            samples=samples,
            seconds=time.perf_counter() - start,
        )

    def constraint_for(self, task: Task, prefix: str = "") -> LineConstraint | None:
        """The answer grammar for the mode: none, well-formed steps, or executable steps after ``prefix``."""
        if self.constrained == "none":
            return None
        return self.domain.constraint(task, prefix=prefix, executable=self.constrained == "executable")

    def result(
        self, task: Task, best: Sample | None, trace: list[Attempt], tracker: BudgetTracker, fallback: ResultStatus
    ) -> Result:
        """The Result; ``verified`` only after the hard critics re-check the answer from scratch."""
        if fallback is ResultStatus.VERIFIED:
            raise ValueError("only the critics can make a result verified")
        status = fallback
        certificate: list[Verdict] = []
        if best is not None and certified(best.verdicts):
            _, recheck = self.evaluate(task, best.candidate.text, self.domain.critics(task))
            if not certified(recheck):
                raise CriticError(f"critics disagree with themselves on task {task.id!r}; refusing to certify")
            status, certificate = ResultStatus.VERIFIED, [v for v in recheck if v.hard]
        return Result(
            task_id=task.id,
            domain=task.domain,
            strategy=self.name,
            status=status,
            answer=best.candidate.answer if best else None,
            answer_text=best.candidate.text if best else "",
            certificate=certificate,
            trace=trace,
            usage=tracker.finish(),
            config=self.config(),
        )

    def refutation(self, task: Task) -> Result | None:
        """A ``no_solution`` Result when a hard critic proves that ``task`` has no answer, else None.

        Every hard critic with a ``refute`` hook is asked once, before any sampling (the model is
        never called on a task proven unsolvable). The proof is the certificate; it must be an
        INVALID verdict with a ``no_solution`` violation, or the strategy refuses it.
        """
        if not self.refute:
            return None
        start = time.perf_counter()
        for critic in self.domain.critics(task):
            hook = getattr(critic, "refute", None)
            if not getattr(critic, "hard", True) or not callable(hook):
                continue
            proof = hook(task)
            if proof is None:
                continue
            if proof.status is not VerdictStatus.INVALID or not any(v.kind == "no_solution" for v in proof.violations):
                raise CriticError(f"critic {getattr(critic, 'name', critic)!r} returned a malformed refutation")
            proof.hard = True
            usage = Usage(seconds=time.perf_counter() - start)
            return Result(
                task_id=task.id,
                domain=task.domain,
                strategy=self.name,
                status=ResultStatus.NO_SOLUTION,
                certificate=[proof],
                usage=usage,
                config=self.config(),
                info={"refuted_by": proof.critic, "engine": proof.engine},
            )
        return None

    def run(self, task: Task) -> Result:
        """Solve ``task``: stop at once with ``no_solution`` if a hard critic proves it unsolvable,
        else run the strategy (:meth:`_run`)."""
        refuted = self.refutation(task)
        if refuted is not None:
            log.info("%s: %s", task.id, refuted.certificate[0].violations[0].message)
            return refuted
        return self._run(task)

    def _run(self, task: Task) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError
