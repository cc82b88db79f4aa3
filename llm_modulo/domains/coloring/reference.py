"""An independent check of a colouring with networkx (no z3): for reports' re-checks and the fixture corpus."""

from __future__ import annotations

from typing import Any

from llm_modulo.domains.coloring.graphs import ColoringTask

ENGINE = "networkx"


def networkx_valid(payload: ColoringTask, answer: Any) -> bool:
    """True iff ``answer`` (pairs or a vertex -> colour mapping) gives every vertex of the graph
    exactly one colour among ``0 .. k-1``, names no other vertex, and no edge joins equal colours
    (``networkx.algorithms.coloring.equitable_coloring.is_coloring``)."""
    from networkx.algorithms.coloring.equitable_coloring import is_coloring

    graph = payload.graph()
    items = answer.items() if isinstance(answer, dict) else (answer or [])
    coloring: dict[int, int] = {}
    for vertex, colour in items:
        v, c = int(vertex), int(colour)
        if v not in graph or not 0 <= c < payload.k or coloring.get(v, c) != c:
            return False
        coloring[v] = c
    return len(coloring) == graph.number_of_nodes() and bool(is_coloring(graph, coloring))
