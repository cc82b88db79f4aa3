"""A soft critic of Python style, from the syntax tree alone (nothing is run).

It ranks and advises; it can never certify (``hard = False``). Findings: a function without
a docstring, an overly long function, a bare ``except:``, deep nesting, ``global``
statements, wildcard imports and ``print`` calls left in a function. The score is
``max(0, 1 - 0.2 * findings)``.
"""

from __future__ import annotations

import ast

from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus, Violation
from llm_modulo.verifiers.base import BaseCritic

MAX_FUNCTION_LINES = 40
MAX_NESTING = 4
PENALTY = 0.2
_BLOCKS = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)


def _depth(node: ast.AST, level: int = 0) -> int:
    deepest = level
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        deepest = max(deepest, _depth(child, level + isinstance(child, _BLOCKS)))
    return deepest


def style_findings(source: str, max_lines: int = MAX_FUNCTION_LINES) -> list[Violation]:
    """Style findings of ``source``; a syntax error is one finding of kind ``syntax_error``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        return [Violation(kind="syntax_error", message=f"the code does not parse: {exc}")]
    found: list[Violation] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if ast.get_docstring(node) is None:
                found.append(
                    Violation(
                        kind="missing_docstring",
                        step=node.lineno,
                        detail={"function": node.name},
                        message=f"function {node.name!r} has no docstring",
                    )
                )
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > max_lines:
                found.append(
                    Violation(
                        kind="long_function",
                        step=node.lineno,
                        detail={"function": node.name, "lines": length},
                        message=f"function {node.name!r} is {length} lines long (more than {max_lines})",
                    )
                )
            depth = _depth(node)
            if depth > MAX_NESTING:
                found.append(
                    Violation(
                        kind="deep_nesting",
                        step=node.lineno,
                        detail={"function": node.name, "depth": depth},
                        message=f"function {node.name!r} nests blocks {depth} deep",
                    )
                )
            prints = [
                c
                for c in ast.walk(node)
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "print"
            ]
            if prints:
                found.append(
                    Violation(
                        kind="print_call",
                        step=prints[0].lineno,
                        detail={"function": node.name},
                        message=f"function {node.name!r} prints instead of returning",
                    )
                )
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            found.append(
                Violation(kind="bare_except", step=node.lineno, message=f"bare 'except:' on line {node.lineno}")
            )
        elif isinstance(node, ast.Global):
            found.append(
                Violation(kind="global", step=node.lineno, message=f"'global' statement on line {node.lineno}")
            )
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            found.append(
                Violation(kind="wildcard_import", step=node.lineno, message=f"wildcard import on line {node.lineno}")
            )
    return found


class StyleCritic(BaseCritic):
    """Soft critic: style findings from :func:`style_findings`; ranks, never certifies."""

    name = "code-style"
    hard = False

    def __init__(self, max_lines: int = MAX_FUNCTION_LINES) -> None:
        self.max_lines = max_lines

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        found = style_findings(str(candidate.answer), self.max_lines)
        unparsable = any(v.kind == "syntax_error" for v in found)
        score = 0.0 if unparsable else max(0.0, 1.0 - PENALTY * len(found))
        return Verdict(
            status=VerdictStatus.INVALID if found else VerdictStatus.VALID,
            critic=self.name,
            hard=False,
            violations=found,
            score=score,
            engine="ast",
        )
