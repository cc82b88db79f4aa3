"""Checking a file the user names (a PDDL file, a sweep config, a trial store) before anything reads it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from llm_modulo.errors import InputError

# Input text files (PDDL, configs) larger than this are refused rather than read into memory: the
# largest real PDDL problems are a few MB, so a bigger file is almost surely the wrong one.
MAX_TEXT_BYTES = 64 * 2**20


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def input_file(path: str | Path, what: str, *, max_bytes: int | None = MAX_TEXT_BYTES, empty_ok: bool = False) -> Path:
    """``path`` if it is a regular, readable file; else an :class:`InputError` naming ``what`` (e.g.
    ``problem file``). Checked before reading because reading itself fails badly: a named pipe blocks
    forever, ``/dev/zero`` never ends, a directory or ``/dev/null`` is no input at all. An empty file
    is refused unless ``empty_ok``, one over ``max_bytes`` always."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise InputError(f"{what} not found: {p}") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a folder we may not enter
        raise InputError(f"{what} {p}: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {p} is {_kind(info.st_mode)}, not a file")
    if info.st_size == 0 and not empty_ok:
        raise InputError(f"{what} {p} is empty")
    if max_bytes is not None and info.st_size > max_bytes:
        raise InputError(f"{what} {p} is too large ({info.st_size / 2**20:.0f} MiB; at most {max_bytes / 2**20:.0f})")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {p}: permission denied")
    return p


__all__ = ["MAX_TEXT_BYTES", "input_file"]
