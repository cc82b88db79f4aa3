"""Any STRIPS / typed PDDL domain: both validation engines, case-insensitivity, ``either`` types,
constants, type hierarchies, and natural language generated from the PDDL that reads back."""

from __future__ import annotations

import pytest

from llm_modulo import FeedbackLevel
from llm_modulo.domains.planning import PLAN_END, PlanningDomain, pddl_domain, vocabulary_from_problem
from llm_modulo.domains.planning.autovocab import action_template, predicate_template
from llm_modulo.feedback import domain_critique
from llm_modulo.registry import load_planning_task
from llm_modulo.types import Candidate, Task, VerdictStatus, certified
from llm_modulo.verifiers.planning import PlanCritic, PlanLengthCritic, load_problem, shortest_plan, up_validate

# typed gripper with a type hierarchy, an ``either`` parameter, constants and an inequality
GRIPPER = """
(define (domain Gripper-Typed)
  (:requirements :strips :typing :equality)
  (:types room ball gripper lamp - object heavy - ball)
  (:constants Left Right - gripper)
  (:predicates (at-robby ?r - room) (at ?b - ball ?r - room) (free ?g - gripper)
               (carry ?o - ball ?g - gripper) (lit ?x - object))
  (:action move :parameters (?from ?to - room)
    :precondition (and (at-robby ?from) (not (= ?from ?to)))
    :effect (and (at-robby ?to) (not (at-robby ?from))))
  (:action switch-on :parameters (?x - (either room lamp))
    :precondition (and) :effect (lit ?x))
  (:action pick :parameters (?obj - ball ?room - room ?gripper - gripper)
    :precondition (and (at ?obj ?room) (at-robby ?room) (free ?gripper))
    :effect (and (carry ?obj ?gripper) (not (at ?obj ?room)) (not (free ?gripper))))
  (:action drop :parameters (?obj - ball ?room - room ?gripper - gripper)
    :precondition (and (carry ?obj ?gripper) (at-robby ?room))
    :effect (and (at ?obj ?room) (free ?gripper) (not (carry ?obj ?gripper)))))
"""
GRIPPER_PROBLEM = """
(define (problem gripper-2) (:domain gripper-typed)
  (:objects RoomA roomb - room b1 - ball B2 - heavy desk - lamp)
  (:init (at-robby rooma) (at b1 rooma) (at b2 rooma) (free left) (free right))
  (:goal (and (at b1 roomb) (at b2 roomb) (lit desk))))
"""
GRIPPER_PLAN = [
    "(pick b1 rooma left)",
    "(PICK B2 ROOMA RIGHT)",
    "(move rooma roomb)",
    "(drop b1 roomb left)",
    "(drop b2 roomb right)",
    "(Switch-On Desk)",
]

# a feature the grounded validator leaves to unified-planning: a universally quantified precondition
QUANTIFIED = """
(define (domain lamps) (:requirements :strips :quantified-preconditions)
  (:predicates (on ?x) (done))
  (:action turn-on :parameters (?x) :precondition (not (on ?x)) :effect (on ?x))
  (:action finish :parameters () :precondition (forall (?x) (on ?x)) :effect (done)))
"""
QUANTIFIED_PROBLEM = "(define (problem lamps-2) (:domain lamps) (:objects l1 l2) (:init) (:goal (done)))"


def _task(domain: PlanningDomain, dom: str = GRIPPER, prob: str = GRIPPER_PROBLEM) -> Task:
    return domain.make_task(load_problem(dom, prob), dom, prob, "t")


def _verdicts(domain: PlanningDomain, task: Task, text: str):
    candidate = domain.parse(task, text)
    return candidate, [c.check(task, candidate) for c in domain.critics(task)]


def test_typed_either_constants_and_case_on_the_grounded_engine() -> None:
    domain = pddl_domain()
    task = _task(domain)
    _, verdicts = _verdicts(domain, task, "\n".join(GRIPPER_PLAN))
    assert verdicts[0].valid and verdicts[0].engine == "grounded-strips"
    problem = task.payload.problem
    assert problem.fits("rooma", "(either room lamp)") and problem.fits("desk", "(either room lamp)")
    assert not problem.fits("b1", "(either room lamp)") and problem.fits("b2", "ball")  # heavy is a ball
    _, verdicts = _verdicts(domain, task, "(switch-on b1)\n(pick left rooma b1)\n(move rooma rooma)")
    assert [(v.kind, v.step) for v in verdicts[0].violations][:3] == [
        ("wrong_type", 1),
        ("wrong_type", 2),
        ("inapplicable", 3),
    ]
    assert "(either room lamp)" in verdicts[0].violations[0].message
    # unified-planning agrees, including on the either-typed step it could not parse by itself
    assert up_validate(problem, [(w[0], w[1:]) for w in (s.strip("()").split() for s in GRIPPER_PLAN)])
    assert not up_validate(problem, [("switch-on", ["b1"])])


