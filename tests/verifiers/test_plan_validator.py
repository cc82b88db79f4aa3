"""The grounded validator's semantics and PlanCritic's verdicts on tiny hand-written tasks."""

from __future__ import annotations

import pytest
from plan_fixtures import (
    BLOCKS_DOMAIN,
    CONDITIONAL_DOMAIN,
    CONDITIONAL_PROBLEM,
    COST_DOMAIN,
    COST_PROBLEM,
    DURATIVE_DOMAIN,
    DURATIVE_PROBLEM,
    NUMERIC_DOMAIN,
    NUMERIC_PROBLEM,
    SUSSMAN_PLAN,
    SUSSMAN_PROBLEM,
    TINY_DOMAIN,
    TINY_PLAN,
    TINY_PROBLEM,
)

from llm_modulo.errors import InputError
from llm_modulo.types import Candidate, Progress, Task, Verdict, VerdictStatus
from llm_modulo.verifiers.planning import (
    GroundAction,
    PlanCritic,
    PlanningProblem,
    load_problem,
    parse_pddl_plan,
    up_validate,
    validate,
)


@pytest.fixture(scope="module")
def tiny() -> PlanningProblem:
    return load_problem(TINY_DOMAIN, TINY_PROBLEM)


@pytest.fixture(scope="module")
def sussman() -> PlanningProblem:
    return load_problem(BLOCKS_DOMAIN, SUSSMAN_PROBLEM)


def critic_check(problem: object, plan: object) -> Verdict:
    return PlanCritic().check(Task(id="t", domain="pddl", payload=problem), Candidate(text="", answer=plan))


def test_gold_plans_are_valid(tiny: PlanningProblem, sussman: PlanningProblem) -> None:
    for problem, text in ((tiny, TINY_PLAN), (sussman, SUSSMAN_PLAN)):
        report = validate(problem, parse_pddl_plan(text))
        assert report.valid and report.failures == [] and report.unmet_goals == []
        assert report.valid_prefix_len == report.plan_len == report.best_prefix_len
        assert report.goal_fraction_in_prefix == 1.0
        assert up_validate(problem, parse_pddl_plan(text))


def test_steps_may_be_ground_actions_pairs_or_strings(sussman: PlanningProblem) -> None:
    as_pairs = [(a.name, list(a.args)) for a in parse_pddl_plan(SUSSMAN_PLAN)]
    as_strings = SUSSMAN_PLAN.splitlines()
    assert validate(sussman, as_pairs).valid and validate(sussman, as_strings).valid


def test_case_insensitive_names(sussman: PlanningProblem) -> None:
    plan = [GroundAction("UNSTACK", ("C", "A")), ("Put-Down", ["c"]), "(PICK-UP B)", ("stack", ("B", "c"))]
    plan += ["(pick-up a)", "(STACK A B)"]
    assert validate(sussman, plan).valid
    assert critic_check(sussman, plan).status is VerdictStatus.VALID


def test_empty_plan_is_valid_iff_goal_holds_initially(sussman: PlanningProblem) -> None:
    report = validate(sussman, [])
    assert not report.valid and report.failures == [] and report.plan_len == 0
    assert report.unmet_goals == [(True, ("on", "a", "b")), (True, ("on", "b", "c"))]
    solved = load_problem(BLOCKS_DOMAIN, SUSSMAN_PROBLEM.replace("(on a b) (on b c)", "(on c a) (clear b)"))
    assert validate(solved, []).valid
    assert critic_check(solved, []).valid


