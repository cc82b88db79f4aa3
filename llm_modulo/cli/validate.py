"""``validate``: check a plan file against PDDL domain and problem files (a VAL stand-in).

By default the plan is read strictly, as VAL and planners write it (:func:`read_strict`): a line
that is not a step, a comment or blank is bad input (exit 2), and names are checked as written.
``--lenient`` reads a model's answer the way the loop does (markers, numbering, the domain's
sentences and object words) and says which lines it skipped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from llm_modulo.cli._common import EXIT_NOT_VERIFIED, err, out
from llm_modulo.errors import InputError

_LONG_WORD = re.compile(r"[^\s();:,]{81,}")  # a run this long in a message is a step name to cut
_MAX_MESSAGE = 500
_MAX_LISTED = 100  # violations printed in text mode (--json has them all)
_SKIPPED_SHOWN = 5


def read_plan_file(plan: Path) -> str:
    """The plan's text: ``-`` is stdin; a device or pipe reads as it reads (/dev/null: an empty plan), up
    to :data:`MAX_TEXT_BYTES` (so /dev/zero ends). One-line :class:`InputError` for a missing file, a
    directory, an unreadable or too large file, or one that is not text."""
    from llm_modulo.files import MAX_TEXT_BYTES
    from llm_modulo.verifiers.planning.plan_text import decode_plan

    source = "the plan on stdin" if str(plan) == "-" else f"plan file {plan}"
    try:
        if str(plan) == "-":
            data = typer.get_binary_stream("stdin").read(MAX_TEXT_BYTES + 1)
        else:
            with plan.open("rb") as stream:
                data = stream.read(MAX_TEXT_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"plan file not found: {plan}") from None
    except IsADirectoryError:
        raise InputError(f"{source} is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(data) > MAX_TEXT_BYTES:
        raise InputError(f"{source} is too large (over {MAX_TEXT_BYTES // 2**20} MiB)")
    return decode_plan(data, source)


def short_message(message: str) -> str:
    """``message`` with long names cut (a 5 MB step name must not be printed whole, or twice)."""
    message = _LONG_WORD.sub(lambda m: f"{m.group(0)[:40]}...({len(m.group(0))} chars)", message)
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "..."


def validate(
    domain: Annotated[Path, typer.Argument(help="PDDL domain file")],
    problem: Annotated[Path, typer.Argument(help="PDDL problem file")],
    plan: Annotated[
        Path,
        typer.Argument(help="plan file ('-': stdin): one (action args) per line, ';' comments, VAL's 't: (a ...) [d]'"),
    ],
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
) -> None:
    """Validate a plan (a VAL stand-in): exit 0 if valid, 1 if invalid, 2 for bad input."""
    from llm_modulo.files import input_file
    from llm_modulo.registry import load_planning_task
    from llm_modulo.types import Candidate
    from llm_modulo.verifiers.planning.plan_text import PlanSyntaxError, read_strict

    # the PDDL files must be regular files (a pipe nobody writes would block forever); the plan may be
    # a pipe, as ``<(planner ...)`` gives, or stdin
    input_file(domain, "domain file")
    input_file(problem, "problem file")
    text = read_plan_file(plan)
    the_domain, task = load_planning_task(str(domain), str(problem), domain_name)
    skipped: list[tuple[int, str]] = []
    if lenient:
        read = task.payload.parser.read(text)
        answer: list[Any] = [(s.name, tuple(s.args)) for s in read.steps]
        skipped = read.skipped
    else:
        try:
            answer = [(a.name, a.args) for a in read_strict(text).steps]
        except PlanSyntaxError as exc:
            raise InputError(f"{exc} (a strict plan file; --lenient reads a model's answer)") from None
    candidate = Candidate(text=text, answer=answer)
    verdicts = [c.check(task, candidate) for c in the_domain.critics(task)]
    ok = all(v.valid for v in verdicts if v.hard)
    if as_json:
        report: dict[str, Any] = {
            "valid": ok,
            "steps": len(answer),
            "verdicts": [v.model_dump(mode="json") for v in verdicts],
        }
        if lenient:
            report["skipped"] = [{"line": n, "text": line} for n, line in skipped]
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        if skipped:
            err.print(escape(_skipped_line(skipped)), highlight=False, soft_wrap=True)
        out.print(f"[bold green]Plan valid[/] ({len(answer)} steps)" if ok else "[bold red]Plan invalid[/]")
        messages = [v.message or the_domain.describe(v, candidate) for verdict in verdicts for v in verdict.violations]
        for message in messages[:_MAX_LISTED]:
            # user text: no markup, no highlighting, no wrapping (rich is slow on long lines)
            out.print(f"  - {escape(short_message(message))}", highlight=False, soft_wrap=True)
        if len(messages) > _MAX_LISTED:
            out.print(f"  ... and {len(messages) - _MAX_LISTED} more (--json lists them all)", highlight=False)
    if not ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _skipped_line(skipped: list[tuple[int, str]]) -> str:
    from llm_modulo.verifiers.planning.plan_text import shorten

    shown = ", ".join(f"line {n}: {shorten(line, 40)}" for n, line in skipped[:_SKIPPED_SHOWN])
    more = f", ... ({len(skipped) - _SKIPPED_SHOWN} more)" if len(skipped) > _SKIPPED_SHOWN else ""
    return f"skipped {len(skipped)} line{'s' if len(skipped) != 1 else ''}: {shown}{more}"
