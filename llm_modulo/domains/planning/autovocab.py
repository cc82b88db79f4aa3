"""A natural-language :class:`Vocabulary` generated from any parsed PDDL domain.

For domains without a hand-written (PlanBench YAML) vocabulary. The rules use only the names
in the PDDL, so they hold for every domain:

* **Actions** read as the action name's words, then each argument after its parameter's
  label: ``(drive-truck ?truck ?loc-from ?loc-to ?city)`` -> ``drive truck {} loc from {} loc to {}
  city {}`` (``drive truck t0 loc from l0-0 loc to l0-1 city c0``). The label is the parameter
  name's words; a one-letter name (``?x``) is labelled by its type instead (none for
  ``object``); a label equal to the words just before it is dropped (no "drive truck truck").
  Objects keep their PDDL names, so a line reads back unambiguously (each slot is one token).
  Where two actions would read alike, both keep their PDDL names.
* **Facts** read as the predicate's words, then the arguments: ``(in-city l0 c0)`` ->
  ``in city l0 c0``; except that a predicate named by one English preposition (``at``, ``on``,
  ``in``...) with two arguments reads ``l0 is in c0``. No meaning is guessed from other names,
  so nothing is rendered wrongly (``(at-robby ?r)`` stays ``at robby rooma``).
* **The introduction** lists each action with its parameters, then its preconditions and
  effects in the same words, PlanBench style. For a domain outside the grounded fragment
  (conditional effects, quantifiers...) it appends the PDDL domain itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llm_modulo.domains.planning.vocabulary import Vocabulary, join_facts

PREPOSITIONS = frozenset(
    {"at", "on", "in", "into", "near", "above", "below", "under", "inside", "over", "onto", "behind"}
)
_SLOT = "{}"


def words(name: str) -> str:
    """``drive-truck`` -> ``drive truck``; ``?loc_from`` -> ``loc from``."""
    return " ".join(w for w in re.split(r"[-_\s]+", name.lstrip("?").lower()) if w)


def _label(param: str, ptype: str) -> str:
    name = words(param)
    if len(name.replace(" ", "")) > 1:
        return name
    if ptype.startswith("("):  # (either a b)
        return " or ".join(ptype.strip("()").split()[1:])
    return "" if ptype == "object" else words(ptype)


def action_template(name: str, parameters: Sequence[tuple[str, str]]) -> str:
    """The template of one action (see the module docstring)."""
    text = words(name)
    for param, ptype in parameters:
        label = _label(param, ptype)
        if label and not text.endswith(label):
            text += " " + label
        text += " " + _SLOT
    return text


def predicate_template(name: str, arity: int) -> str:
    """The template of one predicate (see the module docstring)."""
    pred = words(name)
    if arity == 2 and pred in PREPOSITIONS:
        return f"{_SLOT} is {pred} {_SLOT}"
    return " ".join([pred, *[_SLOT] * arity])


def _signatures(problem: Any) -> tuple[dict[str, tuple[tuple[str, str], ...]], dict[str, int]]:
    """(action -> typed parameters, predicate -> arity), from the lifted model or, for domains
    outside the grounded fragment, from unified-planning's problem."""
    actions: dict[str, tuple[tuple[str, str], ...]] = {
        name: schema.parameters for name, schema in problem.action_schemas.items()
    }
    predicates = dict(problem.predicates)
    # only a task outside the grounded fragment has actions the lifted model lacks; reading
    # up_problem of any other would parse the files with unified-planning for nothing
    up = getattr(problem, "up_problem", None) if getattr(problem, "unsupported", None) else None
    if up is not None:
        for action in up.actions:
            name = action.name.lower()
            unions = problem.either_params.get(name, {})
            actions.setdefault(
                name,
                tuple(
                    ("?" + p.name.lower(), unions.get(i, p.type.name.lower())) for i, p in enumerate(action.parameters)
                ),
            )
        for fluent in up.fluents:
            predicates.setdefault(fluent.name.lower(), fluent.arity)
    return actions, predicates


def vocabulary_from_problem(problem: Any, name: str | None = None, domain_text: str = "") -> Vocabulary:
    """A vocabulary for ``problem`` (a :class:`~llm_modulo.verifiers.planning.PlanningProblem`).

    ``domain_text`` (the PDDL domain) is quoted in the introduction when the domain is outside
    the grounded fragment, so its semantics are stated somewhere."""
    signatures, arities = _signatures(problem)
    actions = {a: action_template(a, params) for a, params in signatures.items()}
    skeletons: dict[str, list[str]] = {}
    for a, template in actions.items():
        skeletons.setdefault(re.sub(r"\s+", " ", template.replace(_SLOT, "#")), []).append(a)
    for clash in (names for names in skeletons.values() if len(names) > 1):
        for a in clash:  # keep PDDL names where two actions would read alike
            actions[a] = " ".join([a, *[_SLOT] * len(signatures[a])])
    predicates = {p: predicate_template(p, n) for p, n in arities.items()}
    vocab = Vocabulary(
        name=name or problem.domain_name or "pddl",
        intro="",
        actions=actions,
        predicates=predicates,
        slot_pattern=r"(\S+)",
    )
    vocab.intro = _intro(problem, vocab, signatures, domain_text)
    return vocab


def _placeholder(param: str) -> str:
    return f"<{param.lstrip('?')}>"


def _intro(
    problem: Any, vocab: Vocabulary, signatures: dict[str, tuple[tuple[str, str], ...]], domain_text: str
) -> str:
    lines = ["I am solving a planning problem. Here are the actions I can do:", ""]
    for a, params in signatures.items():
        lines.append("   " + vocab.fill(vocab.actions[a], [_placeholder(p) for p, _ in params]))
    lines += ["", "I have the following restrictions on my actions:"]
    supported = getattr(problem, "supported", False)
    for a, params in signatures.items():
        schema = problem.action_schemas.get(a) if supported else None
        if schema is None:
            continue
        place = {p: _placeholder(p) for p, _ in params}

        def fact(pred: str, terms: Sequence[str], positive: bool = True, place: dict[str, str] = place) -> str:
            args = [place.get(t, t) for t in terms]
            return vocab.fact(pred, args, required=True) if positive else vocab.negated_fact(pred, args)

        shown = vocab.fill(vocab.actions[a], [_placeholder(p) for p, _ in params])
        conditions = [fact(lit.predicate, lit.terms, lit.positive) for lit in schema.preconditions]
        conditions += [
            f"{place.get(eq.left, eq.left)} and {place.get(eq.right, eq.right)} are "
            + ("the same" if eq.positive else "different")
            for eq in schema.equalities
            if eq.left != "?"
        ]
        typed = [f"{_placeholder(p)} is a {t}" for p, t in params if t != "object"]
        if typed:
            lines.append(f"   In {shown}, " + join_facts(typed) + ".")
        if conditions:
            lines.append(f"   To perform {shown}, the following needs to be true: {join_facts(conditions)}.")
        adds = [fact(e.predicate, e.terms) for e in schema.add_effects]
        dels = [fact(e.predicate, e.terms) for e in schema.del_effects]
        if adds:
            lines.append(f"   Once {shown} is performed, the following will be true: {join_facts(adds)}.")
        if dels:
            lines.append(f"   Once {shown} is performed, the following will be false: {join_facts(dels)}.")
    if not supported and domain_text:
        lines += ["", "The actions are defined exactly by this PDDL domain:", "", domain_text.strip()]
    lines += [
        "",
        "Write the plan as one action per line, in the form shown above with the object names of the problem.",
    ]
    return "\n".join(lines)
