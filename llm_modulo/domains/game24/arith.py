"""Exact arithmetic expressions of Game of 24: read with ``ast`` (never eval), rendered with the
fewest parentheses, evaluated in :class:`fractions.Fraction`.

An expression is a tree of :class:`Num` leaves (non-negative numbers written as literals) and
:class:`Op` nodes with one of the binary operations ``+ - * /``. Unary minus, powers and every
other Python construct are refused: they are not moves of the game.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

OPS = ("+", "-", "*", "/")
_AST_OPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


class ExpressionError(ValueError):
    """Text that is not an expression of numbers with ``+ - * /``; the message says why."""


@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Op:
    op: str
    left: Node
    right: Node


Node = Num | Op


# Bounds that keep every value small enough to print and to hand to z3 (Python refuses to print
# an int of over 4,300 digits) and every tree shallow enough to walk recursively.
# With at most 32 numbers of at most 100 characters, a value has at most ~3,200 digits and a
# rendered expression (which the z3 critic parses again) stays under the length limit.
MAX_NUMBER_CHARS = 100
MAX_NUMBERS_IN_EXPRESSION = 32
MAX_EXPRESSION_CHARS = 20_000


# -- numbers as text ----------------------------------------------------------------------------
def value_text(x: Fraction) -> str:
    """A value as steps write it: ``8``, ``-3``, ``8/3``."""
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def operand_text(x: Fraction) -> str:
    """A value as the operand of a step: bare when a non-negative integer, else in parentheses."""
    return value_text(x) if x.denominator == 1 and x >= 0 else f"({value_text(x)})"


def literal_text(x: Fraction) -> str:
    """A leaf of an expression: an integer or a terminating decimal (leaves are parsed literals)."""
    if x.denominator == 1:
        return str(x.numerator)
    # a terminating decimal's denominator is 2**a * 5**b; it needs max(a, b) digits
    rest, twos, fives = x.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        raise ExpressionError(f"{x} is not a decimal literal")
    digits = max(twos, fives)
    whole = abs(x.numerator) * 10**digits // x.denominator
    text = str(whole).rjust(digits + 1, "0")
    sign = "-" if x < 0 else ""
    return f"{sign}{text[:-digits]}.{text[-digits:]}".rstrip("0")


def parse_value(text: str) -> Fraction:
    """A number as a step or a ``(left: ...)`` list writes it: ``8``, ``-3``, ``(8/3)``, ``2.5``."""
    cleaned = text.strip().strip("()").replace(" ", "")
    if len(cleaned) > MAX_NUMBER_CHARS:
        raise ExpressionError(f"{cleaned[:20]}... is too long for a number (over {MAX_NUMBER_CHARS} characters)")
    try:
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        raise ExpressionError(f"{text.strip()!r} is not a number") from None


# -- expressions ----------------------------------------------------------------------------
_LEADING_ZEROS = re.compile(r"(?<![\d.])0+(?=\d)")


def parse_expression(text: str) -> Node:
    """The expression tree of ``text`` (``+ - * /``, parentheses, non-negative number literals)."""
    source = _LEADING_ZEROS.sub("", text.strip())
    if not source:
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"the expression is too long (over {MAX_EXPRESSION_CHARS} characters)")
    try:
        tree = ast.parse(source, mode="eval")
        if sum(isinstance(n, ast.Constant) for n in ast.walk(tree)) > MAX_NUMBERS_IN_EXPRESSION:
            raise ExpressionError(f"it has more than {MAX_NUMBERS_IN_EXPRESSION} numbers")
        return _node(tree.body, source)
    except (SyntaxError, RecursionError, MemoryError):  # also "too many nested parentheses"
        raise ExpressionError(f"{text.strip()[:80]!r} is not an arithmetic expression") from None


def _node(node: ast.expr, source: str) -> Node:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        literal = ast.get_source_segment(source, node) or repr(node.value)
        if len(literal) > MAX_NUMBER_CHARS:
            raise ExpressionError(f"{literal[:20]}... is too long for a number (over {MAX_NUMBER_CHARS} characters)")
        return Num(Fraction(literal))
    if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
        return Op(_AST_OPS[type(node.op)], _node(node.left, source), _node(node.right, source))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        raise ExpressionError("it uses a minus sign on its own (negation), which is not one of + - * /")
    if isinstance(node, ast.BinOp):
        raise ExpressionError(
            f"it uses {ast.unparse(node.op).strip() or type(node.op).__name__}, which is not one of + - * /"
        )
    raise ExpressionError(
        f"{ast.get_source_segment(source, node) or ast.unparse(node)!r} is not a number or an operation"
    )


def render(node: Node) -> str:
    """The expression with only the parentheses its tree needs: ``(6 - 4) * (4 + 8)``; operations
    group to the left, so a right operand of equal precedence keeps its parentheses
    (``2 * (3 * 4)``) and the text reads back into the same tree."""
    if isinstance(node, Num):
        return literal_text(node.value)
    prec = _PREC[node.op]
    left = render(node.left)
    if isinstance(node.left, Op) and _PREC[node.left.op] < prec:
        left = f"({left})"
    right = render(node.right)
    if isinstance(node.right, Op) and _PREC[node.right.op] <= prec:
        right = f"({right})"
    return f"{left} {node.op} {right}"


def leaves(node: Node) -> list[Fraction]:
    """The numbers the expression uses, left to right."""
    if isinstance(node, Num):
        return [node.value]
    return leaves(node.left) + leaves(node.right)


def divisions(node: Node) -> Iterator[Op]:
    """Every division in the expression, outermost and leftmost first."""
    if isinstance(node, Op):
        if node.op == "/":
            yield node
        yield from divisions(node.left)
        yield from divisions(node.right)


def apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    """``a op b`` exactly; ``ZeroDivisionError`` for a division by zero."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    raise ValueError(f"unknown operation {op!r}")


def evaluate(node: Node) -> Fraction:
    """The exact value; ``ZeroDivisionError`` when some divisor is zero."""
    if isinstance(node, Num):
        return node.value
    return apply(node.op, evaluate(node.left), evaluate(node.right))


def canonical_key(node: Node) -> str:
    """A key equal for expressions that differ only by commutativity and associativity
    (``(4 + 8) * (6 - 4)`` and ``(6 - 4) * (8 + 4)``); sums and products are flattened
    into sorted signed terms and factors."""
    if isinstance(node, Num):
        return literal_text(node.value)
    group = "+-" if node.op in "+-" else "*/"
    plus: list[str] = []
    minus: list[str] = []
    _flatten(node, group, False, plus, minus)
    sign = "+" if group == "+-" else "*"
    return f"{sign}({','.join(sorted(plus))};{','.join(sorted(minus))})"


def _flatten(node: Node, group: str, inverted: bool, plus: list[str], minus: list[str]) -> None:
    if isinstance(node, Op) and node.op in group:
        _flatten(node.left, group, inverted, plus, minus)
        _flatten(node.right, group, inverted != (node.op == group[1]), plus, minus)
    else:
        (minus if inverted else plus).append(canonical_key(node))
