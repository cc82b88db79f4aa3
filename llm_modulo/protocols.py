"""The roles of the loop as small protocols. Strategies know none of the concrete classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

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

    def constraint(self, task: Task) -> LineConstraint | None:
        """The grammar of well-formed answers, if the domain has one."""
        ...

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict]) -> str:
        """Answer text of the longest part of ``candidate`` the critics found no fault in."""
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
    "Prompt",
    "SamplingParams",
    "Strategy",
]