def test_every_failure_is_reported_and_failing_steps_are_skipped(tiny: PlanningProblem) -> None:
    plan = parse_pddl_plan(
        "(fly t1 a b) (break p1) (drive t1 a a) (drive t1 a b) (teleport t1) (drive t1 b)"
        " (drive t1 b moon) (drive t1 b depot) (break t1) (drive t1 depot b)"
    )
    report = validate(tiny, plan)
    kinds = [(f.step, f.kind) for f in report.failures]
    assert kinds == [
        (1, "wrong_type"),
        (2, "inapplicable"),
        (3, "inapplicable"),
        (5, "unknown_action"),
        (6, "wrong_arity"),
        (7, "unknown_object"),
        (10, "inapplicable"),
    ]
    assert report.failures[1].unmet == [(True, ("at", "p1", "depot"))]
    assert report.failures[2].unmet == [(True, ("road", "a", "a")), (False, ("=", "a", "a"))]
    # negative precondition: t1 broke at step 9
    assert report.failures[-1].unmet == [(True, ("road", "depot", "b")), (False, ("broken", "t1"))]
    assert report.first_failure is report.failures[0]
    assert report.valid_prefix_len == 0
    # goals are judged after the valid prefix (here: the initial state)
    assert len(report.unmet_goals) == 3 and report.goal_fraction_in_prefix == 0.0


def test_prefix_figures(sussman: PlanningProblem) -> None:
    # reaches (on b c) at step 4, then undoes it, then fails at step 7
    plan = parse_pddl_plan(SUSSMAN_PLAN)[:4] + parse_pddl_plan("(unstack b c) (put-down b) (stack a b) (pick-up a)")
    report = validate(sussman, plan)
    assert [f.step for f in report.failures] == [7]
    assert report.valid_prefix_len == 6
    assert report.best_prefix_len == 4
    assert report.goal_fraction_in_prefix == 0.0  # after step 6 neither goal holds
    assert report.unmet_goals == [(True, ("on", "a", "b")), (True, ("on", "b", "c"))]


def test_goal_met_mid_plan_but_later_failure_is_invalid(sussman: PlanningProblem) -> None:
    plan = parse_pddl_plan(SUSSMAN_PLAN + "\n(stack a b)")
    report = validate(sussman, plan)
    assert not report.valid and report.unmet_goals == [] and report.goal_fraction_in_prefix == 1.0
    assert [f.step for f in report.failures] == [7]


def test_invalid_verdict_carries_violations_score_and_info(sussman: PlanningProblem) -> None:
    plan = parse_pddl_plan("(unstack c a) (stack c b) (stack a b) (fly a) (pick-up zz) (stack a) (put-down c)")
    verdict = critic_check(sussman, plan)
    assert verdict.status is VerdictStatus.INVALID and verdict.hard and verdict.critic == "plan-validator"
    assert verdict.engine == "grounded-strips"
    kinds = [(v.kind, v.step) for v in verdict.violations]
    assert kinds == [
        ("inapplicable", 3),
        ("unknown_action", 4),
        ("unknown_object", 5),
        ("wrong_arity", 6),
        ("inapplicable", 7),
        ("unmet_goal", None),
    ]
    first = verdict.violations[0]
    assert first.message == "step 3 (stack a b): preconditions (clear b), (holding a) do not hold"
    assert first.detail == {
        "action": "stack",
        "args": ["a", "b"],
        "unmet": [[True, ["clear", "b"]], [True, ["holding", "a"]]],
        "reason": "preconditions (clear b), (holding a) do not hold",
    }
    assert verdict.violations[1].message.startswith("step 4 (fly a): unknown action fly")
    goal = verdict.violations[-1]
    assert goal.detail["unmet"] == [[True, ["on", "a", "b"]], [True, ["on", "b", "c"]]]
    assert goal.message == "after the valid prefix (2 steps), goals (on a b), (on b c) do not hold"
    assert verdict.progress == Progress(valid=2, best=2, length=7) and verdict.info == {}
    assert verdict.score == pytest.approx(0.9 * 0.0 + 0.1 * 2 / 3)  # goals at best point, then valid steps
    assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict


def test_single_unmet_precondition_message(sussman: PlanningProblem) -> None:
    verdict = critic_check(sussman, [("unstack", ["c", "a"]), ("stack", ["c", "c"])])
    assert verdict.violations[0].message == "step 2 (stack c c): precondition (clear c) does not hold"


def test_unmet_goal_only_scores_below_one(sussman: PlanningProblem) -> None:
    verdict = critic_check(sussman, parse_pddl_plan(SUSSMAN_PLAN)[:4])
    assert [v.kind for v in verdict.violations] == ["unmet_goal"]
    assert verdict.violations[0].message == "after the plan, goal (on a b) does not hold"
    assert verdict.score == pytest.approx(0.9 * 0.5 + 0.1 * 4 / 5) and verdict.score < 1.0


