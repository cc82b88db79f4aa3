"""Reading plan text: the one reader behind ``validate``, :func:`parse_pddl_plan` and the domains' parser.

Two modes, chosen explicitly:

* **strict** (:func:`read_strict`, plan files as VAL and planners write them): one PDDL step
  ``(name arg ...)`` per line, optionally in VAL's timed form ``0.001: (name arg ...) [1.000]``;
  ``;`` comments (whole-line or trailing) and blank lines. Any other line (``[PLAN END]``
  included) is a :class:`PlanSyntaxError` naming the line; nothing is skipped silently, and names
  are kept as written (the validator says whether they exist).
* **lenient** (:func:`read_lenient`, model output): the plan lies between a ``[PLAN]`` line (if
  any) and an exact end-marker line; lines are read by a caller's line reader (numbering, prose
  and vocabulary sentences are the domain's business, see ``PlanParser``). Whatever is not read
  as a step is reported in :attr:`LenientPlan.skipped`, never dropped unseen.

:func:`extract_steps` is the strict grammar's step extraction without the line rules: every
``(name args)`` group of a text, comments removed (what :func:`parse_pddl_plan` returns).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Generic, TypeVar

from llm_modulo.errors import InputError

from ._model import GroundAction
from ._record import Record

T = TypeVar("T")

# a name is anything but blanks, parentheses, brackets and ";" (PDDL's comment sign)
_NAME = r"[^\s()\[\];]+"
# a step line: "(name arg ...)", or VAL's timed "0.001: (name arg ...) [1.000]" (time and duration optional)
STEP_LINE = re.compile(
    rf"^(?:\d+(?:\.\d*)?\s*:\s*)?\(\s*(({_NAME})((?:\s+{_NAME})*))\s*\)\s*(?:\[\s*\d+(?:\.\d*)?\s*\])?$"
)
_GROUP = re.compile(r"\(([^()]*)\)")
_COMMENT = re.compile(r";[^\n]*")
# the answer's markers, as exact lines (case-insensitive, optional trailing punctuation)
_START_MARKER = re.compile(r"^\[plan\]\s*[.:;!]*$", re.IGNORECASE)
_END_MARKER = re.compile(r"^(?:\[plan end\]|\[end plan\]|plan end)\s*[.:;!]*$", re.IGNORECASE)
_NUMBERING = re.compile(r"^(?:step\s*)?\d+\s*[.):]\s*|^[-*•]\s*", re.IGNORECASE)
_ACTION_LABEL = re.compile(r"^action\s*:\s*", re.IGNORECASE)  # "Action: pick up ..." in reasoning answers
_SHOWN = 60  # characters of a line an error message quotes

# UTF-32's BOMs first: UTF-32-LE's begins with UTF-16-LE's
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)
_CACHE: dict[str, GroundAction] = {}  # "unstack a b" -> its GroundAction: plans repeat steps a lot
_LINES: dict[str, GroundAction] = {}  # a strict plan line as written -> its step (a batch repeats lines)
_MAX_CACHE = 100_000


class PlanSyntaxError(InputError):
    """A plan line the strict reader does not accept (bad input: ``validate`` exits 2)."""

    def __init__(self, line_no: int, text: str, why: str = "not a PDDL step") -> None:
        self.line_no = line_no
        self.text = text
        super().__init__(f"plan line {line_no}: {why}: {shorten(text)}")


class PlanText(Record):
    """What the strict reader found: the steps and the (1-based) line each came from."""

    _fields = ("steps", "lines")

    def __init__(self, steps: list[GroundAction], lines: list[int] | None = None) -> None:
        self.steps = steps
        self.lines: list[int] = [] if lines is None else lines


class LenientPlan(Record, Generic[T]):
    """What the lenient reader found: the steps and every non-blank line it did not read as one."""

    _fields = ("steps", "skipped")

    def __init__(self, steps: list[T], skipped: list[tuple[int, str]] | None = None) -> None:
        self.steps = steps
        self.skipped: list[tuple[int, str]] = [] if skipped is None else skipped  # (1-based line number, the line)


def shorten(text: str, limit: int = _SHOWN) -> str:
    """``text`` quoted, cut to ``limit`` characters (with the count of the rest) for one-line messages."""
    text = text.strip()
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text) - limit} more characters)"


def is_start_marker(line: str) -> bool:
    """True for a ``[PLAN]`` line (case-insensitive, optional trailing punctuation)."""
    return bool(_START_MARKER.match(line.strip()))


def is_end_marker(line: str) -> bool:
    """True for an exact end-marker line: ``[PLAN END]``, ``[END PLAN]`` or ``PLAN END`` (not a prefix)."""
    return bool(_END_MARKER.match(line.strip()))


def step_of(group: str) -> GroundAction:
    """The ground action of a step's inside (``"unstack A b"`` -> ``(unstack a b)``), lowercased."""
    action = _CACHE.get(group)
    if action is None:
        parts = group.lower().split()
        if len(_CACHE) >= _MAX_CACHE:
            _CACHE.clear()
        action = _CACHE[group] = GroundAction(parts[0], tuple(parts[1:]))
    return action


