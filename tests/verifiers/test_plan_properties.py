"""Property tests: on mutated, random and random-walk plans the grounded validator agrees with
unified-planning's SequentialPlanValidator, down to the first inapplicable step; ill-formed
plans are INVALID (never an exception) with the right failure kind.

Example counts: ``PLANBENCH_PROPERTY_EXAMPLES`` (default 1500) well-formed plans are compared
with unified-planning, plus 1000 ill-formed plans checked without it; about 30 s on one core.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plan_fixtures import BLOCKS_DOMAIN, SUSSMAN_PLAN, SUSSMAN_PROBLEM, TINY_DOMAIN, TINY_PLAN, TINY_PROBLEM
from planbench_gold import gold_cases

from llm_modulo.types import Candidate, Task, VerdictStatus
from llm_modulo.verifiers.planning import (
    GroundAction,
    PlanCritic,
    PlanningProblem,
    load_problem,
    parse_pddl_plan,
    up_validate,
    validate,
)
from llm_modulo.verifiers.planning.reference import _validator, up_plan

AGREEMENT_EXAMPLES = int(os.environ.get("PLANBENCH_PROPERTY_EXAMPLES", "1500"))
MALFORMED_EXAMPLES = 1000

# (set, instance id): small and large Blocksworld, Mystery, untyped Logistics
PLANBENCH_PICKS = [
    ("blocksworld", 2),
    ("blocksworld", 120),
    ("blocksworld_3", 5),
    ("mystery_blocksworld", 7),
    ("logistics", 2),
    ("logistics", 200),
    ("blocksworld_hard", 3),
]


@dataclass
class Instance:
    label: str
    problem: PlanningProblem
    gold: list[GroundAction]
    well_formed: list[GroundAction]
    reachable: list[GroundAction]


@pytest.fixture(scope="module")
def instances(planbench: Path) -> list[Instance]:
    out = [
        _instance("tiny", load_problem(TINY_DOMAIN, TINY_PROBLEM), TINY_PLAN),
        _instance("sussman", load_problem(BLOCKS_DOMAIN, SUSSMAN_PROBLEM), SUSSMAN_PLAN),
    ]
    for set_name, iid in PLANBENCH_PICKS:
        case = next(c for c in gold_cases(planbench, set_name) if c.instance_id == iid)
        out.append(_instance(case.id, load_problem(case.domain, case.problem), case.plan_text))
    return out


def _instance(label: str, problem: PlanningProblem, plan_text: str) -> Instance:
    return Instance(
        label, problem, parse_pddl_plan(plan_text), problem.well_formed_actions(), problem.reachable_actions()
    )


# ------------------------------------------------------------------ plan generators


def _pick(actions: list[GroundAction]) -> st.SearchStrategy[GroundAction]:
    """Like ``sampled_from``, which is slow on the 400,896 groundings of an untyped Logistics task."""
    return st.integers(0, len(actions) - 1).map(actions.__getitem__)


@st.composite
def well_formed_plans(draw: st.DrawFn, instances: list[Instance]) -> tuple[Instance, list[GroundAction]]:
    inst = draw(st.sampled_from(instances))
    # any type-correct grounding, or one that can be applicable somewhere (far fewer in Logistics)
    any_action = _pick(inst.well_formed) | _pick(inst.reachable)
    kind = draw(st.sampled_from(["mutate", "mutate", "random", "walk", "detour"]))
    if kind == "random":
        return inst, draw(st.lists(any_action, max_size=10))
    if kind == "detour":  # a gold prefix, a random walk, then a shortest way to the goal (valid)
        plan = inst.gold[: draw(st.integers(0, len(inst.gold)))]
        state = _run(inst.problem, plan)
        for _ in range(draw(st.integers(0, 4))):
            options = inst.problem.applicable(state)
            if not options:
                break
            plan.append(draw(st.sampled_from(options)))
            state = inst.problem.apply(state, plan[-1])
        rest = _shortest_completion(inst, state)
        return inst, plan + (rest if rest is not None else [])
    if kind == "walk":  # a random walk of applicable actions, then maybe the gold plan's tail
        plan: list[GroundAction] = []
        state = inst.problem.initial_state()
        for _ in range(draw(st.integers(0, len(inst.gold) + 2))):
            options = inst.problem.applicable(state)
            if not options:
                break
            step = draw(st.sampled_from(options))
            plan.append(step)
            state = inst.problem.apply(state, step)
        if draw(st.booleans()):
            plan += inst.gold[draw(st.integers(0, len(inst.gold))) :]
        return inst, plan
    plan = list(inst.gold)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "swap", "duplicate", "insert", "replace"]))
        if not plan and op != "insert":
            continue
        i = draw(st.integers(0, max(0, len(plan) - 1)))
        if op == "drop":
            del plan[i]
        elif op == "swap":
            j = draw(st.integers(0, len(plan) - 1))
            plan[i], plan[j] = plan[j], plan[i]
        elif op == "duplicate":
            plan.insert(i, plan[i])
        elif op == "insert":
            plan.insert(draw(st.integers(0, len(plan))), draw(any_action))
        else:
            plan[i] = draw(any_action)
    return inst, plan


def _run(problem: PlanningProblem, plan: list[GroundAction]) -> int:
    state = problem.initial_state()
    for step in plan:
        state = problem.apply(state, step)
    return state


_COMPLETIONS: dict[tuple[str, int], list[GroundAction] | None] = {}


def _shortest_completion(inst: Instance, start: int, limit: int = 1500) -> list[GroundAction] | None:
    """Breadth-first search to the goal over applicable/apply; None beyond ``limit`` states.

    Only for tasks of at most 5 objects: on larger ones the search costs more than the check.
    """
    key = (inst.label, start)
    if len(inst.problem.objects) > 5:
        return None
    if key not in _COMPLETIONS:
        problem = inst.problem
        parent: dict[int, tuple[int, GroundAction] | None] = {start: None}
        frontier = [start]
        found = start if problem.goal_reached(start) else None
        while frontier and found is None and len(parent) < limit:
            nxt = []
            for state in frontier:
                for action in problem.applicable(state):
                    succ = problem.apply(state, action)
                    if succ not in parent:
                        parent[succ] = (state, action)
                        if problem.goal_reached(succ):
                            found = succ
                            break
                        nxt.append(succ)
                if found is not None:
                    break
            frontier = nxt
        path: list[GroundAction] | None = None
        if found is not None:
            path = []
            while (link := parent[found]) is not None:
                found, action = link
                path.append(action)
            path.reverse()
        _COMPLETIONS[key] = path
    return _COMPLETIONS[key]


def _up_result(problem: PlanningProblem, plan: list[GroundAction]) -> tuple[bool, str, str | None]:
    """(valid, reason, inapplicable action as "(name args)") from unified-planning."""
    from unified_planning.engines.results import ValidationResultStatus

    result = _validator(problem).validate(problem.up_problem, up_plan(problem, plan))
    bad = result.inapplicable_action
    bad_str = None if bad is None else str(GroundAction(bad.action.name, tuple(str(p) for p in bad.actual_parameters)))
    reason = "" if result.reason is None else result.reason.name
    return result.status is ValidationResultStatus.VALID, reason, bad_str


@settings(
    max_examples=AGREEMENT_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_property_agreement_with_unified_planning(instances: list[Instance], data: st.DataObject) -> None:
    inst, plan = data.draw(well_formed_plans(instances))
    ours = validate(inst.problem, plan)
    valid, reason, bad = _up_result(inst.problem, plan)
    event(f"unified-planning: {reason or 'VALID'}")
    assert ours.valid == valid, (inst.label, [str(a) for a in plan], ours, reason)
    if reason == "INAPPLICABLE_ACTION":
        first = ours.first_failure
        assert first is not None and first.kind == "inapplicable" and str(first.action) == bad
    elif reason == "UNSATISFIED_GOALS":
        assert ours.failures == [] and ours.unmet_goals


# ------------------------------------------------------------------ ill-formed plans

_NAMES = st.text(string.ascii_lowercase + "-", min_size=1, max_size=8)


@st.composite
def ill_formed_plans(draw: st.DrawFn, instances: list[Instance]) -> tuple[Instance, list[GroundAction], int, str]:
    inst = draw(st.sampled_from(instances))
    plan = list(inst.gold)
    i = draw(st.integers(0, len(plan) - 1))
    step = plan[i]
    schema = inst.problem.action_schemas[step.name]
    kinds = ["unknown_action", "wrong_arity", "unknown_object"]
    mistyped = [
        (j, o)
        for j, (_, t) in enumerate(schema.parameters)
        for o in inst.problem.objects
        if not inst.problem.fits(o, t)
    ]
    if mistyped:
        kinds.append("wrong_type")
    kind = draw(st.sampled_from(kinds))
    if kind == "unknown_action":
        name = "x-" + draw(_NAMES)  # no action is named "x-..."
        bad = GroundAction(name, step.args)
    elif kind == "wrong_arity":
        extra = draw(st.sampled_from(list(inst.problem.objects)))
        bad = GroundAction(step.name, step.args[:-1] if step.args and draw(st.booleans()) else (*step.args, extra))
    elif kind == "unknown_object":
        if not step.args:
            kind = "wrong_arity"
        obj = "x-" + draw(_NAMES)  # PlanBench and fixture objects never start with "x-"
        bad = GroundAction(step.name, (*step.args[:-1], obj) if step.args else (obj,))
    else:
        j, obj = draw(st.sampled_from(mistyped))
        bad = GroundAction(step.name, tuple(obj if k == j else a for k, a in enumerate(step.args)))
    plan[i] = bad
    return inst, plan, i + 1, kind


@settings(max_examples=MALFORMED_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(data=st.data(), shout=st.booleans())
def test_property_ill_formed_plans_are_invalid_verdicts(
    instances: list[Instance], data: st.DataObject, shout: bool
) -> None:
    inst, plan, step, kind = data.draw(ill_formed_plans(instances))
    event(kind)
    if shout:  # names are case-insensitive: the verdict must not change
        plan = [GroundAction(a.name.upper(), tuple(x.upper() for x in a.args)) for a in plan]
    report = validate(inst.problem, plan)
    first = report.first_failure
    assert first is not None and (first.step, first.kind) == (step, kind)
    verdict = PlanCritic().check(
        Task(id=inst.label, domain="pddl", payload=inst.problem), Candidate(text="", answer=plan)
    )
    assert verdict.status is VerdictStatus.INVALID
    assert (verdict.violations[0].step, verdict.violations[0].kind) == (step, kind)
    assert verdict.progress is not None and verdict.progress.valid == step - 1
    assert not up_validate(inst.problem, plan)
