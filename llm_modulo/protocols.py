"""The roles of the loop as small protocols. Strategies know none of the concrete classes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from llm_modulo.types import Candidate, FeedbackLevel, Result, Task, Verdict


@dataclass(frozen=True)
class Prompt:
    """A chat prompt plus an optional prefill the answer must continue from.

    ``prefill`` is text already written in the assistant's answer (e.g. the valid prefix of a
    plan); a completion is the text generated *after* it.
    """

    messages: tuple[dict[str, str], ...]
    prefill: str = ""

    def render_plain(self) -> str:
        """A template-free rendering for completion endpoints and for logs."""
        parts = [m["content"] for m in self.messages]
        return "\n\n".join(parts) + ("\n" if parts else "") + self.prefill


@dataclass(frozen=True)
class Feedback:
    """One earlier answer and the critique rendered for it, for back-prompting."""

    answer: str
    critique: str


@dataclass(frozen=True)
class LineConstraint:
    """A grammar of well-formed answers: zero or more of ``lines``, then ``end``.

    Each entry of ``lines`` is one complete line (without newline). Constrained decoding and
    the uniform-random proposer both draw from this grammar.
    """

    lines: tuple[str, ...]
    end: str
    max_lines: int = 32
    # Choices ruled out for the *first* generated line (``end`` included: "do not stop here").
    # The loop fills this from the critics' first-error findings at the current prefix.
    exclude_first: frozenset[str] = frozenset()
    # A dynamic grammar: given the lines generated so far, (lines allowed next, whether ``end``
    # may come next). A planning domain uses its simulator here to allow only executable steps.
    next_lines: Callable[[tuple[str, ...]], tuple[Collection[str], bool]] | None = None
    # Choices ruled out after an exact sequence of generated lines: (lines so far, line or ``end``).
    # The loop fills this from the first error of every rejected sample ("not this step after
    # these steps"), so no later sample repeats a mistake the critics have already found.
    exclude_after: frozenset[tuple[tuple[str, ...], str]] = frozenset()

    @property
    def dynamic(self) -> bool:
        """Whether the allowed lines depend on the lines generated so far."""
        return self.next_lines is not None or bool(self.exclude_after)

    def first_choices(self) -> tuple[list[str], bool]:
        """(lines allowed first, whether ``end`` is allowed first); all of them if nothing is left."""
        lines = [line for line in self.lines if line not in self.exclude_first]
        end_ok = self.end not in self.exclude_first
        if not lines and not end_ok:
            return list(self.lines), True
        return lines, end_ok

    def choices(self, generated: tuple[str, ...] = ()) -> tuple[Sequence[str], bool]:
        """(lines allowed next, whether ``end`` may come next) after the ``generated`` lines.

        Static grammars allow every line (the first line less ``exclude_first``, see
        :meth:`first_choices`). Dynamic ones ask ``next_lines``, less ``exclude_first`` for the
        first line; where nothing is left, ending is allowed (a dead end may always stop).
        Either way the choices ``exclude_after`` rules out after exactly ``generated`` are removed.
        """
        if self.next_lines is None:
            lines, end_ok = self.first_choices() if not generated else (list(self.lines), True)
        else:
            allowed, end_ok = self.next_lines(generated)
            lines = list(allowed)
            if not generated:
                lines = [line for line in lines if line not in self.exclude_first]
                end_ok = end_ok and self.end not in self.exclude_first
        if self.exclude_after:
            banned = {line for after, line in self.exclude_after if after == generated}
            if banned:
                lines = [line for line in lines if line not in banned]
                end_ok = end_ok and self.end not in banned
        return lines, bool(end_ok) or not lines


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass
class Completion:
    text: str
    tokens: int  # generated tokens
    prompt_tokens: int = 0
    finish_reason: str = "stop"


@dataclass
class Batch:
    """n completions of one prompt, from one call."""

    completions: list[Completion]
    seconds: float = 0.0
    meta: dict[str, object] = field(default_factory=dict)


@dataclass
class ScoreBatch:
    """Log-probabilities of continuations of one prompt, from one batched forward pass."""

    logprobs: list[float]  # one per continuation: sum of its tokens' log-probabilities
    tokens: int = 0  # continuation tokens scored (all rows)
    prompt_tokens: int = 0  # prompt tokens the model had to read anew (cached ones excluded)
    seconds: float = 0.0


@runtime_checkable
class LanguageModel(Protocol):
    name: str

    def sample(
        self,
        prompt: Prompt,
        n: int,
        params: SamplingParams,
        constraint: LineConstraint | None = None,
    ) -> Batch:
        """Draw ``n`` completions of ``prompt`` in one batched call."""
        ...


@dataclass(frozen=True)
class SampleRequest:
    """The arguments of one :meth:`LanguageModel.sample` call, for :class:`MultiSamplingModel`."""

    prompt: Prompt
    n: int
    params: SamplingParams
    constraint: LineConstraint | None = None


@runtime_checkable
class MultiSamplingModel(Protocol):
    """Optional: a model that decodes several ``sample`` calls (different prompts) as one batch.

    ``sample_many(requests)`` returns, per request and in order, what ``sample`` would return
    for it, or the :class:`~llm_modulo.errors.InputError` that ``sample`` would raise for it
    (one bad request does not fail the others). :class:`~llm_modulo.models.batching.BatchingModel`
    uses it to batch the calls of trials that run concurrently.
    """

    name: str

    def sample_many(self, requests: Sequence[SampleRequest]) -> list[Batch | Exception]: ...


@runtime_checkable
class ScoringModel(Protocol):
    """Optional: a model that can rank given continuations (used by the ``search`` strategy).

    ``score(prompt, continuations)`` returns how likely each continuation is right after the
    prompt and its prefill. Models without it are asked for samples instead.
    """

    name: str

    def score(self, prompt: Prompt, continuations: Sequence[str], seed: int | None = None) -> ScoreBatch: ...


@runtime_checkable
class Critic(Protocol):
    name: str
    hard: bool

    def check(self, task: Task, candidate: Candidate) -> Verdict: ...


@runtime_checkable
class Domain(Protocol):
    name: str

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        """The prompt for ``task``; ``feedback`` holds earlier answers with their critiques."""
        ...

    def parse(self, task: Task, text: str) -> Candidate: ...

    def critics(self, task: Task) -> list[Critic]: ...

    def critique(self, task: Task, candidate: Candidate, verdicts: list[Verdict], level: FeedbackLevel) -> str:
        """Render the critics' findings in the prompt's own vocabulary at ``level``."""
        ...

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint | None:
        """The grammar of well-formed answers continuing ``prefix``, if the domain has one;
        with ``executable``, only answers the domain's simulator can execute."""
        ...

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True) -> str:
        """Answer text of the part of ``candidate`` the critics found no fault in; with ``to_best``,
        cut back to its point of most progress."""
        ...


