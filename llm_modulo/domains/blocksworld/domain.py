"""PlanBench's Blocksworld family as a planning domain with the training capabilities:
seeded training problems (:mod:`.generate`), problem keys and the test set's keys (:mod:`.keys`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llm_modulo.domains.planning.domain import PlanningDomain
from llm_modulo.errors import InputError
from llm_modulo.types import Task

GENERATED = "blocksworld"  # the vocabulary whose PDDL the generated problems are written in
LIMITS = ("min_blocks", "max_blocks", "cut")


class BlocksworldDomain(PlanningDomain):
    """Blocksworld, Mystery or Randomized Mystery Blocksworld: the same problems, so the same keys."""

    def problem_key(self, task: Task) -> str:
        """The key of the task's problem, invariant under renaming the blocks (and the Mystery predicates)."""
        from .keys import problem_key

        return problem_key(task.payload.problem)

    def test_keys(self) -> frozenset[str]:
        """The keys of every Blocksworld test instance (PlanBench's, Mystery's and the hard set)."""
        from .keys import blocksworld_test_keys

        return blocksworld_test_keys()

    def training_problems(self, count: int, seed: int = 0, folder: Any = None, **limits: Any) -> list[Task]:
        """``count`` random problems that are no test instance (``limits``: min_blocks, max_blocks,
        cut; others unused), written as ``<folder>/problems/*.pddl`` beside ``domain.pddl`` (an
        instance set a sweep can name), as tasks in the order they were drawn."""
        from .generate import blocksworld_problems, write_blocksworld

        if self.name != GENERATED:
            raise InputError(f"training problems are written in {GENERATED}'s PDDL; use {GENERATED}, not {self.name}")
        if folder is None:
            raise InputError("Blocksworld training problems need a folder to be written to")
        known = {k: v for k, v in limits.items() if k in LIMITS}
        out = Path(folder) / "problems"
        paths = write_blocksworld(list(blocksworld_problems(count, seed, **known)), out)
        return [self.load_files(out / "domain.pddl", path, task_id=path.stem) for path in paths]


__all__ = ["BlocksworldDomain"]
