"""The markdown of ``report.md``: run facts, then per (domain, instance set) the tables, the
comparisons, published figures and the figures (drawn here, written next to the report)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from llm_modulo.experiments.prices import Price
from llm_modulo.experiments.report.arms import ANYTIME, ArmSummary, group_arms
from llm_modulo.experiments.report.formatting import cell, duration, md_table, slugify
from llm_modulo.experiments.report.group import render_group


def _runs(meta: dict[str, Any], sweeps: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
    runs = []
    for key, value in meta.items():
        m = re.match(r"^sweep/(.+)/run/([^/]+)$", key)
        if m and m.group(1) in sweeps and isinstance(value, dict):
            runs.append((m.group(1), m.group(2), value))
    return sorted(runs, key=lambda r: (r[1], r[0]))


def _hardware(hw: Any) -> str:
    if not isinstance(hw, dict):
        return str(hw) if hw else "–"
    parts = [str(hw.get("cpu") or "cpu ?")]
    if hw.get("cores") is not None:
        parts.append(f"{hw['cores']} cores")
    if hw.get("memory_gib") is not None:
        parts.append(f"{float(hw['memory_gib']):.0f} GiB")
    parts.append(f"GPU: {hw['gpu']}" if hw.get("gpu") else "no GPU")
    if hw.get("platform"):
        parts.append(str(hw["platform"]))
    return ", ".join(parts)


def _distinct(values: Iterable[str]) -> str:
    seen = list(dict.fromkeys(v for v in values if v))
    return "; ".join(seen) if seen else "–"


def render(
    store: str | Path,
    sweeps: list[str],
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    arms: list[ArmSummary],
    out: Path,
    command: str,
    prices: dict[str, Price] | None = None,
) -> tuple[list[str], list[Path]]:
    statuses = Counter(r["status"] for r in rows)
    runs = _runs(meta, sweeps)
    models_meta = meta.get("models") if isinstance(meta.get("models"), dict) else {}
    used_models = sorted({r["model"] for r in rows})
    L: list[str] = [f"# Trial report: {', '.join(sweeps)}", ""]
    L += [f"Generated from the trial store `{store}` alone; to regenerate it, run:", "", "```bash", command, "```", ""]
    # --- run facts
    model_lines = []
    for spec in used_models:
        info = models_meta.get(spec) if isinstance(models_meta, dict) else None
        if isinstance(info, dict):
            desc = f"{info.get('name', spec)}" + (f": {info['description']}" if info.get("description") else "")
        else:
            desc = "(no description in the store)"
        model_lines.append(f"`{spec}` = {desc}")
    trial_seconds = sum(float(r["seconds"]) for r in rows if r.get("seconds") is not None)
    wall = [float(v["seconds"]) for _, _, v in runs if v.get("seconds") is not None]
    facts = [
        ("sweep(s)", ", ".join(f"`{s}`" for s in sweeps)),
        ("trials", f"{len(rows)} (" + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + ")"),
        ("models", "; ".join(model_lines)),
        ("seeds", ", ".join(str(s) for s in sorted({r["seed"] for r in rows}))),
        ("domains / instance sets", "; ".join(f"{d} / {s}" for d, s in group_arms(arms))),
        (
            "commit",
            _distinct(f"{v.get('commit') or 'unknown'}{' (dirty)' if v.get('dirty') else ''}" for _, _, v in runs),
        ),
        ("hardware", _distinct(_hardware(v.get("hardware")) for _, _, v in runs)),
        (
            "software",
            _distinct(f"Python {v.get('python') or '?'}, torch {v.get('torch') or 'none'}" for _, _, v in runs),
        ),
        (
            "executor",
            _distinct(
                f"{v.get('executor') or '?'} ({v.get('workers', '?')} worker{'' if v.get('workers') == 1 else 's'})"
                for _, _, v in runs
            ),
        ),
        ("wall time", f"{duration(sum(wall))} over {len(wall)} run(s)" if wall else "– (no run records)"),
        ("trial time (sum)", duration(trial_seconds)),
        ("sweep command", _distinct(f"`{v.get('command')}`" for _, _, v in runs if v.get("command"))),
    ]
    configs = [(s, meta.get(f"sweep/{s}/config")) for s in sweeps]
    facts.append(("sweep config", _distinct(f"{s}: `{c.get('path')}`" for s, c in configs if isinstance(c, dict))))
    L += ["## Run", ""] + md_table(["what", "value"], facts) + [""]
    if len(runs) > 1:
        L += ["Runs (a resumed sweep has several):", ""]
        L += md_table(
            ["sweep", "started", "commit", "executor", "trials run", "wall time"],
            [
                (
                    s,
                    t,
                    (v.get("commit") or "unknown")[:12],
                    f"{v.get('executor', '?')} x{v.get('workers', '?')}",
                    v.get("trials_run", "–"),
                    duration(v.get("seconds")),
                )
                for s, t, v in runs
            ],
        )
        L.append("")
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        L += [
            f"**{len(errors)} trial(s) ended in an error** (the runner, not the proposer, failed); they are left "
            "out of every rate and mean below. First messages:",
            "",
        ]
        for msg, count in Counter((r.get("error") or "(no message)") for r in errors).most_common(5):
            L.append(f"- {count} x `{cell(msg)[:200]}`")
        L.append("")
    figures: list[Path] = []
    fig_no = 0
    slugs: set[str] = set()
    for (domain, instance_set), group in group_arms(arms).items():
        slug = slugify(f"{domain}-{instance_set}")
        while slug in slugs:
            slug += "-x"
        slugs.add(slug)
        section, figs, fig_no = render_group(
            domain, instance_set, group, models_meta, out, slug, fig_no, prices=prices, meta=meta
        )
        L += section
        figures += figs
    L += [
        "## Method notes",
        "",
        "- Success = a certified outcome: the trial's status is `verified` (every hard critic accepted the "
        "answer) or `no_solution` (a hard critic proved, before the model was asked, that the task has no "
        "answer; only on sets built to be unsolvable). Trials with status `error` are not counted.",
        "- 95% intervals are Wilson score intervals over trials. Trials on the same instance (several seeds) "
        'are correlated, so the intervals are somewhat optimistic. "Clearly ahead" / "beats" means the two '
        "intervals do not overlap (a conservative test); overlapping intervals mean no clear difference.",
        "- Success-versus-budget curves: a trial solved after using s samples (or t generated tokens) counts as "
        "solved at every budget >= s. This holds for anytime strategies (" + ", ".join(sorted(ANYTIME)) + "); "
        "other strategies are plotted only at the budget settings that ran. Each line ends at its arm's cap "
        "(or at the most any of its trials used, where that unit is not capped).",
        '- Random-proposer "tokens" are whatever the random proposer counts (whitespace words in this project).',
        "",
    ]
    return L, figures
