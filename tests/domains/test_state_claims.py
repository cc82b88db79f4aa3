"""The checked chain of thought: State lines after each action, checked against the simulator."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_modulo.domains.planning.render import PLAN_END, PLAN_START
from llm_modulo.domains.planning.state_claims import read_claims, rendered_state
from llm_modulo.registry import get_domain
from llm_modulo.types import VerdictStatus


def _judge(domain, task, text):
    candidate = domain.parse(task, text)
    return {v.critic: v for v in (c.check(task, candidate) for c in domain.critics(task))}


def _random_walk(task, length: int, seed: int):
    problem = task.payload.problem
    rng = random.Random(seed)
    state, steps = problem.initial_state(), []
    for _ in range(length):
        options = problem.applicable(state)
        if not options:
            break
        action = rng.choice(options)
        steps.append((action.name, tuple(action.args)))
        state = problem.apply(state, steps[-1])
    return steps


@pytest.fixture(scope="module", params=["blocksworld", "mystery_blocksworld"])
def setting(request, planbench):
    folder = "blocksworld" if request.param == "blocksworld" else "blocksworld/mystery"
    domain = get_domain(request.param, cot="state")
    return domain, domain.load(f"{folder}/generated_basic/instance-3")


def test_a_true_chain_of_thought_is_certified(setting):
    domain, task = setting
    problem = task.payload.problem
    from llm_modulo.domains.planning.training import find_plan

    steps, _how = find_plan(domain, task, method="bfs")
    text = f"{PLAN_START}\n" + domain.answer_text(problem, steps, task) + PLAN_END
    verdicts = _judge(domain, task, text)
    assert set(verdicts) == {"plan-validator", "state-claims"}
    assert all(v.status is VerdictStatus.VALID for v in verdicts.values())
    assert verdicts["state-claims"].info["claims_checked"] == len(steps)


def test_the_first_false_claim_is_the_critique(setting):
    domain, task = setting
    problem = task.payload.problem
    from llm_modulo.domains.planning.training import find_plan

    steps, _ = find_plan(domain, task, method="bfs")
    lines = domain.answer_text(problem, steps, task).splitlines()
    # step 2's state claims a fact of step 1's state that no longer holds
    before = set(rendered_state(domain.render_fact, problem, problem.apply(problem.initial_state(), steps[0]), task))
    state2 = problem.apply(problem.apply(problem.initial_state(), steps[0]), steps[1])
    after = set(rendered_state(domain.render_fact, problem, state2, task))
    stale = sorted(before - after)[0]
    lines[3] = lines[3].removesuffix(".") + f" and {stale}."
    verdicts = _judge(domain, task, f"{PLAN_START}\n" + "\n".join(lines) + f"\n{PLAN_END}")
    claims = verdicts["state-claims"]
    assert verdicts["plan-validator"].status is VerdictStatus.VALID  # the plan itself is fine
    assert claims.status is VerdictStatus.INVALID and claims.hard
    (violation,) = claims.violations
    assert violation.kind == "false_state_claim" and violation.step == 2 and stale in violation.message
    critique = domain.describe(violation, domain.parse(task, "\n".join(lines)), task)
    assert stale in critique


def test_a_fact_left_out_or_a_missing_state_line_is_rejected(setting):
    domain, task = setting
    problem = task.payload.problem
    from llm_modulo.domains.planning.training import find_plan

    steps, _ = find_plan(domain, task, method="bfs")
    lines = domain.answer_text(problem, steps, task).splitlines()
    body = lines[1].removeprefix("State: ").removesuffix(".")
    facts, _ = read_claims(
        body, rendered_state(domain.render_fact, problem, problem.apply(problem.initial_state(), steps[0]), task)
    )
    dropped = [*lines]
    dropped[1] = "State: " + ", ".join(facts[1:]) + "."
    claims = _judge(domain, task, "\n".join(dropped) + f"\n{PLAN_END}")["state-claims"]
    assert claims.status is VerdictStatus.INVALID and claims.violations[0].kind == "missing_state_claim"
    bare = domain.plan_text(steps, task) + PLAN_END  # the plan without its chain of thought
    claims = _judge(domain, task, bare)["state-claims"]
    assert claims.status is VerdictStatus.INVALID and claims.violations[0].step == 1


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 8), seed=st.integers(0, 10_000), victim=st.integers(0, 1_000))
def test_true_claims_pass_and_any_changed_claim_fails(planbench, length, seed, victim):
    """Random walks: the annotated text always passes; dropping one fact of one line, or adding
    one that does not hold there, always fails (the plan itself stays valid as a walk)."""
    domain = get_domain("blocksworld", cot="state")
    task = domain.load("blocksworld/generated_basic/instance-5")
    problem = task.payload.problem
    steps = _random_walk(task, length, seed)
    text = domain.answer_text(problem, steps, task)
    claims = _judge(domain, task, text)["state-claims"]
    assert claims.status is VerdictStatus.VALID
    lines = text.splitlines()
    k = victim % len(steps)
    state = problem.initial_state()
    for step in steps[: k + 1]:
        state = problem.apply(state, step)
    truth = rendered_state(domain.render_fact, problem, state, task)
    if victim % 2 and len(truth) > 1:
        changed = truth[:-1]
    else:
        others = {f for s in (problem.initial_state(),) for f in rendered_state(domain.render_fact, problem, s, task)}
        extra = sorted(others - set(truth)) or ["the moon is made of cheese"]
        changed = [*truth, extra[0]]
    lines[2 * k + 1] = "State: " + ", ".join(changed) + "."
    claims = _judge(domain, task, "\n".join(lines))["state-claims"]
    assert claims.status is VerdictStatus.INVALID and claims.violations[0].step == k + 1


def test_unknown_cot_format_is_an_input_error():
    from llm_modulo.errors import InputError

    with pytest.raises(InputError, match="chain-of-thought"):
        get_domain("blocksworld", cot="magic")
