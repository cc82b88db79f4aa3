"""The benchmark sets of ``benchmarks/search_sets.py``: seeded, valid PDDL, solvable by ``search``'s control."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.registry import load_planning_task
from llm_modulo.strategies.search import Search
from llm_modulo.types import Budget
from llm_modulo.verifiers.planning.pddl import load_problem

SOURCE = Path(__file__).resolve().parents[2] / "benchmarks" / "search_sets.py"


@pytest.fixture(scope="module")
def sets():  # the benchmarks folder is not a package: load the file as a module
    spec = importlib.util.spec_from_file_location("search_sets", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("search_sets", module)
    spec.loader.exec_module(module)
    return module


def test_seeded(sets) -> None:
    for make, _ in sets.SETS.values():
        assert make(2, 7) == make(2, 7)
        assert make(2, 7) != make(2, 8)


def test_fresh_names(sets) -> None:
    text = next(iter(sets.blocksworld_set(1, 0).values()))
    objects = text.split("(:objects", 1)[1].split(")", 1)[0].split()
    assert 6 <= len(objects) <= 10 and set(objects) <= set(sets.WORDS)


@pytest.mark.parametrize("name", ["blocksworld-6-10", "gripper", "depots"])
def test_valid_and_solvable(sets, name: str, tmp_path: Path) -> None:
    folder = sets.write_sets(tmp_path, 1, seed=1, names=(name,))[name]
    problem = next(p for p in folder.glob("*.pddl") if p.name != "domain.pddl")
    assert load_problem(folder / "domain.pddl", problem, strict=True).supported
    domain, task = load_planning_task(str(folder / "domain.pddl"), str(problem))
    budget = Budget(nodes=500, samples=None, rounds=None)
    result = Search(RandomProposer(seed=0), domain, seed=0, budget=budget).run(task)
    assert result.verified
