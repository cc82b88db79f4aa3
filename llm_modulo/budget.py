"""Spending a :class:`~llm_modulo.types.Budget`: whichever limit runs out first ends the run.

A run with ``Budget(seconds=...)`` also sets a deadline (:func:`run_deadline`) that model calls
read (:func:`budget_deadline`): an HTTP request or a local decode still waiting when it passes
raises :class:`~llm_modulo.errors.BudgetSecondsExceeded`, so a run stops within about its seconds
even inside a slow model call. :func:`observing` lets a caller watch a run's usage as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from llm_modulo.types import Budget, Usage


class BudgetTracker:
    """Counts what a run has used against its budget. One per run, never shared."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.usage = Usage()
        self._start = time.perf_counter()
        self.out_of_time = False  # a model call was stopped by the budget's deadline

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def samples_left(self) -> int | None:
        if self.budget.samples is None:
            return None
        return max(0, self.budget.samples - self.usage.samples)

    def next_batch(self, n: int) -> int:
        """How many samples the next call may draw (0 when the budget is spent)."""
        if self.exhausted():
            return 0
        left = self.samples_left()
        return n if left is None else min(n, left)

    def exhausted(self) -> bool:
        """Whether a limit is reached; every strategy asks before each round, call or expansion, so
        this is also where an observer (:func:`observing`) hears of the run's progress."""
        observer = _OBSERVER.get()
        if observer is not None:
            observer(self.usage, self.elapsed())
        b, u = self.budget, self.usage
        return (
            self.out_of_time
            or (b.rounds is not None and u.rounds >= b.rounds)
            or (b.samples is not None and u.samples >= b.samples)
            or (b.tokens is not None and u.generated_tokens >= b.tokens)
            or (b.seconds is not None and self.elapsed() >= b.seconds)
            or (b.nodes is not None and u.nodes >= b.nodes)
        )

    def record_call(self, samples: int, prompt_tokens: int, generated_tokens: int) -> None:
        self.usage.llm_calls += 1
        self.usage.samples += samples
        self.usage.prompt_tokens += prompt_tokens
        self.usage.generated_tokens += generated_tokens

    def record_completions(self, completions: Sequence[Any]) -> None:
        """One sampling call's completions (anything with ``tokens`` and ``prompt_tokens``); those
        stopped by the token cap (finish reason "length") are counted as truncated."""
        self.record_call(
            len(completions),
            max((c.prompt_tokens for c in completions), default=0),
            sum(c.tokens for c in completions),
        )
        self.usage.truncated += sum(getattr(c, "finish_reason", "stop") == "length" for c in completions)

    def finish(self) -> Usage:
        self.usage.seconds = self.elapsed()
        return self.usage


# The time.monotonic() at which the current run's seconds run out; per thread (a context variable),
# so trials running side by side in threads each have their own.
_DEADLINE: ContextVar[float | None] = ContextVar("llm_modulo_deadline", default=None)


def budget_deadline() -> float | None:
    """When (``time.monotonic()``) the current run's ``Budget(seconds=...)`` ends; None without one."""
    return _DEADLINE.get()


@contextmanager
def run_deadline(seconds: float | None) -> Iterator[None]:
    """Model calls inside the block stop ``seconds`` from now (or at an enclosing block's deadline,
    whichever comes first). ``None``: no deadline of its own."""
    if seconds is None:
        yield
        return
    end = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


# Who hears of the current run's progress (a terminal's live line): called with the usage so far
# and the seconds elapsed, before each round, call or expansion; per thread, like the deadline.
_OBSERVER: ContextVar[Callable[[Usage, float], None] | None] = ContextVar("llm_modulo_observer", default=None)


@contextmanager
def observing(callback: Callable[[Usage, float], None]) -> Iterator[None]:
    """Runs inside the block call ``callback(usage, seconds)`` as they go (it should be quick:
    it runs in the strategy's loop; throttle on its side)."""
    token = _OBSERVER.set(callback)
    try:
        yield
    finally:
        _OBSERVER.reset(token)
