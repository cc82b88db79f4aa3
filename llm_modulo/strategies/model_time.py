"""How much of a search's time its model may take: ask the model only while it is worth waiting for.

A search that asks its model at every expansion is as slow as the model: on a CPU one call costs
more than the whole search a good estimate needs on a small problem. :class:`ModelAllowance` asks
only while the model's calls, plus the one about to be made, stay within ``share`` times the
search's own time (its wall time less the model's and less loading the weights), so a search is at
most about ``1 + share`` times slower than without the model, whatever the model's speed.

A call's cost is expected from what it must read: the characters of the prompt that differ from
the last prompt the model read in this search (its KV cache holds the rest) plus the
continuations scored, times the model's measured seconds per character in this process (a running
mean; :data:`FIRST_SECONDS_PER_CHAR` before its first call). A long new prompt is therefore
expected to cost what it will.
"""

from __future__ import annotations

import math
import os
import random
import time
import weakref
from collections.abc import Sequence
from typing import Any

# Seconds per character read, before a model's first call is measured: the embedded SmolLM2-135M
# prefills about 500 tokens a second (~2,000 characters) on two quiet laptop cores, 0.5 ms a
# character, and several times slower on a busy machine: the guess is the busy one, so that a first
# call rarely overshoots the share (an overshoot is one call; later calls are measured).
FIRST_SECONDS_PER_CHAR = 0.002
_PER_CHAR: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()  # model -> seconds a character


class ModelAllowance:
    """Whether a search may ask its model now, and the account of what the model took."""

    def __init__(self, model: Any, share: float) -> None:
        self.model, self.share = model, share
        self.started = time.perf_counter()
        self.spent = 0.0  # seconds in the model's calls
        self.loading = 0.0  # seconds loading its weights: neither the model's share nor the search's
        self.asked = self.skipped = 0
        self._last_prompt = ""

    def per_char(self) -> float:
        try:
            return _PER_CHAR.get(self.model, FIRST_SECONDS_PER_CHAR)
        except TypeError:  # a model that cannot be weakly referenced
            return FIRST_SECONDS_PER_CHAR

    def _chars(self, prompt: str, continuations: Sequence[str]) -> int:
        shared = len(os.path.commonprefix([prompt, self._last_prompt]))
        return len(prompt) - shared + sum(len(c) for c in continuations)

    def permits(self, prompt: Any, continuations: Sequence[str]) -> bool:
        """Whether a call reading ``prompt`` (a :class:`~llm_modulo.protocols.Prompt`) and scoring
        ``continuations`` fits the share now; with no bound, yes at once (nothing is rendered)."""
        if math.isinf(self.share):
            return True
        own = time.perf_counter() - self.started - self.spent - self.loading
        expected = self.per_char() * self._chars(prompt.render_plain(), continuations)
        return self.spent + expected <= self.share * own

    def load(self) -> None:
        """Load a lazy model's weights before its first call is timed (a sweep loads them once)."""
        load = getattr(self.model, "load", None)
        if callable(load) and not self.asked:
            started = time.perf_counter()
            load()
            self.loading += time.perf_counter() - started

    def charge(self, seconds: float, prompt: Any, continuations: Sequence[str]) -> None:
        """Account one call of ``seconds`` that read ``prompt`` and scored ``continuations``."""
        text = prompt.render_plain()
        chars = max(self._chars(text, continuations), 1)
        self.spent += seconds
        self.asked += 1
        self._last_prompt = text
        record(self.model, seconds, chars)


def record(model: Any, seconds: float, chars: int) -> None:
    """Add one measured call (``seconds`` reading ``chars`` characters) to ``model``'s running mean
    cost per character, e.g. from a warm-up call before a timed search."""
    try:  # a running mean that follows the model's recent cost
        previous = _PER_CHAR.get(model)
        rate = seconds / max(chars, 1)
        _PER_CHAR[model] = rate if previous is None else 0.7 * previous + 0.3 * rate
    except TypeError:  # a model that cannot be weakly referenced
        pass


def random_preferences(count: int, rng: random.Random) -> list[float]:
    """What children the model is not asked about get: the random control's preferences, i.i.d.
    log-uniform weights, so ties break uniformly at random (the random proposer scores with this)."""
    return [math.log(1.0 - rng.random()) for _ in range(count)]
