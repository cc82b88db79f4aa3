"""Classical planning from PDDL: any STRIPS domain, with or without a natural-language vocabulary."""

from __future__ import annotations

from llm_modulo.domains.planning.domain import PLAN_END, Example, PlanningDomain, PlanningTask
from llm_modulo.domains.planning.vocabulary import Vocabulary


def pddl_domain(style: str = "pddl") -> PlanningDomain:
    """Any STRIPS PDDL domain, with PDDL-style prompts and plans."""
    return PlanningDomain("pddl", vocabulary=None, style="pddl")


__all__ = ["PLAN_END", "Example", "PlanningDomain", "PlanningTask", "Vocabulary", "pddl_domain"]
