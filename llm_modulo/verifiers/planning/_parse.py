"""PDDL sources to a unified-planning problem: read each argument (a path, or the PDDL text
itself), expand ``(either ...)`` types, and parse with one reused ``PDDLReader`` per thread.
Every failure becomes a one-line :class:`PDDLError` that names the file at fault.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_modulo.errors import PDDLError

from ._either import EitherTypes, expand_either

_DEFINE = re.compile(r"\(\s*define\b", re.IGNORECASE)
_DOMAIN_NAME = re.compile(r"\(\s*domain\s+([^\s()]+)", re.IGNORECASE)
_local = threading.local()


@dataclass(frozen=True)
class ParsedPDDL:
    """A parsed domain and problem: unified-planning's problem and what the lifting needs besides."""

    up_problem: Any
    either: EitherTypes
    domain_name: str  # lowercase; "" if neither text names its domain
    problem_label: str  # the problem's path, or "<problem text>"


def parse_pddl(domain: str | Path, problem: str | Path) -> ParsedPDDL:
    """Read and parse a PDDL domain and problem (paths, or the PDDL text itself)."""
    domain_text, domain_label = _read(domain, "domain")
    domain_text, either = expand_either(domain_text)
    problem_text, problem_label = _read(problem, "problem")
    up_problem = _parse(domain_text, domain_label, problem_text, problem_label)
    m = _DOMAIN_NAME.search(problem_text) or _DOMAIN_NAME.search(domain_text)
    return ParsedPDDL(up_problem, either, m.group(1).lower() if m else "", problem_label)


def quiet_up() -> None:
    """Keep unified-planning from printing its credits on every engine it builds."""
    import unified_planning.shortcuts as ups

    ups.get_environment().credits_stream = None


def _is_text(source: str | Path) -> bool:
    return isinstance(source, str) and _DEFINE.search(source) is not None


def _read(source: str | Path, role: str) -> tuple[str, str]:
    """(text, label) of a PDDL argument that is either a path or the PDDL text itself."""
    if _is_text(source):
        return str(source), f"<{role} text>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig"), str(path)
    except FileNotFoundError:
        raise PDDLError(f"{path}: no such {role} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PDDLError(f"{path}: cannot read {role} file: {exc}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reader() -> Any:
    """A PDDLReader for this thread (building its grammar costs ~40 ms, so it is reused)."""
    reader = getattr(_local, "reader", None)
    if reader is None:
        from unified_planning.io import PDDLReader

        quiet_up()
        reader = _local.reader = PDDLReader()
    # PDDLReader remembers a domain's total-cost fluent and never forgets it (UP 1.3): reset it
    # so that one domain's action costs do not leak into the next parse.
    if hasattr(reader, "_totalcost"):
        reader._totalcost = None
    return reader


def _parse(domain_text: str, domain_label: str, problem_text: str, problem_label: str) -> Any:
    reader = _reader()
    try:
        return reader.parse_problem_string(domain_text, problem_text)
    except Exception as exc:  # pyparsing, SyntaxError, UP's own: all become one line
        reason = _one_line(exc)
    # attribute the failure: does the domain parse on its own?
    try:
        reader.parse_problem_string(domain_text, None)
    except Exception as exc:
        raise PDDLError(f"{domain_label}: malformed PDDL domain: {_one_line(exc)}") from None
    raise PDDLError(f"{problem_label}: malformed PDDL problem (domain {domain_label}): {reason}") from None


__all__ = ["ParsedPDDL", "parse_pddl", "quiet_up"]
