"""Game of 24 for the generic z3 critic: a candidate's constraints, and the puzzle as an SMT problem.

Candidate constraints (each a named :class:`~llm_modulo.verifiers.smt.Constraint`, ground):
per step, its operands are among the numbers left, it does not divide by zero, its arithmetic
is right and its ``(left: ...)`` list is right; for the answer expression, each number is used
as often as it is given, no divisor is zero, and the value is 24. Values are z3 rationals.

The problem: ``n - 1`` steps over free choices. Step ``k`` picks two distinct live positions
``i_k, j_k`` of the current values and an operation ``op_k`` (``+ - * /`` on the ordered pair:
both orders cover ``-`` and ``/``); position ``i_k`` takes the result, position ``j_k`` dies.
Divisors are nonzero, and the one live value at the end is 24. Every expression that uses each
number once is such a sequence (evaluate it bottom-up), so *unsat* proves the puzzle unsolvable.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import z3

from llm_modulo.types import Task
from llm_modulo.verifiers.smt import Constraint

from .arith import Node, Num, divisions, leaves, parse_expression, render, value_text
from .puzzle import TARGET, Puzzle, expression_of, state_of, step_line

_OPS = ("+", "-", "*", "/")


def rational(x: Fraction) -> z3.RatNumRef:
    return z3.RealVal(f"{x.numerator}/{x.denominator}")


def term(node: Node) -> z3.ArithRef:
    """The z3 term of an expression tree (z3's ``/`` by zero is unconstrained: guard it)."""
    if isinstance(node, Num):
        return rational(node.value)
    a, b = term(node.left), term(node.right)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[node.op]


def _combine(op: str, a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]


def _value(t: z3.ArithRef) -> Fraction | None:
    """The rational a ground term simplifies to, or None."""
    simple = z3.simplify(t)
    if z3.is_rational_value(simple):
        return Fraction(simple.numerator_as_long(), simple.denominator_as_long())
    return None


def times(k: int) -> str:
    return {1: "once", 2: "twice"}.get(k, "three times" if k == 3 else f"{k} times")


def _count(values: list[z3.ArithRef], x: Fraction) -> z3.ArithRef:
    return z3.Sum([z3.If(v == rational(x), 1, 0) for v in values]) if values else z3.IntVal(0)


class Game24Encoding:
    """The :class:`~llm_modulo.verifiers.smt.SMTEncoding` of Game of 24 (target 24)."""

    name = "game24"

    def __init__(self, target: Fraction = TARGET) -> None:
        self.target = Fraction(target)

    # -- candidates ------------------------------------------------------------------------------
    def candidate_constraints(self, task: Task, answer: Any) -> list[Constraint]:
        puzzle: Puzzle = task.payload
        given = [Fraction(x) for x in puzzle.numbers]
        out = [
            Constraint(f"readable {i}", z3.BoolVal(False), "parse_error", error)
            for i, error in enumerate(answer.get("errors", []), start=1)
        ]
        out += self._step_constraints(given, answer.get("steps", []))
        if answer.get("expression") is not None:
            out += self._expression_constraints(given, parse_expression(answer["expression"]))
        elif not answer.get("errors"):
            out.append(Constraint("has an answer", z3.BoolVal(False), "parse_error", "gives no answer expression"))
        return out

    def _step_constraints(self, given: list[Fraction], steps: list[dict[str, Any]]) -> list[Constraint]:
        out: list[Constraint] = []
        pool = list(given)
        for k, step in enumerate(steps, start=1):
            a, op, b, r = Fraction(step["a"]), step["op"], Fraction(step["b"]), Fraction(step["result"])
            here = f"step {k}"
            # operands among the numbers left
            need = Counter([a, b])
            values = [rational(x) for x in pool]
            missing = [value_text(x) for x in need if Counter(pool)[x] < need[x]]
            listed = " ".join(value_text(x) for x in sorted(pool)) or "none"
            verb = "is" if len(missing) == 1 else "are"
            out.append(
                Constraint(
                    f"{here}: operands left",
                    z3.And([_count(values, x) >= n for x, n in need.items()]),
                    "unavailable_number",
                    f"{here}: {' and '.join(missing)} {verb} not among the numbers left ({listed})",
                    {"step": k, "missing": missing, "left": [value_text(x) for x in sorted(pool)]},
                )
            )
            for x in (a, b):
                if x in pool:
                    pool.remove(x)
            pool.append(r)
            # arithmetic
            za, zb, zr = rational(a), rational(b), rational(r)
            shown = f"{value_text(a)} {op} {value_text(b)}"
            if op == "/":
                out.append(
                    Constraint(
                        f"{here}: divisor nonzero",
                        zb != 0,
                        "division_by_zero",
                        f"{here}: {shown} divides by zero",
                        {"step": k},
                    )
                )
            if not (op == "/" and b == 0):
                true = _value(_combine(op, za, zb))
                out.append(
                    Constraint(
                        f"{here}: arithmetic",
                        _combine(op, za, zb) == zr,
                        "wrong_step",
                        f"{here}: {shown} is {value_text(true) if true is not None else '?'}, not {value_text(r)}",
                        {"step": k, "stated": value_text(r), "actual": value_text(true) if true is not None else None},
                    )
                )
            # the numbers left
            if step.get("left") is not None:
                claimed = sorted(Fraction(x) for x in step["left"])
                actual = state_of(pool)
                same = (
                    z3.And([rational(x) == rational(y) for x, y in zip(claimed, actual, strict=False)])
                    if len(claimed) == len(actual)
                    else z3.BoolVal(False)
                )
                out.append(
                    Constraint(
                        f"{here}: numbers left",
                        same,
                        "wrong_left",
                        f"{here}: the numbers left are {' '.join(value_text(x) for x in actual) or 'none'}, "
                        f"not {' '.join(value_text(x) for x in claimed) or 'none'}",
                        {
                            "step": k,
                            "stated": [value_text(x) for x in claimed],
                            "actual": [value_text(x) for x in actual],
                        },
                    )
                )
        return out

    def _expression_constraints(self, given: list[Fraction], tree: Node) -> list[Constraint]:
        out: list[Constraint] = []
        used = leaves(tree)
        used_terms = [rational(x) for x in used]
        have, want = Counter(used), Counter(given)
        for x in sorted(set(have) | set(want)):
            if want[x] == 0:
                message = f"uses {value_text(x)}, which is not one of the numbers"
            elif have[x] == 0:
                message = f"does not use {value_text(x)}"
            else:
                message = f"uses {value_text(x)} {times(have[x])} (it is given {times(want[x])})"
            out.append(
                Constraint(
                    f"uses {value_text(x)} {times(want[x]) if want[x] else 'never'}",
                    _count(used_terms, x) == want[x],
                    "wrong_numbers",
                    message,
                    {"number": value_text(x), "used": have[x], "given": want[x]},
                )
            )
        # z3's x / 0 is an unconstrained value, so each check assumes the divisions inside it
        # are defined: a division by zero is reported once, at the innermost division that has it
        divisors: list[z3.ArithRef] = []
        for node in divisions(tree):
            divisor = term(node.right)
            divisors.append(divisor)
            inner = [term(d.right) != 0 for d in divisions(node.right)]
            out.append(
                Constraint(
                    f"divisor of {render(node)} nonzero",
                    z3.Implies(z3.And(inner), divisor != 0) if inner else divisor != 0,
                    "division_by_zero",
                    f"divides by zero in {render(node)}",
                    {"division": render(node)},
                )
            )
        whole = term(tree)
        guards = [d != 0 for d in divisors]
        value = _value(whole) if all(_value(d) not in (None, 0) for d in divisors) else None
        goal = whole == rational(self.target)
        out.append(
            Constraint(
                f"value is {value_text(self.target)}",
                z3.Implies(z3.And(guards), goal) if guards else goal,
                "wrong_value",
                f"evaluates to {value_text(value)}, not {value_text(self.target)}"
                if value is not None
                else f"does not evaluate to {value_text(self.target)}",
                {"value": value_text(value) if value is not None else None},
            )
        )
        return out

    # -- the puzzle as a problem ------------------------------------------------------------------
    def _choices(self, n: int) -> list[tuple[z3.ArithRef, z3.ArithRef, z3.ArithRef]]:
        return [(z3.Int(f"i_{k}"), z3.Int(f"j_{k}"), z3.Int(f"op_{k}")) for k in range(n - 1)]

    def problem(self, task: Task) -> list[z3.BoolRef] | None:
        puzzle: Puzzle = task.payload
        n = len(puzzle.numbers)
        if n == 0:
            return None
        values: list[z3.ArithRef] = [rational(Fraction(x)) for x in puzzle.numbers]
        alive: list[z3.BoolRef] = [z3.BoolVal(True)] * n
        out: list[z3.BoolRef] = []
        for k, (i, j, op) in enumerate(self._choices(n)):
            a, b, r = z3.Real(f"a_{k}"), z3.Real(f"b_{k}"), z3.Real(f"r_{k}")
            out += [0 <= i, i < n, 0 <= j, j < n, i != j, 0 <= op, op < len(_OPS)]
            out += [
                z3.Or([z3.And(i == p, alive[p]) for p in range(n)]),
                z3.Or([z3.And(j == p, alive[p]) for p in range(n)]),
            ]
            out += [z3.Implies(i == p, a == values[p]) for p in range(n)]
            out += [z3.Implies(j == p, b == values[p]) for p in range(n)]
            out += [
                z3.Implies(op == 0, r == a + b),
                z3.Implies(op == 1, r == a - b),
                z3.Implies(op == 2, r == a * b),
                z3.Implies(op == 3, z3.And(b != 0, r * b == a)),
            ]
            nxt = [z3.Real(f"v_{k + 1}_{p}") for p in range(n)]
            out += [nxt[p] == z3.If(i == p, r, values[p]) for p in range(n)]
            values = nxt
            alive = [z3.And(alive[p], j != p) for p in range(n)]
        out += [z3.Implies(alive[p], values[p] == rational(self.target)) for p in range(n)]
        return out

    def decode(self, task: Task, model: z3.ModelRef) -> dict[str, Any]:
        """An answer record (as :func:`~llm_modulo.domains.game24.parse.parse_answer` makes) from a model."""
        puzzle: Puzzle = task.payload
        pool = [Fraction(x) for x in puzzle.numbers]
        positions = list(pool)
        steps: list[dict[str, Any]] = []
        raw: list[tuple[Fraction, str, Fraction, Fraction]] = []
        for i, j, op in self._choices(len(pool)):
            pi, pj, po = (model.eval(v, model_completion=True).as_long() for v in (i, j, op))
            a, b, symbol = positions[pi], positions[pj], _OPS[po]
            r = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[symbol]
            pool.remove(a)
            pool.remove(b)
            pool.append(r)
            positions[pi] = r
            raw.append((a, symbol, b, r))
            steps.append(
                {
                    "a": value_text(a),
                    "op": symbol,
                    "b": value_text(b),
                    "result": value_text(r),
                    "left": [value_text(x) for x in sorted(pool)],
                    "text": step_line(a, symbol, b, r, pool),
                }
            )
        tree = expression_of([Fraction(x) for x in puzzle.numbers], raw)
        return {"expression": render(tree) if tree else None, "source": "z3", "steps": steps, "errors": []}

    def no_solution_message(self, task: Task) -> str:
        puzzle: Puzzle = task.payload
        return f"no expression of {puzzle.text} with + - * / that uses each number once makes {value_text(self.target)}"