def test_unsupported_feature_goes_to_unified_planning_with_located_failures() -> None:
    domain = pddl_domain()
    task = _task(domain, QUANTIFIED, QUANTIFIED_PROBLEM)
    assert not task.payload.problem.supported
    _, verdicts = _verdicts(domain, task, "(turn-on l1)\n(TURN-ON L2)\n(finish)")
    assert verdicts[0].valid and verdicts[0].engine == "unified-planning"
    _, verdicts = _verdicts(domain, task, "(turn-on l1)\n(finish)")
    assert verdicts[0].status is VerdictStatus.INVALID and verdicts[0].engine == "unified-planning"
    assert [(v.kind, v.step) for v in verdicts[0].violations] == [("inapplicable", 2)]
    _, verdicts = _verdicts(domain, task, "(turn-on l1)\n(turn-on l1 l2)")
    assert [(v.kind, v.step) for v in verdicts[0].violations] == [("wrong_arity", 2)]
    _, verdicts = _verdicts(domain, task, "(turn-on l1)")
    assert [v.kind for v in verdicts[0].violations] == ["unmet_goal"]


def test_generated_vocabulary_rules() -> None:
    assert (
        action_template(
            "drive-truck", [("?truck", "object"), ("?loc-from", "object"), ("?loc-to", "object"), ("?city", "object")]
        )
        == "drive truck {} loc from {} loc to {} city {}"
    )
    assert action_template("fly", [("?v", "plane"), ("?x", "object")]) == "fly plane {} {}"
    assert predicate_template("at", 2) == "{} is at {}"
    assert predicate_template("at-robby", 1) == "at robby {}"
    assert predicate_template("handempty", 0) == "handempty"


def test_arbitrary_domain_gets_an_nl_prompt_and_critique() -> None:
    domain = pddl_domain(style="nl")
    task = _task(domain)
    text = domain.prompt(task).messages[0]["content"]
    assert "pick obj <obj> room <room> gripper <gripper>" in text
    assert (
        "To perform move from <from> to <to>, the following needs to be true: at robby <from> and <from> and <to> are different."
        in text
    )
    assert "b1 is at rooma" in text and "My goal is to have that" in text and "(:action" not in text
    nl_plan = (
        "pick obj b1 room rooma gripper left\nmove from rooma to roomb\ndrop obj b2 room roomb gripper left\n"
        + PLAN_END
    )
    candidate, verdicts = _verdicts(domain, task, nl_plan)
    assert candidate.answer[0] == ("pick", ("b1", "rooma", "left"))
    critique = domain_critique(domain, task, candidate, verdicts, FeedbackLevel.FIRST)
    assert critique == (
        "The plan is not valid. Step 3, drop obj b2 room roomb gripper left, is not possible: "
        "carry b2 left does not hold."
    )
    # the PDDL style stays available for the same domain
    assert "(:action move" in pddl_domain(style="pddl").prompt(_task(pddl_domain())).messages[0]["content"]


@pytest.mark.parametrize("dom,prob", [(GRIPPER, GRIPPER_PROBLEM), (QUANTIFIED, QUANTIFIED_PROBLEM)])
def test_every_ground_action_round_trips_through_its_rendering(dom: str, prob: str) -> None:
    domain = pddl_domain(style="nl")
    task = _task(domain, dom, prob)
    problem = task.payload.problem
    vocab = task.payload.vocabulary
    if problem.supported:
        actions = [(a.name, a.args) for a in problem.well_formed_actions()]
    else:  # every object tuple of the right arity
        import itertools

        actions = [
            (a, args)
            for a, t in vocab.actions.items()
            for args in itertools.product(problem.objects, repeat=t.count("{}"))
        ]
    assert len(actions) >= 3
    text = "\n".join(domain.render_action(n, a, task) for n, a in actions)
    assert domain.parse(task, text).answer == actions
    upper = "\n".join(domain.render_action(n, a, task).upper() for n, a in actions)  # any case reads back
    assert domain.parse(task, upper).answer == actions


