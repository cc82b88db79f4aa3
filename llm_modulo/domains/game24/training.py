"""Imitation targets for Game of 24 (the ``imitation_target`` capability): an exact solution per
puzzle, in the domain's answer grammar."""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from llm_modulo.types import Task

from .domain import answer_line
from .parse import END
from .puzzle import moves, solvable, state_of


def game24_solution(numbers: Sequence[int], rng: random.Random | None = None) -> str | None:
    """Step lines, the answer line and ``[END]`` for the puzzle, in the answer grammar; None if unsolvable.

    Depth first over the moves in a random order (``rng``; the solver's order without one),
    entering only moves after which 24 can still be made.
    """
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


def imitation_target(task: Task, rng: random.Random | None = None) -> tuple[str, dict[str, Any]] | None:
    """(completion, figures) for ``task``: :func:`game24_solution` and ``steps`` (the number of
    moves); None when the puzzle has no solution."""
    numbers = task.payload.numbers
    completion = game24_solution(numbers, rng)
    return None if completion is None else (completion, {"steps": len(numbers) - 1})


__all__ = ["game24_solution", "imitation_target"]
