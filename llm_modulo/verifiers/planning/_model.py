"""The lifted STRIPS model the grounded validator works on: plain, immutable, lowercase data.

A *fact* is a tuple ``(predicate, *objects)``, e.g. ``("on", "a", "b")`` or ``("handempty",)``.
A *literal* is ``(positive, fact)``. In an action schema a *term* is either a parameter, written
with its ``?`` (``"?ob"``), or a constant object name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Fact = tuple[str, ...]
Literal = tuple[bool, Fact]


@dataclass(frozen=True, slots=True)
class GroundAction:
    """One step of a plan: an action name applied to object names."""

    name: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            object.__setattr__(self, "args", tuple(self.args))

    def __str__(self) -> str:
        return "(" + " ".join((self.name, *self.args)) + ")"

    @classmethod
    def of(cls, step: GroundAction | tuple[str, Sequence[str]]) -> GroundAction:
        """Coerce a ``(name, args)`` pair into a GroundAction (a GroundAction is returned as is)."""
        if isinstance(step, GroundAction):
            return step
        name, args = step
        return cls(str(name), tuple(str(a) for a in args))


@dataclass(frozen=True, slots=True)
class SchemaLiteral:
    """A literal of an action schema: ``(not) (predicate term ...)``."""

    positive: bool
    predicate: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SchemaEquality:
    """An ``(= t1 t2)`` or ``(not (= t1 t2))`` precondition."""

    positive: bool
    left: str
    right: str


@dataclass(frozen=True)
class ActionSchema:
    """A lifted STRIPS action with typed parameters, positive/negative preconditions, add/delete effects."""

    name: str
    parameters: tuple[tuple[str, str], ...]  # (parameter name with '?', type)
    preconditions: tuple[SchemaLiteral, ...] = ()
    equalities: tuple[SchemaEquality, ...] = ()
    add_effects: tuple[SchemaLiteral, ...] = ()
    del_effects: tuple[SchemaLiteral, ...] = ()
    _slots: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._slots.update({p: i for i, (p, _) in enumerate(self.parameters)})

    @property
    def arity(self) -> int:
        return len(self.parameters)

    def slot(self, term: str) -> int | str:
        """The parameter index of ``term``, or the constant name itself."""
        return self._slots.get(term, term)

    def __str__(self) -> str:
        params = " ".join(f"{p} - {t}" for p, t in self.parameters)
        return f"(:action {self.name} :parameters ({params}))"


def fact_str(fact: Fact) -> str:
    """``("on", "a", "b")`` -> ``"(on a b)"``."""
    return "(" + " ".join(fact) + ")"


def literal_str(literal: Literal) -> str:
    """``(False, ("clear", "b"))`` -> ``"(not (clear b))"``."""
    positive, fact = literal
    return fact_str(fact) if positive else f"(not {fact_str(fact)})"
