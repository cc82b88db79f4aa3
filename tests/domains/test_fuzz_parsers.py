"""Fuzzing the Game-of-24 and graph-colouring readers and critics with random and adversarial text.

Whatever the text (unicode, NUL bytes, huge numbers, deep parentheses, ``**``, division by zero,
very long lines), ``parse`` returns a candidate (maybe with parse errors), the z3 critic and the
Fraction / networkx re-checks return verdicts, all quickly; and a certified answer is right by
an independent check written here: a Game-of-24 expression evaluates to exactly 24 using each
number once (a small Fraction evaluator), a colouring is proper (networkx).

About 400 Game-of-24 and 300 colouring texts; 20 s on one core.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from llm_modulo.domains.coloring import PALETTE, coloring
from llm_modulo.domains.game24 import check
from llm_modulo.domains.game24.domain import game24
from llm_modulo.types import Task, VerdictStatus

SECONDS = 10.0  # per text, generous on a loaded machine: a hang is minutes
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ODD = ["\x00", "\u202e", "é", "２４", "٣", "²", "\ufeff", "\U0001f600", "\\", "'", '"', "\t", "\r", "\u2028"]
G24 = game24()
COL = coloring()
COL_NUMBERS = coloring(colours="numbers")

# -- Game of 24 ------------------------------------------------------------------------------------

SOLVED = [  # puzzles with one right answer each
    ((4, 6, 4, 8), "(6 - 4) * (4 + 8)"),
    ((1, 2, 3, 4), "1 * 2 * 3 * 4"),
    ((3, 3, 8, 8), "8 / (3 - 8 / 3)"),
    ((1, 1, 1, 8), "(1 + 1 + 1) * 8"),
    ((5, 5, 5, 1), "(5 - 1 / 5) * 5"),
]
OPS = ["+", "-", "*", "/", "**", "^", "%", "×", "÷", "−", " x ", "\\times", "//", "="]


def numbers_of(n: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(0, 13).map(str),
        st.integers(0, 10**30).map(str),
        st.integers(1, 6000).map(lambda k: "9" * k),  # beyond Python's 4,300-digit int printing
        st.integers(1, 200).map(lambda k: "1." + "0" * k + "1"),  # a long terminating decimal
        st.sampled_from(["0", "00", "1/0", "(-3)", "8/3", "2.5", "1e999", "inf", "nan", "0x10"]),
    )


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(numbers_of(0))
    left, right = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    text = f"{left} {draw(st.sampled_from(OPS))} {right}"
    return f"({text})" if draw(st.booleans()) else text


@st.composite
def game24_texts(draw: st.DrawFn) -> tuple[tuple[int, ...], str]:
    numbers, solution = draw(st.sampled_from(SOLVED))
    kind = draw(st.sampled_from(["random", "expression", "deep", "long", "steps", "solution"]))
    if kind == "random":
        text = draw(st.text(max_size=300))
    elif kind == "expression":
        text = draw(st.sampled_from(["Answer: ", "answer is ", "", "24 = "])) + draw(expressions())
    elif kind == "deep":
        k = draw(st.sampled_from([10, 199, 201, 1000, 20_000]))
        inner = draw(st.sampled_from([solution, "1", "", "4 + "]))
        text = "Answer: " + "(" * k + inner + ")" * draw(st.sampled_from([0, k, k // 2]))
    elif kind == "long":
        unit = draw(st.sampled_from(["1+", "4 + 8 = 12 (left: 4 6 12)\n", "9**9**", "(", " ", "1/0*", "\x00"]))
        text = "Answer: " + unit * draw(st.sampled_from([100, 3000, 30_000])) + "1"
    elif kind == "steps":
        lines = [
            f"{draw(numbers_of(0))} {draw(st.sampled_from(OPS))} {draw(numbers_of(0))} = {draw(numbers_of(0))}"
            + draw(st.sampled_from(["", " (left: 4 6 12)", f" (left: {'9' * 5000})", " (left: 1/0 x)"]))
            for _ in range(draw(st.sampled_from([1, 3, 20])))
        ]
        text = "\n".join(lines) + draw(st.sampled_from(["", f"\nAnswer: {solution} = 24"]))
    else:  # a right answer, dressed up or slightly broken
        answer = solution
        for old, new in draw(st.lists(st.sampled_from([("*", "×"), ("/", "÷"), ("-", "−"), ("4", "5"), ("+", "-")]))):
            answer = answer.replace(old, new, 1)
        text = draw(st.sampled_from(["Answer: {} = 24", "{}", "The answer is **{}** = 24.", "24 = {}", "$${}$$"]))
        text = text.format(answer)
    if draw(st.booleans()):  # adversarial characters anywhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
    return numbers, text


APPLY: dict[str, Callable[[Fraction, Fraction], Fraction]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _tokens(expression: str) -> list[str]:
    tokens = re.findall(r"\d+(?:\.\d+)?|[-+*/()]|\S", expression)
    assert "".join(tokens) == re.sub(r"\s+", "", expression), expression
    return tokens


def evaluate(expression: str) -> tuple[Fraction, list[Fraction]]:
    """(value, leaves) of ``+ - * /`` over number literals with parentheses, by recursive descent."""
    tokens, leaves = _tokens(expression), []
    pos = 0

    def atom() -> Fraction:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = expr()
            assert tokens[pos] == ")"
            pos += 1
            return value
        leaves.append(Fraction(tok))
        return leaves[-1]

    def level(ops: str, operand: Callable[[], Fraction]) -> Fraction:
        """Left-associative operations ``ops`` over ``operand``s."""
        nonlocal pos
        value = operand()
        while pos < len(tokens) and tokens[pos] in ops:
            op = tokens[pos]
            pos += 1
            value = APPLY[op](value, operand())
        return value

    def expr() -> Fraction:
        return level("+-", lambda: level("*/", atom))

    value = expr()
    assert pos == len(tokens), expression
    return value, leaves


def _judge_game24(numbers: tuple[int, ...], text: str) -> bool:
    task = G24.make_task(numbers)
    start = time.perf_counter()
    candidate = G24.parse(task, text)
    certified = all(c.check(task, candidate).status is VerdictStatus.VALID for c in G24.critics(task))
    reference = check.reference_check(numbers, candidate.answer)
    assert time.perf_counter() - start < SECONDS, text[:200]
    assert certified == reference, (text[:200], candidate.answer)
    if certified:  # right by an evaluator that shares no code with the domain
        value, leaves = evaluate(candidate.answer["expression"])
        assert value == 24 and Counter(leaves) == Counter(Fraction(x) for x in numbers), text
    return certified


@settings(FUZZ, max_examples=400)
@given(case=game24_texts())
def test_fuzz_game24(case: tuple[tuple[int, ...], str]) -> None:
    numbers, text = case
    event("certified" if _judge_game24(numbers, text) else "rejected")


@pytest.mark.parametrize(
    "text",
    [
        "Answer: 9**9**9",  # "**" is markdown bold to the reader: "999", never a power
        "Answer: 9^9^9",
        "Answer: " + "(" * 100_000 + "1",
        "Answer: " + "1+" * 50_000 + "1",
        "Answer: " + " * ".join(["9" * 4000] * 3),
        "9" * 3000 + " * " + "9" * 3000 + " = 1 (left: 1)",
        "Answer: 4." + "0" * 60 + "1 * 6",
        "\n".join(f"{i} + 1 = {i + 1}" for i in range(20_000)),
        "Answer: (4 - 4) / (8 - 8) * 6 = 24",
        "Answer: 4\x00*6\x00*(8-4)/4",
        "1" + " " * 200_000 + "x",
    ],
    ids=lambda t: repr(t[:24]),
)
def test_game24_adversarial_text_is_a_quick_rejection(text: str) -> None:
    assert not _judge_game24((4, 6, 4, 8), text)


@pytest.mark.parametrize(("numbers", "solution"), SOLVED)
def test_game24_solutions_are_certified(numbers: tuple[int, ...], solution: str) -> None:
    assert _judge_game24(numbers, f"Answer: {solution} = 24")


# -- graph colouring ------------------------------------------------------------------------------


@st.composite
def colouring_texts(draw: st.DrawFn) -> tuple[Any, Task, str, bool]:
    n = draw(st.integers(1, 8))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))))
    edges = [(u, v) for u, v in pairs if u != v]
    k = draw(st.integers(1, 4))
    domain = draw(st.sampled_from([COL, COL_NUMBERS]))
    task = domain.make_task(n, edges, k, "fuzz")
    graph = nx.Graph(list(task.payload.edges))
    graph.add_nodes_from(range(n))
    greedy = nx.greedy_color(graph)
    proper = max(greedy.values(), default=0) < k
    colour = (lambda c: PALETTE[c]) if domain is COL else (lambda c: str(c + 1))
    kind = draw(st.sampled_from(["random", "greedy", "mutated", "junk"]))
    if kind == "random":
        text = draw(st.text(max_size=300))
    elif kind == "junk":
        vertex = st.one_of(st.integers(0, n + 2).map(str), st.sampled_from(["9" * 5000, "-1", "٣", "1e3", "0x1"]))
        col = st.one_of(st.sampled_from([*PALETTE, "grey", "violet", "9" * 5000, "0", "-1", "٢"]), st.text(max_size=8))
        link = st.sampled_from([": ", " -> ", " = ", " gets color ", " is ", " ", "-", ": color #"])
        lines = draw(st.lists(st.tuples(vertex, link, col).map("".join), max_size=12))
        text = "\n".join(lines) + draw(st.sampled_from(["", "\n[COLORING END]", " 1" * 50_000]))
    else:
        lines = [f"{v}: {colour(greedy[v])}" for v in range(n)]
        if kind == "mutated" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = draw(st.sampled_from([f"{i}: {colour(0)}", "", f"{i}: {colour(k)}", f"{i + n}: red"]))
        text = "[COLORING]\n" + "\n".join(lines) + "\n[COLORING END]"
        proper = proper and kind == "greedy"
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
    return domain, task, text, proper and kind == "greedy"


def _proper(task: Task, answer: Any) -> bool:
    """Every vertex given exactly one of the ``k`` colours, no edge monochrome (networkx's view)."""
    payload = task.payload
    graph = nx.Graph(list(payload.edges))
    graph.add_nodes_from(range(payload.nodes))
    given: dict[int, set[int]] = {}
    for vertex, colour in answer or []:
        given.setdefault(vertex, set()).add(colour)
    if set(given) != set(graph.nodes) or any(len(c) != 1 or not 0 <= min(c) < payload.k for c in given.values()):
        return False
    colour_of = {v: min(c) for v, c in given.items()}
    return all(colour_of[u] != colour_of[v] for u, v in graph.edges)


@settings(FUZZ, max_examples=300)
@given(case=colouring_texts())
def test_fuzz_colouring(case: tuple[Any, Task, str, bool]) -> None:
    domain, task, text, expected = case
    start = time.perf_counter()
    candidate = domain.parse(task, text)
    certified = all(c.check(task, candidate).status is VerdictStatus.VALID for c in domain.critics(task))
    reference, _ = domain.reference_check(task, candidate.answer)
    assert time.perf_counter() - start < SECONDS, text[:200]
    event("certified" if certified else "rejected")
    assert certified == reference == _proper(task, candidate.answer), (text[:200], candidate.answer)
    if expected:  # a proper colouring written plainly is read and certified (an adversarial character may break it)
        assert certified or any(ch in text for ch in ODD), text
