"""What ``validate`` does, for one plan and for many (``--plans``), without typer, rich or pydantic.

A strict plan on a problem in the grounded fragment needs only the own PDDL reader and the grounded
validator, so ``llm-modulo validate D P PLAN`` starts in about a tenth of a second:
:func:`llm_modulo.cli.main` runs :func:`fast_main` before typer is imported. ``--lenient`` (the domain's
plan reader), ``--json`` (the critics' verdicts), ``--domain-name`` and problems beyond the fragment
(unified-planning) go through the registry's domain and its critics, as the loop does.

The command's options are defined once, in :mod:`.validate` (typer); :data:`OPTIONS` only names them
so that :func:`fast_main` can read a plain command line, and anything else (``--help``, an unknown
or malformed option, a wrong number of arguments) is left to typer. A test keeps the two in step.
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import cache
from pathlib import Path
from stat import S_ISREG
from types import SimpleNamespace
from typing import Any

from llm_modulo.cli._plain import EXIT_BAD_INPUT, EXIT_NOT_VERIFIED, error_line, write
from llm_modulo.errors import InputError, LLMModuloError

_LONG_WORD = re.compile(r"[^\s();:,]{81,}")  # a run this long in a message is a step name to cut
_MAX_MESSAGE = 500
_MAX_LISTED = 100  # violations printed in text mode (--json has them all)
_SKIPPED_SHOWN = 5
_CACHED_PROBLEMS = 256  # parsed (domain, problem) pairs kept by a batch

OPTIONS = {"--lenient": False, "--json": False, "--domain-name": True, "--plans": True}  # name -> takes a value
_DESTS = {"--lenient": "lenient", "--json": "as_json", "--domain-name": "domain_name", "--plans": "plans"}


@cache
def _planning() -> Any:
    """The modules the plain path uses, imported on its first call, not with this module (``--help``
    needs none of them), and once (a batch asks for them for each plan)."""
    from llm_modulo import files
    from llm_modulo.verifiers.planning import pddl, plan_text, validator

    return SimpleNamespace(files=files, pddl=pddl, plan_text=plan_text, validator=validator)


def read_plan_file(plan: Path) -> str:
    """The plan's text: ``-`` is stdin; a device or pipe reads as it reads (/dev/null: an empty plan), up
    to :data:`MAX_TEXT_BYTES` (so /dev/zero ends). One-line :class:`InputError` for a missing file, a
    directory, an unreadable or too large file, or one that is not text."""
    from llm_modulo.files import MAX_TEXT_BYTES
    from llm_modulo.verifiers.planning.plan_text import decode_plan

    source = "the plan on stdin" if str(plan) == "-" else f"plan file {plan}"
    try:
        if str(plan) == "-":
            data = sys.stdin.buffer.read(MAX_TEXT_BYTES + 1)
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


class Loaded:
    """A parsed PDDL pair; its registry domain and task are built only when a plan needs them."""

    # plain classes here: a dataclass costs milliseconds to create, and this module is on the fast path
    def __init__(self, domain_file: str, problem_file: str, problem: Any, domain_name: str | None) -> None:
        self.domain_file, self.problem_file = domain_file, problem_file
        self.problem = problem  # PlanningProblem
        self.domain_name = domain_name
        self._task: tuple[Any, Any] | None = None

    @classmethod
    def load(
        cls,
        domain_file: str,
        problem_file: str,
        domain_name: str | None,
        domains: dict[str, str] | None = None,
        shared: dict[str, Any] | None = None,
    ) -> Loaded:
        """``domains``: a batch's domain texts by path, read once (each problem of a domain re-read it);
        ``shared``: its GroundCaches by domain path (each step is grounded once, not once per problem)."""
        pddl = _planning().pddl

        # regular files only: a pipe nobody writes would block forever
        known = domains.get(domain_file) if domains is not None else None
        if known is None:
            _regular_file(domain_file, "domain file")
        _regular_file(problem_file, "problem file")
        cache = None if shared is None else shared.get(domain_file)
        if shared is not None and cache is None:
            cache = shared[domain_file] = pddl.GroundCache()
        problem = pddl.load_problem(known or domain_file, problem_file, shared=cache)
        if domains is not None and known is None and problem.supported:
            # read by the own reader without error: later problems get its text (a parse error cannot name it)
            domains[domain_file] = Path(domain_file).read_text(encoding="utf-8-sig")
        loaded = cls(domain_file, problem_file, problem, domain_name)
        if domain_name is not None:
            loaded.task()  # an unknown or unfitting domain name is bad input, whatever the plan
        return loaded

    def task(self) -> tuple[Any, Any]:
        """(domain, task) as the loop has them (the domain detected from the PDDL unless named)."""
        if self._task is None:
            from llm_modulo.registry import planning_task

            self._task = planning_task(self.problem, self.domain_file, self.problem_file, self.domain_name)
        return self._task


def _regular_file(path: str, what: str) -> None:
    """:func:`llm_modulo.files.input_file`'s check, one ``stat`` where the file is fine (a batch reads
    hundreds); it names what is wrong otherwise."""
    files = _planning().files
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        info = None
    fine = info is not None and S_ISREG(info.st_mode) and 0 < info.st_size <= files.MAX_TEXT_BYTES
    if not fine or not os.access(path, os.R_OK):
        files.input_file(path, what)


class Outcome:
    """What :func:`judge` found: ``verdicts`` are the critics' Verdicts, where they were asked for."""

    def __init__(
        self,
        valid: bool,
        steps: int,
        messages: list[str],
        skipped: list[tuple[int, str]],
        verdicts: list[Any] | None = None,
    ) -> None:
        self.valid, self.steps, self.messages, self.skipped, self.verdicts = valid, steps, messages, skipped, verdicts


