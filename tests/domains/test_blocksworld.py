"""Blocksworld and Mystery: prompts, parsing both plan styles, critiques in the prompt's vocabulary."""

from __future__ import annotations

import pytest

from llm_modulo import FeedbackLevel, Prompt, SamplingParams
from llm_modulo.domains.blocksworld import mystery_blocksworld
from llm_modulo.domains.planning import PLAN_END
from llm_modulo.feedback import domain_critique
from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.registry import load_planning_instance, load_planning_task


def _check(domain, task, text):
    candidate = domain.parse(task, text)
    return candidate, [c.check(task, candidate) for c in domain.critics(task)]


def test_prompt_is_planbench_style_one_shot(bw, sussman):
    prompt = bw.prompt(sussman)
    text = prompt.messages[0]["content"]
    assert text.startswith("I am playing with a set of blocks")
    assert text.count("[STATEMENT]") == 2 and text.count(PLAN_END) == 1 and text.count("[PLAN]") == 1
    assert "the orange block is on top of the red block" in text
    assert (
        "My goal is to have that the red block is on top of the blue block and the blue block is on top of the orange block."
        in text
    )
    assert text.rstrip().endswith("My plan is as follows:")
    assert prompt.prefill == "[PLAN]\n"


def test_pddl_style_prompt(sussman):
    from llm_modulo.domains.blocksworld import blocksworld, sussman_anomaly

    domain = blocksworld(style="pddl")
    task = sussman_anomaly(domain)
    text = domain.prompt(task).messages[0]["content"]
    assert "(on c a)" in text and "(:action unstack" in text or "(unstack" in text
    assert domain.render_action("unstack", ("c", "a")) == "(unstack c a)"


@pytest.mark.parametrize(
    "text",
    [
        "(unstack c a)\n(put-down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)",
        "(UNSTACK C A)\n(Put-Down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)\n[PLAN END]\ntrailing junk",
        "(unstack orange red)\n(put-down orange)\n(pick-up blue)\n(stack blue orange)\n(pick-up red)\n(stack red blue)",
        "1. Unstack the orange block from on top of the red block.\n2. put down the orange block\n"
        "3. pick up blue block\n4. stack blue block on top of orange block\n5. pick up the red block\n"
        "6. stack the red block on top of the blue block\n[PLAN END]",
    ],
)
def test_parses_every_plan_style(bw, sussman, text):
    candidate, verdicts = _check(bw, sussman, text)
    assert candidate.answer == [
        ("unstack", ("c", "a")),
        ("put-down", ("c",)),
        ("pick-up", ("b",)),
        ("stack", ("b", "c")),
        ("pick-up", ("a",)),
        ("stack", ("a", "b")),
    ]
    assert verdicts[0].valid


def test_text_that_is_not_an_action_is_an_invalid_step(bw, sussman):
    candidate, verdicts = _check(
        bw, sussman, "unstack the orange block from on top of the red block\nfly to the moon\n"
    )
    assert candidate.answer[1] == ("fly to the moon", ())
    assert not verdicts[0].valid
    assert verdicts[0].violations[0].kind == "unknown_action" and verdicts[0].violations[0].step == 2
    critique = domain_critique(bw, sussman, candidate, verdicts, FeedbackLevel.FIRST)
    assert "Step 2, (fly to the moon), is not an action I can do" in critique


def test_unknown_object_and_wrong_arity_are_verdicts(bw, sussman):
    candidate, verdicts = _check(bw, sussman, "(pick-up purple)\n(stack a)\n")
    kinds = [v.kind for v in verdicts[0].violations if v.step]
    assert kinds == ["unknown_object", "wrong_arity"]


def test_critique_in_vocabulary(bw, sussman):
    text = "unstack the orange block from on top of the red block\nput down the orange block\npick up the red block\nstack the red block on top of the blue block\nstack the blue block on top of the orange block\n"
    candidate, verdicts = _check(bw, sussman, text)
    critique = domain_critique(bw, sussman, candidate, verdicts, FeedbackLevel.FIRST)
    assert critique == (
        "The plan is not valid. Step 5, stack the blue block on top of the orange block, is not possible: "
        "the hand is not currently holding blue block."
    )
    assert bw.valid_prefix(sussman, candidate, verdicts).count("\n") in (3, 4)


