"""The exit codes and plain-text output for paths that must start fast (``validate``): no typer, no rich.

Colour as rich gives it: only on a terminal, never with ``NO_COLOR``, always with ``FORCE_COLOR``.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

EXIT_NOT_VERIFIED = 1  # solve/demo certified nothing, validate found the plan invalid, bench had trial errors
EXIT_BAD_INPUT = 2  # a bad option, file or config, an unloadable model, an unreachable server
EXIT_NO_SOLUTION = 3  # a hard critic proved that the task has no answer
EXIT_INTERRUPTED = 130

_STYLES = {"bold green": "\x1b[1;32m", "bold red": "\x1b[1;31m"}


def one_line(message: str) -> str:
    """``message``'s lines joined by ``; `` (an error is one line whatever its line breaks)."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


def _colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def write(text: str, *, styled: str = "", style: str = "", stream: TextIO | None = None) -> None:
    """One line: ``styled`` (in ``style`` where colour is on), then ``text``, as is (no markup)."""
    stream = stream if stream is not None else sys.stdout
    if styled and style and _colour(stream):
        styled = f"{_STYLES[style]}{styled}\x1b[0m"
    stream.write(f"{styled}{text}\n")


def error_line(message: str) -> None:
    """``error: <message>`` on stderr, as one line."""
    write(f" {one_line(message)}", styled="error:", style="bold red", stream=sys.stderr)
