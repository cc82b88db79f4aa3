"""``validate``: check a plan file against PDDL domain and problem files (a VAL stand-in)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from llm_modulo.cli._common import EXIT_NOT_VERIFIED, out
from llm_modulo.errors import InputError


def validate(
    domain: Annotated[Path, typer.Argument(help="PDDL domain file")],
    problem: Annotated[Path, typer.Argument(help="PDDL problem file")],
    plan: Annotated[Path, typer.Argument(help="plan file: one (action args) per line, or the domain's sentences")],
    domain_name: Annotated[
        str | None, typer.Option(help="vocabulary for natural-language plans; default: detected")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
) -> None:
    """Validate a plan (a VAL stand-in): exit 0 if valid, 1 if invalid, 2 for bad input."""
    from llm_modulo.registry import load_planning_task

    if not plan.is_file():
        raise InputError(f"plan file not found: {plan}")
    the_domain, task = load_planning_task(str(domain), str(problem), domain_name)
    candidate = the_domain.parse(task, plan.read_text())
    verdicts = [c.check(task, candidate) for c in the_domain.critics(task)]
    ok = all(v.valid for v in verdicts if v.hard)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "valid": ok,
                    "steps": len(candidate.answer or []),
                    "verdicts": [v.model_dump(mode="json") for v in verdicts],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        out.print(
            f"[bold green]Plan valid[/] ({len(candidate.answer or [])} steps)" if ok else "[bold red]Plan invalid[/]"
        )
        for v in verdicts:
            for viol in v.violations:
                out.print(f"  - {viol.message or the_domain.describe(viol, candidate)}", highlight=False)
    if not ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)
