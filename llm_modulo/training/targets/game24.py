"""Imitation targets for Game of 24: an exact solution per puzzle, from the domain's
``imitation_target`` (:mod:`llm_modulo.domains.game24.training`), certified here.
``game24_solution`` stays importable from here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from llm_modulo.domains.game24.training import game24_solution

from ..chat import training_domain
from .imitation import imitation_records


def imitation_game24(
    puzzles: Iterable[Sequence[int]],
    *,
    prompt_format: str = "compact",
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified record per puzzle (a test puzzle raises :class:`InputError` unless ``allow_test``)."""
    domain = training_domain("game24", prompt_format)
    tasks = (domain.make_task(numbers) for numbers in puzzles)
    yield from imitation_records(domain, tasks, prompt_format=prompt_format, seed=seed, allow_test=allow_test,
                                 refusal=lambda task: f"{task.id} is a Game-of-24 test puzzle")  # fmt: skip


__all__ = ["game24_solution", "imitation_game24"]
