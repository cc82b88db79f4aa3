"""Loading PDDL into a PlanningProblem: typing, case, errors, unsupported features, grounding, simulation."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from plan_fixtures import (
    BLOCKS_DOMAIN,
    CONDITIONAL_DOMAIN,
    CONDITIONAL_PROBLEM,
    DISJUNCTIVE_DOMAIN,
    DISJUNCTIVE_PROBLEM,
    SUSSMAN_PLAN,
    SUSSMAN_PROBLEM,
    TINY_DOMAIN,
    TINY_PROBLEM,
)

from llm_modulo.errors import PDDLError, UnsupportedFeatureError
from llm_modulo.verifiers.planning import GroundAction, PlanningProblem, load_problem, parse_pddl_plan


@pytest.fixture(scope="module")
def tiny() -> PlanningProblem:
    return load_problem(TINY_DOMAIN, TINY_PROBLEM)


@pytest.fixture(scope="module")
def sussman() -> PlanningProblem:
    return load_problem(BLOCKS_DOMAIN, SUSSMAN_PROBLEM)


def test_importing_the_package_does_not_import_unified_planning() -> None:
    code = "import sys, llm_modulo.verifiers.planning; print('unified_planning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lifted_model_is_lowercase_and_typed(tiny: PlanningProblem) -> None:
    assert tiny.domain_name == "tiny"
    assert tiny.name == "tiny-1"
    assert tiny.objects == {"depot": "place", "t1": "truck", "p1": "plane", "a": "place", "b": "place"}
    assert tiny.types["truck"] == "vehicle" and tiny.types["vehicle"] == "object"
    assert tiny.predicates == {"at": 2, "road": 2, "sunny": 0, "broken": 1}
    assert list(tiny.action_schemas) == ["drive", "fly", "break", "park"]
    assert tiny.action_schemas["drive"].parameters == (("?v", "truck"), ("?from", "place"), ("?to", "place"))
    assert tiny.action_schemas["park"].parameters == ()
    assert ("sunny",) in tiny.init and ("at", "t1", "a") in tiny.init
    assert tiny.goal == ((True, ("at", "t1", "depot")), (True, ("at", "p1", "b")), (False, ("sunny",)))
    assert tiny.supported


def test_subtypes_fit_supertype_parameters(tiny: PlanningProblem) -> None:
    assert tiny.fits("t1", "vehicle") and tiny.fits("p1", "vehicle") and tiny.fits("t1", "object")
    assert not tiny.fits("t1", "plane") and not tiny.fits("a", "vehicle") and not tiny.fits("zz", "object")
    assert tiny.objects_of_type("vehicle") == ["t1", "p1"]


def test_well_formed_actions_are_every_typed_grounding_in_order(tiny: PlanningProblem) -> None:
    actions = tiny.well_formed_actions()
    places = ["depot", "a", "b"]
    expected = (
        [GroundAction("drive", ("t1", x, y)) for x, y in itertools.product(places, places)]
        + [GroundAction("fly", ("p1", x, y)) for x, y in itertools.product(places, places)]
        + [GroundAction("break", ("t1",)), GroundAction("break", ("p1",)), GroundAction("park")]
    )
    assert actions == expected
    assert str(actions[0]) == "(drive t1 depot depot)" and str(actions[-1]) == "(park)"


def test_untyped_well_formed_actions(sussman: PlanningProblem) -> None:
    assert len(sussman.well_formed_actions()) == 3 + 3 + 9 + 9


def test_simulation_api(sussman: PlanningProblem) -> None:
    s = sussman.initial_state()
    assert sussman.facts(s) == set(sussman.init)
    assert sussman.holds(s, ("handempty",)) and sussman.holds(s, ("ON", "C", "A"))
    assert not sussman.holds(s, ("holding", "c")) and not sussman.holds(s, ("nonsense",))
    assert sussman.applicable(s) == [GroundAction("pick-up", ("b",)), GroundAction("unstack", ("c", "a"))]
    for step in parse_pddl_plan(SUSSMAN_PLAN):
        assert sussman.is_applicable(s, step)
        s = sussman.apply(s, step)
    assert sussman.goal_reached(s) and sussman.unmet_goals(s) == []
    with pytest.raises(ValueError, match="not applicable"):
        sussman.apply(sussman.initial_state(), GroundAction("stack", ("a", "b")))
    with pytest.raises(ValueError, match="unknown action"):
        sussman.apply(sussman.initial_state(), ("fly", ["a"]))


def test_applicable_matches_brute_force_on_random_walks(tiny: PlanningProblem, sussman: PlanningProblem) -> None:
    import random

    rng = random.Random(0)
    for problem in (tiny, sussman):
        everything = problem.well_formed_actions()
        for _ in range(20):
            s = problem.initial_state()
            for _ in range(8):
                brute = [a for a in everything if problem.is_applicable(s, a)]
                assert problem.applicable(s) == brute
                if not brute:
                    break
                s = problem.apply(s, rng.choice(brute))


def test_uppercase_pddl_text_is_lowercased() -> None:
    problem = load_problem(BLOCKS_DOMAIN.upper(), SUSSMAN_PROBLEM.upper())
    assert problem.domain_name == "blocksworld-4ops"
    assert "unstack" in problem.action_schemas and "c" in problem.objects
    assert ("on", "c", "a") in problem.init


def test_paths_and_text_both_load(tmp_path: Path) -> None:
    (tmp_path / "d.pddl").write_text(BLOCKS_DOMAIN)
    (tmp_path / "p.pddl").write_text(SUSSMAN_PROBLEM)
    from_files = load_problem(tmp_path / "d.pddl", str(tmp_path / "p.pddl"))
    from_text = load_problem(BLOCKS_DOMAIN, SUSSMAN_PROBLEM)
    assert from_files.init == from_text.init and from_files.goal == from_text.goal


@pytest.mark.parametrize(
    ("domain", "problem", "pattern"),
    [
        ("(define (domain x) (:predicates (p ?x)", SUSSMAN_PROBLEM, "<domain text>: malformed PDDL domain"),
        (
            "(define (domain x) (:predicates (p ?x)) (:action a :parameters (?x) :effect (q ?x)))",
            "(define (problem y) (:domain x) (:objects o) (:init) (:goal (p o)))",
            "malformed PDDL domain.*q",
        ),
        (
            BLOCKS_DOMAIN,
            "(define (problem y) (:domain blocksworld-4ops) (:objects a) (:init (flying a)) (:goal (clear a)))",
            "<problem text>: malformed PDDL problem.*flying",
        ),
        (
            BLOCKS_DOMAIN,
            "(define (problem y) (:domain blocksworld-4ops) (:objects a) (:init (clear a)) (:goal (clear a))",
            "malformed PDDL problem",
        ),
    ],
)
def test_malformed_pddl_is_one_line_pddl_error(domain: str, problem: str, pattern: str) -> None:
    with pytest.raises(PDDLError, match=pattern) as info:
        load_problem(domain, problem)
    assert "\n" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_file_is_pddl_error(tmp_path: Path) -> None:
    with pytest.raises(PDDLError, match=r"nope\.pddl: no such domain file"):
        load_problem(tmp_path / "nope.pddl", SUSSMAN_PROBLEM)
    with pytest.raises(PDDLError, match=r"missing\.pddl: no such problem file"):
        load_problem(BLOCKS_DOMAIN, str(tmp_path / "missing.pddl"))


@pytest.mark.parametrize(
    ("domain", "problem", "feature"),
    [
        (CONDITIONAL_DOMAIN, CONDITIONAL_PROBLEM, "conditional effects"),
        (DISJUNCTIVE_DOMAIN, DISJUNCTIVE_PROBLEM, "disjunctive conditions"),
    ],
)
def test_unsupported_features_are_named(domain: str, problem: str, feature: str) -> None:
    loaded = load_problem(domain, problem)
    assert not loaded.supported and feature in (loaded.unsupported or "")
    assert loaded.up_problem is not None
    for call in (loaded.well_formed_actions, lambda: loaded.applicable(loaded.initial_state())):
        with pytest.raises(UnsupportedFeatureError, match=feature):
            call()
    with pytest.raises(UnsupportedFeatureError, match=feature):
        load_problem(domain, problem, strict=True)


def test_ground_action_coercion_and_str() -> None:
    assert GroundAction("stack", ["a", "b"]).args == ("a", "b")  # type: ignore[arg-type]
    assert GroundAction.of(("stack", ["a", "b"])) == GroundAction("stack", ("a", "b"))
    assert str(GroundAction("handempty-check")) == "(handempty-check)"
    assert parse_pddl_plan("; a comment (x)\n0: (UNSTACK A B) [1]\n(put-down a)\n[PLAN END]") == [
        GroundAction("unstack", ("a", "b")),
        GroundAction("put-down", ("a",)),
    ]


def test_reachable_actions_are_the_well_formed_ones_that_can_apply(tiny: PlanningProblem) -> None:
    reachable = tiny.reachable_actions()
    assert set(reachable) <= set(tiny.well_formed_actions())
    assert GroundAction("drive", ("t1", "a", "a")) not in reachable  # fails (not (= a a))
    assert GroundAction("drive", ("t1", "b", "a")) not in reachable  # no road b a
    assert GroundAction("drive", ("t1", "b", "depot")) in reachable and GroundAction("break", ("t1",)) in reachable
    assert GroundAction("break", ("p1",)) in reachable  # p1 can fly to the depot
    order = tiny.well_formed_actions()
    assert reachable == sorted(reachable, key=order.index)
