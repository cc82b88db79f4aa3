"""Published cost figures, set beside ours in ``report`` (data, each with its source).

What someone else paid for one answer on a benchmark: tokens per instance and USD per 100
instances, on their model and protocol. Context for our cost per certified answer, not a claim
about this run. Add a row with its source; ``benchmark`` is the key of
:func:`llm_modulo.experiments.published.benchmark_of`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CostAnchor:
    benchmark: str
    model: str
    protocol: str
    prompt_tokens: float | None  # per instance
    completion_tokens: float | None  # per instance (a reasoning model's hidden tokens included)
    usd_per_100: float | None  # USD per 100 instances
    source: str


COST_ANCHORS: tuple[CostAnchor, ...] = (
    CostAnchor(
        "logistics",
        "o1-preview",
        "PlanBench plan generation, zero-shot",
        1299,
        5617,
        35.65,
        "Valmeekam et al. 2024, o1 on PlanBench (cost table), as quoted in issue 24; "
        "$35.65 = 1,299 x $15 + 5,617 x $60 per million tokens (o1-preview list prices), per 100 instances",
    ),
)


def cost_anchors_for(benchmark: str | None) -> list[CostAnchor]:
    return [a for a in COST_ANCHORS if a.benchmark == benchmark]


__all__ = ["COST_ANCHORS", "CostAnchor", "cost_anchors_for"]
