"""How ``solve`` and ``demo`` print a :class:`Result` for a person: the plan or answer, each critic's
verdict, the critique of the best candidate when nothing was certified, and what the run used."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from llm_modulo.cli._common import out
from llm_modulo.types import FeedbackLevel, Result, ResultStatus, Verdict

STATUS = {
    "verified": "[bold green]VERIFIED[/]",
    "exhausted": "[yellow]NOT VERIFIED (budget spent)[/]",
    "failed": "[red]NOT VERIFIED[/]",
    "no_solution": "[bold cyan]NO SOLUTION EXISTS (proved; the model was not asked)[/]",
}


def print_result(result: Result, domain: Any, task: Any, model_name: str, load_seconds: float) -> None:
    out.rule(f"{task.id}  ·  {result.strategy}  ·  {model_name}")
    _print_answer(result, domain)
    verdicts = result.certificate or _best_verdicts(result)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("status", STATUS[result.status.value])
    for v in verdicts:
        table.add_row(f"critic {v.critic}", f"{v.status.value} ({v.engine})")
    if not result.verified and result.trace:
        critique = _best_critique(result, domain, task)
        if critique:
            table.add_row("critique", critique)
    u = result.usage
    table.add_row("rounds", str(u.rounds))
    if u.nodes:
        table.add_row("search", f"{u.nodes} expansions, {u.scored_tokens} continuation tokens scored")
    table.add_row("samples", str(u.samples))
    table.add_row("tokens", f"{u.generated_tokens} generated, {u.prompt_tokens} prompt (over {u.llm_calls} calls)")
    table.add_row("time", f"{u.seconds:.1f} s solving + {load_seconds:.1f} s loading")
    if "cost_usd" in result.info:  # solve --prices
        cost = result.info["cost_usd"]
        table.add_row("cost", f"${cost:.6f}" if cost is not None else f"– ({result.info.get('price')})")
    if "truncated" in result.info:  # the token cap cut answers off: say so, and how to raise it
        table.add_row("[yellow]note[/]", str(result.info["truncated"]))
    out.print(table)


def _print_answer(result: Result, domain: Any) -> None:
    steps = result.answer or []
    is_plan = hasattr(domain, "render_action") and isinstance(steps, list)
    if result.status is ResultStatus.NO_SOLUTION:
        for v in result.certificate:
            for violation in v.violations:
                out.print(f"[bold]proof[/] ({v.critic}, {v.engine}): {violation.message}", highlight=False)
    elif steps and not is_plan:
        label = "certified answer" if result.verified else "best answer found (not certified)"
        out.print(f"[bold]{label}[/]:")
        out.print(result.answer_text.strip(), highlight=False, markup=False)
    elif steps:
        label = "certified plan" if result.verified else "best plan found (not certified)"
        out.print(f"[bold]{label}[/] ({len(steps)} steps):")
        for i, (name, args) in enumerate(steps, 1):
            out.print(
                f"  {i:>2}. {domain.render_action(name, args)}    [dim]({' '.join([name, *args])})[/]", highlight=False
            )
    else:
        out.print("[bold]no plan[/]")


def _best_sample(result: Result) -> Any:
    """The sample the result's answer came from (the strategy's choice), else the best-scored one."""
    if result.chosen is not None:
        attempt, sample = result.chosen
        return result.trace[attempt].samples[sample]
    samples = [s for a in result.trace for s in a.samples]
    if not samples:
        return None
    return max(samples, key=lambda s: min((v.score for v in s.verdicts if v.hard), default=0.0))


def _best_verdicts(result: Result) -> list[Verdict]:
    """The verdicts on the best sample, when the last round sampled anything (a budget of 0 rounds has none)."""
    if not (result.trace and result.trace[-1].samples):
        return []
    best = _best_sample(result)
    return list(best.verdicts) if best else []


def _best_critique(result: Result, domain: Any, task: Any) -> str:
    best = _best_sample(result)
    if best is None:
        return ""
    from llm_modulo.feedback import domain_critique

    return domain_critique(domain, task, best.candidate, best.verdicts, FeedbackLevel.ALL)
