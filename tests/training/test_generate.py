"""Generators: seeded, loadable, and never a test instance (up to renaming the blocks)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from llm_modulo.errors import InputError
from llm_modulo.training import canon, generate


def test_blocksworld_is_seeded_and_in_range() -> None:
    a = list(generate.blocksworld_problems(30, seed=3, exclude=frozenset()))
    b = list(generate.blocksworld_problems(30, seed=3, exclude=frozenset()))
    c = list(generate.blocksworld_problems(30, seed=4, exclude=frozenset()))
    assert a == b and a != c
    assert all(3 <= len(p.blocks) <= 8 for p in a)
    assert len({p.key for p in a}) == 30  # unique
    for p in a:
        assert p.goal and not set(p.goal) <= {(u, low) for t in p.init for low, u in zip(t, t[1:], strict=False)}
        assert sorted(x for t in p.init for x in t) == list(p.blocks)  # every block in exactly one tower


def test_generated_problems_load_and_keep_their_key(tmp_path: Path) -> None:
    from llm_modulo.domains.blocksworld import blocksworld

    problems = list(generate.blocksworld_problems(6, seed=9, exclude=frozenset()))
    paths = generate.write_blocksworld(problems, tmp_path)
    assert (tmp_path / "domain.pddl").is_file()
    domain = blocksworld(one_shot=False)
    for problem, path in zip(problems, paths, strict=False):
        task = domain.load_files(tmp_path / "domain.pddl", path)
        assert canon.problem_key(task.payload.problem) == problem.key == canon.pddl_key(path.read_text())
        assert list(task.payload.problem.objects) == list(problem.blocks)  # PlanBench's names: a, b, c, ...
        assert "[STATEMENT]" in domain.prompt(task).messages[0]["content"]


def test_blocksworld_never_yields_a_test_instance(planbench: Path) -> None:
    excluded = canon.blocksworld_test_keys()
    total = 0
    for seed in (0, 1, 2):
        problems = list(generate.blocksworld_problems(700, seed=seed))
        total += len(problems)
        assert not {p.key for p in problems} & excluded
    assert total == 2100
    # the filter is doing work: unfiltered draws of small problems are often test instances
    few = [generate.random_blocksworld(random.Random(s), 3) for s in range(40)]
    assert any(p.key in excluded for p in few)


def test_the_filter_catches_an_injected_test_instance_even_renamed(planbench: Path) -> None:
    """A draw that returns a test instance (with its blocks renamed) is dropped."""
    text = (planbench / "blocksworld" / "generated_basic" / "instance-2.pddl").read_text()
    init, goal = canon.pddl_facts(text)
    blocks = sorted({a for f in init for a in f[1:]})
    rename = dict(zip(blocks, reversed(blocks), strict=False))  # a<->d, b<->c
    below = {f[1]: f[2] for f in init if f[0] == "on"}
    towers = []
    for bottom in (f[1] for f in init if f[0] == "ontable"):
        tower = [bottom]
        while any(v == tower[-1] for v in below.values()):
            tower.append(next(k for k, v in below.items() if v == tower[-1]))
        towers.append(tuple(rename[x] for x in tower))
    injected = generate.BlocksworldProblem(
        "injected", tuple(blocks), tuple(towers), tuple((rename[f[1]], rename[f[2]]) for _, f in goal)
    )
    assert injected.pddl() != text and injected.key == canon.pddl_key(text)
    calls = []

    def draw(rng: random.Random, n: int, name: str) -> generate.BlocksworldProblem:
        calls.append(name)
        return injected if len(calls) <= 3 else generate.random_blocksworld(rng, n, name)

    out = list(generate.blocksworld_problems(5, seed=0, draw=draw))
    assert len(calls) >= 8 and all(p.name != "injected" for p in out)
    assert injected.key not in {p.key for p in out}
    with pytest.raises(InputError, match="only 0 of 1"):
        list(generate.blocksworld_problems(1, seed=0, draw=lambda r, n, name: injected, max_tries=20))


def test_game24_puzzles_are_solvable_seeded_and_never_test_puzzles() -> None:
    from fractions import Fraction

    from llm_modulo.domains.game24.puzzle import solvable, state_of

    excluded = canon.game24_test_keys()
    seen: set[str] = set()
    for seed in (0, 1, 2):
        puzzles = list(generate.game24_puzzles(100, seed=seed))
        keys = {canon.game24_key(p) for p in puzzles}
        assert len(keys) == 100 and not keys & excluded
        assert all(1 <= x <= 13 for p in puzzles for x in p)
        seen |= keys
    assert puzzles == list(generate.game24_puzzles(100, seed=2))
    assert all(solvable(state_of(Fraction(x) for x in p)) for p in puzzles)
    from llm_modulo.domains.game24.instances import puzzles as ranked

    test_puzzle = ranked()[950]  # a solvable test puzzle
    calls = []

    def draw(rng: random.Random) -> tuple[int, ...]:
        calls.append(1)
        return tuple(reversed(test_puzzle)) if len(calls) <= 5 else tuple(rng.randint(1, 13) for _ in range(4))

    out = list(generate.game24_puzzles(3, seed=0, draw=draw))
    assert len(out) == 3 and len(calls) > 5
    assert canon.game24_key(test_puzzle) not in {canon.game24_key(p) for p in out}


def test_game24_asks_for_too_many() -> None:
    with pytest.raises(InputError, match="Game-of-24 puzzles"):
        list(generate.game24_puzzles(5, seed=0, low=1, high=2, max_tries=500))
