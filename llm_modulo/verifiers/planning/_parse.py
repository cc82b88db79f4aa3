"""PDDL sources: read each argument (a path, or the PDDL text itself) into :class:`Sources`,
and parse them with unified-planning (:func:`parse_up`: expand ``(either ...)`` types, drop what
its grammar refuses but that changes nothing, and parse with one reused ``PDDLReader`` per thread).
The project's own reader (:mod:`._reader`) reads the same :class:`Sources` first.
Every failure becomes a one-line :class:`PDDLError` that names the file at fault.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from llm_modulo.errors import PDDLError

from ._either import EitherTypes, expand_either
from ._fragment import MAX_BYTES, REQUIREMENTS
from ._record import Frozen
from ._sexp import SyntaxProblem

_DEFINE = re.compile(r"\(\s*define\b", re.IGNORECASE)
# what unified-planning's grammar refuses although it changes nothing: sections left empty
# (Tarski writes them) and requirement flags it does not know
_EMPTY_SECTION = re.compile(r"\(\s*:(?:types|predicates|functions)\s*\)", re.IGNORECASE)
_COMMENT = re.compile(r";[^\n]*")
_REQUIREMENTS = re.compile(r"\(\s*:requirements([^()]*)\)", re.IGNORECASE)
_UP_REQUIREMENTS = REQUIREMENTS - {
    ":object-fluents",
    ":derived-predicates",
    ":non-deterministic",
    ":probabilistic-effects",
}
_DOMAIN_NAME = re.compile(r"\(\s*domain\s+([^\s()]+)", re.IGNORECASE)
_local = threading.local()


class ParsedPDDL(Frozen):
    """A parsed domain and problem: unified-planning's problem and what the lifting needs besides."""

    _fields = ("up_problem", "either", "domain_name", "problem_label")
    up_problem: Any
    either: EitherTypes
    domain_name: str  # lowercase; "" if neither text names its domain
    problem_label: str  # the problem's path, or "<problem text>"

    def __init__(self, up_problem: Any, either: EitherTypes, domain_name: str, problem_label: str) -> None:
        self.__dict__.update(zip(self._fields, (up_problem, either, domain_name, problem_label), strict=True))


class Sources(Frozen):
    """The texts of a domain and a problem, with the labels errors name them by."""

    _fields = ("domain_text", "domain_label", "problem_text", "problem_label")
    domain_text: str
    domain_label: str
    problem_text: str
    problem_label: str

    def __init__(self, domain_text: str, domain_label: str, problem_text: str, problem_label: str) -> None:
        fields = self.__dict__
        fields["domain_text"], fields["domain_label"] = domain_text, domain_label
        fields["problem_text"], fields["problem_label"] = problem_text, problem_label


def read_sources(domain: str | Path, problem: str | Path) -> Sources:
    """Read a PDDL domain and problem (paths, or the PDDL text itself)."""
    return Sources(*_read(domain, "domain"), *_read(problem, "problem"))


def parse_pddl(domain: str | Path, problem: str | Path) -> ParsedPDDL:
    """Read and parse a PDDL domain and problem (paths, or the PDDL text itself) with unified-planning."""
    return parse_up(read_sources(domain, problem))


def parse_up(src: Sources) -> ParsedPDDL:
    """Parse the sources with unified-planning's reader."""
    try:  # without comments: a '(' in one would hide an (either ...) from expand_either
        domain_text, either = expand_either(_COMMENT.sub("", src.domain_text))
    except SyntaxProblem as exc:
        raise PDDLError(f"{src.domain_label}: malformed PDDL domain: {exc.message}") from None
    up_problem = _parse(_for_up(domain_text), src.domain_label, _for_up(src.problem_text), src.problem_label)
    m = _DOMAIN_NAME.search(src.problem_text) or _DOMAIN_NAME.search(domain_text)
    return ParsedPDDL(up_problem, either, m.group(1).lower() if m else "", src.problem_label)


def _for_up(text: str) -> str:
    """``text`` without empty sections and unknown requirement flags, which unified-planning's
    grammar refuses; newlines are kept, so that its messages still name the right lines."""

    def blank(m: re.Match[str]) -> str:
        return "\n" * m.group(0).count("\n")

    def requirements(m: re.Match[str]) -> str:
        flags = [f for f in m.group(1).split() if f.lower() in _UP_REQUIREMENTS]
        return f"(:requirements {' '.join(flags)})" + blank(m) if flags else blank(m)

    return _REQUIREMENTS.sub(requirements, _EMPTY_SECTION.sub(blank, text))


def quiet_up() -> None:
    """Keep unified-planning from printing its credits on every engine it builds."""
    import unified_planning.shortcuts as ups

    ups.get_environment().credits_stream = None


def _is_text(source: str | Path) -> bool:
    """PDDL text rather than a path: it has ``(define``, a newline, or starts with ``(``."""
    if not isinstance(source, str):
        return False
    return _DEFINE.search(source) is not None or "\n" in source or source.lstrip().startswith("(")


def _read(source: str | Path, role: str) -> tuple[str, str]:
    """(text, label) of a PDDL argument that is either a path or the PDDL text itself."""
    if _is_text(source):
        return str(source), f"<{role} text>"
    path = Path(source)
    try:
        with open(path, "rb") as stream:  # bytes, decoded at once: Path.read_text costs twice the time
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_BYTES:  # refuse before reading: a larger file would take minutes
                raise PDDLError(
                    f"{path}: the {role} file is {size / 1e6:.0f} MB; files over {MAX_BYTES // 1_000_000} MB are not read"
                )
            text = stream.read().decode("utf-8-sig")
    except FileNotFoundError:
        raise PDDLError(f"{path}: no such {role} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PDDLError(f"{path}: cannot read {role} file: {exc}") from None
    if "\r" in text:  # the newlines read_text gives, so that line numbers stay the same
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, str(path)


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


__all__ = ["ParsedPDDL", "Sources", "parse_pddl", "parse_up", "quiet_up", "read_sources"]