def judge(loaded: Loaded, text: str, *, lenient: bool = False, verdicts: bool = False) -> Outcome:
    """Read ``text`` (strictly, or as the loop reads a model's answer) and check it: with the grounded
    validator where that is what the critics would run, else with the domain's critics."""
    plan_text = _planning().plan_text
    skipped: list[tuple[int, str]] = []
    if lenient:
        read = loaded.task()[1].payload.parser.read(text)
        answer: list[Any] = [(s.name, tuple(s.args)) for s in read.steps]
        skipped = read.skipped
    else:
        try:
            answer = plan_text.read_strict(text).steps  # GroundActions, which the grounded validator reads fastest
        except plan_text.PlanSyntaxError as exc:
            raise InputError(f"{exc} (a strict plan file; --lenient reads a model's answer)") from None
    if loaded.problem.supported and not verdicts:
        report = _planning().validator.validate(
            loaded.problem, answer
        )  # what PlanCritic runs, without building its Verdict
        return Outcome(report.valid, len(answer), report.messages(), skipped)
    from llm_modulo.types import Candidate

    if not lenient:
        answer = [(a.name, a.args) for a in answer]  # the answer as the loop's critics get it
    the_domain, task = loaded.task()
    candidate = Candidate(text=text, answer=answer)
    checked = [c.check(task, candidate) for c in the_domain.critics(task)]
    messages = [v.message or the_domain.describe(v, candidate) for verdict in checked for v in verdict.violations]
    return Outcome(all(v.valid for v in checked if v.hard), len(answer), messages, skipped, checked)


def run(
    domain: Path,
    problem: Path,
    plan: Path | None,
    *,
    lenient: bool = False,
    domain_name: str | None = None,
    as_json: bool = False,
    plans: Path | None = None,
) -> int:
    """The ``validate`` command; its exit code. Bad input raises :class:`InputError`."""
    if plan is not None and plans is not None:
        raise InputError("give a plan file (PLAN) or --plans FILE.jsonl|DIR, not both")
    if plans is not None:
        from llm_modulo.cli._validate_batch import run_batch

        return run_batch(str(domain), str(problem), plans, lenient=lenient, domain_name=domain_name)
    if plan is None:
        raise InputError("no plan: give a plan file (PLAN, '-' for stdin) or --plans FILE.jsonl|DIR")
    from llm_modulo.files import input_file

    # the PDDL files are checked before the plan is read, as they always were
    input_file(domain, "domain file")
    input_file(problem, "problem file")
    text = read_plan_file(plan)
    outcome = judge(Loaded.load(str(domain), str(problem), domain_name), text, lenient=lenient, verdicts=as_json)
    if as_json:
        report: dict[str, Any] = {
            "valid": outcome.valid,
            "steps": outcome.steps,
            "verdicts": [v.model_dump(mode="json") for v in outcome.verdicts or []],
        }
        if lenient:
            report["skipped"] = [{"line": n, "text": line} for n, line in outcome.skipped]
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        if outcome.skipped:
            write(_skipped_line(outcome.skipped), stream=sys.stderr)
        if outcome.valid:
            write(f" ({outcome.steps} steps)", styled="Plan valid", style="bold green")
        else:
            write("", styled="Plan invalid", style="bold red")
        for message in outcome.messages[:_MAX_LISTED]:
            write(f"  - {short_message(message)}")
        if len(outcome.messages) > _MAX_LISTED:
            write(f"  ... and {len(outcome.messages) - _MAX_LISTED} more (--json lists them all)")
    return 0 if outcome.valid else EXIT_NOT_VERIFIED


def _skipped_line(skipped: list[tuple[int, str]]) -> str:
    from llm_modulo.verifiers.planning.plan_text import shorten

    shown = ", ".join(f"line {n}: {shorten(line, 40)}" for n, line in skipped[:_SKIPPED_SHOWN])
    more = f", ... ({len(skipped) - _SKIPPED_SHOWN} more)" if len(skipped) > _SKIPPED_SHOWN else ""
    return f"skipped {len(skipped)} line{'s' if len(skipped) != 1 else ''}: {shown}{more}"


# -- the fast start ----------------------------------------------------------------------------------
def parse_args(args: list[str]) -> dict[str, Any] | None:
    """``validate``'s arguments as keyword arguments of :func:`run`, or None where typer must read them
    (``--help``, anything unknown or malformed: typer gives the help or the usage error)."""
    opts: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name not in OPTIONS or (eq and not OPTIONS[name]):
            return None
        if OPTIONS[name] and not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        opts[_DESTS[name]] = value if OPTIONS[name] else True
    if len(positional) != (2 if "plans" in opts else 3):
        return None
    paths = [Path(p) for p in positional]
    plans = opts.pop("plans", None)
    return {
        "domain": paths[0],
        "problem": paths[1],
        "plan": paths[2] if len(paths) == 3 else None,
        "plans": Path(plans) if plans is not None else None,
        **opts,
    }


def fast_main(args: list[str]) -> int | None:
    """Run ``validate`` on ``args`` without typer; None if typer must read them."""
    kwargs = parse_args(args)
    if kwargs is None:
        return None
    try:
        return run(**kwargs)
    except LLMModuloError as exc:
        error_line(exc.format_message())
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # as click reports it
        sys.stderr.write("\n")
        error_line("aborted")
        return 1
