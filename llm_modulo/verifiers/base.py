"""The critic template: ``check()`` does the timing and error mapping once; a critic writes ``_check()``."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod

from llm_modulo.errors import CriticError, LLMModuloError
from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus, Violation

log = logging.getLogger(__name__)


class BaseCritic(ABC):
    """A critic judges one candidate of one task and returns a three-valued :class:`Verdict`.

    A bad candidate is an INVALID verdict, never an exception. An unparseable candidate
    (``candidate.answer is None``) is INVALID without calling ``_check``. Only a broken
    critic raises, as :class:`CriticError`.
    """

    name: str = "critic"
    hard: bool = True

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        start = time.perf_counter()
        if candidate.answer is None:
            verdict = Verdict(
                status=VerdictStatus.INVALID,
                critic=self.name,
                hard=self.hard,
                violations=[Violation(kind="parse_error", message=m) for m in candidate.parse_errors]
                or [Violation(kind="parse_error", message="no answer could be parsed")],
            )
        else:
            try:
                verdict = self._check(task, candidate)
            except LLMModuloError:
                raise
            except Exception as exc:  # a bug or a broken tool: terminal, with the cause attached
                raise CriticError(f"critic {self.name!r} failed on task {task.id!r}: {exc}") from exc
        verdict.critic = self.name
        verdict.hard = self.hard
        verdict.seconds = time.perf_counter() - start
        if verdict.status is not VerdictStatus.VALID and verdict.score >= 1.0:
            verdict.score = 0.999
        return verdict

    @abstractmethod
    def _check(self, task: Task, candidate: Candidate) -> Verdict: ...
