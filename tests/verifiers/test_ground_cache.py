"""GroundCache: the problems of a batch share ground operators, and each still gets its own verdict."""

from __future__ import annotations

from llm_modulo.verifiers.planning.pddl import GroundCache, load_problem
from llm_modulo.verifiers.planning.validator import validate

DOMAIN = """(define (domain move)
  (:requirements :strips :typing)
  (:types truck box - object)
  (:predicates (at ?t - object ?p - object) (road ?a ?b))
  (:action drive :parameters (?t - truck ?a ?b - object)
    :precondition (and (at ?t ?a) (road ?a ?b)) :effect (and (at ?t ?b) (not (at ?t ?a)))))"""

OTHER = DOMAIN.replace("(define (domain move)", "(define (domain move2)").replace(
    "(and (at ?t ?b) (not (at ?t ?a)))", "(and (at ?t ?b))"
)


def problem(truck: str, box: str, domain: str = "move") -> str:
    return f"""(define (problem p) (:domain {domain})
  (:objects {truck} - truck {box} - box l1 l2 - object)
  (:init (at {truck} l1) (road l1 l2)) (:goal (and (at {truck} l2) (not (at {truck} l1)))))"""


PLAN = [("drive", ("x", "l1", "l2"))]


def test_shared_operators_are_type_checked_per_problem() -> None:
    cache = GroundCache()
    first = load_problem(DOMAIN, problem("x", "y"), shared=cache)
    assert validate(first, PLAN).valid
    second = load_problem(DOMAIN, problem("y", "x"), shared=cache)  # x is a box here: the shared op must not apply
    assert second._ops is first._ops
    report = validate(second, PLAN)
    assert not report.valid and report.failures[0].kind == "wrong_type"
    third = load_problem(DOMAIN, problem("z", "y"), shared=cache)  # x is no object here
    assert validate(third, PLAN).failures[0].kind == "unknown_object"
    for shared, alone in ((first, problem("x", "y")), (second, problem("y", "x"))):
        mine = validate(shared, [*PLAN, *PLAN]).messages()
        assert mine == validate(load_problem(DOMAIN, alone), [*PLAN, *PLAN]).messages()


def test_another_domain_gets_its_own_tables() -> None:
    cache = GroundCache()
    first = load_problem(DOMAIN, problem("x", "y"), shared=cache)
    validate(first, PLAN)
    other = load_problem(OTHER, problem("x", "y", "move2"), shared=cache)  # same action name, other effects
    assert other._ops is not first._ops
    assert not validate(other, PLAN).valid  # (at x l1) is not deleted in move2


def test_a_full_cache_starts_afresh() -> None:
    cache = GroundCache(max_facts=2)
    first = load_problem(DOMAIN, problem("x", "y"), shared=cache)
    second = load_problem(DOMAIN, problem("x", "y"), shared=cache)
    assert second._facts is not first._facts
    assert validate(first, PLAN).valid and validate(second, PLAN).valid
