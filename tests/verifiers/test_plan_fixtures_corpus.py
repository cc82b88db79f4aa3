"""The plan fixture corpus (tests/fixtures/planning/): every plan gets its expected verdict, the
violation kind it was built to show, and the same validity from the grounded critic and from
unified-planning's validator. Regenerate with ``python tests/fixtures/planning/make_corpus.py``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from llm_modulo.verifiers.planning import PlanLengthCritic, up_validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "planning"
SETS = ("logistics", "random_mystery_blocksworld", "gripper")
KINDS = {"unmet_goal", "inapplicable", "unknown_action", "wrong_arity", "unknown_object", "wrong_type", "suboptimal"}


def _cases() -> list[dict[str, Any]]:
    return [case for name in SETS for case in json.loads((FIXTURES / f"{name}.json").read_text())["cases"]]


@cache
def _domain(set_name: str) -> Any:
    if set_name == "logistics":
        from llm_modulo.domains.logistics import logistics

        return logistics(soft_critics=True)
    if set_name == "random_mystery_blocksworld":
        from llm_modulo.domains.blocksworld import random_mystery_blocksworld

        return random_mystery_blocksworld(soft_critics=True)
    from llm_modulo.domains.planning import pddl_domain

    return pddl_domain(style="nl", soft_critics=True)


@cache
def _task(set_name: str, instance: str) -> Any:
    domain = _domain(set_name)
    if instance == "gripper":
        return domain.load_files(FIXTURES / "gripper_domain.pddl", FIXTURES / "gripper_problem.pddl")
    return domain.load(instance)


CASES = [(name, case) for name in SETS for case in json.loads((FIXTURES / f"{name}.json").read_text())["cases"]]


def test_corpus_size_and_coverage() -> None:
    cases = _cases()
    assert len(cases) >= 100
    assert {c["kind"] for c in cases} - {""} == KINDS
    assert sum(c["expect"] == "valid" for c in cases) >= 30 and sum(c["expect"] == "invalid" for c in cases) >= 60


@pytest.mark.parametrize(("set_name", "case"), CASES, ids=[c["id"] for _, c in CASES])
def test_grounded_critic_agrees_with_unified_planning(set_name: str, case: dict[str, Any], planbench: Path) -> None:
    domain = _domain(set_name)
    task = _task(set_name, case["instance"])
    candidate = domain.parse(task, case["text"])
    hard, soft = (c.check(task, candidate) for c in domain.critics(task))
    assert hard.engine == "grounded-strips"
    assert hard.valid == (case["expect"] == "valid"), [v.message for v in hard.violations]
    assert up_validate(task.payload.problem, candidate.answer) == hard.valid
    kinds = {v.kind for v in hard.violations} | {v.kind for v in soft.violations}
    if case["kind"]:
        assert case["kind"] in kinds
    else:
        assert not kinds  # a gold plan: valid and optimal
    assert isinstance(soft.critic, str) and not soft.hard
    if case["kind"] == "suboptimal":
        assert soft.score < 1.0 and soft.info["optimum"] < soft.info["plan_len"]


@pytest.mark.parametrize("set_name", SETS)
def test_length_critic_optimum_matches_the_gold_plans(set_name: str, planbench: Path) -> None:
    critic = PlanLengthCritic()
    gold = [c for c in json.loads((FIXTURES / f"{set_name}.json").read_text())["cases"] if c["id"].endswith(":gold")]
    assert gold
    for case in gold:
        assert critic.optimum(_task(set_name, case["instance"])) == case["text"].count("\n")
