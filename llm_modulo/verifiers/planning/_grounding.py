"""Grounding a typed STRIPS task: which objects may bind which parameters, and each step named
in a plan resolved to a :class:`GroundOp` (precondition / add / delete masks over interned facts)
or a :class:`BadStep` saying why it names none.

:class:`Grounding` is the grounding half of :class:`~.pddl.PlanningProblem`, which sets the
attributes it declares; ground operators are built lazily and cached.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from llm_modulo.errors import UnsupportedFeatureError

from ._either import either_members
from ._ground import relaxed_groundings
from ._lift import ROOT_TYPE
from ._model import ActionSchema, Fact, GroundAction, Literal
from ._record import Frozen


class LazyLog:
    """``logging.getLogger(name)``, importing logging on first use: it is a twentieth of a batch
    ``validate`` process's time, which logs nothing."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        import logging

        return getattr(logging.getLogger(self.name), attr)


log = LazyLog(__name__)

State = int
StepLike = GroundAction | tuple[str, Sequence[str]]

_MAX_RAW_CACHE = 200_000  # raw spellings of steps remembered; cleared when exceeded (LLM output is unbounded)
_FALSE_BIT = 1  # bit 0 is reserved for a fact that never holds (a failed static equality)


class GroundOp(Frozen):
    """A type-correct ground action with its masks over interned facts."""

    __slots__ = _fields = ("action", "pre_pos", "pre_neg", "add", "keep", "preconditions", "static_unmet")
    action: GroundAction
    pre_pos: int
    pre_neg: int
    add: int
    keep: int  # ~delete: ``state & keep | add`` applies the action
    preconditions: tuple[tuple[bool, Fact, int], ...]  # (positive, fact, bit) in schema order, for reports
    static_unmet: tuple[Literal, ...]  # equalities that fail for these arguments: never applicable

    def __init__(
        self,
        action: GroundAction,
        pre_pos: int,
        pre_neg: int,
        add: int,
        keep: int,
        preconditions: tuple[tuple[bool, Fact, int], ...],
        static_unmet: tuple[Literal, ...] = (),
    ) -> None:
        for name, value in zip(
            self._fields, (action, pre_pos, pre_neg, add, keep, preconditions, static_unmet), strict=True
        ):
            object.__setattr__(self, name, value)


class BadStep(Frozen):
    """Why a step names no ground action of the problem."""

    __slots__ = _fields = ("action", "kind", "reason")
    action: GroundAction  # as named, lowercased
    kind: str  # unknown_action | wrong_arity | unknown_object | wrong_type
    reason: str  # a plain PDDL-vocabulary explanation

    def __init__(self, action: GroundAction, kind: str, reason: str) -> None:
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "reason", reason)


class GroundCache:
    """Interned facts and ground operators that the problems of one domain share, so that a batch of
    problems grounds each step once, not once per problem (an operator's masks depend only on the
    names in it; whether a problem may use it is checked per problem, in ``_resolve``).

    Not thread-safe: for one batch in one thread. Past ``max_facts`` facts it starts afresh (each
    problem keeps the tables it started with), so that states stay small ints."""

    def __init__(self, max_facts: int = 100_000) -> None:
        self.max_facts = max_facts
        self.schemas: dict[str, ActionSchema] | None = None
        self._fresh()

    def _fresh(self) -> None:
        self.facts: list[Fact] = [("=",)]
        self.bit: dict[Fact, int] = {}
        self.ops: dict[tuple[str, tuple[str, ...]], GroundOp] = {}

    def tables(
        self, schemas: dict[str, ActionSchema]
    ) -> tuple[list[Fact], dict[Fact, int], dict[tuple[str, tuple[str, ...]], GroundOp]] | None:
        """(facts, bits, operators) for a problem with these action schemas; None for another domain's."""
        if self.schemas is None:
            self.schemas = schemas
        elif schemas != self.schemas:  # the same schema objects when the reader kept the domain: fast
            return None
        if len(self.facts) > self.max_facts:
            self._fresh()
        return self.facts, self.bit, self.ops


