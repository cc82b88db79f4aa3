"""A key of any PDDL problem that is invariant under renaming, and the test problems' keys.

:func:`structure_key` gives the same key to two problems that differ only in the names of
their objects, predicates, actions, types and parameters, and in the order they are written:
PlanBench's Blocksworld instance, the same instance in Mystery Blocksworld's words (other
predicate and action names, the same domain structure), and the same instance with its blocks
renamed all share one key. It needs no table of names: it follows from the PDDL alone.

How: the domain becomes a labelled graph (types and their parents; predicates with their arity;
actions with their parameters' positions and types, and each precondition, add and delete
literal linked to its predicate and to its arguments' positions). networkx's Weisfeiler-Lehman
subgraph hashes then give every predicate and type a label that says what role it plays in the
domain and nothing of its name (:func:`domain_roles`). The problem becomes a second graph: the
objects are nodes labelled by their type's role, each unary fact (initial or goal) a label of
its object, each binary fact a labelled edge, each longer fact a node; its Weisfeiler-Lehman
hash, with the domain graph's, is the key.

Isomorphic problems always get the same key, so a renamed test instance can never slip
through; two problems that are not isomorphic could in principle share a key (WL cannot tell
some regular graphs apart), which only excludes one more training problem than needed.
Keys are compared within one process (the WL hash of directed graphs changed in networkx 3.5).

The test problems (:func:`test_problem_files`): every PDDL problem under PlanBench's root, and
the problems shipped in the package's domain data folders (worked examples, the Sussman anomaly).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ITERATIONS = 4  # WL rounds: enough to see a fact's predicate role, its objects and their other facts
_ROLE_CACHE: dict[Any, tuple[str, dict[str, str]]] = {}
_ROLE_CACHE_SIZE = 64


def _wl(graph: Any, subgraph: bool = False) -> Any:
    import networkx as nx

    with warnings.catch_warnings():  # networkx 3.5 warns that directed hashes changed (a bug fix)
        warnings.simplefilter("ignore", UserWarning)
        if subgraph:
            return nx.weisfeiler_lehman_subgraph_hashes(
                graph, node_attr="label", edge_attr="label", iterations=ITERATIONS
            )
        return nx.weisfeiler_lehman_graph_hash(graph, node_attr="label", edge_attr="label", iterations=ITERATIONS)


def _domain_graph(problem: Any) -> Any:
    """The domain's structure as a labelled directed graph; nodes are ``("T"|"P"|"A"|..., name)``."""
    import networkx as nx

    graph = nx.DiGraph()
    for t, parent in problem.types.items():
        graph.add_node(("T", t), label="type:object" if t == "object" else "type")
        if parent:
            graph.add_node(("T", parent), label="type:object" if parent == "object" else "type")
            graph.add_edge(("T", t), ("T", parent), label="sub")
    for pred, arity in problem.predicates.items():
        graph.add_node(("P", pred), label=f"pred/{arity}")

    def type_node(spec: str) -> tuple[str, str]:
        if spec.startswith("("):  # (either a b): a node linked to each member
            node = ("E", spec)
            graph.add_node(node, label="either")
            for member in spec.strip("()").split()[1:]:
                graph.add_edge(node, ("T", member), label="member")
            return node
        graph.add_node(("T", spec), label="type:object" if spec == "object" else "type")
        return ("T", spec)

    for name, schema in problem.action_schemas.items():
        act = ("A", name)
        graph.add_node(act, label=f"act/{schema.arity}")
        slots: dict[str, tuple[str, ...]] = {}
        for i, (param, ptype) in enumerate(schema.parameters):
            slots[param] = ("V", name, param)
            graph.add_node(slots[param], label="param")
            graph.add_edge(act, slots[param], label=f"p{i}")
            graph.add_edge(slots[param], type_node(ptype), label="type")

        def term(t: str, slots: dict[str, tuple[str, ...]] = slots) -> tuple[str, ...]:
            if t in slots:
                return slots[t]
            graph.add_node(("C", t), label="const")
            graph.add_edge(("C", t), type_node(problem.objects.get(t, "object")), label="type")
            return ("C", t)

        kinds = (
            (("pre+", "pre-"), schema.preconditions),
            (("add", "add"), schema.add_effects),
            (("del", "del"), schema.del_effects),
        )
        k = 0
        for (pos_label, neg_label), literals in kinds:
            for lit in literals:
                node = ("L", name, k)
                k += 1
                graph.add_node(node, label=pos_label if lit.positive else neg_label)
                graph.add_edge(act, node, label="lit")
                graph.add_edge(node, ("P", lit.predicate), label="pred")
                for j, t in enumerate(lit.terms):
                    graph.add_edge(node, term(t), label=f"a{j}")
        for eq in schema.equalities:
            node = ("L", name, k)
            k += 1
            graph.add_node(node, label="eq" if eq.positive else "neq")
            graph.add_edge(act, node, label="lit")
            graph.add_edge(node, term(eq.left), label="side")
            graph.add_edge(node, term(eq.right), label="side")
    return graph


