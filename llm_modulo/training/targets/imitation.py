"""Imitation records for any domain with the training capabilities: the domain's target for
each task (``imitation_target``), refused when the task is a test instance (``problem_key``,
``test_keys``), certified by the domain's hard critics before it is written."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from llm_modulo.contract import check_domain
from llm_modulo.errors import InputError
from llm_modulo.types import Task

from .records import certify, record

log = logging.getLogger(__name__)

NEEDS = {"imitation_target": "make-data", "problem_key": "make-data", "test_keys": "make-data"}


def search_proposer(seed: int) -> Any:
    """The uniform random proposer for a domain's search fallback (built here: domains sit below the models)."""
    from llm_modulo.models.random_proposer import RandomProposer

    return RandomProposer(seed)


def imitation_records(
    domain: Any,
    tasks: Iterable[Task],
    *,
    prompt_format: str = "compact",
    seed: int = 0,
    allow_test: bool = False,
    refusal: Callable[[Task], str] | None = None,
    extra: Callable[[Task], dict[str, Any]] | None = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """One certified imitation record per task of ``domain`` (a training domain, :func:`..chat.training_domain`).

    A test instance raises :class:`InputError` (``refusal(task)`` says what it is) unless
    ``allow_test``. The target is ``domain.imitation_target(task, seed=, rng=, proposer=, **options)``:
    ``rng`` one ``random.Random(seed)`` for the whole run, ``proposer`` a fresh random proposer per
    task. ``extra(task)``: more fields for the record, after the target's figures.
    """
    check_domain(domain, NEEDS)
    excluded = frozenset() if allow_test else domain.test_keys()
    rng = random.Random(seed)  # one for the whole run: each task's draws follow the last one's
    for task in tasks:
        key = domain.problem_key(task)
        if key in excluded:
            what = refusal(task) if refusal else f"{task.id} is a {domain.name} test instance"
            raise InputError(f"{what}; refusing to train on it")
        found = domain.imitation_target(task, seed=seed, rng=rng, proposer=search_proposer(seed), **options)
        if found is None or not certify(domain, task, found[0]):
            log.warning("%s: %s; skipped", task.id, "no target found" if found is None else "not certified")
            continue
        completion, figures = found
        yield record(
            domain, task, completion, "imitation", key, prompt_format, **figures, **(extra(task) if extra else {})
        )


__all__ = ["imitation_records", "search_proposer"]
