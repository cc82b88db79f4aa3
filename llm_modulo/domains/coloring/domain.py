"""Graph colouring for the loop: prompts, answer parsing, critiques, the answer grammar, search hooks.

The setting of Stechly, Marquez and Kambhampati (2023), "GPT-4 doesn't know it's wrong": the
model colours a graph given as a list of edges with at most ``k`` colours; a sound external
verifier (here z3, :class:`~llm_modulo.verifiers.smt.SMTCritic`) or the model itself
(``judge_prompt``) says whether the colouring is valid. Prompts follow the study's wording
("Color the following graph, described as a set of edges, such that no two vertices on the
same edge share a color."), so model-facing text spells "color".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any

from llm_modulo.domains.coloring.graphs import SETS, ColoringTask, edges_of, instance_set, normalise_edges, parse_name
from llm_modulo.domains.coloring.parse import (
    END,
    PALETTE,
    START,
    Colours,
    answer_block,
    as_pairs,
    canonical,
    parse_answer,
    parse_line,
)
from llm_modulo.errors import InputError
from llm_modulo.feedback import Wording
from llm_modulo.protocols import Critic, Feedback, LineConstraint, Prompt
from llm_modulo.types import Candidate, Task, Verdict, Violation

INSTRUCTIONS = (
    'Write the coloring with one line per vertex in the form "vertex: color" (for example "0: {example}"), '
    f"give every vertex exactly one color, and end the coloring with {END}."
)
TASK_SENTENCE = (
    "Color the following graph, described as a set of edges, such that no two vertices on the same edge share a color."
)
JUDGE_QUESTION = (
    "Is this coloring valid? It is valid when every vertex of the graph has exactly one of the allowed colors "
    "and no edge joins two vertices of the same color. Check every edge. Answer yes or no, then explain: "
    "if no, name an edge whose two vertices share a color, or a vertex without an allowed color."
)
JUDGE_YES = "Yes, the coloring is valid."
JUDGE_NO = "No, the coloring is not valid."
JUDGE_END = "[END]"
HEURISTICS = ("relaxed-plan", "goal-count", "none")

# the one-shot example: a 5-vertex graph, 3 colours
EXAMPLE_EDGES = ((0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4))
EXAMPLE_COLOURING = ((0, 0), (1, 1), (2, 2), (3, 0), (4, 1))


class ColoringDomain:
    """A :class:`~llm_modulo.protocols.Domain` for k-colouring undirected graphs.

    ``colours``: "names" (red, green, ...; at most 12 colours) or "numbers" (1, 2, ...).
    ``one_shot``: one worked example in the prompt. The answer is a list of ``[vertex, colour]``
    pairs with 0-based colour indices (see :mod:`llm_modulo.domains.coloring.parse`).
    """

    name = "coloring"
    wording = Wording(rejected="The coloring is not valid.", accepted="The coloring is valid.")
    instance_sets = tuple(SETS)

    def __init__(self, one_shot: bool = True, colours: str = "names") -> None:
        if colours not in ("names", "numbers"):
            raise InputError(f"unknown colour style {colours!r}; known: names, numbers")
        self.one_shot = one_shot
        self.colour_style = colours

    # -- tasks ---------------------------------------------------------------------------------
    def make_task(
        self, nodes: int, edges: Sequence[tuple[int, int]], k: int, task_id: str, meta: dict[str, Any] | None = None
    ) -> Task:
        """A task colouring the graph on vertices ``0 .. nodes-1`` with ``edges`` in ``k`` colours."""
        if self.colour_style == "names" and k > len(PALETTE):
            raise InputError(f"at most {len(PALETTE)} named colours; use colours='numbers' for k = {k}")
        edges = normalise_edges(edges)
        if any(not 0 <= v < nodes for e in edges for v in e):
            raise InputError(f"colouring task {task_id!r}: an edge names a vertex outside 0..{nodes - 1}")
        payload = ColoringTask(nodes=nodes, edges=edges, k=k)
        info = {"nodes": nodes, "edges": len(edges), "colours": k, **(meta or {})}
        return Task(id=task_id, domain=self.name, payload=payload, meta=info)

    def from_graph(self, graph: Any, k: int, task_id: str) -> Task:
        """A task from a networkx graph; its nodes are renumbered ``0 .. n-1`` in their order."""
        import networkx as nx

        g = nx.convert_node_labels_to_integers(graph)
        return self.make_task(g.number_of_nodes(), list(g.edges()), k, task_id, {"generator": "given"})

    def load(self, instance: str) -> Task:
        """The task an instance name such as ``n10-p0.4-k3-s7`` describes (see :mod:`.graphs`)."""
        spec = parse_name(instance)
        meta = {"generator": "gnp" if spec.p is not None else "gnm", "seed": spec.seed}
        return self.make_task(spec.nodes, edges_of(spec), spec.k, spec.name, meta)

    def instances(self, set_name: str) -> list[str]:
        """The names of a named set: "small", "study", "impossible", "demo" (see ``graphs.SETS``)."""
        return list(instance_set(set_name))

    def colours(self, task: Task) -> Colours:
        return Colours(task.payload.k, self.colour_style)

    # -- prompts -------------------------------------------------------------------------------
    def _statement(self, payload: ColoringTask, tail: str = "My coloring is as follows:") -> str:
        names = Colours(payload.k, self.colour_style)
        colours = "color" if payload.k == 1 else "colors"
        edges = ", ".join(f"{u}-{v}" for u, v in payload.edges) or "(none)"
        count = "edge" if len(payload.edges) == 1 else "edges"
        return (
            "[STATEMENT]\n"
            f"{TASK_SENTENCE}\n"
            f"You may use at most {payload.k} {colours}: {', '.join(names.allowed())}.\n"
            f"The graph has {payload.nodes} vertices, numbered 0 to {payload.nodes - 1}, "
            f"and {len(payload.edges)} {count}: {edges}.\n\n"
            f"{tail}"
        )

    def answer_text(self, task: Task, pairs: Sequence[Sequence[int]]) -> str:
        """Answer lines for ``pairs`` (without the markers)."""
        names = self.colours(task)
        return "".join(names.line(int(v), int(c)) + "\n" for v, c in pairs)

    def _intro(self) -> str:
        return INSTRUCTIONS.format(example=Colours(3, self.colour_style).name(0))

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        parts = [self._intro()]
        if self.one_shot:
            example = ColoringTask(nodes=5, edges=EXAMPLE_EDGES, k=3)
            names = Colours(3, self.colour_style)
            lines = "".join(names.line(v, c) + "\n" for v, c in EXAMPLE_COLOURING)
            parts.append(f"{self._statement(example)}\n\n{START}\n{lines}{END}")
        parts.append(self._statement(task.payload))
        messages: list[dict[str, str]] = [{"role": "user", "content": "\n\n".join(parts)}]
        for item in feedback:
            messages.append({"role": "assistant", "content": item.answer})
            messages.append({"role": "user", "content": f"{item.critique}\nPlease give a corrected coloring."})
        return Prompt(messages=tuple(messages), prefill=f"{START}\n{prefill}")

    def max_answer_chars(self, task: Task) -> int:
        """The answer's characters at most (``max_tokens="auto"``): one line per vertex, each as long
        as the last vertex with the longest colour name, then the end marker."""
        names, nodes = self.colours(task), int(task.payload.nodes)
        line = max((len(names.line(max(nodes - 1, 0), c)) for c in range(task.payload.k)), default=0)
        return nodes * (line + 1) + len(END) + 1

    # -- answers -------------------------------------------------------------------------------
    def parse(self, task: Task, text: str) -> Candidate:
        """Every "vertex: colour" statement before the end marker, prose skipped; none at all is a parse error."""
        pairs = parse_answer(text)
        if not pairs:
            return Candidate(text=text, answer=None, parse_errors=['no line of the form "vertex: color" was found'])
        return Candidate(text=text, answer=pairs)

    def critics(self, task: Task) -> list[Critic]:
        from llm_modulo.domains.coloring.encoding import ColoringEncoding
        from llm_modulo.verifiers.smt import SMTCritic

        return [SMTCritic(ColoringEncoding(self.colour_style))]

    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        """(valid?, "networkx"): the colouring re-checked with networkx, independently of z3."""
        from llm_modulo.domains.coloring.reference import ENGINE, networkx_valid

        return networkx_valid(task.payload, answer), ENGINE

    # -- critiques -----------------------------------------------------------------------------
    @staticmethod
    def _faults(verdicts: list[Verdict]) -> list[Violation]:
        """The hard critics' violations, in reading order: by answer line, missing vertices last."""
        found = [v for verdict in verdicts if verdict.hard and not verdict.valid for v in verdict.violations]
        return sorted(found, key=lambda v: (v.step is None, v.step or 0))

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        """A fault as the critics worded it (the core's feedback policy orders them by answer line)."""
        return self._sentence(violation)

    @staticmethod
    def _sentence(v: Violation) -> str:
        text = v.message or v.kind.replace("_", " ")
        return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")

    # -- optional hooks of the baseline strategies --------------------------------------------
    def normalize(self, task: Task, candidate: Candidate) -> Hashable | None:
        """Self-consistency's vote key: the stated pairs sorted by vertex, colours renamed by first
        use, so colourings that differ only by the names of the colours vote together (the task
        cannot tell them apart); ``None`` for no answer. The critics play no part."""
        pairs = as_pairs(candidate.answer)
        if not pairs:
            return None
        return canonical(sorted(pairs, key=lambda p: p[0]))

    def judge_prompt(self, task: Task, candidate: Candidate) -> Prompt:
        """Self-critique's judge: the graph, the allowed colours, the colouring as read from the
        candidate (the raw text where nothing could be read), and the question "Is this coloring
        valid? ... Answer yes or no, then explain", asking for the offending edge or vertex."""
        pairs = as_pairs(candidate.answer)
        shown = (
            self.answer_text(task, pairs)
            if pairs
            else "".join(line.strip() + "\n" for line in answer_block(candidate.text).splitlines() if line.strip())
        )
        parts = [
            self._statement(task.payload, tail="Here is a proposed coloring:") + f"\n\n{START}\n{shown}{END}",
            JUDGE_QUESTION,
        ]
        return Prompt(messages=({"role": "user", "content": "\n\n".join(parts)},))

    def judge_constraint(self, task: Task) -> LineConstraint:
        """One verdict line: yes, a plain no, or a no that names the fault ("No, vertices 3 and 5
        share an edge and are both red.", "No, vertex 3 has no color."), so a constrained judge can
        say what it found. The random proposer picks among them uniformly, so it rarely says yes."""
        payload: ColoringTask = task.payload
        names = self.colours(task)
        specific = [
            f"No, vertices {u} and {v} share an edge and are both {names.name(c)}."
            for u, v in payload.edges
            for c in range(payload.k)
        ] + [f"No, vertex {v} has no color." for v in range(payload.nodes)]
        return LineConstraint(
            lines=(JUDGE_YES, JUDGE_NO, *specific), end=JUDGE_END, max_lines=1, exclude_first=frozenset({JUDGE_END})
        )

    # -- the answer grammar and search ---------------------------------------------------------
    def _grammar(self, task: Task) -> tuple[tuple[str, ...], dict[str, tuple[int, int]]]:
        cached: tuple[tuple[str, ...], dict[str, tuple[int, int]]] | None = task.payload.cache.get("grammar")
        if cached is None:
            names = self.colours(task)
            by_line = {names.line(v, c): (v, c) for v in range(task.payload.nodes) for c in range(task.payload.k)}
            cached = task.payload.cache["grammar"] = (tuple(by_line), by_line)
        return cached

    @staticmethod
    def _pair(line: str, by_line: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
        if line in by_line:
            return by_line[line]
        found = parse_line(line)
        return (found[0][0], found[0][1]) if found else None

    @staticmethod
    def _extend(payload: ColoringTask, state: tuple[int, ...], pair: tuple[int, int] | None) -> tuple[int, ...] | None:
        """``state`` (colour per vertex, -1 uncoloured) with ``pair`` added, or None if that breaks a rule."""
        if pair is None:
            return None
        v, c = pair
        if not 0 <= v < payload.nodes or not 0 <= c < payload.k or state[v] >= 0:
            return None
        if any(state[w] == c for w in payload.neighbours[v]):
            return None
        return state[:v] + (c,) + state[v + 1 :]

    def _state_after(self, task: Task, pairs: Sequence[tuple[int, int]]) -> tuple[int, ...] | None:
        payload: ColoringTask = task.payload
        state = (-1,) * payload.nodes
        for pair in pairs:
            after = self._extend(payload, state, pair)
            if after is None:
                return None
            state = after
        return state

    def _options(self, payload: ColoringTask, state: tuple[int, ...]) -> tuple[list[tuple[int, int]], bool]:
        """The next vertex (the first uncoloured) with each colour no coloured neighbour has; done?"""
        v = next((u for u in range(payload.nodes) if state[u] < 0), None)
        if v is None:
            return [], True
        taken = {state[w] for w in payload.neighbours[v]}
        return [(v, c) for c in range(payload.k) if c not in taken], False

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        """The grammar of answers: lines "vertex: colour" (any vertex, an allowed colour), then the end marker.

        With ``executable``, a dynamic grammar: vertices in order (the first one not yet coloured),
        each with only the colours none of its coloured neighbours has, and the end marker once all
        are coloured (or at a dead end). A ``prefix`` that already breaks a rule leaves the static
        grammar. The critics still check every answer; this only steers decoding.
        """
        payload: ColoringTask = task.payload
        lines, by_line = self._grammar(task)
        static = LineConstraint(lines=lines, end=END, max_lines=payload.nodes)
        if not executable:
            return static
        start = self._state_after(task, [(v, c) for v, c in parse_answer(prefix)])
        if start is None:
            return static
        names = self.colours(task)
        states: dict[tuple[str, ...], tuple[int, ...] | None] = {(): start}

        def state_of(generated: tuple[str, ...]) -> tuple[int, ...] | None:
            if generated not in states:
                before = state_of(generated[:-1])
                states[generated] = (
                    None if before is None else self._extend(payload, before, self._pair(generated[-1], by_line))
                )
            return states[generated]

        def next_lines(generated: tuple[str, ...]) -> tuple[list[str], bool]:
            state = state_of(generated)
            if state is None:
                return [], True
            options, done = self._options(payload, state)
            return [names.line(v, c) for v, c in options], done

        return replace(static, next_lines=next_lines)

    def search_guide(
        self, task: Task, heuristic: str = "relaxed-plan"
    ) -> Callable[[tuple[str, ...]], tuple[Hashable, float]]:
        """For step-level search: ``lines -> (state key, estimate)`` for lines of the executable grammar.

        The key is the partial colouring with colours renamed by first use in vertex order. Merging
        prefixes equal up to a renaming loses no solution: the rules are the same for every colour
        and the grammar offers every allowed colour at every vertex, so renaming the colours maps
        the completions of one prefix onto those of the other. Estimates: "goal-count", the
        uncoloured vertices; "relaxed-plan", the same, but infinite when some uncoloured vertex
        has no colour left (every colour is on a coloured neighbour: no completion exists);
        "none", 0. Only a guide: the critics judge every answer.
        """
        if heuristic not in HEURISTICS:
            raise InputError(f"unknown heuristic {heuristic!r}; known: {', '.join(HEURISTICS)}")
        payload: ColoringTask = task.payload
        _, by_line = self._grammar(task)
        k = payload.k

        def guide(lines: tuple[str, ...]) -> tuple[Hashable, float]:
            pairs = [p for p in (self._pair(line, by_line) for line in lines) if p is not None]
            key = canonical(sorted(pairs, key=lambda p: p[0]))
            if heuristic == "none":
                return key, 0.0
            state = self._state_after(task, pairs)
            if state is None:
                return key, math.inf
            left = sum(1 for c in state if c < 0)
            if heuristic == "relaxed-plan":
                for v in range(payload.nodes):
                    if state[v] < 0 and len({state[w] for w in payload.neighbours[v] if state[w] >= 0}) >= k:
                        return key, math.inf
            return key, float(left)

        return guide

    # -- prefixes (modulo) ---------------------------------------------------------------------
    @staticmethod
    def _first_fault(verdicts: list[Verdict]) -> int | None:
        steps = [x.step for v in verdicts if v.hard and not v.valid for x in v.violations if x.step is not None]
        return min(steps) if steps else None

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True) -> str:
        """The answer lines before the first one the critics found at fault, rewritten in the
        grammar's form. Every kept line is a step towards a colouring, so ``to_best`` cuts no further."""
        pairs = as_pairs(candidate.answer)
        first = self._first_fault(verdicts)
        keep = len(pairs) if first is None else first - 1
        return self.answer_text(task, pairs[:keep])

    def rejected_continuation(
        self, task: Task, candidate: Candidate, verdicts: list[Verdict], prefix: str
    ) -> str | None:
        """The line right after ``prefix`` if it is where the first fault shows, or the end marker
        if the answer stops right after ``prefix`` with vertices uncoloured."""
        kept = [(v, c) for v, c in parse_answer(prefix)]
        pairs = as_pairs(candidate.answer)
        n = len(kept)
        if pairs[:n] != kept:
            return None
        first = self._first_fault(verdicts)
        if first is not None:
            return self.colours(task).line(*pairs[first - 1]) if first == n + 1 else None
        hard = [x for v in verdicts if v.hard and not v.valid for x in v.violations]
        if len(pairs) == n and any(x.kind == "missing" for x in hard):
            return END
        return None
