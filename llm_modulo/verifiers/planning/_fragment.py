"""What the project's PDDL reader (:mod:`._reader`) takes as it is, and what it leaves to
unified-planning: requirement flags, section names, condition heads, and the size limits.
"""

from __future__ import annotations

from collections.abc import Callable

from ._lift import Lifted
from ._sexp import SExp, SList, fail, show, typed_list

MAX_BYTES = 50_000_000
MAX_OBJECTS = 1_000_000

# every requirement of PDDL 1.2-3.1 and unified-planning's extensions; flags only announce,
# what a file uses decides (a feature outside the fragment sends it to unified-planning)
REQUIREMENTS = frozenset(
    ":strips :typing :negative-preconditions :disjunctive-preconditions :equality :existential-preconditions "
    ":universal-preconditions :quantified-preconditions :conditional-effects :fluents :numeric-fluents "
    ":object-fluents :adl :durative-actions :duration-inequalities :continuous-effects :derived-predicates "
    ":timed-initial-literals :timed-initial-effects :preferences :constraints :action-costs :hierarchy "
    ":method-preconditions :contingent :time :non-deterministic :probabilistic-effects".split()
)
UP_CLASS_REQUIREMENTS = {":hierarchy": "hierarchical tasks", ":contingent": "contingent planning"}
BEYOND_CONDITIONS = {
    "or": "disjunctive conditions",
    "imply": "implications",
    "exists": "quantified conditions",
    "forall": "quantified conditions",
    "when": "conditional effects",
    **dict.fromkeys(("<", "<=", ">", ">=", "+", "-", "*", "/"), "numeric conditions"),
    **dict.fromkeys(("increase", "decrease", "assign", "scale-up", "scale-down"), "numeric effects"),
    **dict.fromkeys(("at", "over", "always", "sometime", "within", "preference"), "temporal conditions"),
}
BEYOND_SECTIONS = {
    ":derived": "derived predicates",
    ":durative-action": "durative actions",
    ":constraints": "constraints",
    ":process": "processes",
    ":event": "events",
    ":task": "hierarchical tasks",
    ":method": "hierarchical tasks",
    ":metric": "metrics",
    ":htn": "hierarchical tasks",
}


class Beyond(Exception):
    """The files use a feature outside the fragment this reader handles (unified-planning reads them)."""


def section_map(tree: SList) -> dict[str, list[SList]]:
    """``(:key ...)`` sections of a ``(define ...)`` by key, in order."""
    found: dict[str, list[SList]] = {}
    for node in tree[2:]:
        if not (isinstance(node, SList) and node and isinstance(node[0], str) and node[0].startswith(":")):
            raise fail(f"expected a '(:section ...)', found {show(node)}", node if isinstance(node, SList) else tree)
        found.setdefault(node[0], []).append(node)
    return found


def check_requirements(sections: dict[str, list[SList]]) -> None:
    for node in sections.pop(":requirements", []):
        for flag in node[1:]:
            if not isinstance(flag, str) or flag not in REQUIREMENTS:
                raise fail(f"unknown requirement {show(flag)}", node)
            if flag in UP_CLASS_REQUIREMENTS:
                raise Beyond(UP_CLASS_REQUIREMENTS[flag])


def predicate(atom: SList, out: Lifted, where: str) -> str:
    """The predicate of ``atom``, checked against the domain: declared, and with its arity."""
    head = atom[0] if atom else None
    if not isinstance(head, str):
        raise fail(f"{where}: expected a literal '(predicate ...)', found {show(atom)}", atom)
    arity = out.predicates.get(head)
    if arity is None:
        if head in BEYOND_CONDITIONS or head == "=":
            raise Beyond(f"{BEYOND_CONDITIONS.get(head, 'equality')} ({where})")
        raise fail(f"{where}: undefined predicate {head}", atom)
    if len(atom) - 1 != arity:
        raise fail(f"{where}: predicate {head} takes {arity} arguments, got {len(atom) - 1}", atom)
    return head


def declare_objects(out: Lifted, node: SList, type_of: Callable[[SExp, SList], str]) -> None:
    """Add the typed list of objects (or constants) in ``node`` to ``out.objects``."""
    checked: dict[str, str] = {}  # type name -> type, each looked up once
    for name, spec in typed_list(node[1:], node):
        if name.startswith("?"):
            raise fail(f"object {name} cannot start with '?'", node)
        otype = checked.get(spec) if isinstance(spec, str) else None
        if otype is None:
            otype = type_of(spec, node)
            if isinstance(spec, str):
                checked[spec] = otype
        previous = out.objects.setdefault(name, otype)
        if previous != otype:
            raise fail(f"object {name} is declared twice, as {previous} and as {otype}", node)
    if len(out.objects) > MAX_OBJECTS:
        raise fail(f"more than {MAX_OBJECTS:,} objects; larger tasks are not read", node)


__all__ = [
    "MAX_BYTES",
    "MAX_OBJECTS",
    "REQUIREMENTS",
    "Beyond",
    "check_requirements",
    "declare_objects",
    "predicate",
    "section_map",
]
