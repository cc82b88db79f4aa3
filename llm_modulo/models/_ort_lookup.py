"""Decoding one row with drafts looked up in the context (prompt lookup decoding), for :mod:`.ort_local`.

A plan, a proof or a formula mostly repeats names and phrases of its prompt. After each token the
context's last few tokens are looked up in an index of the prompt and the output so far; the
tokens that followed their latest earlier occurrence are the draft, and one model run checks the
chosen token and the whole draft (with the pool's threads spinning, a run of 2-5 tokens costs
1.06-1.2x a run of one on this CPU: the weights are read once for all of them). At each drafted
position the token is chosen from the run's logits there exactly as the plain loop would choose
it (greedy, or sampled with one uniform draw), and the draft is kept while the choice equals
it; the first choice that differs replaces it. For sampling this is speculative sampling with a
one-point draft: a draft token survives with its own probability, and a replaced one is drawn
from the rest, so the tokens follow the model's distribution, and with the same draws they are
the plain loop's tokens. With fp32 weights the tokens are exactly the plain loop's (tests); only
the number of runs changes. The int8 and int4 exports quantize each run's activations with a
scale taken over the run's tokens, so a run's width can tip a near-tie (as n=1 against n>1
already can): measured on the planner's solved counts in ``docs/results/decode-engines.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class Lookup:
    """The latest position after each n-gram (``shortest``..``longest`` tokens) of a growing sequence."""

    def __init__(self, tokens: Sequence[int], longest: int = 3, shortest: int = 2) -> None:
        self.tokens: list[int] = []
        self.sizes = range(longest, shortest - 1, -1)
        self._after: dict[tuple[int, ...], int] = {}
        for tok in tokens:
            self.append(tok)

    def append(self, tok: int) -> None:
        # the n-grams that end just before the new token now have a known continuation: it
        end = len(self.tokens)
        for n in self.sizes:
            if end >= n:
                self._after[tuple(self.tokens[end - n : end])] = end
        self.tokens.append(tok)

    def draft(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens that followed the latest earlier occurrence of the longest
        suffix seen before (none when no suffix recurs)."""
        if limit <= 0:
            return []
        for n in self.sizes:
            start = self._after.get(tuple(self.tokens[-n:])) if len(self.tokens) >= n else None
            if start is not None:
                return self.tokens[start : start + limit]
        return []


def lookup_decode(
    runner: Any,
    logits: Any,
    context: Sequence[int],
    room: int,
    draft_size: int,
    pick: Callable[[Any], int],
    take: Callable[[int], bool],
    check: Callable[[], None],
) -> int:
    """Decode one row in place in ``runner`` (:class:`._ort_rows.InPlaceRows`, holding
    ``context``'s cache); ``logits`` [vocab] are the next position's. ``pick(row)`` chooses the
    token for a position's logits (called once for each token taken, in order); ``take(tok)``
    appends a token and says whether the row is done; ``room`` is the cache's free positions;
    ``check()`` raises to stop. Returns the model runs made."""
    import numpy as np

    lookup = Lookup(context)
    seen, runs = len(context), 0
    pending = pick(logits)
    while True:
        lookup.append(pending)
        if take(pending):
            return runs
        check()
        draft = lookup.draft(min(draft_size, room - (seen - len(context)) - 1))
        out = runner.run(np.array([[pending, *draft]], dtype=np.int64), seen + 1 + len(draft))[0]
        seen, runs = seen + 1, runs + 1
        for i, tok in enumerate(draft):
            chosen = pick(out[i])
            if chosen != tok:  # the cache past this point holds rejected keys: the next run overwrites them
                pending = chosen
                break
            lookup.append(tok)
            seen += 1
            if take(tok):
                return runs
        else:
            pending = pick(out[len(draft)])


__all__ = ["Lookup", "lookup_decode"]
