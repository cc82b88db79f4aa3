"""FF's relaxed-plan heuristic over the grounded simulator."""

from __future__ import annotations

import math

from llm_modulo.domains.planning.heuristic import RelaxedPlanHeuristic
from llm_modulo.registry import load_planning_instance


def test_zero_at_the_goal_and_positive_before(sussman, sussman_plan_text, bw):
    problem = sussman.payload.problem
    h = RelaxedPlanHeuristic(problem)
    state = problem.initial_state()
    values = [h(state)]
    for step in bw.parse(sussman, sussman_plan_text).answer:
        state = problem.apply(state, step)
        values.append(h(state))
    assert values[-1] == 0
    assert all(v >= 1 for v in values[:-1])
    # not admissible, but close to the true distance here
    assert all(v <= 2 * (len(values) - 1 - i) for i, v in enumerate(values))


def test_relaxed_plan_is_finite_and_bounded_by_the_optimal_plan_on_hard_instances(planbench):
    """On the optimal plan's states, h_FF is finite, 0 only at the goal, and within 2x the true distance."""
    import json

    info = json.loads((planbench / "blocksworld_hard" / "info.json").read_text())
    for name in ["instance-1", "instance-2", "instance-3"]:
        domain, task = load_planning_instance(f"blocksworld_hard/generated/{name}")
        problem = task.payload.problem
        h = RelaxedPlanHeuristic(problem)
        plan = domain.parse(task, info[f"{name}.pddl"]["plan"]).answer
        assert len(plan) == info[f"{name}.pddl"]["length"]
        state = problem.initial_state()
        for i, step in enumerate(plan):
            left = len(plan) - i
            assert 1 <= h(state) <= 2 * left
            state = problem.apply(state, step)
        assert h(state) == 0 and problem.goal_reached(state)


def test_unreachable_goal_is_infinite(tmp_path):
    domain = tmp_path / "d.pddl"
    domain.write_text(
        "(define (domain lamp) (:predicates (on) (off) (broken))"
        " (:action switch-on :parameters () :precondition (off) :effect (and (on) (not (off)))))"
    )
    problem = tmp_path / "p.pddl"
    problem.write_text("(define (problem p) (:domain lamp) (:init (off)) (:goal (and (broken))))")
    from llm_modulo.verifiers.planning.pddl import load_problem

    p = load_problem(domain, problem)
    assert RelaxedPlanHeuristic(p)(p.initial_state()) == math.inf
