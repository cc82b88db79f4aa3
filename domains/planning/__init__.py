"""Classical planning from PDDL: any STRIPS domain, with or without a natural-language vocabulary."""

from __future__ import annotations

from llm_modulo.domains.planning.domain import PLAN_END, Example, PlanningDomain, PlanningTask
from llm_modulo.domains.planning.vocabulary import Vocabulary


def pddl_domain(style: str = "pddl", one_shot: bool = False, cot: bool = False) -> PlanningDomain:
    """Any STRIPS PDDL domain, with PDDL-style prompts and plans.

    Always zero-shot: an arbitrary domain comes with no worked example (``one_shot`` is accepted
    so callers can pass the same options to every planning domain).
    """
    return PlanningDomain("pddl", vocabulary=None, style="pddl", cot=cot)


__all__ = ["PLAN_END", "Example", "PlanningDomain", "PlanningTask", "Vocabulary", "pddl_domain"]
