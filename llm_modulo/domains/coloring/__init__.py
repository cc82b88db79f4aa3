"""Graph colouring (networkx graphs, z3 critic): the setting of "GPT-4 doesn't know it's wrong".

``coloring()`` builds the domain; instances are named like ``n10-p0.4-k3-s7`` (see
:mod:`llm_modulo.domains.coloring.graphs`), with named sets "small", "study", "impossible", "demo".
"""

from __future__ import annotations

from llm_modulo.domains.coloring.domain import ColoringDomain
from llm_modulo.domains.coloring.graphs import SETS, ColoringTask, GraphSpec, parse_name
from llm_modulo.domains.coloring.parse import END, PALETTE, START, Colours, parse_answer
from llm_modulo.errors import InputError


def coloring(one_shot: bool = True, colours: str = "names", style: str = "nl") -> ColoringDomain:
    """The graph-colouring domain. ``one_shot``: one worked example in the prompt; ``colours``:
    "names" (red, green, ...) or "numbers" (1, 2, ...); ``style``: only "nl" (natural language;
    accepted so callers can pass the same options to every domain)."""
    if style != "nl":
        raise InputError(f"the coloring domain has natural-language prompts only, not style {style!r}")
    return ColoringDomain(one_shot=one_shot, colours=colours)


__all__ = [
    "END",
    "PALETTE",
    "SETS",
    "START",
    "ColoringDomain",
    "ColoringTask",
    "Colours",
    "GraphSpec",
    "coloring",
    "parse_answer",
    "parse_name",
]
