"""Imitation targets for planning: a short certified plan per generated Blocksworld problem.

The plans themselves come from the domain (its ``imitation_target`` capability,
:mod:`llm_modulo.domains.planning.training`: BFS, weighted A*, or step-level search, shortened);
this module reads the generated problem files, refuses test instances and certifies each plan.
``shorten``, ``astar_plan``, ``PLAN_METHODS`` and ``Step`` stay importable from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_modulo.contract import check_domain
from llm_modulo.domains.planning.training import PLAN_METHODS, Step, astar_plan, find_plan, shorten
from llm_modulo.errors import InputError
from llm_modulo.types import Task

from ..chat import training_domain
from .imitation import imitation_records, search_proposer


def blocksworld_plan(domain: Any, task: Task, *, seed: int = 0, **options: Any) -> tuple[list[Step], str] | None:
    """(plan, how) for a planning task: :func:`~llm_modulo.domains.planning.training.find_plan`
    (``options``: method, max_states, max_nodes, shorten_plan), its search with the random proposer."""
    return find_plan(domain, task, seed=seed, proposer=search_proposer(seed), **options)


def imitation_blocksworld(
    folder: str | Path,
    *,
    prompt_format: str = "compact",
    method: str = "auto",
    max_states: int = 20_000,
    max_nodes: int = 2_000,
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified imitation record per problem file in ``folder`` (see :func:`.generate.write_blocksworld`).

    A problem whose key is a test instance's raises :class:`InputError` unless ``allow_test``.
    """
    folder = Path(folder)
    domain = training_domain("blocksworld", prompt_format)
    check_domain(domain, {"load_files": "make-data"})
    files = sorted((p for p in folder.glob("*.pddl") if "domain" not in p.name.lower()), key=_natural)
    if not files:
        raise InputError(f"no problem files in {folder}")
    tasks = (domain.load_files(folder / "domain.pddl", path, task_id=path.stem) for path in files)
    yield from imitation_records(
        domain, tasks, prompt_format=prompt_format, seed=seed, allow_test=allow_test,
        refusal=lambda task: f"{task.payload.problem_file} is a test instance (up to renaming the blocks)",
        extra=lambda task: {"problem_file": task.payload.problem_file},
        method=method, max_states=max_states, max_nodes=max_nodes,
    )  # fmt: skip


def _natural(path: Path) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.stem))


__all__ = ["PLAN_METHODS", "Step", "astar_plan", "blocksworld_plan", "imitation_blocksworld", "shorten"]
