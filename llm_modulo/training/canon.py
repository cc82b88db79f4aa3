"""Canonical problem keys, and the test sets that training data must never contain.

The keys live with their domains: Blocksworld's (invariant under renaming the blocks, Mystery
Blocksworld's predicates mapped back) in :mod:`llm_modulo.domains.blocksworld.keys`, Game of 24's
(the sorted multiset of the numbers) in :mod:`llm_modulo.domains.game24.training`; every name is
importable from here too.

For any PDDL domain, :func:`structure_key` (:mod:`llm_modulo.domains.planning.keys`) is invariant
under renaming objects, predicates, actions and types alike (a graph of the domain's structure and
the problem, Weisfeiler-Lehman hashed); :func:`planning_test_keys` are the keys of every PlanBench
problem and every problem shipped in the package, the exclusion ``make-data pddl`` applies.

The test sets (:func:`excluded_keys`): PlanBench's Blocksworld ``generated_basic`` and
``generated_basic_3``, their Mystery twins, and ``blocksworld_hard``; Tree of Thoughts'
Game-of-24 ranks 901-1000.
"""

from __future__ import annotations

from llm_modulo.contract import has
from llm_modulo.domains.blocksworld.keys import (
    BLOCKSWORLD_TEST_FOLDERS,
    MYSTERY_PREDICATES,
    Fact,
    Literal,
    blocksworld_key,
    blocksworld_test_keys,
    pddl_facts,
    pddl_key,
    problem_key,
)
from llm_modulo.domains.game24.training import GAME24_TEST_SET, game24_key, game24_test_keys
from llm_modulo.domains.planning.keys import planning_test_keys, structure_key
from llm_modulo.errors import InputError


def excluded_keys(domain: str) -> frozenset[str]:
    """The keys of the registered domain ``domain``'s test instances (its ``test_keys`` capability):
    Blocksworld's for the three Blocksworld vocabularies, Game of 24's for ``"game24"``."""
    from llm_modulo.registry import get_domain

    found = get_domain(domain, one_shot=False)
    if not has(found, "test_keys"):
        raise InputError(f"no test-set exclusion for domain {domain!r}: it lacks test_keys()")
    return frozenset(found.test_keys())


__all__ = [
    "BLOCKSWORLD_TEST_FOLDERS",
    "GAME24_TEST_SET",
    "MYSTERY_PREDICATES",
    "Fact",
    "Literal",
    "blocksworld_key",
    "blocksworld_test_keys",
    "excluded_keys",
    "game24_key",
    "game24_test_keys",
    "pddl_facts",
    "pddl_key",
    "planning_test_keys",
    "problem_key",
    "structure_key",
]
