"""Game of 24 for training: an exact solution per puzzle in the answer grammar (the
``imitation_target`` capability), puzzle keys, the test set's keys, and seeded puzzles that are
never test puzzles.

A puzzle's key is the sorted multiset of its numbers; the test set is Tree of Thoughts' ranks
901-1000. :func:`game24_puzzles` draws four numbers independently and uniformly from ``low..high``
(default 1..13), sorted, and keeps them when the exact solver finds a solution; the multisets are
therefore not uniform (four distinct numbers are likelier than four equal).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.types import Task

from .domain import answer_line
from .instances import instance_names, puzzles
from .parse import END
from .puzzle import moves, solvable, state_of

GAME24_TEST_SET = "test"  # ranks 901-1000


def game24_key(numbers: Iterable[int]) -> str:
    """The sorted multiset of the numbers, e.g. ``"24:1,2,3,4"``."""
    return "24:" + ",".join(str(int(x)) for x in sorted(numbers))


def game24_test_keys() -> frozenset[str]:
    """Keys of Tree of Thoughts' Game-of-24 test puzzles (ranks 901-1000)."""
    table = puzzles()
    return frozenset(game24_key(table[int(r)]) for r in instance_names(GAME24_TEST_SET))


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


def game24_puzzles(
    count: int,
    seed: int = 0,
    *,
    low: int = 1,
    high: int = 13,
    exclude: frozenset[str] | None = None,
    unique: bool = True,
    draw: Callable[[random.Random], tuple[int, ...]] | None = None,
    max_tries: int | None = None,
) -> Iterator[tuple[int, int, int, int]]:
    """``count`` solvable puzzles (sorted 4-tuples), none of them a test puzzle.

    ``exclude``: keys to drop (default: Tree of Thoughts' ranks 901-1000,
    :func:`game24_test_keys`). With ``unique`` (the default) there are
    at most as many puzzles as solvable multisets outside the test set (about 1,260 for 1..13):
    asking for more raises :class:`InputError`.
    """
    if not 0 <= low <= high:
        raise InputError(f"need 0 <= low <= high, got {low}..{high}")
    excluded = game24_test_keys() if exclude is None else exclude
    rng = random.Random(seed)
    make = draw or (lambda r: tuple(r.randint(low, high) for _ in range(4)))
    seen: set[str] = set()
    tries, made = 0, 0
    limit = max_tries if max_tries is not None else 200 * count + 10_000
    while made < count:
        if tries >= limit:
            raise InputError(f"only {made} of {count} Game-of-24 puzzles after {tries} draws (seed {seed})")
        tries += 1
        numbers = tuple(sorted(make(rng)))
        key = game24_key(numbers)
        if key in excluded or (unique and key in seen):
            continue
        seen.add(key)  # unsolvable ones too: no need to solve them twice
        if not solvable(state_of(Fraction(x) for x in numbers)):
            continue
        made += 1
        yield numbers  # type: ignore[misc]


def training_problems(count: int, seed: int, folder: str | Path | None, **limits: Any) -> list[tuple[int, ...]]:
    """:func:`game24_puzzles` (``limits``: low, high; others unused), written to ``<folder>/puzzles.txt``."""
    known = {k: v for k, v in limits.items() if k in ("low", "high")}
    found: list[tuple[int, ...]] = list(game24_puzzles(count, seed, **known))
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "puzzles.txt").write_text("".join(" ".join(map(str, p)) + "\n" for p in found))
    return found


__all__ = [
    "GAME24_TEST_SET",
    "game24_key",
    "game24_puzzles",
    "game24_solution",
    "game24_test_keys",
    "imitation_target",
    "training_problems",
]
