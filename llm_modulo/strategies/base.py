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

from llm_modulo.budget import BudgetTracker, run_deadline
from llm_modulo.contract import check_domain, has
from llm_modulo.errors import BudgetSecondsExceeded, CriticError, InputError
from llm_modulo.feedback import domain_critique
from llm_modulo.protocols import Batch, Critic, Domain, LanguageModel, LineConstraint, Prompt, SamplingParams
from llm_modulo.strategies.options import DEFAULT_MAX_TOKENS, StrategyOptions, answer_token_cap, build_options
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


def judge(
    domain: Domain, task: Task, text: str, critics: Sequence[Any] | None = None
) -> tuple[Candidate, list[Verdict]]:
    """(candidate, verdicts): ``text`` parsed by ``domain`` and judged by ``critics`` (by default
    every critic the domain has for ``task``)."""
    candidate = domain.parse(task, text)
    return candidate, [
        checked(critic, task, candidate) for critic in (domain.critics(task) if critics is None else critics)
    ]


def checked(critic: Any, task: Task, candidate: Candidate) -> Verdict:
    """``critic``'s verdict on ``candidate``, with the critic's *declared* kind and name.

    A verdict cannot make its critic hard or soft: a soft critic's VALID never certifies, whatever
    the Verdict it returned says (a critic that declares nothing counts as hard, the safe side:
    it must then accept for anything to be certified)."""
    verdict = critic.check(task, candidate)
    if not isinstance(verdict, Verdict):
        raise CriticError(
            f"critic {getattr(critic, 'name', critic)!r} returned {type(verdict).__name__}, not a Verdict"
        )
    hard = bool(getattr(critic, "hard", True))
    name = str(getattr(critic, "name", verdict.critic) or verdict.critic)
    if verdict.hard is hard and verdict.critic == name:
        return verdict
    return verdict.model_copy(update={"hard": hard, "critic": name})


def score(sample: Sample) -> tuple[float, float]:
    """How good a candidate is, for ranking: (the weakest hard critic's score, 1.0 only when
    certified; then the weakest soft critic's score, 1.0 without soft critics). Soft critics
    only break ties between candidates the hard critics rank equal; they never certify."""
    hard = [v.score for v in sample.verdicts if v.hard]
    soft = [v.score for v in sample.verdicts if not v.hard]
    return (min(hard) if hard else 0.0, min(soft) if soft else 1.0)


