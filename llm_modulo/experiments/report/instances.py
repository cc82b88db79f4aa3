"""Instance by instance: a published arm (``llm-modulo import-planbench``) beside ours, and how our
critics' verdicts on the published responses agree with PlanBench's own ``llm_correct``."""

from __future__ import annotations

from typing import Any

from llm_modulo.experiments.report.arms import ArmSummary
from llm_modulo.experiments.report.formatting import md_table
from llm_modulo.experiments.stats import succeeded

_LISTED = 30


def solved_by_instance(arm: ArmSummary) -> dict[str, bool]:
    """Per instance: solved in any of the arm's trials (seeds)."""
    out: dict[str, bool] = {}
    for r in arm.rows:
        out[r["instance"]] = out.get(r["instance"], False) or bool(succeeded(r))
    return out


def _names(items: list[str]) -> str:
    short = [i.rsplit("/", 1)[-1] for i in items[:_LISTED]]
    return ", ".join(short) + (f", ... ({len(items) - _LISTED} more)" if len(items) > _LISTED else "")


def render_instances(arms: list[ArmSummary], meta: dict[str, Any]) -> list[str]:
    published = [a for a in arms if a.strategy == "published"]
    if not published:
        return []
    L = ["### Published arms beside ours, instance by instance", ""]
    ours = [a for a in arms if a.strategy != "published"]
    for pub in published:
        theirs = solved_by_instance(pub)
        L += [f"**{pub.name}** ({pub.solved}/{pub.trials} certified by our critics)", ""]
        rows = []
        for a in ours:
            mine = solved_by_instance(a)
            both = sorted(set(theirs) & set(mine))
            if not both:
                continue
            only_pub = [i for i in both if theirs[i] and not mine[i]]
            only_ours = [i for i in both if mine[i] and not theirs[i]]
            rows.append(
                (
                    a.name,
                    len(both),
                    sum(theirs[i] and mine[i] for i in both),
                    len(only_pub),
                    len(only_ours),
                    sum(not theirs[i] and not mine[i] for i in both),
                    _names(only_pub) or "–",
                    _names(only_ours) or "–",
                )
            )
        if rows:
            L += md_table(
                [
                    "our arm",
                    "shared instances",
                    "both",
                    "published only",
                    "ours only",
                    "neither",
                    "solved by published only",
                    "solved by ours only",
                ],
                rows,
            )
        else:
            L += ["None of our arms ran on the same instances."]
        L += [""] + _agreement(pub, meta)
    return L


def _agreement(pub: ArmSummary, meta: dict[str, Any]) -> list[str]:
    """Our critics' verdicts on the published responses against PlanBench's ``llm_correct``."""
    verdicts: dict[str, Any] = {}
    for key, value in meta.items():
        if key.startswith("published/") and key.endswith(f"/{pub.label}") and isinstance(value, dict):
            verdicts.update(value.get("llm_correct") or {})
    ours = solved_by_instance(pub)
    judged = [i for i in sorted(ours) if isinstance(verdicts.get(i), bool)]
    if not judged:
        return ["The imported file carries no PlanBench verdict (`llm_correct`) to compare with.", ""]
    agree = [i for i in judged if verdicts[i] == ours[i]]
    theirs_only = [i for i in judged if verdicts[i] and not ours[i]]
    ours_only = [i for i in judged if ours[i] and not verdicts[i]]
    L = [
        f"PlanBench's own verdict (`llm_correct`) against our hard critics on the same {len(judged)} responses: "
        f"**{len(agree)} agree, {len(theirs_only) + len(ours_only)} disagree**.",
    ]
    if theirs_only:
        L.append(
            f"- PlanBench correct, our critics reject (stored as not verified): {_names(theirs_only)}. "
            "(PlanBench extracts a prose answer's plan with an LLM translator; our reader takes the answer as written.)"
        )
    if ours_only:
        L.append(f"- PlanBench incorrect, our critics certify: {_names(ours_only)}.")
    return [*L, ""]


__all__ = ["render_instances", "solved_by_instance"]
