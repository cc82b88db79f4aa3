"""Decoding with drafts looked up in the context: the same tokens as one token a run, in fewer runs,
greedy and sampled, on a toy model whose next token depends on the context (so a wrong cache
position or a kept rejected draft changes the output), with and without a grammar."""

from __future__ import annotations

from typing import Any

import pytest

from llm_modulo.models._ort_lookup import Lookup, lookup_decode
from llm_modulo.models._ort_sampling import choose_many

np = pytest.importorskip("numpy")
VOCAB = 12


def _next(history: list[int]) -> int:
    """The toy model's greedy token: mostly copies what followed the previous token last time."""
    last = history[-1]
    for i in range(len(history) - 2, -1, -1):
        if history[i] == last and (len(history) + last) % 5:
            return history[i + 1]
    return (last * 7 + len(history)) % VOCAB


class ToyRunner:
    """InPlaceRows' contract: ``run(ids [1, w], seen)`` writes the w tokens at positions seen-w..seen-1
    (overwriting whatever was there) and returns logits [1, w, vocab] after each."""

    def __init__(self, context: list[int]) -> None:
        self.cache, self.runs = list(context), 0

    def run(self, ids: Any, seen: int) -> Any:
        width = ids.shape[1]
        del self.cache[seen - width :]
        assert len(self.cache) == seen - width, "a run must start right after the cache's valid part"
        self.runs += 1
        out = np.zeros((1, width, VOCAB), dtype=np.float32)
        for j, tok in enumerate(ids[0].tolist()):
            self.cache.append(tok)
            out[0, j] = _logits(self.cache)
        return out


def _logits(history: list[int]) -> Any:
    """The toy model's logits: its greedy token far ahead, the others spread by the context."""
    row = np.array([((history[-1] + 3 * t) % VOCAB) / VOCAB for t in range(VOCAB)], dtype=np.float32)
    row[_next(history)] = 2.5
    return row


def _decode(
    context: list[int], draft: int, steps: int, banned: int | None = None, temperature: float = 0.0
) -> tuple[list[int], int]:
    runner, got = ToyRunner(context), []
    index = None if banned is None else np.array([t for t in range(VOCAB) if t != banned])
    rng = np.random.default_rng(7)

    def pick(row: Any) -> int:  # as the engine's loop picks: one draw a token
        return choose_many(row[None], [index], temperature, 1.0, rng)[0]

    def take(tok: int) -> bool:
        got.append(tok)
        return len(got) >= steps

    first = _logits(context)
    if draft == 0:  # one token a run, as the plain loop does
        row = first
        while True:
            tok = pick(row)
            if take(tok):
                return got, runner.runs
            row = runner.run(np.array([[tok]]), len(context) + len(got))[0, 0]
    runs = lookup_decode(runner, first, context, steps, draft, pick, take, lambda: None)
    return got, runs


@pytest.mark.parametrize("banned", [None, 3])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_drafts_give_the_plain_loops_tokens_in_fewer_runs(banned: int | None, temperature: float) -> None:
    context = [1, 2, 3, 4, 5, 1, 2, 3, 6, 7, 1, 2]
    plain, plain_runs = _decode(context, 0, 40, banned, temperature)
    for draft in (1, 3, 5):
        got, runs = _decode(context, draft, 40, banned, temperature)
        assert got == plain
        assert runs < plain_runs
    assert banned is None or banned not in plain
    greedy = _decode(context, 0, 40, banned)[0]
    assert (plain == greedy) == (temperature == 0)  # sampling really sampled (the toy's others have mass)


def test_lookup_drafts_what_followed_the_latest_earlier_occurrence() -> None:
    lookup = Lookup([5, 6, 7, 8, 5, 6, 9, 1, 5, 6])
    assert lookup.draft(3) == [9, 1, 5]  # "5 6" last followed by 9 (position 6), not by 7
    lookup.append(9)
    assert lookup.draft(2) == [1, 5]  # "5 6 9" (the longest suffix seen before)
    assert lookup.draft(0) == []
    assert Lookup([1, 2, 3]).draft(4) == []  # no suffix recurs