def extract_steps(text: str) -> list[GroundAction]:
    """Every parenthesised group of ``text`` as a step; ``;`` comments and anything outside
    parentheses (step numbers, markers, durations) are ignored. Names are lowercased."""
    if ";" in text:
        text = _COMMENT.sub("", text)
    cached = _CACHE.get
    out = []
    for group in _GROUP.findall(text):  # the hot path of bulk validation: step_of inlined
        action = cached(group)
        if action is None:
            if not group.strip():
                continue
            action = step_of(group)
        out.append(action)
    return out


def strict_line_step(line: str) -> GroundAction | None:
    """The step a strict plan line holds; ``None`` for a blank or comment line.

    Raises ``ValueError`` for any other line (the caller knows its number)."""
    step = _LINES.get(line)
    if step is not None:
        return step
    text = line.split(";", 1)[0].strip()
    if not text:
        return None
    m = STEP_LINE.match(text)
    if m is None:
        raise ValueError("not a PDDL step")
    if len(_LINES) >= _MAX_CACHE:
        _LINES.clear()
    step = _LINES[line] = step_of(m.group(1))
    return step


def read_strict(text: str) -> PlanText:
    """The steps of a plan file (see the module docstring); :class:`PlanSyntaxError` on any other line."""
    plan = PlanText([])
    for n, line in enumerate(text.splitlines(), 1):
        try:
            step = strict_line_step(line)
        except ValueError as exc:
            raise PlanSyntaxError(n, line, str(exc)) from None
        if step is not None:
            plan.steps.append(step)
            plan.lines.append(n)
    return plan


def clean_line(line: str, label: bool = False) -> str:
    """A model's plan line without its decoration: numbering ("1.", "Step 2:", "- "), trailing
    ``.;,``, and with ``label`` an "Action:" prefix (reasoning answers)."""
    text = _NUMBERING.sub("", line.strip()).strip()
    if label:
        text = _ACTION_LABEL.sub("", text).strip()
    return text.rstrip(".;,").strip()


def pddl_step(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(name, args) if ``text`` is one step line as the strict reader reads it (a trailing comment
    allowed), names as written (not lowercased); else None."""
    m = STEP_LINE.match(text.split(";", 1)[0].strip())
    return (m.group(2), tuple(m.group(3).split())) if m else None


def read_lenient(text: str, read_line: Callable[[str], T | None]) -> LenientPlan[T]:
    """Steps of a model's answer: from after the first ``[PLAN]`` line (if any) up to the first
    end-marker line, each line read by ``read_line`` (``None``: not a step). Lines before the
    start marker, after the end marker, repeated start markers and non-blank lines ``read_line``
    declines are reported in ``skipped``."""
    lines = text.splitlines()
    start = next((i + 1 for i, ln in enumerate(lines) if is_start_marker(ln)), 0)
    plan: LenientPlan[T] = LenientPlan([])
    skipped = plan.skipped
    skipped.extend((i + 1, ln) for i, ln in enumerate(lines[:start]) if ln.strip() and i + 1 != start)
    for i in range(start, len(lines)):
        line = lines[i]
        if is_end_marker(line):
            skipped.extend((j + 1, ln) for j, ln in enumerate(lines[i + 1 :], i + 1) if ln.strip())
            break
        if is_start_marker(line):
            skipped.append((i + 1, line))
            continue
        step = read_line(line)
        if step is not None:
            plan.steps.append(step)
        elif line.strip():
            skipped.append((i + 1, line))
    return plan


def decode_plan(data: bytes, source: str) -> str:
    """Plan text from a file's bytes: UTF-8 (a BOM allowed) or UTF-16/32 with a BOM.
    :class:`InputError` for anything else (another encoding, binary data, NUL bytes)."""
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source} is not {encoding.upper().removesuffix('-SIG')} text "
            f"(byte 0x{data[exc.start]:02x} at offset {exc.start}); a plan file is UTF-8"
        ) from None
    if "\x00" in text:
        raise InputError(f"{source} holds NUL bytes (offset {text.index(chr(0))}): binary data, not a plan")
    return text


__all__ = [
    "STEP_LINE",
    "LenientPlan",
    "PlanSyntaxError",
    "PlanText",
    "clean_line",
    "decode_plan",
    "extract_steps",
    "is_end_marker",
    "is_start_marker",
    "pddl_step",
    "read_lenient",
    "read_strict",
    "shorten",
    "step_of",
    "strict_line_step",
]
