"""The batch ``validate``'s fast paths give what the plain paths give: file reading, plan lines, shared operators."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_modulo.errors import PDDLError
from llm_modulo.verifiers.planning.pddl import GroundCache, load_problem
from llm_modulo.verifiers.planning.plan_text import read_strict, strict_line_step
from llm_modulo.verifiers.planning.validator import validate

DOMAIN = """(define (domain d) (:requirements :typing)
  (:types vehicle - object truck - vehicle)
  (:predicates (at ?v - vehicle ?p) (road ?a ?b))
  (:action go :parameters (?v - vehicle ?a ?b)
    :precondition (and (at ?v ?a) (road ?a ?b)) :effect (and (at ?v ?b) (not (at ?v ?a)))))"""
PROBLEM = (
    "(define (problem p) (:domain d)\n(:objects t - {kind} l1 l2)\n(:init (at t l1) (road l1 l2))\n(:goal (at t l2)))"
)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_read_as_newlines(tmp_path: Path, newline: str) -> None:
    domain, problem = tmp_path / "d.pddl", tmp_path / "p.pddl"
    domain.write_bytes(DOMAIN.replace("\n", newline).encode())
    problem.write_bytes(PROBLEM.format(kind="truck").replace("\n", newline).encode())
    assert validate(load_problem(domain, problem), [("go", ("t", "l1", "l2"))]).valid
    problem.write_bytes(
        PROBLEM.format(kind="truck").replace("(road l1 l2)", "(rode l1 l2)").replace("\n", newline).encode()
    )
    with pytest.raises(PDDLError, match=r"\(line 3\)"):
        load_problem(domain, problem)


def test_a_repeated_plan_line_reads_the_same() -> None:
    for _ in range(2):
        assert strict_line_step("(Go T l1 l2)  ; first") == strict_line_step("(go t l1 l2)")
        assert read_strict("(go t l1 l2)\n\n; done\n").lines == [1]
        with pytest.raises(ValueError):
            strict_line_step("go t l1 l2")


def test_a_shared_operator_checks_subtypes_and_exact_types() -> None:
    cache = GroundCache()
    plan = [("go", ("t", "l1", "l2"))]
    truck = load_problem(DOMAIN, PROBLEM.format(kind="truck"), shared=cache)  # a subtype: the full check
    assert validate(truck, plan).valid
    vehicle = load_problem(DOMAIN, PROBLEM.format(kind="vehicle"), shared=cache)  # the exact type: the fast check
    assert vehicle._ops is truck._ops and validate(vehicle, plan).valid
    untyped = load_problem(DOMAIN, PROBLEM.format(kind="object"), shared=cache)  # t is no vehicle here
    assert validate(untyped, plan).failures[0].kind == "wrong_type"


def test_errors_still_name_their_line() -> None:
    """The reader reads first without line numbers, then again with them for an error's message."""
    from llm_modulo.verifiers.planning._reader import read_pddl
    from llm_modulo.verifiers.planning._sexp import parse_sexps, parse_sexps_unlined

    text = PROBLEM.format(kind="truck").replace("(road l1 l2)", "(road l1 l2) ; a comment (with a paren\n(rode l2 l1)")
    assert parse_sexps_unlined(text) == parse_sexps(text)
    with pytest.raises(PDDLError, match=r"<p>: malformed PDDL problem \(line 4\): init: undefined predicate rode"):
        read_pddl(DOMAIN, "<d>", text, "<p>")
    with pytest.raises(PDDLError, match=r"\(line 1\): unbalanced parentheses: the '\(' of line 1 is never closed"):
        read_pddl(DOMAIN, "<d>", PROBLEM.format(kind="truck").replace("(:objects", "((:objects"), "<p>")
