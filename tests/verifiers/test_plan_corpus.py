"""The grounded validator agrees with unified-planning's on PlanBench gold plans and simple corruptions.

Every gold plan must be VALID for both; its truncation (last step dropped) and its first-two-steps
swap are judged by both and must get the same answer. The fast test takes a few instances per set;
the full corpus (1,595 instances, 4,785 plans; a few minutes, mostly unified-planning, spread over the cores) is ``slow``.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from planbench_gold import SETS, GoldCase, all_gold_cases

from llm_modulo.verifiers.planning import GroundAction, load_problem, parse_pddl_plan, up_validate, validate

FAST_PER_SET = 3


def _variants(plan: list[GroundAction]) -> dict[str, list[GroundAction]]:
    return {"gold": plan, "truncated": plan[:-1], "swapped": plan[1:2] + plan[:1] + plan[2:]}


def _check_case(case: GoldCase) -> int:
    problem = load_problem(case.domain, case.problem)
    plan = parse_pddl_plan(case.plan_text)
    assert plan, f"{case.id}: empty gold plan"
    compared = 0
    for variant, steps in _variants(plan).items():
        ours = validate(problem, steps)
        theirs = up_validate(problem, steps)
        assert ours.valid == theirs, f"{case.id} {variant}: ours={ours.valid} unified-planning={theirs}"
        if variant == "gold":
            assert ours.valid, f"{case.id}: gold plan rejected: {ours.failures or ours.unmet_goals}"
        compared += 1
    return compared


def test_fast_subset_agrees_with_unified_planning(planbench: Path) -> None:
    cases = all_gold_cases(planbench, FAST_PER_SET)
    assert {c.set_name for c in cases} == set(SETS)
    assert sum(_check_case(c) for c in cases) == 3 * len(cases)


@pytest.mark.slow
@pytest.mark.parametrize("set_name", SETS)
def test_full_corpus_agrees_with_unified_planning(planbench: Path, set_name: str) -> None:
    cases = [c for c in all_gold_cases(planbench) if c.set_name == set_name]
    assert cases
    # the cases are independent and unified-planning dominates the time: one process per core
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        compared = sum(pool.map(_check_case, cases, chunksize=8))
    assert compared == 3 * len(cases)