class Grounding:
    """Types, fact interning and ground operators of a task; the host class sets the attributes."""

    name: str
    unsupported: str | None  # the first PDDL feature outside the grounded fragment
    types: dict[str, str | None]  # type -> parent (None for the root)
    objects: dict[str, str]
    predicates: dict[str, int]
    action_schemas: dict[str, ActionSchema]
    init: frozenset[Fact]
    _ancestors: dict[str, frozenset[str]]
    _object_order: dict[str, int]
    _by_type: dict[str, list[str]]
    _facts: list[Fact]
    _bit: dict[Fact, int]
    _ops: dict[tuple[str, tuple[str, ...]], GroundOp]
    _raw: dict[tuple[str, tuple[str, ...]], GroundOp | BadStep]
    _applicable_index: list[GroundOp] | None
    _well_formed: list[GroundAction] | None
    _init_state: State

    # ---------------------------------------------------------------- types and objects

    @property
    def supported(self) -> bool:
        """True when the grounded validator and simulator handle this task."""
        return self.unsupported is None

    def _require_supported(self) -> None:
        if self.unsupported is not None:
            raise UnsupportedFeatureError(
                f"PDDL feature not supported by the grounded STRIPS validator: {self.unsupported}"
            )

    def _type_ancestors(self, t: str) -> frozenset[str]:
        seen = [t]
        while (parent := self.types.get(seen[-1])) is not None and parent not in seen:
            seen.append(parent)
        return frozenset((*seen, ROOT_TYPE))

    def fits(self, obj: str, type_name: str) -> bool:
        """True if object ``obj`` may bind a parameter of type ``type_name`` (subtypes included;
        ``"(either a b)"`` fits an object of either type)."""
        members = either_members(type_name) if type_name.startswith("(") else None
        if members is not None:
            return any(self.fits(obj, m) for m in members)
        t = self.objects.get(obj)
        return t is not None and type_name in self._ancestors.get(t, frozenset((t, ROOT_TYPE)))

    def objects_of_type(self, type_name: str) -> list[str]:
        """Objects that fit ``type_name``, in declaration order."""
        if type_name not in self._by_type:
            self._by_type[type_name] = [o for o in self.objects if self.fits(o, type_name)]
        return self._by_type[type_name]

    # ---------------------------------------------------------------- fact interning

    def _intern(self, fact: Fact) -> int:
        bit = self._bit.get(fact)
        if bit is None:
            bit = self._bit[fact] = len(self._facts)
            self._facts.append(fact)
        return bit

    def _mask(self, facts: Any) -> int:
        bit_of = self._bit.get
        mask = 0
        for f in facts:
            bit = bit_of(f)
            mask |= 1 << (bit if bit is not None else self._intern(f))
        return mask

    # ---------------------------------------------------------------- grounding

    def resolve(self, step: StepLike) -> GroundOp | BadStep:
        """The ground operator a step names, or a :class:`BadStep` saying why it names none."""
        if isinstance(step, GroundAction):
            key = (step.name, step.args)
        else:
            key = (step[0], tuple(step[1]))
        hit = self._raw.get(key)
        if hit is None:
            hit = self._resolve(key)
            if len(self._raw) >= _MAX_RAW_CACHE:
                self._raw.clear()
            self._raw[key] = hit
        return hit

    def _resolve(self, key: tuple[str, tuple[str, ...]]) -> GroundOp | BadStep:
        self._require_supported()
        op = self._ops.get(key)  # a step grounded before, as written (lowercase): here, or for another problem
        if op is not None and tuple(map(self.objects.get, key[1])) == self.action_schemas[key[0]].param_types:
            return op  # every argument an object of exactly the parameter's type: it applies here too
        name = str(key[0]).lower()
        args = tuple(str(a).lower() for a in key[1])
        schema = self.action_schemas.get(name)
        if schema is None:
            known = ", ".join(self.action_schemas)
            return BadStep(
                GroundAction(name, args), "unknown_action", f"unknown action {name}; the actions are {known}"
            )
        if len(args) != schema.arity:
            plural = "s" if schema.arity != 1 else ""
            reason = f"{name} takes {schema.arity} argument{plural}, got {len(args)}"
            return BadStep(GroundAction(name, args), "wrong_arity", reason)
        objects = self.objects
        unknown = [a for a in args if a not in objects]
        if unknown:
            return BadStep(GroundAction(name, args), "unknown_object", "unknown object " + ", ".join(unknown))
        # checked before the operator is looked up: with a GroundCache, it may come from another problem
        for a, (param, ptype) in zip(args, schema.parameters, strict=True):
            if objects[a] != ptype and not self.fits(a, ptype):
                return BadStep(
                    GroundAction(name, args),
                    "wrong_type",
                    f"{a} is of type {objects[a]}, but parameter {param} of {name} needs type {ptype}",
                )
        return self._ops.get((name, args)) or self._ground(schema, name, args)

    def _ground(self, schema: ActionSchema, name: str, args: tuple[str, ...]) -> GroundOp:
        key = (name, args)
        op = self._ops.get(key)
        if op is not None:
            return op
        names, pre_facts, add_facts, del_facts = schema.fact_templates
        ext = args + names
        pre = tuple((lit.positive, get(ext)) for lit, get in zip(schema.preconditions, pre_facts, strict=True))
        static_unmet: list[Literal] = []
        for eq in schema.equalities:
            if eq.left == "?":  # a precondition that is constant false
                static_unmet.append((True, ("false",)))
                continue
            left, right = (args[s] if isinstance(s, int) else s for s in (schema.slot(eq.left), schema.slot(eq.right)))
            if (left == right) != eq.positive:
                static_unmet.append((eq.positive, ("=", left, right)))
        pre_pos = self._mask(f for pos, f in pre if pos) | (_FALSE_BIT if static_unmet else 0)
        pre_neg = self._mask(f for pos, f in pre if not pos)
        add = self._mask(get(ext) for get in add_facts)
        delete = self._mask(get(ext) for get in del_facts)
        bits = tuple((pos, f, self._intern(f)) for pos, f in pre)
        op = GroundOp(GroundAction(name, args), pre_pos, pre_neg, add, ~delete, bits, tuple(static_unmet))
        self._ops[key] = op
        return op

    def static_predicates(self) -> frozenset[str]:
        """Predicates no action adds or deletes (e.g. Logistics' type predicates ``truck``, ``city``)."""
        changed = {
            e.predicate for schema in self.action_schemas.values() for e in (*schema.add_effects, *schema.del_effects)
        }
        return frozenset(p for p in self.predicates if p not in changed)

    def statically_possible(self, step: StepLike) -> bool:
        """True if ``step`` is a well-formed ground action whose static preconditions (over
        :meth:`static_predicates`, and equalities) hold: it may apply in some state. Used to
        choose between readings of an ambiguous plan line. Always True outside the grounded fragment."""
        if not self.supported:
            return True
        op = self.resolve(step)
        if not isinstance(op, GroundOp):
            return False
        if op.static_unmet:
            return False
        static = self.static_predicates()
        init = self._init_state
        return all(bool(init >> bit & 1) == pos for pos, fact, bit in op.preconditions if fact[0] in static)

    def unmet_preconditions(self, state: State, op: GroundOp) -> list[Literal]:
        """The preconditions of ``op`` that do not hold in ``state``, in schema order."""
        unmet = [(pos, f) for pos, f, bit in op.preconditions if (state >> bit & 1) != pos]
        return unmet + list(op.static_unmet) if op.static_unmet else unmet

    def well_formed_actions(self) -> list[GroundAction]:
        """Every type-correct grounding of every schema: schema order, then object declaration order."""
        self._require_supported()
        if self._well_formed is None:
            out: list[GroundAction] = []
            for schema in self.action_schemas.values():
                pools = [self.objects_of_type(t) for _, t in schema.parameters]
                out.extend(GroundAction(schema.name, args) for args in itertools.product(*pools))
            self._well_formed = out
        return list(self._well_formed)

    def reachable_actions(self) -> list[GroundAction]:
        """Ground actions whose preconditions can ever hold together in the delete relaxation.

        Every action applicable in some reachable state is here; usually far fewer than
        :meth:`well_formed_actions` (Logistics with 24 untyped objects: 255 against 400,896),
        so it is the better vocabulary for constrained decoding and random proposals.
        Same order as :meth:`well_formed_actions`.
        """
        return [op.action for op in self._index()]

    def _index(self) -> list[GroundOp]:
        if self._applicable_index is None:
            self._require_supported()
            schemas = list(self.action_schemas.values())
            pools = [[self.objects_of_type(t) for _, t in s.parameters] for s in schemas]
            groundings = relaxed_groundings(schemas, pools, self.init, self._object_order)
            self._applicable_index = [self._ground(schemas[si], schemas[si].name, args) for si, args in groundings]
            log.debug("%s: %d relaxed-reachable ground actions", self.name, len(self._applicable_index))
        return self._applicable_index


__all__ = ["BadStep", "GroundCache", "GroundOp", "Grounding", "State", "StepLike"]