def test_quantified_domain_nl_intro_quotes_the_pddl() -> None:
    domain = pddl_domain(style="nl")
    task = _task(domain, QUANTIFIED, QUANTIFIED_PROBLEM)
    vocab = vocabulary_from_problem(task.payload.problem, domain_text=QUANTIFIED)
    assert "(forall (?x) (on ?x))" in vocab.intro and "finish" in vocab.actions


def test_registry_loads_a_typed_domain_from_files(tmp_path) -> None:
    (tmp_path / "domain.pddl").write_text(GRIPPER)
    (tmp_path / "p1.pddl").write_text(GRIPPER_PROBLEM)
    domain, task = load_planning_task(str(tmp_path / "domain.pddl"), str(tmp_path / "p1.pddl"))
    assert domain.name == "pddl"
    _, verdicts = _verdicts(domain, task, "\n".join(GRIPPER_PLAN))
    assert verdicts[0].valid


def test_soft_length_critic_advises_and_never_certifies() -> None:
    domain = pddl_domain(style="nl", soft_critics=True)
    task = _task(domain)
    critics = domain.critics(task)
    assert [c.hard for c in critics] == [True, False]
    assert shortest_plan(task.payload.problem).length == 6
    longer = ["(move rooma roomb)", "(move roomb rooma)", *GRIPPER_PLAN]
    candidate, verdicts = _verdicts(domain, task, "\n".join(longer))
    hard, soft = verdicts
    assert hard.valid and soft.status is VerdictStatus.INVALID and not soft.hard
    assert soft.violations[0].kind == "suboptimal" and soft.score == pytest.approx(6 / 8)
    assert soft.violations[0].message == "the plan is valid, but it has 8 steps; a 6-step plan exists"
    assert certified(verdicts) and not certified([soft])  # soft verdicts never certify, alone or not
    assert "Advice: the plan works, but it has 8 steps; a plan with 6 steps exists." in domain_critique(
        domain, task, candidate, verdicts, FeedbackLevel.ALL
    )
    _, verdicts = _verdicts(domain, task, "\n".join(GRIPPER_PLAN))
    assert verdicts[1].valid and verdicts[1].score == 1.0
    _, verdicts = _verdicts(domain, task, "(move rooma roomb)")  # invalid: the length critic abstains
    assert verdicts[1].status is VerdictStatus.UNKNOWN and not verdicts[1].violations


def test_length_critic_uses_data_and_gives_up_past_its_limit() -> None:
    problem = load_problem(GRIPPER, GRIPPER_PROBLEM)
    answer = [(w[0], tuple(w[1:])) for w in (s.strip("()").split() for s in GRIPPER_PLAN)]
    tight = PlanLengthCritic(max_states=3)
    task = Task(id="t", domain="pddl", payload=problem)
    verdict = tight.check(task, Candidate(text="", answer=answer))
    assert verdict.status is VerdictStatus.UNKNOWN and verdict.info["optimum"] is None
    with_data = Task(id="t", domain="pddl", payload=problem, meta={"known_plan_length": 4})
    verdict = tight.check(with_data, Candidate(text="", answer=answer))
    assert verdict.violations[0].detail == {"plan_len": 6, "optimum": 4} and verdict.engine == "data (known plan)"


def test_refute_proves_unsolvable_tasks_only() -> None:
    critic = PlanCritic()
    solvable = Task(id="s", domain="pddl", payload=load_problem(GRIPPER, GRIPPER_PROBLEM))
    assert critic.refute(solvable) is None
    stuck = GRIPPER_PROBLEM.replace("(lit desk)", "(carry b1 left) (carry b2 left)")
    proof = critic.refute(Task(id="u", domain="pddl", payload=load_problem(GRIPPER, stuck)))
    assert proof is not None and proof.violations[0].kind == "no_solution"
    relaxed = GRIPPER_PROBLEM.replace("(lit desk)", "(lit b1)")  # nothing ever lights a ball
    proof = critic.refute(Task(id="r", domain="pddl", payload=load_problem(GRIPPER, relaxed)))
    assert proof is not None and "deletes are ignored" in proof.violations[0].message
    quantified = Task(id="q", domain="pddl", payload=load_problem(QUANTIFIED, QUANTIFIED_PROBLEM))
    assert critic.refute(quantified) is None  # outside the grounded fragment: no claim
