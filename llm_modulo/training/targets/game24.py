"""Imitation targets for Game of 24: an exact solution per puzzle, in the domain's answer grammar."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from typing import Any

from llm_modulo.errors import InputError

from .. import canon
from ..chat import training_domain
from .records import certify, record

log = logging.getLogger(__name__)


def game24_solution(numbers: Sequence[int], rng: random.Random | None = None) -> str | None:
    """Step lines, the answer line and ``[END]`` for the puzzle, in the answer grammar; None if unsolvable.

    Depth first over the moves in a random order (``rng``; the solver's order without one),
    entering only moves after which 24 can still be made.
    """
    from llm_modulo.domains.game24.domain import answer_line
    from llm_modulo.domains.game24.parse import END
    from llm_modulo.domains.game24.puzzle import moves, solvable, state_of

    start = [Fraction(x) for x in numbers]
    state = state_of(start)
    if not solvable(state):
        return None
    lines, raw = [], []
    while len(state) > 1:
        options = moves(state)
        if rng is not None:
            rng.shuffle(options)
        move = next(m for m in options if solvable(m.left))
        lines.append(move.line)
        raw.append((move.a, move.op, move.b, move.result))
        state = move.left
    lines.append(answer_line(start, raw))
    return "\n".join(lines) + "\n" + END


def imitation_game24(
    puzzles: Iterable[Sequence[int]],
    *,
    prompt_format: str = "compact",
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified record per puzzle (a test puzzle raises :class:`InputError` unless ``allow_test``)."""
    domain = training_domain("game24", prompt_format)
    excluded = frozenset() if allow_test else canon.game24_test_keys()
    rng = random.Random(seed)
    for numbers in puzzles:
        key = canon.game24_key(numbers)
        if key in excluded:
            raise InputError(f"{' '.join(map(str, numbers))} is a Game-of-24 test puzzle; refusing to train on it")
        task = domain.make_task(numbers)
        completion = game24_solution(numbers, rng)
        if completion is None or not certify(domain, task, completion):
            log.warning("%s: no certified solution; skipped", task.id)
            continue
        yield record(domain, task, completion, "imitation", key, prompt_format, steps=len(numbers) - 1)


__all__ = ["game24_solution", "imitation_game24"]
