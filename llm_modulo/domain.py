"""``BaseDomain``: the short way to write a domain.

Subclass it, set ``name``, and write ``instructions`` (what the model is asked), ``parse`` and
``critics``; add ``describe_violation`` to word the critics' findings in the domain's own
vocabulary, and ``wording`` for the fixed sentences. Everything else is optional
(:data:`llm_modulo.contract.CAPABILITIES`); add a method with the documented signature to
enable what uses it. ``docs/domains-and-critics.md`` walks through a complete domain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from llm_modulo.feedback import Wording, default_describe
from llm_modulo.protocols import Critic, Feedback, Prompt
from llm_modulo.types import Candidate, Task, Violation


class BaseDomain(ABC):
    """A domain with the required methods' plumbing written once.

    ``prompt`` asks ``instructions(task)`` as one user message; each earlier answer follows as the
    assistant's turn, and its critique as the next user turn, ending with ``retry_request``.
    """

    name: ClassVar[str] = "domain"
    wording: ClassVar[Wording] = Wording()
    retry_request: ClassVar[str] = "Please give a corrected answer."

    @abstractmethod
    def instructions(self, task: Task) -> str:
        """The task as the model reads it: what to do and the answer's format."""

    @abstractmethod
    def parse(self, task: Task, text: str) -> Candidate:
        """The completion ``text`` as a Candidate; ``answer=None`` (with ``parse_errors``) if unreadable."""

    @abstractmethod
    def critics(self, task: Task) -> list[Critic]:
        """The critics of ``task``: at least one hard critic, or nothing can be certified."""

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        messages: list[dict[str, str]] = [{"role": "user", "content": self.instructions(task)}]
        for item in feedback:
            messages.append({"role": "assistant", "content": item.answer})
            messages.append({"role": "user", "content": f"{item.critique}\n{self.retry_request}"})
        return Prompt(messages=tuple(messages), prefill=prefill)

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        """One violation in the domain's words; by default the critic's own message."""
        return default_describe(task, candidate, violation)

    def max_answer_chars(self, task: Task) -> int | None:
        """A bound, in characters, on ``task``'s longest complete answer with its end marker: the
        token cap of ``max_tokens="auto"``. None (this default): the generic cap, 256 tokens."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def make_task(domain: Any, task_id: str, payload: Any, **meta: Any) -> Task:
    """A :class:`Task` of ``domain`` (its name) with ``payload`` and ``meta``."""
    return Task(id=task_id, domain=str(getattr(domain, "name", domain)), payload=payload, meta=meta)


__all__ = ["BaseDomain", "make_task"]
