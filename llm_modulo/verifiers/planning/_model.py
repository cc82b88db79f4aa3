"""The lifted STRIPS model the grounded validator works on: plain, immutable, lowercase data.

A *fact* is a tuple ``(predicate, *objects)``, e.g. ``("on", "a", "b")`` or ``("handempty",)``.
A *literal* is ``(positive, fact)``. In an action schema a *term* is either a parameter, written
with its ``?`` (``"?ob"``), or a constant object name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from operator import itemgetter

from ._record import Frozen

Fact = tuple[str, ...]
Literal = tuple[bool, Fact]


class GroundAction(Frozen):
    """One step of a plan: an action name applied to object names."""

    __slots__ = ("name", "args")
    _fields = ("name", "args")
    name: str
    args: tuple[str, ...]

    def __init__(self, name: str, args: Sequence[str] = ()) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", args if isinstance(args, tuple) else tuple(args))

    def __eq__(self, other: object) -> bool:  # the hot case by hand: steps are compared and hashed a lot
        if other.__class__ is GroundAction:
            return self.name == other.name and self.args == other.args
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.args))

    def __str__(self) -> str:
        return "(" + " ".join((self.name, *self.args)) + ")"

    @classmethod
    def of(cls, step: GroundAction | tuple[str, Sequence[str]]) -> GroundAction:
        """Coerce a ``(name, args)`` pair into a GroundAction (a GroundAction is returned as is)."""
        if isinstance(step, GroundAction):
            return step
        name, args = step
        return cls(str(name), tuple(str(a) for a in args))


class SchemaLiteral(Frozen):
    """A literal of an action schema: ``(not) (predicate term ...)``."""

    __slots__ = _fields = ("positive", "predicate", "terms")
    positive: bool
    predicate: str
    terms: tuple[str, ...]

    def __init__(self, positive: bool, predicate: str, terms: tuple[str, ...]) -> None:
        object.__setattr__(self, "positive", positive)
        object.__setattr__(self, "predicate", predicate)
        object.__setattr__(self, "terms", terms)


class SchemaEquality(Frozen):
    """An ``(= t1 t2)`` or ``(not (= t1 t2))`` precondition."""

    __slots__ = _fields = ("positive", "left", "right")
    positive: bool
    left: str
    right: str

    def __init__(self, positive: bool, left: str, right: str) -> None:
        object.__setattr__(self, "positive", positive)
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "right", right)


class ActionSchema(Frozen):
    """A lifted STRIPS action with typed parameters, positive/negative preconditions, add/delete effects."""

    _fields = ("name", "parameters", "preconditions", "equalities", "add_effects", "del_effects")
    name: str
    parameters: tuple[tuple[str, str], ...]  # (parameter name with '?', type)
    preconditions: tuple[SchemaLiteral, ...]
    equalities: tuple[SchemaEquality, ...]
    add_effects: tuple[SchemaLiteral, ...]
    del_effects: tuple[SchemaLiteral, ...]
    _slots: dict[str, int]

    def __init__(
        self,
        name: str,
        parameters: tuple[tuple[str, str], ...],
        preconditions: tuple[SchemaLiteral, ...] = (),
        equalities: tuple[SchemaEquality, ...] = (),
        add_effects: tuple[SchemaLiteral, ...] = (),
        del_effects: tuple[SchemaLiteral, ...] = (),
    ) -> None:
        fields = self.__dict__  # no __slots__: cached_property keeps fact_templates here
        fields.update(name=name, parameters=parameters, preconditions=preconditions, equalities=equalities)
        fields.update(add_effects=add_effects, del_effects=del_effects)
        fields["_slots"] = {p: i for i, (p, _) in enumerate(parameters)}

    def with_parameters(self, parameters: tuple[tuple[str, str], ...]) -> ActionSchema:
        """This schema with other parameter types (``(either ...)`` unions)."""
        return ActionSchema(
            self.name, parameters, self.preconditions, self.equalities, self.add_effects, self.del_effects
        )

    @property
    def arity(self) -> int:
        return len(self.parameters)

    def slot(self, term: str) -> int | str:
        """The parameter index of ``term``, or the constant name itself."""
        return self._slots.get(term, term)

    @cached_property
    def param_types(self) -> tuple[str, ...]:
        """The parameters' types, in order."""
        return tuple(t for _, t in self.parameters)

    @cached_property
    def fact_templates(
        self,
    ) -> tuple[tuple[str, ...], tuple[FactGetter, ...], tuple[FactGetter, ...], tuple[FactGetter, ...]]:
        """``(names, preconditions, add effects, delete effects)``: each literal's fact as a function of
        ``args + names`` (the ground arguments, then the predicate and constant names it uses), so that
        grounding a step is a few C-level look-ups per fact, not a Python loop over its terms."""
        names: dict[str, int] = {}
        n = len(self.parameters)

        def getter(literal: SchemaLiteral) -> FactGetter:
            index = [n + names.setdefault(literal.predicate, len(names))]
            for term in literal.terms:
                slot = self._slots.get(term)
                index.append(slot if slot is not None else n + names.setdefault(term, len(names)))
            return itemgetter(*index) if len(index) > 1 else _Nullary(index[0])

        pre = tuple(getter(lit) for lit in self.preconditions)
        add = tuple(getter(lit) for lit in self.add_effects)
        delete = tuple(getter(lit) for lit in self.del_effects)
        return tuple(names), pre, add, delete

    def __str__(self) -> str:
        params = " ".join(f"{p} - {t}" for p, t in self.parameters)
        return f"(:action {self.name} :parameters ({params}))"


FactGetter = Callable[[tuple[str, ...]], Fact]


class _Nullary:
    """The fact of a predicate without arguments (``itemgetter`` of one index gives the item, not a tuple)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, ext: tuple[str, ...]) -> Fact:
        return (ext[self.index],)

    def __reduce__(self) -> tuple[type[_Nullary], tuple[int]]:
        return (_Nullary, (self.index,))


def fact_str(fact: Fact) -> str:
    """``("on", "a", "b")`` -> ``"(on a b)"``."""
    return "(" + " ".join(fact) + ")"


def literal_str(literal: Literal) -> str:
    """``(False, ("clear", "b"))`` -> ``"(not (clear b))"``."""
    positive, fact = literal
    return fact_str(fact) if positive else f"(not {fact_str(fact)})"
