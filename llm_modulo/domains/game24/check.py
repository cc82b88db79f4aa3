"""The independent re-check: an answer record judged by exact :class:`~fractions.Fraction`
evaluation, without z3. Reports use it to re-check verified answers; the fixture corpus checks
that it and the z3 critic find the same faults on every answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from .arith import ExpressionError, Node, divisions, evaluate, leaves, parse_expression
from .puzzle import TARGET, state_of

ENGINE = "exact Fraction evaluation"


def findings(numbers: Sequence[int], answer: Any, target: Fraction = TARGET) -> list[tuple[str, int | None]]:
    """The faults of ``answer`` as (kind, step) pairs, in the z3 critic's kinds; empty when correct."""
    if not isinstance(answer, dict):
        return [("parse_error", None)]
    out: list[tuple[str, int | None]] = [("parse_error", None) for _ in answer.get("errors", [])]
    pool = [Fraction(x) for x in numbers]
    for k, step in enumerate(answer.get("steps", []), start=1):
        a, op, b, r = Fraction(step["a"]), step["op"], Fraction(step["b"]), Fraction(step["result"])
        rest = list(pool)
        available = True
        for x in (a, b):
            if x in rest:
                rest.remove(x)
            else:
                available = False
        if not available:
            out.append(("unavailable_number", k))
        for x in (a, b):
            if x in pool:
                pool.remove(x)
        pool.append(r)
        if op == "/" and b == 0:
            out.append(("division_by_zero", k))
        elif _apply(op, a, b) != r:
            out.append(("wrong_step", k))
        if step.get("left") is not None and sorted(Fraction(x) for x in step["left"]) != list(state_of(pool)):
            out.append(("wrong_left", k))
    if answer.get("expression") is not None:
        try:
            tree = parse_expression(answer["expression"])
        except ExpressionError:
            return [*out, ("parse_error", None)]
        out += _expression_findings(numbers, tree, target)
    elif not answer.get("errors"):
        out.append(("parse_error", None))
    return out


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else Fraction(0)}[op]


def _expression_findings(numbers: Sequence[int], tree: Node, target: Fraction) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    have, want = Counter(leaves(tree)), Counter(Fraction(x) for x in numbers)
    out += [("wrong_numbers", None) for x in set(have) | set(want) if have[x] != want[x]]
    for node in divisions(tree):
        try:
            if evaluate(node.right) == 0:
                out.append(("division_by_zero", None))
        except ZeroDivisionError:
            pass  # reported at the division inside the divisor
    try:
        if evaluate(tree) != target:
            out.append(("wrong_value", None))
    except ZeroDivisionError:
        pass
    return out


def reference_check(numbers: Sequence[int], answer: Any, target: Fraction = TARGET) -> bool:
    """True when ``answer`` uses each number once, never divides by zero and makes ``target``,
    and its steps (if any) are right."""
    return not findings(numbers, answer, target)
