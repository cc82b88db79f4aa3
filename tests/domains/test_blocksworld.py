"""Blocksworld and Mystery: prompts, parsing both plan styles, critiques in the prompt's vocabulary."""

from __future__ import annotations

import pytest

from llm_modulo import FeedbackLevel, Prompt, SamplingParams
from llm_modulo.domains.blocksworld import mystery_blocksworld
from llm_modulo.domains.planning import PLAN_END
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
    assert "My goal is to have that the red block is on top of the blue block and the blue block is on top of the orange block." in text
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
    assert candidate.answer == [("unstack", ("c", "a")), ("put-down", ("c",)), ("pick-up", ("b",)),
                                ("stack", ("b", "c")), ("pick-up", ("a",)), ("stack", ("a", "b"))]
    assert verdicts[0].valid


def test_text_that_is_not_an_action_is_an_invalid_step(bw, sussman):
    candidate, verdicts = _check(bw, sussman, "unstack the orange block from on top of the red block\nfly to the moon\n")
    assert candidate.answer[1] == ("fly to the moon", ())
    assert not verdicts[0].valid
    assert verdicts[0].violations[0].kind == "unknown_action" and verdicts[0].violations[0].step == 2
    critique = bw.critique(sussman, candidate, verdicts, FeedbackLevel.FIRST)
    assert "Step 2, (fly to the moon), is not an action I can do" in critique


def test_unknown_object_and_wrong_arity_are_verdicts(bw, sussman):
    candidate, verdicts = _check(bw, sussman, "(pick-up purple)\n(stack a)\n")
    kinds = [v.kind for v in verdicts[0].violations if v.step]
    assert kinds == ["unknown_object", "wrong_arity"]


def test_critique_in_vocabulary(bw, sussman):
    text = "unstack the orange block from on top of the red block\nput down the orange block\npick up the red block\nstack the red block on top of the blue block\nstack the blue block on top of the orange block\n"
    candidate, verdicts = _check(bw, sussman, text)
    critique = bw.critique(sussman, candidate, verdicts, FeedbackLevel.FIRST)
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
    candidate, verdicts = _check(domain, task, "feast object d from object c\nsuccumb object d\nattack object c\novercome object c from object a\n[PLAN END]")
    assert verdicts[0].valid
    candidate, verdicts = _check(domain, task, "attack object c\n")
    critique = domain.critique(task, candidate, verdicts, FeedbackLevel.FIRST)
    assert critique.startswith("The plan is not valid. Step 1, attack object c, is not possible: province object c does not hold")


def test_blocksworld_vocabulary_detected_from_pddl(planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-2")
    assert domain.name == "blocksworld"
    assert task.id == "blocksworld/generated_basic/instance-2"


def test_unknown_domain_pddl_gets_generic_pddl_domain(tmp_path):
    dom = tmp_path / "d.pddl"
    dom.write_text("(define (domain lights) (:requirements :strips) (:predicates (on ?x))"
                   " (:action flip :parameters (?x) :precondition (not (on ?x)) :effect (on ?x)))")
    prob = tmp_path / "p.pddl"
    prob.write_text("(define (problem p) (:domain lights) (:objects l1 l2) (:init) (:goal (and (on l1) (on l2))))")
    domain, task = load_planning_task(str(dom), str(prob))
    assert domain.name == "pddl"
    _, verdicts = _check(domain, task, "(flip l1)\n(flip l2)\n")
    assert verdicts[0].valid
    assert "(flip l1)" in domain.constraint(task).lines


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
