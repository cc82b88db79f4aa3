"""One trial's page: the prompt, each round's back-prompt and the valid prefix it kept, every sample with
its verdicts and critique, the search tree for search traces, the certificate and the re-check."""

from __future__ import annotations

import json
from typing import Any

from llm_modulo.experiments.view.html import (
    badge,
    esc,
    json_block,
    meta_table,
    number,
    page,
    pre,
    recheck_badge,
    status_badge,
)
from llm_modulo.experiments.view.source import Trial, budget_text
from llm_modulo.experiments.view.tree import is_search, render_search


def trial_page(trial: Trial, index: str | None = None) -> str:
    """The whole page; ``index`` is the link back to the arm's list, if there is one."""
    row, result = trial.row, trial.result or {}
    title = f"{row.get('instance') or result.get('task_id') or trial.key} · {row.get('strategy') or ''}"
    back = f'<p><a href="{esc(index)}">&larr; all trials</a></p>' if index else ""
    parts = [back, f"<h1>{esc(title)} {status_badge(trial.status)} {recheck_badge(trial.recheck)}</h1>"]
    parts.append(_summary(trial))
    if row.get("error"):
        parts += ["<h2>Error</h2>", pre(row["error"])]
    if result:
        parts.append(_answer(result, trial.recheck))
        trace: list[dict[str, Any]] = result.get("trace") or []
        if is_search(trace):
            parts.append(_prompt(trace))
            parts.append(render_search(result))
            goal = [i for i, a in enumerate(trace) if "goal_test" in (a.get("info") or {})]
            if goal:
                parts += ["<h2>Goal test</h2>", _samples(trace[goal[-1]], goal[-1], result.get("chosen"))]
        else:
            parts.append(_rounds(trace, result.get("chosen")))
        if result.get("info"):
            parts += ["<h2>Strategy figures</h2>", json_block(result["info"])]
    config = row.get("config_json")
    if config:
        try:
            parts += ["<h2>Configuration</h2>", json_block(json.loads(config))]
        except json.JSONDecodeError:
            parts += ["<h2>Configuration</h2>", pre(config)]
    return page(title, "\n".join(p for p in parts if p))


def _summary(trial: Trial) -> str:
    row, result = trial.row, trial.result or {}
    usage = result.get("usage") or {}
    figure = {k: row.get(k) if row.get(k) is not None else usage.get(k) for k in _FIGURES}
    return meta_table(
        [
            ("key", esc(trial.key)),
            ("arm", esc(trial.arm) if row.get("label") else ""),
            ("domain", esc(row.get("domain") or result.get("domain"))),
            ("instance", esc(row.get("instance") or result.get("task_id"))),
            ("strategy", esc(row.get("strategy") or result.get("strategy"))),
            ("model", esc(row.get("model"))),
            ("feedback", esc(row.get("feedback"))),
            ("seed", esc(row.get("seed"))),
            ("budget", esc(budget_text(row)) if row.get("budget_json") else ""),
            *((_FIGURES[k], number(v)) for k, v in figure.items()),
            ("finished", esc(row.get("finished_at"))),
        ]
    )


_FIGURES = {
    "rounds": "rounds",
    "samples": "samples",
    "llm_calls": "LLM calls",
    "nodes": "search expansions",
    "prompt_tokens": "prompt tokens",
    "generated_tokens": "generated tokens",
    "seconds": "seconds",
}


def _answer(result: dict[str, Any], recheck: str) -> str:
    certificate: list[dict[str, Any]] = result.get("certificate") or []
    parts = ["<h2>Answer</h2>", pre(result.get("answer_text") or "(none)")]
    parts.append("<h3>Certificate</h3>")
    if certificate:
        parts.append(_verdicts(certificate))
    else:
        parts.append('<p class="muted">none: no answer was certified by every hard critic</p>')
    parts.append("<h3>Re-check</h3>")
    if recheck:
        parts.append(f"<p>{recheck_badge(recheck)} the domain's reference check, independent of the critics</p>")
    else:
        parts.append('<p class="muted">not re-checked (only verified answers are; off with --no-recheck)</p>')
    return "\n".join(parts)


def _prompt(trace: list[dict[str, Any]]) -> str:
    first = next((a for a in trace if a.get("prompt")), None)
    return f"<h2>Prompt</h2>{pre(first['prompt'])}" if first else ""


