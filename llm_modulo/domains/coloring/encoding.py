"""The z3 model of graph colouring, for :class:`~llm_modulo.verifiers.smt.SMTCritic`.

One integer per vertex, its colour ``c_v`` in ``0 .. k-1``; ``c_u != c_v`` on every edge. A
candidate is checked by substituting its colours into the same formulas, one named
constraint per vertex and per edge, so a critique names exactly what failed.
"""

from __future__ import annotations

from typing import Any

import z3

from llm_modulo.domains.coloring.graphs import ColoringTask
from llm_modulo.domains.coloring.parse import Colours, as_pairs, colour_map
from llm_modulo.types import Task
from llm_modulo.verifiers.smt import Constraint


def allowed(colour: z3.ArithRef, k: int) -> z3.BoolRef:
    """The colour is one of the ``k`` allowed (0-based indices)."""
    return z3.And(colour >= 0, colour < k)


def differ(a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    """The two ends of an edge have different colours."""
    return a != b


def greedy_clique(payload: ColoringTask) -> list[int]:
    """A clique, grown greedily from a vertex of highest degree (not necessarily the largest)."""
    order = sorted(range(payload.nodes), key=lambda v: (-len(payload.neighbours[v]), v))
    clique: list[int] = []
    for v in order:
        if all(v in payload.neighbours[u] for u in clique):
            clique.append(v)
    return clique


class ColoringEncoding:
    """:class:`~llm_modulo.verifiers.smt.SMTEncoding` of "colour the graph with at most k colours"."""

    name = "graph-coloring"

    def __init__(self, style: str = "names") -> None:
        self.style = style

    def colours(self, payload: ColoringTask) -> Colours:
        return Colours(payload.k, self.style)

    def candidate_constraints(self, task: Task, answer: Any) -> list[Constraint]:
        """Per vertex (in order): it is coloured ("missing"), each colour given is allowed
        ("unknown_colour"), it is given one colour only ("two_colours"); each stated vertex exists
        ("unknown_vertex"); per edge whose ends are both coloured: they differ ("conflict").
        ``detail["step"]`` is the 1-based answer line (pair) where the fault shows."""
        payload: ColoringTask = task.payload
        names = self.colours(payload)
        pairs = as_pairs(answer)
        first: dict[tuple[int, int], int] = {}
        for i, pair in enumerate(pairs, start=1):
            first.setdefault(pair, i)
        given = colour_map(pairs)
        k, n = payload.k, payload.nodes
        out: list[Constraint] = []
        for v in range(n):
            cols = given.get(v, [])
            out.append(
                Constraint(
                    name=f"vertex {v} colored",
                    formula=z3.BoolVal(bool(cols)),
                    kind="missing",
                    message=f"vertex {v} has no color",
                    detail={"vertex": v},
                )
            )
            for c in cols:
                out.append(
                    Constraint(
                        name=f"vertex {v} color {names.name(c)} allowed",
                        formula=allowed(z3.IntVal(c), k),
                        kind="unknown_colour",
                        message=f"vertex {v} is colored {names.name(c)}, which is not one of the {k} allowed colors "
                        f"({', '.join(names.allowed())})",
                        detail={"vertex": v, "colour": c, "step": first[(v, c)]},
                    )
                )
            if len(cols) > 1:
                out.append(
                    Constraint(
                        name=f"vertex {v} one color",
                        formula=z3.And([z3.IntVal(cols[0]) == z3.IntVal(c) for c in cols[1:]]),
                        kind="two_colours",
                        message=f"vertex {v} is given more than one color ({', '.join(names.name(c) for c in cols)})",
                        detail={"vertex": v, "colours": cols, "step": first[(v, cols[1])]},
                    )
                )
        for v in sorted({v for v, _ in pairs if not 0 <= v < n}):
            c = given[v][0]
            out.append(
                Constraint(
                    name=f"vertex {v} exists",
                    formula=z3.And(z3.IntVal(v) >= 0, z3.IntVal(v) < n),
                    kind="unknown_vertex",
                    message=f"vertex {v} is not in the graph (its vertices are 0 to {n - 1})",
                    detail={"vertex": v, "step": first[(v, c)]},
                )
            )
        for u, w in payload.edges:
            cu, cw = given.get(u), given.get(w)
            if not cu or not cw:
                continue  # reported as a missing vertex
            shared = [c for c in cu if c in cw]
            detail: dict[str, Any] = {"edge": [u, w]}
            message = f"vertices {u} and {w} share an edge"
            if shared:  # the colour whose clash shows first, and the line where it shows
                step, c = min((max(first[(u, c)], first[(w, c)]), c) for c in shared)
                detail.update(colour=c, step=step)
                message += f" and are both {names.name(c)}"
            out.append(
                Constraint(
                    name=f"edge {u}-{w}",
                    formula=z3.And([differ(z3.IntVal(a), z3.IntVal(b)) for a in cu for b in cw]),
                    kind="conflict",
                    message=message,
                    detail=detail,
                )
            )
        return out

    def variables(self, payload: ColoringTask) -> list[z3.ArithRef]:
        return [z3.Int(f"c{v}") for v in range(payload.nodes)]

    def problem(self, task: Task) -> list[z3.BoolRef]:
        """Every vertex gets an allowed colour and every edge two different ones.

        Symmetry breaking, sound because colour names can be permuted in any colouring: the
        vertices of a greedily found clique get colours 0, 1, 2, ... in turn (a clique of more
        than ``k`` vertices then makes the problem unsatisfiable at once).
        """
        payload: ColoringTask = task.payload
        c = self.variables(payload)
        formulas = [allowed(x, payload.k) for x in c]
        formulas += [differ(c[u], c[w]) for u, w in payload.edges]
        formulas += [c[v] == i for i, v in enumerate(greedy_clique(payload))]
        return formulas

    def decode(self, task: Task, model: z3.ModelRef) -> list[list[int]]:
        """The colouring in a model of :meth:`problem`, as ``[[vertex, colour], ...]``."""
        return [[v, model.eval(x, model_completion=True).as_long()] for v, x in enumerate(self.variables(task.payload))]

    def no_solution_message(self, task: Task) -> str:
        k = task.payload.k
        plural = "color" if k == 1 else "colors"
        return f"no coloring of this graph with {k} {plural} exists: some two vertices joined by an edge would share a color"
