"""A single-pass S-expression tokenizer for PDDL: text in, nested lists of lowercase atoms out.

Linear in the size of the text (one regular-expression scan, one stack), so a 10 MB problem
reads in about a second. ``;`` comments run to the end of a line and may appear anywhere.
Every list remembers the line its ``(`` is on (:class:`SList`), for error messages.
"""

from __future__ import annotations

import re

from llm_modulo.errors import PDDLError

# newlines are tokens so that lines can be counted without a second pass over the text
_TOKEN = re.compile(r"\n|;[^\n]*|\(|\)|[^\s();]+")
_COMMENT = re.compile(r";[^\n]*")


class SList(list["SExp"]):
    """A parenthesised list, with the 1-based line of its opening parenthesis."""

    __slots__ = ("line",)
    line: int


SExp = str | SList


def slist(line: int, items: list[SExp] | None = None) -> SList:
    """A new :class:`SList` on ``line``."""
    node = SList(items or ())
    node.line = line
    return node


class SyntaxProblem(PDDLError):
    """A PDDL reading error with the line it was found on (0: no line); the reader adds the file."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def parse_sexps(text: str) -> list[SExp]:
    """The top-level expressions of ``text``, lowercased. Raises :class:`SyntaxProblem` on
    unbalanced parentheses."""
    top = slist(0)
    stack = [top]
    push, pop = stack.append, stack.pop
    current = top
    add = current.append  # bound methods: a batch reads hundreds of files, each token goes through here
    line = 1
    for tok in _TOKEN.findall(text.lower()):
        if tok == "(":
            node = SList()
            node.line = line
            add(node)
            push(node)
            current = node
            add = node.append
        elif tok == ")":
            if len(stack) == 1:
                raise SyntaxProblem("unbalanced parentheses: a ')' closes nothing", line)
            pop()
            current = stack[-1]
            add = current.append
        elif tok == "\n":
            line += 1
        elif tok[0] != ";":
            add(tok)
    if len(stack) > 1:
        raise SyntaxProblem(f"unbalanced parentheses: the '(' of line {current.line} is never closed", current.line)
    return list(top)


def parse_sexps_unlined(text: str) -> list[SExp]:
    """:func:`parse_sexps` without line numbers (every list's ``line`` is 0), in a third of the time:
    str methods split the text, not a regular expression. For a reader that reads again with
    :func:`parse_sexps` when it has an error to report."""
    text = text.lower()
    if ";" in text:
        text = _COMMENT.sub("", text)
    top = slist(0)
    stack = [top]
    push, pop = stack.append, stack.pop
    add = top.append
    for tok in text.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            node = SList()
            node.line = 0
            add(node)
            push(node)
            add = node.append
        elif tok == ")":
            if len(stack) == 1:
                raise SyntaxProblem("unbalanced parentheses: a ')' closes nothing")
            pop()
            add = stack[-1].append
        else:
            add(tok)
    if len(stack) > 1:
        raise SyntaxProblem("unbalanced parentheses: a '(' is never closed")
    return list(top)


def fail(message: str, node: SExp | None = None) -> SyntaxProblem:
    """A :class:`SyntaxProblem` at ``node``'s line (no line for an atom)."""
    return SyntaxProblem(message, node.line if isinstance(node, SList) else 0)


def show(node: SExp) -> str:
    """``node`` quoted for a message, its sub-lists elided and at most 60 characters."""
    text = node if isinstance(node, str) else "(" + " ".join(x if isinstance(x, str) else "(...)" for x in node) + ")"
    return repr(text if len(text) <= 60 else text[:57] + "...")


def typed_list(items: list[SExp], where: SList) -> list[tuple[str, SExp]]:
    """``a b - t c - (either x y) d`` -> ``[(a, t), (b, t), (c, (either x y)), (d, object)]``."""
    out: list[tuple[str, SExp]] = []
    pending: list[str] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item == "-":
            if i + 1 >= len(items) or not pending:
                raise fail("a '-' without names before it or a type after it", where)
            out.extend((name, items[i + 1]) for name in pending)
            pending = []
            i += 2
            continue
        if not isinstance(item, str):
            raise fail(f"expected a name, found {show(item)}", item)
        pending.append(item)
        i += 1
    out.extend((name, "object") for name in pending)
    return out


def render(node: SExp) -> str:
    """``node`` written back as PDDL text on one line."""
    if isinstance(node, str):
        return node
    return "(" + " ".join(render(x) for x in node) + ")"


__all__ = [
    "SExp",
    "SList",
    "SyntaxProblem",
    "fail",
    "parse_sexps",
    "parse_sexps_unlined",
    "render",
    "show",
    "slist",
    "typed_list",
]