class OptionalDomainHooks(Protocol):
    """Methods a :class:`Domain` *may* add; strategies look them up with ``getattr`` and fall back
    to a generic behaviour when a domain lacks them. Not part of the required protocol.
    """

    def normalize(self, task: Task, candidate: Candidate) -> Hashable | None:
        """``self-consistency``'s vote key: equal keys are the same answer; ``None`` abstains
        (unparseable or empty). Must not consult the critics.
        Fallback: the JSON of ``candidate.answer``; a ``None`` or empty answer, or parse errors, abstain."""
        ...

    def judge_prompt(self, task: Task, candidate: Candidate) -> Prompt:
        """``self-critique``: ask the model whether ``candidate`` solves ``task``; its answer
        should start with yes or no, then explain.
        Fallback: ``prompt(task)``, the candidate as the assistant's answer, then "Is this answer
        correct? Answer yes or no, then explain."."""
        ...

    def judge_constraint(self, task: Task) -> LineConstraint:
        """``self-critique``: the judge's grammar under constrained decoding and for the random
        proposer; lines that start with "Yes" or "No" (e.g. "Yes, the plan is valid."),
        ``max_lines=1``, and ``end`` in ``exclude_first`` so a verdict is always given.
        Fallback: "Yes, the answer is correct." / "No, the answer is not correct."."""
        ...

    def rejected_continuation(
        self, task: Task, candidate: Candidate, verdicts: list[Verdict], prefix: str
    ) -> str | None:
        """``modulo``: the first choice after ``prefix`` the hard critics rejected, to exclude
        from the first line when the loop continues from ``prefix``. Fallback: no exclusions."""
        ...

    def load(self, instance: str) -> Task:
        """The task named ``instance`` (e.g. "901" for a Game-of-24 rank); an unknown name raises
        :class:`~llm_modulo.errors.InputError` with one line. Used by ``solve --domain-name`` and
        by ``bench`` for domains whose instances are not PDDL files."""
        ...

    def instances(self, set_name: str) -> list[str]:
        """The instance names of a named set (e.g. "test"), in order; ``bench`` configs select
        from them with ``count``/``start`` or ``ids``. An unknown set raises InputError."""
        ...

    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        """(valid?, engine): an independent re-check of a verified answer, by another
        implementation than the domain's critics (reports' ``--recheck``)."""
        ...

    def search_guide(self, task: Task, heuristic: str) -> Callable[[tuple[str, ...]], tuple[Hashable, float]]:
        """``search``: ``lines -> (state key, distance-to-goal estimate)`` for an executable
        prefix of grammar lines; equal keys are one node. Fallback: no heuristic, no dedupe."""
        ...


class OptionalCriticHooks(Protocol):
    """Methods a :class:`Critic` *may* add; looked up with ``getattr``."""

    def refute(self, task: Task) -> Verdict | None:
        """A proof that ``task`` has no answer at all, or ``None`` (an answer exists, or the critic
        cannot tell). The proof is a Verdict: INVALID, one violation of kind ``no_solution``
        saying why, ``engine`` naming the prover (e.g. "z3"). Strategies ask every hard critic
        before sampling and stop with status ``no_solution`` on a proof. Must be sound: a wrong
        proof would end the loop on a solvable task."""
        ...

    def reference(self, task: Task) -> Any:
        """An answer the critic constructed itself (e.g. from a z3 model), or ``None``; for
        fixtures, oracles and reports, never returned by a strategy as the model's answer."""
        ...


@runtime_checkable
class Strategy(Protocol):
    name: str

    def run(self, task: Task) -> Result: ...


__all__ = [
    "Batch",
    "Completion",
    "Critic",
    "Domain",
    "Feedback",
    "LanguageModel",
    "LineConstraint",
    "MultiSamplingModel",
    "OptionalCriticHooks",
    "OptionalDomainHooks",
    "Prompt",
    "SampleRequest",
    "SamplingParams",
    "ScoreBatch",
    "ScoringModel",
    "Strategy",
]