def test_mystery_uses_its_own_vocabulary(planbench):
    domain, task = load_planning_instance("blocksworld/mystery/generated_basic/instance-2")
    assert domain.name == "mystery_blocksworld"
    prompt = domain.prompt(task).messages[0]["content"]
    assert "object a craves object b" in prompt and "Attack" in prompt
    candidate, verdicts = _check(
        domain,
        task,
        "feast object d from object c\nsuccumb object d\nattack object c\novercome object c from object a\n[PLAN END]",
    )
    assert verdicts[0].valid
    candidate, verdicts = _check(domain, task, "attack object c\n")
    critique = domain_critique(domain, task, candidate, verdicts, FeedbackLevel.FIRST)
    assert critique.startswith(
        "The plan is not valid. Step 1, attack object c, is not possible: province object c does not hold"
    )


def test_blocksworld_vocabulary_detected_from_pddl(planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-2")
    assert domain.name == "blocksworld"
    assert task.id == "blocksworld/generated_basic/instance-2"


def test_unknown_domain_pddl_gets_generic_pddl_domain(tmp_path):
    dom = tmp_path / "d.pddl"
    dom.write_text(
        "(define (domain lights) (:requirements :strips) (:predicates (on ?x))"
        " (:action flip :parameters (?x) :precondition (not (on ?x)) :effect (on ?x)))"
    )
    prob = tmp_path / "p.pddl"
    prob.write_text("(define (problem p) (:domain lights) (:objects l1 l2) (:init) (:goal (and (on l1) (on l2))))")
    domain, task = load_planning_task(str(dom), str(prob))
    assert domain.name == "pddl"
    _, verdicts = _check(domain, task, "(flip l1)\n(flip l2)\n")
    assert verdicts[0].valid
    assert "flip l1" in domain.constraint(task).lines  # natural language generated from the PDDL
    pddl_domain, pddl_task = load_planning_task(str(dom), str(prob), style="pddl")
    assert "(flip l1)" in pddl_domain.constraint(pddl_task).lines


def test_random_proposer_draws_well_formed_plans(bw, sussman):
    constraint = bw.constraint(sussman)
    assert len(constraint.lines) == 3 + 3 + 9 + 9  # PDDL allows (stack a a) to be written; the critic rejects it
    batch = RandomProposer(seed=1).sample(Prompt(messages=()), 50, SamplingParams(seed=3), constraint)
    assert len(batch.completions) == 50
    for completion in batch.completions:
        candidate, verdicts = _check(bw, sussman, completion.text)
        assert all(v.kind not in ("unknown_action", "unknown_object", "wrong_arity") for v in verdicts[0].violations)
        assert completion.text.endswith(PLAN_END)


def test_mystery_domain_refuses_blocksworld_pddl(planbench):
    from llm_modulo.errors import InputError

    with pytest.raises(InputError, match="does not fit"):
        mystery_blocksworld().load("blocksworld/generated_basic/instance-2")


# -- Randomized Mystery Blocksworld -----------------------------------------------------------

RANDOM_PLAN_NL = (
    "xptxjrdkbi3pqsqr object d from object c\n9big8ruzarkkquyu object d\n1jpkithdyjmlikck object c\n"
    "2ijg9q8swj2shjel object c from object a\n[PLAN END]"
)
RANDOM_PLAN = [("unstack", ("d", "c")), ("put-down", ("d",)), ("pick-up", ("c",)), ("stack", ("c", "a"))]


@pytest.fixture(scope="module")
def random_task(planbench):
    from llm_modulo.domains.blocksworld import random_mystery_blocksworld

    domain = random_mystery_blocksworld()
    # mystery instance-2's problem, in Blocksworld's own PDDL
    return domain, domain.load("blocksworld/generated_basic/instance-2")


def test_random_mystery_uses_random_strings(random_task):
    domain, task = random_task
    assert domain.name == "random_mystery_blocksworld"
    text = domain.prompt(task).messages[0]["content"]
    assert "1jpkithdyjmlikck object" in text and "Attack" not in text and "pick up" not in text
    assert "object a 4dmf1cmtyxgsp94g object b" in text and "3covmuy4yrjthijd" in text
    # the worked example is Blocksworld's, rendered in the random vocabulary
    assert text.count("[STATEMENT]") == 2 and "2ijg9q8swj2shjel object" in text.split("[PLAN]")[1]


def test_random_mystery_plan_and_critique(random_task):
    domain, task = random_task
    candidate, verdicts = _check(domain, task, RANDOM_PLAN_NL)
    assert candidate.answer == RANDOM_PLAN and verdicts[0].valid
    candidate, verdicts = _check(domain, task, "1jpkithdyjmlikck object c\n")
    critique = domain_critique(domain, task, candidate, verdicts, FeedbackLevel.FIRST)
    assert critique.startswith(
        "The plan is not valid. Step 1, 1jpkithdyjmlikck object c, is not possible: aqcjuuehivl8auwt object c does not hold"
    )


def test_random_mystery_pddl_style_hides_the_names(planbench):
    from llm_modulo.domains.blocksworld import random_mystery_blocksworld

    domain = random_mystery_blocksworld(style="pddl")
    task = domain.load("blocksworld/generated_basic/instance-2")
    text = domain.prompt(task).messages[0]["content"]
    assert "(:action 1jpkithdyjmlikck" in text and "(4dmf1cmtyxgsp94g a b)" in text
    assert "pick-up" not in text and "(on " not in text and "handempty" not in text
    lines = domain.constraint(task).lines
    assert "(xptxjrdkbi3pqsqr d c)" in lines
    plan = "(XPTXJRDKBI3PQSQR d c)\n(9big8ruzarkkquyu d)\n(pick-up c)\n(2ijg9q8swj2shjel c a)"
    candidate, verdicts = _check(domain, task, plan)
    assert candidate.answer == RANDOM_PLAN and verdicts[0].valid


def test_random_mystery_is_not_chosen_for_blocksworld_pddl(planbench):
    domain, _ = load_planning_instance("blocksworld/generated_basic/instance-2")
    assert domain.name == "blocksworld"


def test_random_mystery_random_proposer_and_search(random_task):
    from llm_modulo.strategies.search import Search
    from llm_modulo.types import Budget

    domain, task = random_task
    constraint = domain.constraint(task)
    batch = RandomProposer(seed=1).sample(Prompt(messages=()), 20, SamplingParams(seed=3), constraint)
    for completion in batch.completions:
        candidate, verdicts = _check(domain, task, completion.text)
        assert all(v.kind not in ("unknown_action", "unknown_object", "wrong_arity") for v in verdicts[0].violations)
    result = Search(RandomProposer(seed=0), domain, budget=Budget(nodes=100, rounds=None, samples=None)).run(task)
    assert result.verified and len(result.answer) == 4


def test_soft_critic_on_blocksworld_domains(planbench):
    from llm_modulo.domains.blocksworld import random_mystery_blocksworld

    domain = random_mystery_blocksworld(soft_critics=True)
    task = domain.load("blocksworld/generated_basic/instance-2")
    assert task.meta == {"known_plan_length": 4}
    detour = "xptxjrdkbi3pqsqr object a from object b\n2ijg9q8swj2shjel object a from object b\n" + RANDOM_PLAN_NL
    candidate, verdicts = _check(domain, task, detour)
    assert verdicts[0].valid and not verdicts[1].hard and verdicts[1].score == pytest.approx(4 / 6)
    assert "Advice: the plan works, but it has 6 steps; a plan with 4 steps exists." in domain_critique(
        domain, task, candidate, verdicts, FeedbackLevel.FIRST
    )
