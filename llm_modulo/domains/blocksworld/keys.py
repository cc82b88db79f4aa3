"""Canonical keys of Blocksworld problems, and PlanBench's Blocksworld test set.

:func:`blocksworld_key` hashes a graph built from the initial ``on``/``ontable`` facts and every
goal literal with networkx's Weisfeiler-Lehman graph hash. The blocks are nodes without names
(their labels are the unary facts that hold of them), so the key is invariant under renaming the
blocks: a test instance with its blocks renamed gets the key of the original. Two problems that
are not isomorphic could in principle share a WL key; that only excludes one more training
problem than needed, which is safe (a test problem can never slip through, because isomorphic
problems always get the same key).

Mystery Blocksworld writes the same problems with other predicate names; they are mapped back
(``craves`` = ``on``, ``planet`` = ``ontable``, ...) before hashing, so both spellings share keys.

Keys are compared within one process (the WL hash of directed graphs changed in networkx 3.5):
a key written to a data file is a label, and every check recomputes the test keys.

The test set (:func:`blocksworld_test_keys`): PlanBench's ``generated_basic`` and
``generated_basic_3``, their Mystery twins, and ``blocksworld_hard``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

log = logging.getLogger(__name__)

Fact = tuple[str, ...]
Literal = tuple[bool, Fact]

# Mystery Blocksworld's predicate names -> Blocksworld's (PlanBench's mystery domain file).
MYSTERY_PREDICATES = {
    "craves": "on",
    "planet": "ontable",
    "province": "clear",
    "harmony": "handempty",
    "pain": "holding",
}
# Folders under PlanBench's root whose problems are test instances (every *.pddl but the domain).
BLOCKSWORLD_TEST_FOLDERS = (
    "blocksworld/generated_basic",
    "blocksworld/generated_basic_3",
    "blocksworld/mystery/generated_basic",
    "blocksworld/mystery/generated_basic_3",
    "blocksworld_hard/generated",
)
_INIT_PREDICATES = ("on", "ontable")  # the state; clear and handempty follow from them
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def blocksworld_key(init: Iterable[Sequence[str]], goal: Iterable[tuple[bool, Sequence[str]]]) -> str:
    """A key of (initial state, goal) invariant under renaming the blocks.

    ``init``: facts ``(predicate, *objects)``; only ``on`` and ``ontable`` are used. ``goal``:
    literals ``(positive, fact)``, all used. Predicate names of Mystery Blocksworld are mapped to
    Blocksworld's first.
    """
    import networkx as nx

    nodes: dict[str, list[str]] = {}
    edges: dict[tuple[str, str], list[str]] = {}
    extra: list[str] = []  # facts of arity 0 or > 2 (none in Blocksworld goals): graph-level labels

    def add(section: str, fact: Sequence[str]) -> None:
        pred, args = MYSTERY_PREDICATES.get(fact[0].lower(), fact[0].lower()), [a.lower() for a in fact[1:]]
        for a in args:
            nodes.setdefault(a, [])
        if section == "init" and pred not in _INIT_PREDICATES:
            return
        if len(args) == 1:
            nodes[args[0]].append(f"{section}:{pred}")
        elif len(args) == 2:
            edges.setdefault((args[0], args[1]), []).append(f"{section}:{pred}")
        else:
            extra.append(f"{section}:{pred}/{len(args)}")

    for fact in init:
        add("init", fact)
    for positive, fact in goal:
        add("goal" if positive else "goal:not", fact)
    graph = nx.DiGraph()
    for name, labels in nodes.items():
        graph.add_node(name, label="|".join(sorted(labels)))
    for (a, b), labels in edges.items():
        graph.add_edge(a, b, label="|".join(sorted(labels)))
    with warnings.catch_warnings():  # networkx 3.5 warns that directed hashes changed (a bug fix)
        warnings.simplefilter("ignore", UserWarning)
        wl = nx.weisfeiler_lehman_graph_hash(graph, node_attr="label", edge_attr="label", iterations=4)
    head = f"bw:{len(nodes)}:{','.join(sorted(extra))}:"
    return hashlib.sha256((head + wl).encode()).hexdigest()[:32]


def problem_key(problem: Any) -> str:
    """:func:`blocksworld_key` of a loaded :class:`~llm_modulo.verifiers.planning.pddl.PlanningProblem`."""
    return blocksworld_key(problem.init, problem.goal)


def pddl_facts(text: str) -> tuple[list[Fact], list[Literal]]:
    """(init facts, goal literals) of a STRIPS PDDL problem text, by a small s-expression reader.

    Only what the keys need: ground atoms in ``:init``; in ``:goal`` atoms, ``and`` and ``not``.
    Raises :class:`InputError` on text that has no ``:init`` or ``:goal``.
    """
    tree = _sexpr(text)
    init: list[Fact] = []
    goal: list[Literal] = []
    sections = {str(item[0]).lower(): item for item in _lists(tree) if item and isinstance(item[0], str)}
    if ":init" not in sections or ":goal" not in sections:
        raise InputError("not a PDDL problem: no :init or :goal")
    for atom in sections[":init"][1:]:
        if isinstance(atom, list) and atom and all(isinstance(x, str) for x in atom):
            init.append(tuple(x.lower() for x in atom))

    def walk(node: Any, positive: bool) -> None:
        if not isinstance(node, list) or not node:
            return
        head = str(node[0]).lower()
        if head == "and":
            for child in node[1:]:
                walk(child, positive)
        elif head == "not":
            walk(node[1], not positive)
        elif all(isinstance(x, str) for x in node):
            goal.append((positive, tuple(x.lower() for x in node)))

    for item in sections[":goal"][1:]:
        walk(item, True)
    return init, goal


def pddl_key(text: str) -> str:
    """:func:`blocksworld_key` of a PDDL problem text."""
    init, goal = pddl_facts(text)
    return blocksworld_key(init, goal)


def _sexpr(text: str) -> list[Any]:
    text = re.sub(r";[^\n]*", "", text)
    stack: list[list[Any]] = [[]]
    for token in _TOKEN.findall(text):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise InputError("unbalanced parentheses in PDDL text")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise InputError("unbalanced parentheses in PDDL text")
    return stack[0]


def _lists(tree: list[Any]) -> Iterable[list[Any]]:
    """Every list in the tree, depth first."""
    for item in tree:
        if isinstance(item, list):
            yield item
            yield from _lists(item)


@lru_cache(maxsize=4)
def _blocksworld_test_keys(root: str) -> frozenset[str]:
    keys: set[str] = set()
    base = Path(root)
    count = 0
    for folder in BLOCKSWORLD_TEST_FOLDERS:
        path = base / folder
        if not path.is_dir():
            raise InputError(f"test set folder not found: {path}; the exclusion needs every test set")
        for pddl in sorted(path.glob("*.pddl")):
            if "domain" in pddl.name.lower():
                continue
            keys.add(pddl_key(pddl.read_text()))
            count += 1
    log.info("blocksworld test keys: %d distinct of %d files", len(keys), count)
    return frozenset(keys)


def blocksworld_test_keys(planbench_root: str | Path | None = None) -> frozenset[str]:
    """Keys of every Blocksworld test instance (see the module docstring)."""
    if planbench_root is None:
        from llm_modulo.domains.planning.instances import planbench_root as find

        planbench_root = find()
    return _blocksworld_test_keys(str(Path(planbench_root).resolve()))


__all__ = [
    "BLOCKSWORLD_TEST_FOLDERS",
    "MYSTERY_PREDICATES",
    "blocksworld_key",
    "blocksworld_test_keys",
    "pddl_facts",
    "pddl_key",
    "problem_key",
]
