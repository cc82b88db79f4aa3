"""Greedy decoding with drafts looked up in the context: the same tokens as one token a run, in
fewer runs, on a toy model whose next token depends on the context (so a wrong cache position or a
kept rejected draft changes the output), with and without a grammar."""

from __future__ import annotations

from typing import Any

import pytest

from llm_modulo.models._ort_lookup import Lookup, greedy_lookup

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
            out[0, j, _next(self.cache)] = 1.0
        return out


def _decode(context: list[int], draft: int, steps: int, banned: int | None = None) -> tuple[list[int], int]:
    runner, got = ToyRunner(context), []
    first = np.zeros(VOCAB, dtype=np.float32)
    first[_next(context)] = 1.0
    allowed = (lambda: None) if banned is None else (lambda: np.array([t for t in range(VOCAB) if t != banned]))

    def take(tok: int) -> bool:
        got.append(tok)
        return len(got) >= steps

    if draft == 0:  # one token a run, as the plain loop does
        row = first
        while True:
            index = allowed()
            tok = int(np.argmax(row)) if index is None else int(index[np.argmax(row[index])])
            if take(tok):
                return got, runner.runs
            row = runner.run(np.array([[tok]]), len(context) + len(got))[0, 0]
    runs = greedy_lookup(runner, first, context, steps, draft, allowed, take, lambda: None)
    return got, runs


@pytest.mark.parametrize("banned", [None, 3])
def test_drafts_give_the_greedy_tokens_in_fewer_runs(banned: int | None) -> None:
    context = [1, 2, 3, 4, 5, 1, 2, 3, 6, 7, 1, 2]
    plain, plain_runs = _decode(context, 0, 40, banned)
    for draft in (1, 3, 5):
        got, runs = _decode(context, draft, 40, banned)
        assert got == plain
        assert runs < plain_runs
    assert banned is None or banned not in plain


def test_lookup_drafts_what_followed_the_latest_earlier_occurrence() -> None:
    lookup = Lookup([5, 6, 7, 8, 5, 6, 9, 1, 5, 6])
    assert lookup.draft(3) == [9, 1, 5]  # "5 6" last followed by 9 (position 6), not by 7
    lookup.append(9)
    assert lookup.draft(2) == [1, 5]  # "5 6 9" (the longest suffix seen before)
    assert lookup.draft(0) == []
    assert Lookup([1, 2, 3]).draft(4) == []  # no suffix recurs
