"""Classical planning from PDDL: any STRIPS domain, with or without a natural-language vocabulary."""

from __future__ import annotations

from llm_modulo.domains.planning.autovocab import vocabulary_from_problem
from llm_modulo.domains.planning.domain import PLAN_END, Example, PlanningDomain, PlanningTask
from llm_modulo.domains.planning.vocabulary import Vocabulary


def pddl_domain(
    style: str = "pddl", one_shot: bool = False, cot: bool = False, soft_critics: bool = False
) -> PlanningDomain:
    """Any STRIPS / typed PDDL domain: PDDL-style prompts and plans, or with ``style="nl"``
    natural language generated from each task's PDDL (:mod:`.autovocab`).

    Always zero-shot: an arbitrary domain comes with no worked example (``one_shot`` is accepted
    so callers can pass the same options to every planning domain). ``soft_critics`` adds
    plan-length advice (:class:`~llm_modulo.verifiers.planning.PlanLengthCritic`).
    """
    return PlanningDomain("pddl", vocabulary=None, style=style, cot=cot, soft_critics=soft_critics)


__all__ = [
    "PLAN_END",
    "Example",
    "PlanningDomain",
    "PlanningTask",
    "Vocabulary",
    "pddl_domain",
    "vocabulary_from_problem",
]
