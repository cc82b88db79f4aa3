"""Fuzzing the grounded plan validator against unified-planning, and the critic through model text.

Plans come from :mod:`plan_fuzz` (random walks, gold plans, shortest completions, and their
mutations: steps dropped, inserted, swapped, duplicated, replaced, truncated; wrong arity,
unknown or mistyped objects, unknown actions, case changes) on hand-written typed tasks
(negative preconditions, equality, constants, ``either``) and PlanBench Blocksworld, Mystery,
Logistics and Blocksworld-hard. The verdict must equal unified-planning's, down to the first
failing step; a "valid" unified-planning rejects is never allowed. Through the planning
domain's ``parse`` (numbering, ``[PLAN]`` markers, prose lines) and :class:`PlanCritic`,
certified must imply valid for unified-planning.

About 1,000 + 450 plans (FUZZ_VALIDATOR_PLANS, FUZZ_VALIDATOR_TEXTS), 30 s of CPU. ``benchmarks/fuzz_validator.py`` runs the same
generators on 10^5 plans.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from plan_fuzz import (
    FuzzProblem,
    compare,
    compare_text,
    critic_task,
    draw_plan,
    load_fuzz_problems,
    pick,
    plan_text,
    render,
)

from llm_modulo.domains.blocksworld import blocksworld
from llm_modulo.domains.logistics import logistics
from llm_modulo.domains.planning import pddl_domain
from llm_modulo.types import Candidate, Task
from llm_modulo.verifiers.planning import GroundAction, load_problem, to_ground_action, up_check, validate

PLANS = int(os.environ.get("FUZZ_VALIDATOR_PLANS", "1000"))
TEXTS = int(os.environ.get("FUZZ_VALIDATOR_TEXTS", "450"))
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no "explain": minutes on these plans
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


class HypothesisDraw:
    """:class:`plan_fuzz.Draw` from hypothesis, so that a failing plan shrinks."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))


PLANBENCH = Path(os.environ.get("LLM_MODULO_BENCHMARKS", Path(__file__).resolve().parents[3] / "shared" / "benchmarks"))
PROBLEMS = load_fuzz_problems(PLANBENCH / "planbench")  # loaded once: grounding caches persist
DOMAINS = [pddl_domain(), pddl_domain(style="nl"), blocksworld(), logistics()]
TASKS: list[tuple[Any, FuzzProblem, Task]] = [
    (d, fp, critic_task(d, fp)) for fp in PROBLEMS for d in DOMAINS if d.fits(fp.problem)
]


def test_every_task_loaded() -> None:
    labels = {fp.label for fp in PROBLEMS}
    assert {"tiny", "sussman", "gripper"} <= labels
    if (PLANBENCH / "planbench").is_dir():
        assert any(label.startswith("logistics") for label in labels) and len(labels) == 10
    for fp in PROBLEMS:  # every gold plan is valid for both
        assert validate(fp.problem, fp.gold).valid and up_check(fp.problem, fp.gold).valid, fp.label


@settings(FUZZ, max_examples=PLANS)
@given(data=st.data())
def test_fuzz_verdict_equals_unified_planning(data: st.DataObject) -> None:
    d = HypothesisDraw(data)
    fp = pick(d, PROBLEMS)
    kind, plan = draw_plan(d, fp)
    result = compare(fp.problem, plan)
    event(f"{kind}: {'valid' if result.up_valid else 'invalid'}")
    assert not result.false_valid, (fp.label, [str(a) for a in plan])
    assert not result.problems, (fp.label, [str(a) for a in plan], result.problems)


@settings(FUZZ, max_examples=TEXTS)
@given(data=st.data())
def test_fuzz_critic_on_model_text(data: st.DataObject) -> None:
    """Through ``parse`` and :class:`PlanCritic`: certified iff valid for unified-planning; a plan
    wrapped without prose lines parses back to itself."""
    d = HypothesisDraw(data)
    domain, fp, task = pick(d, TASKS)
    _, plan = draw_plan(d, fp)
    plan = [a for a in plan if _writable(a)]
    text, neutral = plan_text(d, [render(domain, task, fp, a) for a in plan])
    candidate, result = compare_text(domain, task, fp, text)
    event(f"{domain.name}/{domain.style}: {'certified' if result.ours_valid else 'rejected'}")
    assert not result.false_valid, (domain.name, fp.label, text)
    assert not result.problems, (domain.name, fp.label, text, result.problems)
    # a sentence may read as two actions (Logistics' "load {} into {} at {}", truck or airplane):
    # the parser takes the statically possible one, so only such plans must read back exactly
    if neutral and (domain.style == "pddl" or all(fp.problem.statically_possible(a) for a in _lower(plan))):
        assert _lower(candidate.answer) == _lower(plan), text


def _writable(step: GroundAction) -> bool:
    """A step a line of text can carry: no empty, blank or bracketed names (those are the direct test's)."""
    return all(
        w and w == w.strip() and w.isprintable() and not set(w) & set("()[]; .") for w in (step.name, *step.args)
    )


def _lower(steps: Any) -> list[GroundAction]:
    return [GroundAction(a.name.lower(), tuple(x.lower() for x in a.args)) for a in map(to_ground_action, steps)]


# ------------------------------------------------------------------ minimal cases found by fuzzing


@pytest.mark.parametrize(
    "plan",
    [
        ["(UNSTACK C A)", "(put-down c)", "(pick-up b)", "(stack b c)", "(pick-up a)", "(stack a b)"],
        ["(unstack c a)", "(put-down \u212a)"],  # KELVIN SIGN lowercases to "k": no such block
        ["(unstack c a)", "(put-down c c)"],
        ["(unstack c a)", "(?ob c)"],
        ["(unstack c a)", "(put-down ?ob)"],
        ["(stack a b)", "(unstack c a)"],
        ["(pick-up a\x00)"],
        [],
    ],
)
def test_tricky_plans_agree(plan: list[str]) -> None:
    problem = next(fp for fp in PROBLEMS if fp.label == "sussman").problem
    steps = [GroundAction(*(lambda w: (w[0], tuple(w[1:])))(s.strip("()").split(" "))) for s in plan]
    assert compare(problem, steps).problems == []


def test_critic_never_certifies_prose() -> None:
    domain, fp, task = next(t for t in TASKS if t[1].label == "sussman" and t[0].style == "pddl")
    gold = "\n".join(str(a) for a in fp.gold)
    for text in (gold, f"[PLAN]\n{gold}\nI am done.\n[PLAN END]", f"1. {gold}", f"Here:\n[PLAN]\n{gold}"):
        _, result = compare_text(domain, task, fp, text)
        assert result.problems == []
    candidate, result = compare_text(domain, task, fp, f"[PLAN]\n{gold}\nI am done.")
    assert not result.ours_valid and not result.up_valid and candidate.answer[-1][0] == "i am done"
    assert isinstance(candidate, Candidate)


def test_problems_load_from_text_and_files_alike() -> None:
    fp = next(p for p in PROBLEMS if p.label == "gripper")
    again = load_problem(Path(fp.domain_file).read_text(), Path(fp.problem_file).read_text())
    assert validate(again, fp.gold).valid