def test_wrong_type_is_an_invalid_verdict(tiny: PlanningProblem) -> None:
    verdict = critic_check(tiny, [GroundAction("fly", ("t1", "a", "b"))])
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.violations[0].kind == "wrong_type"
    assert verdict.violations[0].message == (
        "step 1 (fly t1 a b): t1 is of type truck, but parameter ?v of fly needs type plane"
    )


def test_payload_may_wrap_the_problem(sussman: PlanningProblem) -> None:
    class Wrapped:
        problem = sussman

    assert critic_check(Wrapped(), parse_pddl_plan(SUSSMAN_PLAN)).valid
    with pytest.raises(InputError, match="PlanningProblem"):
        critic_check("not a problem", [])


def test_unparseable_candidate_is_invalid(sussman: PlanningProblem) -> None:
    verdict = critic_check(sussman, None)
    assert verdict.status is VerdictStatus.INVALID and verdict.violations[0].kind == "parse_error"


def test_unsupported_feature_routes_to_unified_planning() -> None:
    problem = load_problem(CONDITIONAL_DOMAIN, CONDITIONAL_PROBLEM)
    good = critic_check(problem, [GroundAction("toggle", ("l1",))])
    assert good.status is VerdictStatus.VALID and good.engine == "unified-planning" and good.score == 1.0
    bad = critic_check(problem, [GroundAction("toggle", ("l2",))])
    assert bad.status is VerdictStatus.INVALID and bad.engine == "unified-planning"
    assert [v.kind for v in bad.violations] == ["unmet_goal"]  # unified-planning's report, located
    assert "on(l1)" in bad.violations[0].message
    assert bad.info["unsupported_feature"].startswith("conditional effects")
    twice = critic_check(problem, [GroundAction("toggle", ("l1",)), GroundAction("TOGGLE", ("L1",))])
    assert [(v.kind, v.step) for v in twice.violations] == [("inapplicable", 2)]
    ill_formed = critic_check(problem, [("toggle", ["l1", "l2"]), ("jump", [])])
    assert ill_formed.status is VerdictStatus.INVALID and ill_formed.engine == "unified-planning"
    assert [(v.kind, v.step) for v in ill_formed.violations] == [("wrong_arity", 1)]


def test_numeric_fluents_route_to_unified_planning() -> None:
    problem = load_problem(NUMERIC_DOMAIN, NUMERIC_PROBLEM)
    assert not problem.supported and "numeric fluents" in (problem.unsupported or "")
    assert critic_check(problem, ["(go a b)"]).status is VerdictStatus.INVALID  # goal (at c) unmet
    out_of_fuel = critic_check(problem, ["(go a b)", "(GO B C)"])
    assert out_of_fuel.status is VerdictStatus.INVALID and out_of_fuel.engine == "unified-planning"
    fuelled = load_problem(NUMERIC_DOMAIN, NUMERIC_PROBLEM.replace("(= (fuel) 1)", "(= (fuel) 2)"))
    assert critic_check(fuelled, ["(go a b)", ("go", ["b", "c"])]).status is VerdictStatus.VALID


def test_what_unified_planning_cannot_validate_is_unknown() -> None:
    problem = load_problem(DURATIVE_DOMAIN, DURATIVE_PROBLEM)
    assert "durative actions" in (problem.unsupported or "")
    verdict = critic_check(problem, [("go", ["o"])])
    assert verdict.status is VerdictStatus.UNKNOWN and verdict.engine == "unified-planning"
    assert verdict.violations[0].kind == "undecided" and "\n" not in verdict.violations[0].message


def test_action_costs_stay_in_the_grounded_fragment() -> None:
    problem = load_problem(COST_DOMAIN, COST_PROBLEM)
    assert problem.supported
    verdict = critic_check(problem, ["(go o)"])
    assert verdict.valid and verdict.engine == "grounded-strips"
