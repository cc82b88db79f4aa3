"""The game itself: a puzzle, the moves from a multiset of numbers, step lines, solvability.

A *state* is the sorted tuple of the numbers left. A *move* combines two of them with one of
``+ - * /`` (no division by zero) into a new number. The step line of a move is what the
answer grammar offers, in Tree of Thoughts' format: ``4 + 8 = 12 (left: 4 6 12)``; the left
list is sorted, a commutative operation writes the smaller operand first, and a negative or
fractional operand is parenthesised so that the line reads back unambiguously.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

from .arith import Node, Num, Op, apply, operand_text, value_text

TARGET = Fraction(24)

State = tuple[Fraction, ...]


@dataclass
class Puzzle:
    """The payload of a Game-of-24 :class:`~llm_modulo.types.Task`."""

    numbers: tuple[int, ...]
    rank: int | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def state(self) -> State:
        return state_of(Fraction(x) for x in self.numbers)

    @property
    def text(self) -> str:
        return " ".join(str(x) for x in self.numbers)


@dataclass(frozen=True)
class Move:
    """``a op b = result``, leaving ``left`` (sorted)."""

    a: Fraction
    op: str
    b: Fraction
    result: Fraction
    left: State

    @property
    def line(self) -> str:
        return step_line(self.a, self.op, self.b, self.result, self.left)


def state_of(values: Iterable[Fraction]) -> State:
    return tuple(sorted(values))


def left_text(values: Iterable[Fraction]) -> str:
    return " ".join(value_text(x) for x in sorted(values))


def step_line(a: Fraction, op: str, b: Fraction, result: Fraction, left: Iterable[Fraction]) -> str:
    return f"{operand_text(a)} {op} {operand_text(b)} = {value_text(result)} (left: {left_text(left)})"


def moves(state: State) -> list[Move]:
    """Every distinct move from ``state``: one per distinct pair of values and operation
    (``+`` and ``*`` once per pair, ``-`` and ``/`` both ways), no division by zero."""
    out: dict[str, Move] = {}
    n = len(state)
    for i in range(n):
        for j in range(i + 1, n):
            small, large = state[i], state[j]
            rest = state[:i] + state[i + 1 : j] + state[j + 1 :]
            for a, op, b in (
                (small, "+", large),
                (small, "*", large),
                (large, "-", small),
                (small, "-", large),
                (large, "/", small),
                (small, "/", large),
            ):
                if op == "/" and b == 0:
                    continue
                result = apply(op, a, b)
                move = Move(a, op, b, result, state_of((*rest, result)))
                out.setdefault(move.line, move)
    return list(out.values())


def longest_step(state: State) -> int:
    """The characters of the longest step line any sequence of moves from ``state`` can write
    (every reachable state's moves: a few thousand lines for 4 numbers)."""
    longest, frontier = 0, {state}
    while frontier and len(next(iter(frontier))) > 1:
        following: set[State] = set()
        for here in frontier:
            for move in moves(here):
                longest = max(longest, len(move.line))
                following.add(move.left)
        frontier = following
    return longest


@lru_cache(maxsize=200_000)
def solvable(state: State, target: Fraction = TARGET) -> bool:
    """True when some sequence of moves from ``state`` leaves exactly ``target``."""
    if len(state) == 1:
        return state[0] == target
    return any(solvable(m.left, target) for m in moves(state))


def solution(state: State, target: Fraction = TARGET) -> list[Move] | None:
    """One sequence of moves from ``state`` to ``target`` (depth first), or ``None``."""
    if len(state) == 1:
        return [] if state[0] == target else None
    for move in moves(state):
        if solvable(move.left, target):
            rest = solution(move.left, target)
            if rest is not None:
                return [move, *rest]
    return None


def expression_of(start: Sequence[Fraction], steps: Sequence[tuple[Fraction, str, Fraction, Fraction]]) -> Node | None:
    """The expression that steps ``(a, op, b, result)`` build from the numbers ``start``: each
    step takes its operands' expressions from the pool of numbers left and puts its *stated*
    result back (what a later step will name). ``None`` when a step names a number not left.
    With numbers still unused after the last step, the last step's expression."""
    pool: list[tuple[Fraction, Node]] = [(x, Num(x)) for x in start]
    last: Node | None = pool[0][1] if len(pool) == 1 and not steps else None
    for a, op, b, result in steps:
        left = _take(pool, a)
        right = _take(pool, b)
        if left is None or right is None:
            return None
        last = Op(op, left, right)
        pool.append((result, last))
    return last


def _take(pool: list[tuple[Fraction, Node]], value: Fraction) -> Node | None:
    for i, (x, node) in enumerate(pool):
        if x == value:
            del pool[i]
            return node
    return None
