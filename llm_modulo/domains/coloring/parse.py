"""Colour vocabularies and a tolerant reader of colourings written by a language model.

An answer is a list of ``[vertex, colour]`` pairs in the order written (JSON-native, so it
reads back from a store unchanged); ``colour`` is a 0-based index into the palette: "red" and
"1" are colour 0, "green" and "2" colour 1, and so on. A vertex written twice stays twice (the
critics call that out); ``colour_map`` turns an answer into vertex -> colours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

PALETTE: tuple[str, ...] = (
    "red",
    "green",
    "blue",
    "yellow",
    "purple",
    "orange",
    "pink",
    "brown",
    "cyan",
    "black",
    "white",
    "gray",
)
_ALIASES = {"grey": "gray", "violet": "purple"}
START = "[COLORING]"
END = "[COLORING END]"
_ENDS = ("[coloring end]", "[colouring end]", "[end]", "[statement]")

Answer = list[list[int]]

# words that may link a vertex to its colour ("vertex 3 gets color 2", "3 is colored red", "3 -> red")
_LINKS = frozenset(
    "is gets get has got receives receive takes take should will can must be assigned assign colored "
    "coloured painted paint the a an with to as".split()
)
_SEPARATORS = frozenset({":", "=", "->", "=>", "→", "-", "–", "—", "(", ","})
_STRONG = frozenset({":", "=", "->", "=>", "→"})  # enough to read a bare number as a colour
_COLOUR_WORDS = frozenset({"color", "colour", "number", "no", "#", "c"})
_VERTEX_WORDS = frozenset({"vertex", "node", "v"})
_MAX_DIGITS = 30  # no graph has 10^30 vertices or colours
_TOKEN = re.compile(r"\d+|[a-z]+|->|=>|→|[:=()\-–—#.,;]")


class Colours:
    """A colour vocabulary: palette names ("red") or numbers ("1"), the first ``k`` allowed."""

    def __init__(self, k: int, style: str = "names") -> None:
        if style not in ("names", "numbers"):
            raise ValueError(f"unknown colour style {style!r}; known: names, numbers")
        self.k = k
        self.style = style

    def name(self, colour: int) -> str:
        """How ``colour`` (a 0-based index) is written in prompts and critiques."""
        if self.style == "names" and 0 <= colour < len(PALETTE):
            return PALETTE[colour]
        return str(colour + 1) if self.style == "numbers" else f"color {colour + 1}"

    def allowed(self) -> list[str]:
        return [self.name(c) for c in range(self.k)]

    def line(self, vertex: int, colour: int) -> str:
        """One answer line, e.g. ``3: red``."""
        return f"{vertex}: {self.name(colour)}"


def _colour_of(token: str) -> int | None:
    word = _ALIASES.get(token, token)
    return PALETTE.index(word) if word in PALETTE else None


def _is_number(token: str) -> bool:
    """A vertex or colour number: digits, short enough for ``int`` (which refuses over 4,300 digits)."""
    return token.isdigit() and len(token) <= _MAX_DIGITS


def answer_block(text: str) -> str:
    """``text`` up to its end marker (or a new statement), without a leading start marker."""
    low = text.lower()
    cut = min((i for i in (low.find(e) for e in _ENDS) if i >= 0), default=len(text))
    block = text[:cut]
    start = block.lower().find(START.lower())
    return block[start + len(START) :] if start >= 0 else block


def parse_line(line: str) -> list[list[int]]:
    """The (vertex, colour) pairs one line states, in order; prose around them is skipped.

    A number is read as a vertex when "vertex"/"node" precedes it or a separator (":", "=",
    "->", "-") or a linking word ("is", "gets", "colored", ...) follows it; its colour is the
    next palette name, or a number after ":"/"=" or the word "color" (1-based: "2" is the
    second colour). "0-4" or "I used 3 colors" state no colour.
    """
    tokens = _TOKEN.findall(line.lower())
    pairs: list[list[int]] = []
    # the first word before which a number is "first on the line" (found once: lines can be long)
    first_word = next((k for k, t in enumerate(tokens) if t.isalnum() and t not in _VERTEX_WORDS), len(tokens))
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not _is_number(tok):
            i += 1
            continue
        explicit = (
            i > 0
            and tokens[i - 1] in _VERTEX_WORDS
            or i > 1
            and tokens[i - 1] == "#"
            and tokens[i - 2] in _VERTEX_WORDS
        )
        linked = strong = colour_word = False
        j = i + 1
        while j < len(tokens) and j - i <= 6:
            t = tokens[j]
            if t in _SEPARATORS:
                linked, strong = True, strong or t in _STRONG
            elif t in _COLOUR_WORDS:
                colour_word = True
            elif t not in _LINKS:
                break
            else:
                linked = True
            j += 1
        first_on_line = i <= first_word
        if j < len(tokens) and (explicit or linked or first_on_line):
            t = tokens[j]
            named = _colour_of(t)
            if named is not None:
                pairs.append([int(tok), named])
                i = j + 1
                continue
            follows = tokens[j + 1] if j + 1 < len(tokens) else ""
            if _is_number(t) and (strong or colour_word) and follows not in _STRONG:
                pairs.append([int(tok), int(t) - 1])
                i = j + 1
                continue
        i += 1
    return pairs


def parse_answer(text: str) -> Answer:
    """Every (vertex, colour) pair stated in ``text`` before its end marker, in order."""
    return [pair for line in answer_block(text).splitlines() for pair in parse_line(line)]


def as_pairs(answer: Any) -> list[tuple[int, int]]:
    """An answer as (vertex, colour) pairs: from pairs, or from a mapping vertex -> colour
    (keys may be strings, as after a JSON round trip)."""
    if answer is None:
        return []
    items: Iterable[Any] = answer.items() if isinstance(answer, dict) else answer
    return [(int(v), int(c)) for v, c in items]


def colour_map(answer: Any) -> dict[int, list[int]]:
    """vertex -> the distinct colours it was given, in the order first given."""
    out: dict[int, list[int]] = {}
    for v, c in as_pairs(answer):
        got = out.setdefault(v, [])
        if c not in got:
            got.append(c)
    return out


def canonical(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Pairs with colours renamed by first use (0, 1, 2, ...): equal for colourings that differ
    only by a permutation of the colour names, which the task cannot tell apart."""
    rename: dict[int, int] = {}
    return tuple((v, rename.setdefault(c, len(rename))) for v, c in pairs)
