"""Grounding by delete-relaxed reachability: the ground actions a search can ever need.

Every state reachable from the initial state holds only facts of the delete relaxation's
fixpoint, so an action applicable in such a state has all its positive preconditions there.
Joining each schema's positive preconditions over that fixpoint (instead of enumerating every
type-correct tuple of objects) keeps the ground action set small even for untyped domains
such as Logistics, where a 4-ary schema would otherwise ground over objects^4 tuples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from ._model import ActionSchema, Fact

Grounding = tuple[int, tuple[str, ...]]  # (schema index, object names)


def relaxed_groundings(
    schemas: Sequence[ActionSchema],
    candidates: Sequence[Sequence[Sequence[str]]],
    init: Iterable[Fact],
    object_order: dict[str, int],
) -> list[Grounding]:
    """Groundings whose positive preconditions and equalities hold in the delete relaxation.

    ``candidates[i][j]`` lists the objects, in declaration order, that fit parameter ``j`` of
    schema ``i``. The result is ordered by schema, then by the objects' declaration order.
    """
    by_pred: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for fact in init:
        by_pred[fact[0]].add(fact[1:])
    found: set[Grounding] = set()
    changed = True
    while changed:
        changed = False
        for si, schema in enumerate(schemas):
            new = [args for args in _bindings(schema, candidates[si], by_pred) if (si, args) not in found]
            for args in new:
                found.add((si, args))
                for eff in schema.add_effects:
                    fargs = tuple(args[s] if isinstance(s, int) else s for s in map(schema.slot, eff.terms))
                    if fargs not in by_pred[eff.predicate]:
                        by_pred[eff.predicate].add(fargs)
                        changed = True
    return sorted(found, key=lambda g: (g[0], [object_order.get(a, -1) for a in g[1]]))


def _bindings(
    schema: ActionSchema, candidates: Sequence[Sequence[str]], by_pred: dict[str, set[tuple[str, ...]]]
) -> Iterator[tuple[str, ...]]:
    """Parameter tuples satisfying the positive preconditions over ``by_pred`` (a snapshot)."""
    allowed = [set(c) for c in candidates]
    lits = [(lit.predicate, tuple(map(schema.slot, lit.terms))) for lit in schema.preconditions if lit.positive]
    if any(not by_pred.get(pred) for pred, _ in lits):
        return
    lits = _join_order(lits, by_pred)
    snapshot = {pred: list(by_pred[pred]) for pred, _ in lits}
    joined = {s for _, slots in lits for s in slots if isinstance(s, int)}
    free = [i for i in range(schema.arity) if i not in joined]
    eqs = [(e.positive, schema.slot(e.left), schema.slot(e.right)) for e in schema.equalities]
    binding: list[str | None] = [None] * schema.arity

    def value(s: int | str) -> str | None:
        return binding[s] if isinstance(s, int) else s

    def enumerate_free(k: int) -> Iterator[tuple[str, ...]]:
        if k == len(free):
            if all((value(a) == value(b)) == pos for pos, a, b in eqs):
                yield tuple(binding)  # type: ignore[arg-type]
            return
        slot = free[k]
        for obj in candidates[slot]:
            binding[slot] = obj
            yield from enumerate_free(k + 1)
        binding[slot] = None

    def join(i: int) -> Iterator[tuple[str, ...]]:
        if i == len(lits):
            yield from enumerate_free(0)
            return
        pred, slots = lits[i]
        for fargs in snapshot[pred]:
            if len(fargs) != len(slots):
                continue
            newly: list[int] = []
            ok = True
            for s, v in zip(slots, fargs, strict=False):
                if isinstance(s, str):
                    ok = s == v
                elif binding[s] is None:
                    ok = v in allowed[s]
                    if ok:
                        binding[s] = v
                        newly.append(s)
                else:
                    ok = binding[s] == v
                if not ok:
                    break
            if ok:
                yield from join(i + 1)
            for s in newly:
                binding[s] = None

    yield from join(0)


def _join_order(
    lits: list[tuple[str, tuple[int | str, ...]]], by_pred: dict[str, set[tuple[str, ...]]]
) -> list[tuple[str, tuple[int | str, ...]]]:
    """Greedy join order: next the literal that binds the fewest new parameters, then the rarest."""
    bound: set[int] = set()
    rest = list(lits)
    order = []
    while rest:
        best = min(
            rest,
            key=lambda lit: (
                sum(1 for s in set(lit[1]) if isinstance(s, int) and s not in bound),
                len(by_pred[lit[0]]),
            ),
        )
        rest.remove(best)
        order.append(best)
        bound.update(s for s in best[1] if isinstance(s, int))
    return order
