"""Canonical keys: invariant under renaming blocks, shared by Mystery twins, equal across readers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from llm_modulo.training import canon


def _renamed(text: str, seed: int) -> str:
    """The PDDL text with the blocks a..z renamed by a random permutation (to other letters too)."""
    from llm_modulo.domains.planning.domain import rename_symbols

    init, _ = canon.pddl_facts(text)
    blocks = sorted({a for f in init for a in f[1:]})
    targets = [f"blk{i}" for i in range(len(blocks))]
    random.Random(seed).shuffle(targets)
    return rename_symbols(text, dict(zip(blocks, targets, strict=False)))


def test_key_is_invariant_under_renaming_and_separates_other_problems(planbench: Path) -> None:
    files = sorted((planbench / "blocksworld" / "generated_basic").glob("instance-*.pddl"))[:40]
    keys = {}
    for path in files:
        text = path.read_text()
        key = canon.pddl_key(text)
        assert canon.pddl_key(_renamed(text, 1)) == key
        assert canon.pddl_key(_renamed(text, 2)) == key
        keys.setdefault(key, text)
    assert len(keys) > 10  # different problems get different keys


def test_goal_and_init_both_matter() -> None:
    init = [("handempty",), ("ontable", "a"), ("ontable", "b"), ("clear", "a"), ("clear", "b")]
    k1 = canon.blocksworld_key(init, [(True, ("on", "a", "b"))])
    k2 = canon.blocksworld_key(init, [(True, ("on", "b", "a"))])
    assert k1 == k2  # a mirror image: the same problem up to renaming
    stacked = [("handempty",), ("on", "a", "b"), ("ontable", "b"), ("clear", "a")]
    assert canon.blocksworld_key(stacked, [(True, ("on", "b", "a"))]) != k1
    assert canon.blocksworld_key(init, [(True, ("on", "a", "b")), (True, ("ontable", "b"))]) != k1


def test_mystery_instances_share_the_blocksworld_keys(planbench: Path) -> None:
    for folder in ("generated_basic", "generated_basic_3"):
        plain = {
            p.name: canon.pddl_key(p.read_text()) for p in (planbench / "blocksworld" / folder).glob("instance-*.pddl")
        }
        mystery = {
            p.name: canon.pddl_key(p.read_text())
            for p in (planbench / "blocksworld" / "mystery" / folder).glob("instance-*.pddl")
        }
        common = plain.keys() & mystery.keys()
        assert len(common) >= 100 and all(plain[n] == mystery[n] for n in common)


def test_loaded_problem_and_text_give_the_same_key(planbench: Path) -> None:
    from llm_modulo.domains.blocksworld import blocksworld

    domain = blocksworld(one_shot=False)
    for name in ("blocksworld/generated_basic/instance-1", "blocksworld/generated_basic_3/instance-7"):
        task = domain.load(name)
        text = Path(task.payload.problem_file).read_text()
        assert canon.problem_key(task.payload.problem) == canon.pddl_key(text)
        assert canon.pddl_key(text) in canon.blocksworld_test_keys()


def test_test_sets_are_all_read(planbench: Path) -> None:
    keys = canon.blocksworld_test_keys()
    hard = next((planbench / "blocksworld_hard" / "generated").glob("*.pddl"))
    assert canon.pddl_key(hard.read_text()) in keys
    assert canon.excluded_keys("mystery_blocksworld") is keys
    game = canon.game24_test_keys()
    assert len(game) == 100
    from llm_modulo.domains.game24.instances import puzzles

    assert canon.game24_key(reversed(puzzles()[901])) in game
    assert canon.game24_key(puzzles()[1]) not in game
    with pytest.raises(Exception, match="no test-set exclusion"):
        canon.excluded_keys("logistics")
