"""A finite grammar of one-line function bodies, for the random control and constrained decoding.

An answer is the task's ``def`` line and one ``return`` line. The return expressions are
generic templates over the parameter names, chosen by each parameter's annotation (length,
sum, extremes, sorting, reversal, set size, string case and splitting, arithmetic, pairwise
max/min and sums, clamping of three numbers) plus constants of the return type. Nothing is
specific to one task: the pool holds the answer of the easiest tasks (a sum, a count of
distinct items, a clamp) among dozens of wrong ones, so random search has a fair but small
chance there and none on the hard tasks.
"""

from __future__ import annotations

import ast
from itertools import combinations, permutations

_LIST = (
    "len({a})",
    "sum({a})",
    "max({a})",
    "min({a})",
    "sorted({a})",
    "{a}[::-1]",
    "len(set({a}))",
    "{a}[0]",
    "{a}[-1]",
    "sorted(set({a}))",
    "{a} == sorted({a})",
    "len({a}) > 0",
)
_STR = (
    "len({a})",
    "{a}[::-1]",
    "{a}.upper()",
    "{a}.lower()",
    "{a}.strip()",
    "{a}.split()",
    "' '.join({a}.split())",
    "' '.join(reversed({a}.split()))",
    "{a} == {a}[::-1]",
    "sorted({a})",
    "{a}.count(' ')",
    "len({a}.split())",
)
_NUMBER = (
    "{a} + 1",
    "{a} - 1",
    "2 * {a}",
    "{a} * {a}",
    "{a} // 2",
    "{a} % 2",
    "{a} / 2",
    "abs({a})",
    "-{a}",
    "int({a})",
    "str({a})",
)
_PAIR = ("{a} + {b}", "{a} * {b}", "max({a}, {b})", "min({a}, {b})", "{a} == {b}")
_ORDERED_NUMBERS = ("{a} - {b}", "{a} // {b}", "{a} % {b}")
_SLICE = ("{a}[:{b}]", "{a}[{b}:]")
_TRIPLE = ("min(max({a}, {b}), {c})",)
_CONSTANTS = {
    "int": ("0", "1", "-1"),
    "float": ("0.0", "1.0"),
    "bool": ("True", "False"),
    "str": ("''",),
    "list": ("[]",),
    "dict": ("{}",),
}


def _kind(annotation: ast.expr | None) -> str:
    if annotation is None:
        return ""
    text = ast.unparse(annotation).replace(" ", "")
    for kind in ("list", "dict", "str", "bool", "float", "int"):
        if text == kind or text.startswith(kind + "["):
            return kind
    return text.split("|")[0] if "|" in text else text


def return_lines(signature: str) -> list[str]:
    """``    return <expr>`` lines for the function whose ``def`` line is ``signature``."""
    fn = ast.parse(signature + "\n    pass").body[0]
    assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    params = [(a.arg, _kind(a.annotation)) for a in fn.args.args]
    numbers = [n for n, k in params if k in ("int", "float")]
    exprs: list[str] = []
    for name, kind in params:
        exprs.append(name)
        templates = {"list": _LIST, "str": _STR, "int": _NUMBER, "float": _NUMBER}.get(kind, ())
        exprs += [t.format(a=name) for t in templates]
    for a, b in combinations(numbers, 2):
        exprs += [t.format(a=a, b=b) for t in _PAIR]
    kinds = dict(params)
    for a, b in permutations(kinds, 2):
        if kinds[b] == "int" and kinds[a] in ("int", "float"):
            exprs += [t.format(a=a, b=b) for t in _ORDERED_NUMBERS]
        elif kinds[b] == "int" and kinds[a] in ("list", "str"):
            exprs += [t.format(a=a, b=b) for t in _SLICE]
    for a, b, c in permutations(numbers, 3):
        exprs += [t.format(a=a, b=b, c=c) for t in _TRIPLE]
    returns = _kind(fn.returns)
    for kind in returns.split("|") if returns else ():
        exprs += list(_CONSTANTS.get(kind, ()))
    exprs.append("None")
    seen: dict[str, None] = {}
    for expr in exprs:
        seen.setdefault(f"    return {expr}", None)
    return list(seen)
