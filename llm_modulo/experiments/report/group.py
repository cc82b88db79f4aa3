"""One (domain, instance set) section of ``report.md``: its tables, the comparisons with the
random control and with published figures, and its figures."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from llm_modulo.experiments.prices import Price
from llm_modulo.experiments.published import BENCHMARK_NAMES, Anchor, anchors_for, benchmark_of
from llm_modulo.experiments.report.arms import ArmSummary
from llm_modulo.experiments.report.compare import (
    compare_controls,
    feedback_families,
    winners_by_budget,
    winners_by_calls,
)
from llm_modulo.experiments.report.cost import render_cost
from llm_modulo.experiments.report.figures import figure_budget, figure_feedback, figure_rounds, figure_success
from llm_modulo.experiments.report.formatting import ci, fixed, md_table, pct
from llm_modulo.experiments.report.instances import render_instances


def _feedback_shown(a: ArmSummary) -> str:
    return a.feedback if a.strategy in ("modulo", "self-critique") else "–"


def render_group(
    domain: str,
    instance_set: str,
    arms: list[ArmSummary],
    models_meta: Any,
    out: Path,
    slug: str,
    fig_no: int,
    prices: dict[str, Price] | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[list[str], list[Path], int]:
    L = [f"## {domain} · {instance_set}", ""]
    ran = sum(a.trials for a in arms)
    instances = {r["instance"] for a in arms for r in a.rows}
    L += [f"{ran} trials over {len(instances)} distinct instances, {len(arms)} arm(s).", ""]
    counts = {a.instances for a in arms if a.trials}
    if len(counts) > 1:
        L += ["Note: the arms did not all run the same number of instances (see the table); compare with care.", ""]
    # --- success
    L += ["### Success rate per arm", ""]
    L += md_table(
        [
            "arm",
            "proposer",
            "model",
            "strategy",
            "feedback",
            "budget",
            "solved",
            "success",
            "95% CI",
            "instances",
            "errors",
        ],
        [
            (
                a.name,
                a.proposer,
                a.model,
                a.strategy,
                _feedback_shown(a),
                a.budget_label,
                f"{a.solved}/{a.trials}",
                pct(a.rate) if a.trials else "–",
                ci(a.lo, a.hi) if a.trials else "–",
                a.instances,
                a.errors,
            )
            for a in arms
        ],
    )
    L += [
        "",
        "### Cost per trial and per solved trial",
        "",
        'Means over all trials, then over the solved trials only; "tokens per solve" is all generated tokens '
        "divided by the number solved.",
        "",
    ]
    L += md_table(
        [
            "arm",
            "proposer",
            "budget",
            "LLM calls",
            "samples",
            "gen. tokens",
            "rounds",
            "seconds",
            "calls (solved)",
            "samples (solved)",
            "tokens (solved)",
            "rounds (solved)",
            "tokens per solve",
        ],
        [
            (
                a.name,
                a.proposer,
                a.budget_label,
                fixed(a.mean_calls),
                fixed(a.mean_samples),
                fixed(a.mean_tokens, 0),
                fixed(a.mean_rounds),
                fixed(a.mean_seconds, 2),
                fixed(a.solved_calls),
                fixed(a.solved_samples),
                fixed(a.solved_tokens, 0),
                fixed(a.solved_rounds),
                fixed(a.tokens_per_solve, 0),
            )
            for a in arms
        ],
    )
    L.append("")
    L += render_cost(domain, instance_set, arms, prices or {})
    L += render_instances(arms, meta or {})
    # --- LLM vs random
    L += ["### LLM versus the random control", ""]
    comparisons = compare_controls(arms)
    llm_arms = [a for a in arms if a.proposer != "random"]
    if not llm_arms:
        L += ["No LLM arm ran on this instance set: only the random control (nothing to compare).", ""]
    elif not any(c.random for c in comparisons):
        L += [
            "No random-proposer control ran here at the LLM arms' strategies and budgets, so this report cannot "
            "say what the LLM itself contributed.",
            "",
        ]
    if comparisons and any(c.random for c in comparisons):
        L += md_table(
            ["strategy", "budget", "LLM arm", "LLM success", "random arm", "random success", "matched on", "verdict"],
            [
                (
                    c.llm.strategy,
                    c.llm.budget_label,
                    c.llm.name,
                    f"{pct(c.llm.rate)} {ci(c.llm.lo, c.llm.hi)}",
                    c.random.name if c.random else "–",
                    f"{pct(c.random.rate)} {ci(c.random.lo, c.random.hi)}" if c.random else "–",
                    c.match or "–",
                    c.sentence,
                )
                for c in comparisons
            ],
        )
        L.append("")
    # --- winners by budget
    L += ["### Which strategy wins at which budget", ""]
    winners = winners_by_budget(arms, "samples")
    if winners:
        L += [
            "Equal sample budgets (arms that sample); anytime arms are read off their success-versus-budget curves.",
            "",
        ]
        L += [f"- {w.sentence}" for w in winners]
    else:
        L += ["No arm has a sample cap, so there is no common sample budget to compare at; see the table above."]
    L.append("")
    by_calls = winners_by_calls(arms)
    if by_calls:
        L += [
            "Equal LLM calls per instance (every arm, `search` included: a trial counts at the calls it used; "
            "a batched call of n samples is one call, a search expansion one scoring call):",
            "",
        ]
        L += [f"- {w.sentence}" for w in by_calls]
        L.append("")
    # --- published
    L += _render_published(domain, instance_set, arms, instances, models_meta)
    # --- figures
    figs: list[Path] = []
    L += ["### Figures", ""]
    fig_no += 1
    p = figure_success(arms, out / f"success-{slug}.png", f"{domain} · {instance_set}: success per arm")
    figs.append(p)
    L += [
        f"![success per arm]({p.name})",
        "",
        f"*Figure {fig_no}. Success rate per arm on {instance_set} ({domain}), with 95% Wilson intervals and "
        "solved/trials; grey bars are the uniform-random proposer.*",
        "",
    ]
    fig_no += 1
    p = figure_budget(arms, out / f"budget-{slug}.png", f"{domain} · {instance_set}: success versus budget")
    figs.append(p)
    L += [
        f"![success versus budget]({p.name})",
        "",
        f"*Figure {fig_no}. Success versus budget: left x = samples, right x = generated tokens. Lines: anytime "
        "arms (a trial solved after s samples counts at every budget >= s), drawn up to the arm's cap (a tick "
        "marks the end), with a shaded 95% Wilson band when there are at most three lines; dashed = random "
        "proposer. Dots with error bars: other budget settings that ran (measured, not read off a curve); dotted "
        "lines join the settings of non-anytime strategies.*",
        "",
    ]
    modulo = [a for a in arms if a.strategy == "modulo"]
    L += ["### Rounds to success (modulo)", ""]
    solved_modulo = [a for a in modulo if any(r["verified"] and r.get("rounds") is not None for r in a.rows)]
    if not modulo:
        L += ["No `modulo` arm ran on this instance set.", ""]
    elif not solved_modulo:
        L += ["No `modulo` trial was solved here, so there are no rounds to success to show.", ""]
    else:
        rows = []
        for a in solved_modulo:
            rounds = [int(r["rounds"]) for r in a.rows if r["verified"] and r.get("rounds") is not None]
            dist = Counter(rounds)
            rows.append(
                (
                    a.name,
                    a.proposer,
                    a.feedback,
                    f"{len(rounds)}/{a.trials}",
                    f"{statistics.mean(rounds):.1f}",
                    f"{statistics.median(rounds):g}",
                    max(rounds),
                    ", ".join(f"{k}: {v}" for k, v in sorted(dist.items())),
                )
            )
        L += md_table(["arm", "proposer", "feedback", "solved", "mean rounds", "median", "max", "rounds: count"], rows)
        fig_no += 1
        p = figure_rounds(
            solved_modulo, out / f"rounds-{slug}.png", f"{domain} · {instance_set}: rounds to success (modulo)"
        )
        figs.append(p)
        L += [
            "",
            f"![rounds to success]({p.name})",
            "",
            f"*Figure {fig_no}. Rounds to success of the solved trials of each modulo arm (unsolved trials are "
            "not shown; the legend gives solved of trials).*",
            "",
        ]
    L += ["### Feedback levels (modulo)", ""]
    levels = sorted({a.feedback for a in modulo})
    families = [f for f in feedback_families(arms) if len({a.feedback for a in f}) > 1]
    if not modulo:
        L += ["No `modulo` arm ran, so there is no feedback-level comparison.", ""]
    elif len(levels) < 2:
        L += [f"Only one feedback level ran (`{levels[0]}`), so there is no feedback-level comparison.", ""]
    elif not families:
        L += [
            f"Feedback levels {', '.join(levels)} ran, but never on otherwise identical modulo arms (same model, "
            "budget and options), so they are not compared.",
            "",
        ]
    else:
        level_rows = []
        for f in families:
            for a in f:
                level_rows.append(
                    (
                        a.model,
                        a.proposer,
                        a.budget_label,
                        a.feedback,
                        f"{a.solved}/{a.trials}",
                        f"{pct(a.rate)} {ci(a.lo, a.hi)}",
                        fixed(a.solved_rounds),
                    )
                )
        L += md_table(
            ["model", "proposer", "budget", "feedback", "solved", "success (95% CI)", "rounds (solved)"], level_rows
        )
        fig_no += 1
        p = figure_feedback(
            families, out / f"feedback-{slug}.png", f"{domain} · {instance_set}: feedback level (modulo)"
        )
        figs.append(p)
        L += [
            "",
            f"![feedback levels]({p.name})",
            "",
            f"*Figure {fig_no}. Modulo success rate per feedback level (none / binary / first error / all errors), "
            "for arms that differ only in feedback level, with 95% Wilson intervals; hatched grey = random proposer.*",
            "",
        ]
    return L, figs, fig_no


def _render_published(
    domain: str, instance_set: str, arms: list[ArmSummary], instances: set[str], models_meta: Any
) -> list[str]:
    L = ["### Published figures on this benchmark", ""]
    anchors: list[Anchor] = anchors_for(domain, instance_set)
    if not anchors:
        return L + ["No published figure in `shared/benchmarks/README.md` matches this domain and instance set.", ""]
    bench = BENCHMARK_NAMES[benchmark_of(domain, instance_set) or ""]
    L += [
        f"Other people's numbers on {bench}, on other models and protocols: context, not a like-for-like "
        "comparison. Our arms follow.",
        "",
    ]
    rows = [("published", a.model, a.protocol, pct(a.rate), "–", a.instances_note) for a in anchors]

    def model_name(spec: str) -> str:
        info = models_meta.get(spec) if isinstance(models_meta, dict) else None
        return str(info.get("name", spec)) if isinstance(info, dict) else spec

    for a in arms:
        proto = f"{a.strategy}" + (f", feedback {a.feedback}" if a.strategy == "modulo" else "") + f", {a.budget_label}"
        if a.label != a.strategy:
            proto += f" (arm `{a.label}`)"
        rows.append(
            (
                "this run",
                f"{model_name(a.model)}" + (" (random control)" if a.proposer == "random" else ""),
                proto,
                pct(a.rate),
                ci(a.lo, a.hi),
                f"{a.instances} of {instance_set}",
            )
        )
    L += md_table(["source", "model", "protocol", "success", "95% CI", "instances"], rows)
    sizes = sorted({a.instances for a in anchors if a.instances})
    if sizes and any(len(instances) != s for s in sizes):
        theirs = " / ".join(str(s) for s in sizes)
        L += [
            "",
            f"Note: our instance subset differs from theirs: {len(instances)} distinct instances of "
            f"`{instance_set}` here, {theirs} in the published figures. Our rates are not estimates of theirs.",
        ]
    L.append("")
    return L
