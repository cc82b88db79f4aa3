"""Reading a Game-of-24 answer from free text into a JSON-serialisable record.

The answer is Tree of Thoughts' format, step lines then an answer line::

    4 + 8 = 12 (left: 4 6 12)
    6 - 4 = 2 (left: 2 12)
    2 * 12 = 24 (left: 24)
    Answer: (6 - 4) * (4 + 8) = 24

The reader is lenient with a small model's text: prose around the lines, "Step 1:" or list
labels, unicode or LaTeX operators (× ÷ − \\times), markdown, a missing ``(left: ...)`` list,
a missing ``= 24``, the sides of the answer's equation swapped. The first answer line is the
answer; without one, a bare expression line is; without either, the expression is rebuilt
from the steps. The record (see :func:`parse_answer`) holds values as exact fraction strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from .arith import ExpressionError, Node, parse_expression, parse_value, render, value_text
from .puzzle import expression_of

END = "[END]"
MAX_STEPS = 16

_REPLACE = {
    "×": "*",
    "✕": "*",
    "✖": "*",
    "⋅": "*",
    "·": "*",
    "∙": "*",
    "∗": "*",
    "÷": "/",
    "∕": "/",
    "⁄": "/",
    "−": "-",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‒": "-",
    "＋": "+",
    "＝": "=",
    "（": "(",
    "）": ")",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "`": "",
    "$": "",
    "**": "",
    "\\times": "*",
    "\\cdot": "*",
    "\\div": "/",
    "\\left": "",
    "\\right": "",
    "\\(": "",
    "\\)": "",
}
_REPLACE_RE = re.compile("|".join(re.escape(k) for k in sorted(_REPLACE, key=len, reverse=True)))
_TIMES_X = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])|(?<=[\d)])\s+[xX]\s+(?=[\d(])")

_NUM = r"\d+(?:\.\d+)?"
_PAREN_VALUE = rf"\(\s*-?\s*{_NUM}(?:\s*/\s*{_NUM})?\s*\)"
_OPERAND = rf"(?:{_NUM}(?:/{_NUM})?|{_PAREN_VALUE})"  # 8, 2.5, 8/3 (no spaces), (8/3), (-3)
_RESULT = rf"(?:-?\s*{_NUM}(?:\s*/\s*{_NUM})?|{_PAREN_VALUE})"
_LABEL = r"(?:step\s*\d+\s*[:.)-]?\s*|\d+\s*[.)]\s+|[-*•]\s+)?"
STEP_RE = re.compile(
    rf"^\s*{_LABEL}(?P<a>{_OPERAND})\s*(?P<op>[-+*/])\s*(?P<b>{_OPERAND})\s*=\s*(?P<r>{_RESULT})"
    r"(?:\s*[,;]?\s*\(?\s*left\s*:?\s*(?P<left>[^)\n]*)\)?)?",
    re.IGNORECASE,
)
ANSWER_RE = re.compile(r"\banswer\b\s*(?:is\b)?\s*[:=]?\s*(?P<rest>.*)$", re.IGNORECASE)
_EXPR_RUN = re.compile(r"[\d\s+\-*/().^%]+")  # ^ and % stay in, so that they are refused, not skipped
_OPERATOR = re.compile(r"[-+*/^%]")


def clean(text: str) -> str:
    """Unicode, LaTeX and markdown operators to ASCII; ``3 x 8`` to ``3 * 8``."""
    text = _REPLACE_RE.sub(lambda m: _REPLACE[m.group(0)], text)
    return _TIMES_X.sub(" * ", text)


def parse_step(line: str) -> dict[str, Any] | None:
    """A step record ``{"a", "op", "b", "result", "left", "text"}`` from one cleaned line, or None."""
    m = STEP_RE.match(line)
    if m is None:
        return None
    try:
        a, b, r = (parse_value(m.group(k)) for k in ("a", "b", "r"))
    except ExpressionError:
        return None
    left: list[str] | None = None
    if m.group("left") is not None:
        tokens = [t for t in re.split(r"[\s,;]+", m.group("left").strip().rstrip(".")) if t]
        try:
            left = [value_text(parse_value(t)) for t in tokens]
        except ExpressionError:
            left = None
    return {
        "a": value_text(a),
        "op": m.group("op"),
        "b": value_text(b),
        "result": value_text(r),
        "left": left,
        "text": line.strip(),
    }


def _balance(run: str) -> str:
    """``run`` without the unmatched parentheses at its ends (counted once: a run of 10^5 "(" is linear)."""
    run = run.strip().rstrip(".").strip().lstrip(")").rstrip("(").strip()
    opens, closes = run.count("("), run.count(")")
    start, end = 0, len(run)
    while opens > closes and start < end and run[start] == "(":
        start, opens = start + 1, opens - 1
        while start < end and run[start].isspace():
            start += 1
    while closes > opens and end > start and run[end - 1] == ")":
        end, closes = end - 1, closes - 1
        while end > start and run[end - 1].isspace():
            end -= 1
    return run[start:end]


def _best_run(side: str) -> str | None:
    runs = [_balance(r) for r in _EXPR_RUN.findall(side) if re.search(r"\d", r)]
    return max(runs, key=len) if runs else None


def read_answer_expression(rest: str) -> Node:
    """The expression in an answer's text: of the sides of its equation, the first with an
    operation (``(6 - 4) * (4 + 8) = 24`` or ``24 = ...``), else the first with a number; on each
    side, the longest run of arithmetic characters (prose around it is dropped)."""
    runs = [run for run in (_best_run(side) for side in rest.split("=")) if run]
    if not runs:
        raise ExpressionError(f"{rest.strip()!r} has no expression")
    chosen = next((run for run in runs if _OPERATOR.search(run)), runs[0])
    return parse_expression(chosen)


def _operators(text: str) -> int:
    run = _best_run(text)
    return len(_OPERATOR.findall(run)) if run else 0


def parse_answer(numbers: Sequence[int], text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """(answer record, parse errors). The record::

        {"expression": "(6 - 4) * (4 + 8)" or None,  # canonical (arith.render): reads back into the same tree
         "source": "answer" | "expression" | "steps",   # the answer line, the last bare expression line,
                                                        # or rebuilt from the steps ("z3": a reference answer)
         "steps": [{"a": "4", "op": "+", "b": "8", "result": "12", "left": ["4", "6", "12"] or None,
                    "text": the line as written, operators in ASCII}, ...],
         "errors": [why the answer could not be read]}

    ``None`` (with the errors) when the text holds neither a step nor an answer.
    """
    lines = [clean(line) for line in text.splitlines()]
    steps: list[dict[str, Any]] = []
    expression: Node | None = None
    source: str | None = None
    errors: list[str] = []
    bare: Node | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().lower().startswith("input") and (steps or bare is not None):
            break  # the model went on to invent another puzzle
        step = parse_step(line)
        if step is not None:
            if len(steps) == MAX_STEPS:  # a puzzle needs len(numbers) - 1 steps; z3 pays per step
                errors.append(f"more than {MAX_STEPS} steps; the rest were not read")
                break
            steps.append(step)
            i += 1
            continue
        m = ANSWER_RE.search(line)
        if m is not None:
            rest = m.group("rest")
            if not re.search(r"\d", rest):
                nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
                if nxt is None or parse_step(lines[nxt]) is not None or not re.search(r"\d", lines[nxt]):
                    i += 1
                    continue
                rest = lines[nxt]
            source = "answer"
            try:
                expression = read_answer_expression(rest)
            except ExpressionError as exc:
                errors.append(f"the answer line {m.group(0).strip()!r} is not an expression of the numbers: {exc}")
            break
        if max((_operators(side) for side in line.split("=")), default=0) >= max(2, len(numbers) - 1):
            try:
                bare = read_answer_expression(line)
            except ExpressionError:
                pass
        i += 1
    if source is None and bare is not None:
        expression, source = bare, "expression"
    if source is None and steps:
        source = "steps"
        expression = expression_of(
            [Fraction(x) for x in numbers],
            [(Fraction(s["a"]), s["op"], Fraction(s["b"]), Fraction(s["result"])) for s in steps],
        )
        if expression is None:
            errors.append("there is no answer line, and the steps do not combine the given numbers into one expression")
    if source is None:
        return None, [
            "no steps and no answer expression found (expected lines like '4 + 8 = 12 (left: 4 6 12)' "
            "and 'Answer: (6 - 4) * (4 + 8) = 24')"
        ]
    record = {
        "expression": render(expression) if expression is not None else None,
        "source": source,
        "steps": steps,
        "errors": errors,
    }
    return record, []
