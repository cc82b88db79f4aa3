"""Imitation targets for Game of 24: an exact solution per puzzle, from the domain's
``imitation_target`` (:mod:`llm_modulo.domains.game24.training`), certified here.
``game24_solution`` stays importable from here."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from llm_modulo.contract import check_domain
from llm_modulo.domains.game24.training import game24_solution
from llm_modulo.errors import InputError

from .. import canon
from ..chat import training_domain
from .records import certify, record

log = logging.getLogger(__name__)


def imitation_game24(
    puzzles: Iterable[Sequence[int]],
    *,
    prompt_format: str = "compact",
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified record per puzzle (a test puzzle raises :class:`InputError` unless ``allow_test``)."""
    domain = training_domain("game24", prompt_format)
    check_domain(domain, {"imitation_target": "make-data"})
    excluded = frozenset() if allow_test else canon.game24_test_keys()
    rng = random.Random(seed)  # one for the whole run: each puzzle's moves in its own order
    for numbers in puzzles:
        key = canon.game24_key(numbers)
        if key in excluded:
            raise InputError(f"{' '.join(map(str, numbers))} is a Game-of-24 test puzzle; refusing to train on it")
        task = domain.make_task(numbers)
        found = domain.imitation_target(task, rng=rng)
        if found is None or not certify(domain, task, found[0]):
            log.warning("%s: no certified solution; skipped", task.id)
            continue
        completion, figures = found
        yield record(domain, task, completion, "imitation", key, prompt_format, **figures)


__all__ = ["game24_solution", "imitation_game24"]
