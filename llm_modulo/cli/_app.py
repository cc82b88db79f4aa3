"""The typer app: each command's module is imported when the command is first looked up (to run it, or
to list or show its help), not when the app is built."""

from __future__ import annotations

import importlib
from typing import Any

import typer

from llm_modulo.cli import COMMANDS
from llm_modulo.cli._common import OneLineErrors


def _command(name: str) -> Any:
    """The click command of ``COMMANDS[name]``, built by typer from the function's signature."""
    module, _, function = COMMANDS[name].partition(":")
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name)(getattr(importlib.import_module(module), function))
    return typer.main.get_command(single)


class LazyCommands(OneLineErrors):
    """:class:`OneLineErrors` whose commands load on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.commands[cmd_name] = _command(cmd_name)
        return self.commands.get(cmd_name)


app = typer.Typer(
    name="llm-modulo",
    cls=LazyCommands,
    help="An LLM proposes, sound critics certify: generate-test-critique planning with a local model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    pass


__all__ = ["LazyCommands", "app"]