def _rounds(trace: list[dict[str, Any]], chosen: Any) -> str:
    if not trace:
        return '<h2>Rounds</h2><p class="muted">no trace stored</p>'
    parts = [_prompt(trace[:1]), "<h2>Rounds</h2>"]
    first = str(trace[0].get("prompt") or "")
    for i, attempt in enumerate(trace):
        prompt = str(attempt.get("prompt") or "")
        parts.append(f'<section class="round"><h3>Round {esc(attempt.get("round", i + 1))}</h3>')
        if i and prompt != first:
            parts.append("<div>back-prompt (what this round's prompt adds to the first):</div>")
            parts.append(pre(_added(first, prompt), "backprompt"))
            parts.append(f"<details><summary>the whole prompt</summary>{pre(prompt)}</details>")
        elif i:
            parts.append('<div class="muted">the same prompt as the first round</div>')
        if attempt.get("prefill"):
            parts.append("<div>valid prefix kept (the samples continue from it):</div>")
            parts.append(pre(attempt["prefill"], "prefix"))
        parts.append(_samples(attempt, i, chosen))
        parts.append("</section>")
    return "\n".join(parts)


def _added(first: str, prompt: str) -> str:
    """``prompt`` less the start and end it shares with ``first``: the critique and history sent back."""
    start = 0
    limit = min(len(first), len(prompt))
    while start < limit and first[start] == prompt[start]:
        start += 1
    end = 0
    while end < limit - start and first[-1 - end] == prompt[-1 - end]:
        end += 1
    start = prompt.rfind("\n", 0, start) + 1  # whole lines read better
    return prompt[start : len(prompt) - end] if end else prompt[start:]


def _samples(attempt: dict[str, Any], index: int, chosen: Any) -> str:
    samples: list[dict[str, Any]] = attempt.get("samples") or []
    if not samples:
        return '<p class="muted">no samples</p>'
    parts = []
    for j, sample in enumerate(samples):
        verdicts: list[dict[str, Any]] = sample.get("verdicts") or []
        hard = [v for v in verdicts if v.get("hard", True)]
        ok = bool(hard) and all(v.get("status") == "valid" for v in hard)
        is_chosen = isinstance(chosen, list) and chosen == [index, j]
        cls = "sample" + (" certified" if ok else "") + (" chosen" if is_chosen else "")
        head = f"sample {j + 1} · {number(sample.get('tokens'))} tokens"
        tags = (badge("certified", "v-valid") if ok else "") + (
            badge("the answer", "s-no_solution") if is_chosen else ""
        )
        parts.append(f'<div class="{cls}"><div>{esc(head)} {tags}</div>{pre(sample.get("completion", ""))}')
        candidate = sample.get("candidate") or {}
        if candidate.get("parse_errors"):
            items = "".join(f"<li>{esc(e)}</li>" for e in candidate["parse_errors"])
            parts.append(f'<div>parse errors:</div><ul class="critique">{items}</ul>')
        parts.append(_verdicts(verdicts))
        parts.append("</div>")
    return "".join(parts)


def _verdicts(verdicts: list[dict[str, Any]]) -> str:
    """Each critic's verdict, its progress, and its critique (the violations it found)."""
    if not verdicts:
        return '<p class="muted">no verdicts</p>'
    rows = []
    for v in verdicts:
        status = str(v.get("status", "?"))
        progress = v.get("progress") or {}
        prog = f"{progress.get('valid')} of {progress.get('length')} steps valid" if progress else ""
        critique = "".join(
            f"<li>{esc(x.get('message') or x.get('kind'))}"
            f"{' (step ' + esc(x['step']) + ')' if x.get('step') is not None else ''}"
            f' <span class="muted">{esc(x.get("kind"))}</span></li>'
            for x in v.get("violations") or []
        )
        rows.append(
            f"<tr><td>{esc(v.get('critic'))}{'' if v.get('hard', True) else ' (soft)'}</td>"
            f'<td>{badge(status, "v-" + status)}</td><td class="n">{number(v.get("score"))}</td>'
            f"<td>{esc(prog)}</td><td>{esc(v.get('engine'))}</td>"
            f"<td>{f'<ul class=critique>{critique}</ul>' if critique else ''}</td></tr>"
        )
    head = "<tr><th>critic</th><th>verdict</th><th>score</th><th>progress</th><th>engine</th><th>critique</th></tr>"
    return f'<table class="verdicts">{head}{"".join(rows)}</table>'


__all__ = ["trial_page"]
