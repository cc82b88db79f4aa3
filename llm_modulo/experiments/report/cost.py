"""The cost section of a report group: tokens, calls, seconds and money per trial and per certified
answer, arm by arm (each budget setting is an arm), beside the published cost anchors."""

from __future__ import annotations

from typing import Any

from llm_modulo.experiments.cost_anchors import cost_anchors_for
from llm_modulo.experiments.prices import Price, price_for
from llm_modulo.experiments.published import benchmark_of
from llm_modulo.experiments.report.arms import ArmSummary
from llm_modulo.experiments.report.formatting import fixed, md_table


def _sum(rows: list[dict[str, Any]], column: str) -> float | None:
    values = [r.get(column) for r in rows]
    return sum(float(v) for v in values if v is not None) if any(v is not None for v in values) else None


def _per(total: float | None, n: int) -> float | None:
    return None if total is None or n == 0 else total / n


def usd(x: float | None) -> str:
    if x is None:
        return "–"
    return f"${x:,.4f}" if x < 1 else f"${x:,.2f}"


def arm_money(arm: ArmSummary, prices: dict[str, Price]) -> tuple[float | None, Price | None]:
    """(USD over the arm's trials, the price used); (None, None) without a price for its model."""
    price = price_for(arm.model, prices)
    if price is None or arm.proposer == "random":
        return None, None
    costs = [price.cost(r.get("prompt_tokens"), r.get("generated_tokens")) for r in arm.rows]
    known = [c for c in costs if c is not None]
    return (sum(known) if known else None), price


def render_cost(domain: str, instance_set: str, arms: list[ArmSummary], prices: dict[str, Price]) -> list[str]:
    L = [
        "### Cost per certified answer",
        "",
        "Each arm is one budget setting. Totals over its trials divided by its trials, then by its certified "
        "answers (a trial that failed still cost what it used). Money only for models with a price "
        "(`--prices FILE`, a sweep's `[prices]` table, or the costs an imported PlanBench file recorded).",
        "",
    ]
    rows = []
    for a in arms:
        n, k = a.trials, a.solved
        money, price = arm_money(a, prices)
        seconds = _sum(a.rows, "seconds")
        rows.append(
            (
                a.name,
                a.budget_label,
                f"{k}/{n}",
                fixed(_per(_sum(a.rows, "llm_calls"), n)),
                fixed(_per(_sum(a.rows, "prompt_tokens"), n), 0),
                fixed(_per(_sum(a.rows, "generated_tokens"), n), 0),
                fixed(_per(seconds, n), 2),
                fixed(_per(seconds, k), 2),
                usd(_per(money, n)),
                usd(_per(money, k)),
                f"${price.input:g} / ${price.output:g}" if price else "–",
            )
        )
    L += md_table(
        [
            "arm",
            "budget",
            "certified",
            "calls / trial",
            "prompt tok. / trial",
            "gen. tok. / trial",
            "s / trial",
            "s / certified",
            "USD / trial",
            "USD / certified",
            "price in / out (per M tok.)",
        ],
        rows,
    )
    anchors = cost_anchors_for(benchmark_of(domain, instance_set))
    if anchors:
        L += ["", "Published costs on this benchmark (their model and protocol; per instance, not per certified):", ""]
        L += md_table(
            ["model", "protocol", "prompt tok. / instance", "gen. tok. / instance", "USD / instance", "source"],
            [
                (
                    c.model,
                    c.protocol,
                    fixed(c.prompt_tokens, 0),
                    fixed(c.completion_tokens, 0),
                    usd(None if c.usd_per_100 is None else c.usd_per_100 / 100),
                    c.source,
                )
                for c in anchors
            ],
        )
    L.append("")
    return L


__all__ = ["arm_money", "render_cost", "usd"]
