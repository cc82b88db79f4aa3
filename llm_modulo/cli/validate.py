"""``validate``: check a plan file against PDDL domain and problem files (a VAL stand-in).

By default the plan is read strictly, as VAL and planners write it (:func:`read_strict`): a line
that is not a step, a comment or blank is bad input (exit 2), and names are checked as written.
``--lenient`` reads a model's answer the way the loop does (markers, numbering, the domain's
sentences and object words) and says which lines it skipped. ``--plans`` checks many plans in one
call (a JSONL file or a folder), one JSON line out per plan.

This module is the command's one definition (its options and help); what it does is in
:mod:`._validate`, which :func:`llm_modulo.cli.main` also runs without typer for a fast start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llm_modulo.cli._validate import read_plan_file, run, short_message


def validate(
    domain: Annotated[Path, typer.Argument(help="PDDL domain file")],
    problem: Annotated[Path, typer.Argument(help="PDDL problem file (with --plans: for lines that name none)")],
    plan: Annotated[
        Path | None,
        typer.Argument(
            help="plan file ('-': stdin): one (action args) per line, ';' comments, VAL's 't: (a ...) \\[d]'"
        ),
    ] = None,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="read a model's answer: [PLAN]/[PLAN END] markers, numbering, the domain's sentences "
            "and object words; report the lines skipped",
        ),
    ] = False,
    domain_name: Annotated[
        str | None, typer.Option(help="vocabulary for natural-language plans (--lenient); default: detected")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
    plans: Annotated[
        Path | None,
        typer.Option(
            help='many plans instead of PLAN: a JSONL file (\'-\': stdin) of {"id", "plan"} objects (optional '
            '"domain", "problem" paths) or a folder of plan files; one JSON line out per plan '
            "(id, valid, steps, first failure, or error), in input order; a file of 200 or more plans is "
            "checked in two processes where two cores are free",
        ),
    ] = None,
) -> None:
    """Validate a plan (a VAL stand-in): exit 0 if valid, 1 if invalid, 2 for bad input."""
    code = run(domain, problem, plan, lenient=lenient, domain_name=domain_name, as_json=as_json, plans=plans)
    if code:
        raise typer.Exit(code)


__all__ = ["read_plan_file", "short_message", "validate"]