class BaseStrategy:
    """What every strategy takes; subclasses implement :meth:`_run` and name their options model.

    ``Strategy(model, domain, budget, options=..., critics=..., **overrides)``: ``options`` is the
    strategy's options model (:mod:`llm_modulo.strategies.options`, defaults written there once),
    ``overrides`` change single options (``n=4``, ``feedback="all"``), ``critics`` replace the
    domain's own. The domain is checked against what the options need before any model call.
    """

    name = "base"
    Options: type[StrategyOptions] = StrategyOptions

    def __init__(
        self,
        model: LanguageModel,
        domain: Domain,
        budget: Budget | None = None,
        n: int | None = None,
        *,
        options: StrategyOptions | None = None,
        critics: Sequence[Critic] | None = None,
        params: SamplingParams | None = None,
        **overrides: Any,
    ) -> None:
        if n is not None:
            overrides["n"] = n
        if params is not None:  # the older spelling of the sampling options
            overrides.setdefault("temperature", params.temperature)
            overrides.setdefault("top_p", params.top_p)
            overrides.setdefault("max_tokens", params.max_tokens)
            if params.seed is not None:
                overrides.setdefault("seed", params.seed)
        self.options = build_options(self.Options, options, **overrides)
        self.model = model
        self.domain = domain
        self.budget = budget or Budget()
        self.given_critics = list(critics) if critics is not None else None
        check_domain(domain, self.needs(self.options))
        if self.given_critics is not None:
            for critic in self.given_critics:
                if not callable(getattr(critic, "check", None)):
                    raise InputError(f"critic {critic!r} has no check(task, candidate) method")
        self.constrained = self._resolve_constrained(self.options.constrained)
        self.params = SamplingParams(
            temperature=self.options.temperature,
            top_p=self.options.top_p,
            max_tokens=self.options.max_tokens or DEFAULT_MAX_TOKENS,  # per task in :meth:`sampling`
            stop=params.stop if params is not None else (),
            seed=self.options.seed,
        )

    # -- options -----------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.options.n

    @property
    def seed(self) -> int | None:
        return self.options.seed

    @property
    def refute(self) -> bool:
        return self.options.refute

    def max_tokens_for(self, task: Task) -> int:
        """The token cap of each completion for ``task``: the option, or "auto"'s domain bound."""
        return answer_token_cap(self.options.max_tokens, self.domain, task)

    def sampling(self, task: Task, seed: int | None) -> SamplingParams:
        """The sampling parameters of one model call for ``task``."""
        return replace(self.params, seed=seed, max_tokens=self.max_tokens_for(task))

    def needs(self, options: StrategyOptions) -> dict[str, str]:
        """The optional domain capabilities these options need: capability -> the option asking."""
        if options.constrained in ("well-formed", "executable"):
            return {"constraint": f"constrained={options.constrained!r}"}
        return {}

    def _resolve_constrained(self, mode: str) -> str:
        """ "auto" is the strongest grammar the domain offers: executable with ``constraint``, else none."""
        if mode == "auto":
            return "executable" if has(self.domain, "constraint") else "none"
        return mode

    def critics_for(self, task: Task) -> list[Any]:
        """The critics that judge ``task``: those given to the strategy, else the domain's."""
        return list(self.given_critics) if self.given_critics is not None else list(self.domain.critics(task))

    def critique(self, task: Task, sample: Sample, level: FeedbackLevel | str) -> str:
        """The critique of ``sample`` at ``level`` (:mod:`llm_modulo.feedback`, the core's policy)."""
        return domain_critique(self.domain, task, sample.candidate, sample.verdicts, level)

    # -- pieces ------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "strategy": self.name,
            "model": getattr(self.model, "name", type(self.model).__name__),
            "domain": getattr(self.domain, "name", type(self.domain).__name__),
            "budget": self.budget.model_dump(),
            **self.options.model_dump(mode="json"),
            "constrained": self.constrained,
            **(
                {"critics": [getattr(c, "name", type(c).__name__) for c in self.given_critics]}
                if self.given_critics is not None
                else {}
            ),
        }

    def task_config(self, task: Task) -> dict[str, Any]:
        """:meth:`config` for a run on ``task``: ``max_tokens`` is the cap the run used, and with
        "auto" ``max_tokens_auto`` is true (the provenance of a cap nobody set)."""
        auto = {"max_tokens_auto": True} if self.options.max_tokens is None else {}
        return {**self.config(), "max_tokens": self.max_tokens_for(task), **auto}

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
        """One batched LLM call of ``k`` samples, each parsed and judged. A call stopped by the
        budget's seconds is an attempt without samples, and the tracker is then exhausted."""
        seed = None if self.seed is None else self.seed + 1000 * round_no
        start = time.perf_counter()
        try:
            batch = self.model.sample(prompt, k, self.sampling(task, seed), constraint=constraint)
        except BudgetSecondsExceeded as exc:
            log.info("%s: %s", task.id, exc)
            tracker.out_of_time = True
            batch = Batch(completions=[])
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
        self, task: Task, best: Sample | None, trace: list[Attempt], tracker: BudgetTracker, unverified: ResultStatus
    ) -> Result:
        """The Result: ``verified`` only after the hard critics re-check ``best`` from scratch, else
        ``unverified`` (exhausted, or failed for strategies that end on an uncertified answer)."""
        if unverified is ResultStatus.VERIFIED:
            raise ValueError("only the critics can make a result verified")
        # a run its seconds stopped in a model call ran out of budget, whatever the strategy's own ending
        status: ResultStatus = ResultStatus.EXHAUSTED if tracker.out_of_time else unverified
        certificate: list[Verdict] = []
        if best is not None and certified(best.verdicts):
            _, recheck = self.evaluate(task, best.candidate.text, self.critics_for(task))
            if not certified(recheck):
                raise CriticError(f"critics disagree with themselves on task {task.id!r}; refusing to certify")
            status, certificate = ResultStatus.VERIFIED, [v for v in recheck if v.hard]
        usage = tracker.finish()
        return Result(
            task_id=task.id,
            domain=task.domain,
            strategy=self.name,
            status=status,
            answer=best.candidate.answer if best else None,
            answer_text=best.candidate.text if best else "",
            certificate=certificate,
            chosen=_where(trace, best),
            trace=trace,
            usage=usage,
            config=self.task_config(task),
            info=truncation_info(usage, self.max_tokens_for(task)),
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
        for critic in self.critics_for(task):
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
                config=self.task_config(task),
                info={"refuted_by": proof.critic, "engine": proof.engine},
            )
        return None

    def run(self, task: Task) -> Result:
        """Solve ``task``: stop at once with ``no_solution`` if a hard critic proves it unsolvable,
        else run the strategy (:meth:`_run`). With ``Budget(seconds=...)`` the model calls stop when
        the seconds run out (:func:`~llm_modulo.budget.run_deadline`); the run is then ``exhausted``."""
        started = time.perf_counter()
        with run_deadline(self.budget.seconds):
            refuted = self.refutation(task)
            if refuted is not None:
                log.info("%s: %s", task.id, refuted.certificate[0].violations[0].message)
                return refuted
            try:
                return self._run(task)
            except BudgetSecondsExceeded as exc:  # a model call outside :meth:`call` (e.g. search's ranking)
                log.info("%s: %s", task.id, exc)
                return Result(
                    task_id=task.id,
                    domain=task.domain,
                    strategy=self.name,
                    status=ResultStatus.EXHAUSTED,
                    usage=Usage(seconds=time.perf_counter() - started),
                    config=self.task_config(task),
                    info={"stopped": str(exc)},
                )

    def _run(self, task: Task) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError


def truncation_info(usage: Usage, cap: int) -> dict[str, Any]:
    """``{"truncated": note}`` when the token cap stopped samples (their answers may be cut off), else ``{}``."""
    if not usage.truncated:
        return {}
    return {
        "truncated": f"{usage.truncated} of {usage.samples} samples hit the {cap}-token cap; raise --max-tokens "
        "(max_tokens) if answers were cut off"
    }


def _where(trace: list[Attempt], sample: Sample | None) -> tuple[int, int] | None:
    """(attempt, sample) of ``sample`` in ``trace``, or None (no sample, or one made outside it)."""
    for i, attempt in enumerate(trace):
        for j, candidate in enumerate(attempt.samples):
            if candidate is sample:
                return (i, j)
    return None
