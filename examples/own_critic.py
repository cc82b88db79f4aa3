"""Plug in your own critic and test it with the shipped scripted model (no LLM needed).

A soft critic ranks and advises but can never certify: only hard critics decide "verified".

    python examples/own_critic.py
"""

from __future__ import annotations

import llm_modulo as lm
from llm_modulo.domains.blocksworld import blocksworld, sussman_anomaly
from llm_modulo.verifiers.base import BaseCritic
from llm_modulo.verifiers.planning.critic import PlanCritic


class ShortPlan(BaseCritic):
    """Soft: prefers plans of at most ``limit`` steps."""

    name, hard = "short-plan", False

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def _check(self, task: lm.Task, candidate: lm.Candidate) -> lm.Verdict:
        ok = len(candidate.answer) <= self.limit
        return lm.Verdict(
            status=lm.VerdictStatus.VALID if ok else lm.VerdictStatus.INVALID,
            critic=self.name,
            score=1.0 if ok else self.limit / len(candidate.answer),
        )


def main() -> None:
    domain = blocksworld()
    task = sussman_anomaly(domain)
    plan = "(unstack c a)\n(put-down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)\n[PLAN END]"
    model = lm.ScriptedModel(["(pick-up a)\n[PLAN END]", plan])
    # critics=[...] replaces the domain's own: the plan validator (hard) and the new soft critic
    result = lm.BestOfN(
        model, domain, n=1, budget=lm.Budget(samples=2), constrained="none", critics=[PlanCritic(), ShortPlan(limit=6)]
    ).run(task)
    print(result.status.value, [f"{v.critic}:{v.status.value}" for v in result.certificate])


if __name__ == "__main__":
    main()
