"""Finding the code in a completion: fenced or not, with prose before or after."""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"^\s*```")
_CODE_START = re.compile(r"^(?:async\s+def|def|import|from|class|@)\b")


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _trim(segment: str) -> str | None:
    """The segment from its first top-level code line, less trailing lines that stop it parsing."""
    lines = segment.splitlines()
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return None
    lines = lines[start:]
    while lines and not lines[-1].strip():
        lines.pop()
    code = "\n".join(lines) + "\n"
    if _parses(code):
        return code
    for end in range(len(lines) - 1, 0, -1):  # trailing prose after the code
        shorter = "\n".join(lines[:end]) + "\n"
        if _parses(shorter):
            return shorter
    return code


def extract_code(text: str, entry: str) -> str | None:
    """The code in ``text`` that defines ``entry``: the first fenced (or unfenced) part that
    does and parses, else the first that does, else the first code at all; ``None`` if none."""
    segments: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if _FENCE.match(line):
            segments.append("\n".join(current))
            current = []
        else:
            current.append(line)
    segments.append("\n".join(current))
    defines = re.compile(rf"^(?:async\s+)?def\s+{re.escape(entry)}\s*\(", re.M)
    codes = [c for c in (_trim(s) for s in segments) if c is not None]
    with_entry = [c for c in codes if defines.search(c)]
    for code in with_entry:
        if _parses(code):
            return code
    if with_entry:
        return with_entry[0]
    return codes[0] if codes else None
