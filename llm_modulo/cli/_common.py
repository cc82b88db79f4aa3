"""What the ``llm-modulo`` commands share: the consoles, the exit codes, option types and parsing, and
the CLI's one error boundary (:class:`OneLineErrors`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from llm_modulo.cli._plain import EXIT_BAD_INPUT, one_line
from llm_modulo.cli._plain import EXIT_INTERRUPTED as EXIT_INTERRUPTED  # the exit codes, where the commands look
from llm_modulo.cli._plain import EXIT_NO_SOLUTION as EXIT_NO_SOLUTION
from llm_modulo.cli._plain import EXIT_NOT_VERIFIED as EXIT_NOT_VERIFIED
from llm_modulo.errors import InputError, LLMModuloError
from llm_modulo.registry import STRATEGIES
from llm_modulo.strategies.options import CONSTRAINT_MODES
from llm_modulo.types import Budget

# typer >= 0.2x carries its own click, whose errors (usage errors included) derive from TyperException;
# older typer runs on click itself (mypy checks the installed typer's branch)
if TYPE_CHECKING or hasattr(typer, "TyperException"):
    from typer import TyperException as ClickError
else:
    from click import ClickException as ClickError

out = Console()
err = Console(stderr=True)


StrategyName = Enum("StrategyName", {name: name for name in STRATEGIES}, type=str)  # type: ignore[misc]
Constrain = Enum("Constrain", {mode: mode for mode in ("auto", *CONSTRAINT_MODES)}, type=str)  # type: ignore[misc]


class Style(str, Enum):
    nl = "nl"
    pddl = "pddl"


def error_line(message: str) -> None:
    """``error: <message>`` on stderr, as one line whatever the message's line breaks or the terminal's width."""
    err.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False, soft_wrap=True)


class OneLineErrors(TyperGroup):
    """The CLI's one error boundary, around every command: an :class:`LLMModuloError` (bad input, an
    unloadable model, an unreachable server) or a usage error (a bad option value, a missing argument)
    becomes one line on stderr and exit code 2. Anything else is a bug and keeps its traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # the caller handles errors and exit codes itself
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # Not standalone: click returns the exit code (of typer.Exit, --help, ...) instead of exiting.
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except LLMModuloError as exc:
            error_line(exc.format_message())
            code = EXIT_BAD_INPUT
        except ClickError as exc:  # a usage error: a bad option value, a missing argument, ...
            if type(exc).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
                error_line(_usage_message(exc))
            code = exc.exit_code
        except typer.Abort:
            error_line("aborted")
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: ClickError) -> str:
    message = str(exc.format_message()).replace("Value error, ", "")  # pydantic's prefix on enum checks
    ctx = getattr(exc, "ctx", None)  # usage errors know their command
    if ctx is not None:
        message += f" (see {ctx.command_path} --help)"
    return message


def parse_budget(spec: str | None, **overrides: Any) -> Budget:
    """``rounds=10,samples=64,tokens=20000,seconds=60`` (any subset; ``none`` = unlimited)."""
    values: dict[str, Any] = {}
    if spec:
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            key = key.strip()
            if key in values:
                raise InputError(f"bad --budget: {key} is given twice")
            if not sep or key not in Budget.model_fields:
                raise InputError(f"bad --budget item {part!r}; use e.g. rounds=10,samples=64,tokens=20000,seconds=60")
            try:
                values[key] = (
                    None if value.strip().lower() == "none" else float(value) if key == "seconds" else int(value)
                )
            except ValueError:
                raise InputError(f"bad --budget value {part!r}: not a number") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Budget(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"bad budget {first['loc'][0]}={first.get('input')!r}: {first['msg']}") from None


# one-time work a user waits on (the embedded model's conversion, an ONNX export): said without --verbose too
ONCE_LOGGERS = ("llm_modulo.models.smollm2", "llm_modulo.models._ort_export")


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        for name in ONCE_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