def domain_roles(problem: Any) -> tuple[str, dict[str, str]]:
    """(the domain graph's hash, predicate/type/constant name -> its role label), both free of names.

    Keys of the dict are ``"P:<predicate>"``, ``"T:<type>"`` and ``"C:<constant>"``.
    Cached by the domain's structure (the same domain read again costs a dictionary look-up).
    """
    signature = (
        frozenset(problem.types.items()),
        frozenset(problem.predicates.items()),
        frozenset(problem.action_schemas.values()),
    )
    cached = _ROLE_CACHE.get(signature)
    if cached is not None:
        return cached
    graph = _domain_graph(problem)
    hashes = _wl(graph, subgraph=True)
    roles = {f"{node[0]}:{node[1]}": hashes[node][-1] for node in graph if node[0] in ("P", "T", "C")}
    found = (_wl(graph), roles)
    if len(_ROLE_CACHE) >= _ROLE_CACHE_SIZE:
        _ROLE_CACHE.pop(next(iter(_ROLE_CACHE)))
    _ROLE_CACHE[signature] = found
    return found


def structure_key(problem: Any) -> str:
    """The renaming-invariant key of a loaded ``PlanningProblem`` (see the module docstring)."""
    import networkx as nx

    domain_hash, roles = domain_roles(problem)
    labels: dict[str, list[str]] = {}
    for obj, otype in problem.objects.items():
        labels[obj] = [roles.get(f"T:{otype}", "type?"), roles.get(f"C:{obj}", "")]
    edges: dict[tuple[str, str], list[str]] = {}
    longer: list[tuple[str, tuple[str, ...]]] = []
    head: list[str] = []

    def add(section: str, fact: tuple[str, ...]) -> None:
        label = f"{section}:{roles.get('P:' + fact[0], 'pred?')}"
        args = fact[1:]
        if not args:
            head.append(label)
        elif len(args) == 1:
            labels.setdefault(args[0], ["?"]).append(label)
        elif len(args) == 2:
            edges.setdefault((args[0], args[1]), []).append(label)
        else:
            longer.append((label, args))

    for fact in problem.init:
        add("init", fact)
    for positive, fact in problem.goal:
        add("goal" if positive else "goal-not", fact)
    graph = nx.DiGraph()
    for obj, names in labels.items():
        graph.add_node(("O", obj), label="|".join(sorted(names)))
    for (a, b), names in edges.items():
        graph.add_edge(("O", a), ("O", b), label="|".join(sorted(names)))
    for i, (label, args) in enumerate(longer):
        graph.add_node(("F", i), label=label)
        for j, arg in enumerate(args):
            graph.add_edge(("F", i), ("O", arg), label=f"a{j}")
    text = f"{domain_hash}:{len(labels)}:{','.join(sorted(head))}:{_wl(graph)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def test_problem_files(planbench_root: str | Path | None = None) -> Iterator[tuple[Path, Path]]:
    """(domain file, problem file) of every test problem: every PDDL problem under PlanBench's
    root (its domain found as :func:`~.instances.domain_file_for` finds it), and every problem in
    the package's domain data folders (beside their ``domain.pddl``)."""
    from llm_modulo.domains.planning.instances import domain_file_for
    from llm_modulo.domains.planning.instances import planbench_root as find

    root = Path(planbench_root) if planbench_root is not None else find()
    for path in sorted(root.rglob("*.pddl")):
        if "domain" not in path.name.lower():
            yield domain_file_for(path), path
    package = Path(__file__).resolve().parents[1]
    for domain_file in sorted(package.glob("*/data/**/domain.pddl")):
        for path in sorted(domain_file.parent.glob("*.pddl")):
            if path != domain_file:
                yield domain_file, path


def keys_of(files: Iterable[tuple[Path, Path]]) -> frozenset[str]:
    """The :func:`structure_key` of each (domain file, problem file)."""
    from llm_modulo.verifiers.planning.pddl import load_problem

    return frozenset(structure_key(load_problem(d, p)) for d, p in files)


@lru_cache(maxsize=4)
def _test_keys(root: str) -> frozenset[str]:
    files = list(test_problem_files(root))
    keys = keys_of(files)
    log.info("planning test keys: %d distinct of %d problem files", len(keys), len(files))
    return keys


def planning_test_keys(planbench_root: str | Path | None = None) -> frozenset[str]:
    """The :func:`structure_key` of every test problem (:func:`test_problem_files`), cached per root."""
    if planbench_root is None:
        from llm_modulo.domains.planning.instances import planbench_root as find

        planbench_root = find()
    return _test_keys(str(Path(planbench_root).resolve()))


__all__ = ["domain_roles", "keys_of", "planning_test_keys", "structure_key", "test_problem_files"]
