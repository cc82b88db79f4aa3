"""Load a PDDL domain and problem into a grounded, fast-to-simulate :class:`PlanningProblem`.

unified-planning's ``PDDLReader`` parses; everything after parsing is this package's own
lifted STRIPS model (:mod:`._model`) and bitset simulator. A state is a Python ``int`` whose bit
``i`` says whether interned fact ``i`` holds; each ground action carries precomputed
precondition / add / delete masks, so checking and applying a step are a few integer operations.

Grounding is lazy: a ground action is built (and cached) the first time it is named, and the
full applicable-action index is built on the first call to :meth:`PlanningProblem.applicable`.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_modulo.errors import PDDLError, UnsupportedFeatureError

from ._either import EitherTypes, either_members, expand_either
from ._ground import relaxed_groundings
from ._lift import ROOT_TYPE, Lifted, lift
from ._model import ActionSchema, Fact, GroundAction, Literal, literal_str

log = logging.getLogger(__name__)

State = int
StepLike = GroundAction | tuple[str, Sequence[str]]

_DEFINE = re.compile(r"\(\s*define\b", re.IGNORECASE)
_DOMAIN_NAME = re.compile(r"\(\s*domain\s+([^\s()]+)", re.IGNORECASE)
_MAX_RAW_CACHE = 200_000  # raw spellings of steps remembered; cleared when exceeded (LLM output is unbounded)
_local = threading.local()
_FALSE_BIT = 1  # bit 0 is reserved for a fact that never holds (a failed static equality)


@dataclass(frozen=True, slots=True)
class GroundOp:
    """A type-correct ground action with its masks over interned facts."""

    action: GroundAction
    pre_pos: int
    pre_neg: int
    add: int
    keep: int  # ~delete: ``state & keep | add`` applies the action
    preconditions: tuple[tuple[bool, Fact, int], ...]  # (positive, fact, bit) in schema order, for reports
    static_unmet: tuple[Literal, ...] = ()  # equalities that fail for these arguments: never applicable


@dataclass(frozen=True, slots=True)
class BadStep:
    """Why a step names no ground action of the problem."""

    action: GroundAction  # as named, lowercased
    kind: str  # unknown_action | wrong_arity | unknown_object | wrong_type
    reason: str  # a plain PDDL-vocabulary explanation


class PlanningProblem:
    """A typed STRIPS task (domain + problem) with a bitset simulator.

    Attributes are lowercase throughout: ``objects`` (name -> type, declaration order),
    ``types`` (type -> parent), ``predicates`` (name -> arity), ``action_schemas``, ``init``
    (true facts), ``goal`` (literals). ``up_problem`` is the unified-planning problem, kept
    for the reference validator. ``unsupported`` names the first feature outside the grounded
    fragment; when set, the simulation methods raise :class:`UnsupportedFeatureError`.
    """

    def __init__(
        self,
        lifted: Lifted,
        *,
        domain_name: str,
        name: str,
        up_problem: Any = None,
        either: EitherTypes | None = None,
    ) -> None:
        self.domain_name = domain_name
        self.name = name
        self.up_problem = up_problem
        self.unsupported = lifted.unsupported
        self.types = dict(lifted.types)
        self.objects = dict(lifted.objects)
        self.predicates = dict(lifted.predicates)
        self.action_schemas: dict[str, ActionSchema] = dict(lifted.schemas)
        # ``(either a b)`` parameter types: action -> parameter index -> "(either a b)"
        self.either_params: dict[str, dict[int, str]] = dict(either.params) if either else {}
        for action, unions in self.either_params.items():
            schema = self.action_schemas.get(action)
            if schema is not None:
                params = tuple((p, unions.get(i, t)) for i, (p, t) in enumerate(schema.parameters))
                self.action_schemas[action] = dataclasses.replace(schema, parameters=params)
        self.init: frozenset[Fact] = lifted.init
        self.goal: tuple[Literal, ...] = lifted.goal
        self._ancestors = {t: self._type_ancestors(t) for t in {*self.types, *self.objects.values()}}
        self._object_order = {o: i for i, o in enumerate(self.objects)}
        self._by_type: dict[str, list[str]] = {}
        # fact interning: bit 0 is the never-true fact
        self._facts: list[Fact] = [("=",)]
        self._bit: dict[Fact, int] = {}
        self._ops: dict[tuple[str, tuple[str, ...]], GroundOp] = {}  # lowercase key -> op
        self._raw: dict[tuple[str, tuple[str, ...]], GroundOp | BadStep] = {}  # as-written key -> op or error
        self._applicable_index: list[GroundOp] | None = None
        self._well_formed: list[GroundAction] | None = None
        self._up_validator: Any = None  # built once by .reference (computing a UP problem's kind is slow)
        self._init_state = self._mask(self.init)
        self._goal_pos = self._mask(f for pos, f in self.goal if pos)
        self._goal_neg = self._mask(f for pos, f in self.goal if not pos)

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

    # ---------------------------------------------------------------- facts and states

    def _intern(self, fact: Fact) -> int:
        bit = self._bit.get(fact)
        if bit is None:
            bit = self._bit[fact] = len(self._facts)
            self._facts.append(fact)
        return bit

    def _mask(self, facts: Any) -> int:
        mask = 0
        for f in facts:
            mask |= 1 << self._intern(f)
        return mask

    def initial_state(self) -> State:
        self._require_supported()
        return self._init_state

    def holds(self, state: State, fact: Sequence[str]) -> bool:
        bit = self._bit.get(tuple(x.lower() for x in fact))
        return bit is not None and bool(state >> bit & 1)

    def facts(self, state: State) -> set[Fact]:
        out = set()
        while state:
            low = state & -state
            out.add(self._facts[low.bit_length() - 1])
            state ^= low
        return out

    def goal_reached(self, state: State) -> bool:
        return state & self._goal_pos == self._goal_pos and not state & self._goal_neg

    def goals_satisfied(self, state: State) -> int:
        """How many goal literals hold in ``state``."""
        return (state & self._goal_pos).bit_count() + (self._goal_neg & ~state).bit_count()

    def unmet_goals(self, state: State) -> list[Literal]:
        return [(pos, f) for pos, f in self.goal if bool(state >> self._bit[f] & 1) != pos]

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
        name = str(key[0]).lower()
        args = tuple(str(a).lower() for a in key[1])
        action = GroundAction(name, args)
        op = self._ops.get((name, args))
        if op is not None:
            return op
        schema = self.action_schemas.get(name)
        if schema is None:
            known = ", ".join(self.action_schemas)
            return BadStep(action, "unknown_action", f"unknown action {name}; the actions are {known}")
        if len(args) != schema.arity:
            plural = "s" if schema.arity != 1 else ""
            return BadStep(action, "wrong_arity", f"{name} takes {schema.arity} argument{plural}, got {len(args)}")
        unknown = [a for a in args if a not in self.objects]
        if unknown:
            return BadStep(action, "unknown_object", "unknown object " + ", ".join(unknown))
        for a, (param, ptype) in zip(args, schema.parameters):
            if not self.fits(a, ptype):
                return BadStep(
                    action,
                    "wrong_type",
                    f"{a} is of type {self.objects[a]}, but parameter {param} of {name} needs type {ptype}",
                )
        return self._ground(schema, action)

    def _ground(self, schema: ActionSchema, action: GroundAction) -> GroundOp:
        key = (action.name, action.args)
        op = self._ops.get(key)
        if op is not None:
            return op
        args = action.args

        def fact(pred: str, terms: tuple[str, ...]) -> Fact:
            return (pred, *(args[s] if isinstance(s, int) else s for s in map(schema.slot, terms)))

        pre = tuple((lit.positive, fact(lit.predicate, lit.terms)) for lit in schema.preconditions)
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
        add = self._mask(fact(e.predicate, e.terms) for e in schema.add_effects)
        delete = self._mask(fact(e.predicate, e.terms) for e in schema.del_effects)
        bits = tuple((pos, f, self._intern(f)) for pos, f in pre)
        op = GroundOp(action, pre_pos, pre_neg, add, ~delete, bits, tuple(static_unmet))
        self._ops[key] = op
        return op

    def static_predicates(self) -> frozenset[str]:
        """Predicates no action adds or deletes (e.g. Logistics' type predicates ``truck``, ``city``)."""
        changed = {e.predicate for schema in self.action_schemas.values() for e in (*schema.add_effects, *schema.del_effects)}
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
            out = []
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
            self._applicable_index = [
                self._ground(schemas[si], GroundAction(schemas[si].name, args)) for si, args in groundings
            ]
            log.debug("%s: %d relaxed-reachable ground actions", self.name, len(self._applicable_index))
        return self._applicable_index

    # ---------------------------------------------------------------- simulation

    def applicable(self, state: State) -> list[GroundAction]:
        """Ground actions applicable in ``state`` (a state from :meth:`initial_state` / :meth:`apply`)."""
        return [op.action for op in self._index() if state & op.pre_pos == op.pre_pos and not state & op.pre_neg]

    def is_applicable(self, state: State, action: StepLike) -> bool:
        op = self.resolve(action)
        return isinstance(op, GroundOp) and state & op.pre_pos == op.pre_pos and not state & op.pre_neg

    def apply(self, state: State, action: StepLike) -> State:
        """The successor state; raises ``ValueError`` if ``action`` is ill-formed or inapplicable."""
        op = self.resolve(action)
        if isinstance(op, BadStep):
            raise ValueError(f"{op.action}: {op.reason}")
        if state & op.pre_pos != op.pre_pos or state & op.pre_neg:
            unmet = ", ".join(literal_str(lit) for lit in self.unmet_preconditions(state, op))
            raise ValueError(f"{op.action} is not applicable: unmet {unmet}")
        return state & op.keep | op.add

    def __repr__(self) -> str:
        return (
            f"PlanningProblem({self.domain_name}/{self.name}: {len(self.objects)} objects, "
            f"{len(self.action_schemas)} actions, {len(self.goal)} goal literals)"
        )


def _is_text(source: str | Path) -> bool:
    return isinstance(source, str) and _DEFINE.search(source) is not None


def _read(source: str | Path, role: str) -> tuple[str, str]:
    """(text, label) of a PDDL argument that is either a path or the PDDL text itself."""
    if _is_text(source):
        return str(source), f"<{role} text>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig"), str(path)
    except FileNotFoundError:
        raise PDDLError(f"{path}: no such {role} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PDDLError(f"{path}: cannot read {role} file: {exc}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_problem(domain: str | Path, problem: str | Path, *, strict: bool = False) -> PlanningProblem:
    """Parse a PDDL domain and problem (file paths, or the PDDL text itself) into a PlanningProblem.

    A string containing ``(define`` is PDDL text; anything else is a path. Names are lowercased.
    A missing file or malformed PDDL raises :class:`PDDLError` with one line. A feature outside
    typed STRIPS with negative preconditions and equality (conditional effects, quantifiers,
    disjunction, numeric fluents, durative actions...) does not fail the load: it is recorded in
    ``unsupported`` and the grounded methods raise :class:`UnsupportedFeatureError` (critics
    fall back to unified-planning). With ``strict=True`` it raises at once. ``(either ...)``
    parameter types are supported (see :mod:`._either`).
    """
    domain_text, domain_label = _read(domain, "domain")
    domain_text, either = expand_either(domain_text)
    problem_text, problem_label = _read(problem, "problem")
    up_problem = _parse(domain_text, domain_label, problem_text, problem_label)
    lifted = lift(up_problem)
    m = _DOMAIN_NAME.search(problem_text) or _DOMAIN_NAME.search(domain_text)
    pp = PlanningProblem(
        lifted,
        domain_name=(m.group(1).lower() if m else ""),
        name=str(up_problem.name).lower(),
        up_problem=up_problem,
        either=either,
    )
    if pp.unsupported is not None:
        log.info("%s: %s; the grounded validator will defer to unified-planning", problem_label, pp.unsupported)
        if strict:
            pp._require_supported()
    return pp


def _reader() -> Any:
    """A PDDLReader for this thread (building its grammar costs ~40 ms, so it is reused)."""
    reader = getattr(_local, "reader", None)
    if reader is None:
        from unified_planning.io import PDDLReader

        _quiet_up()
        reader = _local.reader = PDDLReader()
    # PDDLReader remembers a domain's total-cost fluent and never forgets it (UP 1.3): reset it
    # so that one domain's action costs do not leak into the next parse.
    if hasattr(reader, "_totalcost"):
        reader._totalcost = None
    return reader


def _parse(domain_text: str, domain_label: str, problem_text: str, problem_label: str) -> Any:
    reader = _reader()
    try:
        return reader.parse_problem_string(domain_text, problem_text)
    except Exception as exc:  # pyparsing, SyntaxError, UP's own: all become one line
        reason = _one_line(exc)
    # attribute the failure: does the domain parse on its own?
    try:
        reader.parse_problem_string(domain_text, None)
    except Exception as exc:
        raise PDDLError(f"{domain_label}: malformed PDDL domain: {_one_line(exc)}") from None
    raise PDDLError(f"{problem_label}: malformed PDDL problem (domain {domain_label}): {reason}") from None


def _quiet_up() -> None:
    import unified_planning.shortcuts as ups

    ups.get_environment().credits_stream = None
