"""Seeded generators of training problems that are never test instances.

The generators live with their domains: Blocksworld's in
:mod:`llm_modulo.domains.blocksworld.generate` (:func:`blocksworld_problems`, written as PDDL by
:func:`write_blocksworld`), Game of 24's in :mod:`llm_modulo.domains.game24.training`
(:func:`game24_puzzles`). Both drop every problem whose canonical key (:mod:`.canon`) is a test
instance's, and (by default) repeats within one run; both are deterministic for a seed. Every
name stays importable from here.
"""

from __future__ import annotations

from llm_modulo.domains.blocksworld.generate import (
    DOMAIN_NAME,
    MAX_BLOCKS,
    MIN_BLOCKS,
    BlocksworldProblem,
    Draw,
    Towers,
    block_names,
    blocksworld_problems,
    random_blocksworld,
    random_towers,
    write_blocksworld,
)
from llm_modulo.domains.game24.training import game24_puzzles

__all__ = [
    "DOMAIN_NAME",
    "MAX_BLOCKS",
    "MIN_BLOCKS",
    "BlocksworldProblem",
    "Draw",
    "Towers",
    "block_names",
    "blocksworld_problems",
    "game24_puzzles",
    "random_blocksworld",
    "random_towers",
    "write_blocksworld",
]
