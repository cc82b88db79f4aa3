"""Load a PDDL domain and problem into a grounded, fast-to-simulate :class:`PlanningProblem`.

The project's own reader (:mod:`._reader`) reads the typed STRIPS fragment straight into the
lifted STRIPS model (:mod:`._model`); files beyond it go to unified-planning's ``PDDLReader``
(:mod:`._parse`). Everything after reading is this package's own bitset simulator. A state is a Python
``int`` whose bit ``i`` says whether interned fact ``i`` holds; each ground action carries
precomputed precondition / add / delete masks (:mod:`._grounding`), so checking and applying a
step are a few integer operations.

Grounding is lazy: a ground action is built (and cached) the first time it is named, and the
full applicable-action index is built on the first call to :meth:`PlanningProblem.applicable`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_modulo.errors import PDDLError, UnsupportedFeatureError

from ._either import EitherTypes
from ._grounding import BadStep, GroundCache, Grounding, GroundOp, LazyLog, State, StepLike
from ._lift import Lifted, lift
from ._model import ActionSchema, Fact, GroundAction, Literal, literal_str
from ._parse import Sources, parse_up, read_sources
from ._reader import Beyond, read_pddl

log = LazyLog(__name__)


class PlanningProblem(Grounding):
    """A typed STRIPS task (domain + problem) with a bitset simulator.

    Attributes are lowercase throughout: ``objects`` (name -> type, declaration order),
    ``types`` (type -> parent), ``predicates`` (name -> arity), ``action_schemas``, ``init``
    (true facts), ``goal`` (literals). ``up_problem`` is the unified-planning problem, for the
    reference validator: parsed from the kept sources the first time it is read. ``unsupported`` names the first feature outside the grounded
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
        sources: Sources | None = None,
        shared: GroundCache | None = None,
    ) -> None:
        self.domain_name = domain_name
        self.name = name
        self._up_problem = up_problem
        self._sources = sources
        self._up_lock = threading.Lock()
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
                self.action_schemas[action] = schema.with_parameters(params)
        self.init: frozenset[Fact] = lifted.init
        self.goal: tuple[Literal, ...] = lifted.goal
        self._ancestors = {t: self._type_ancestors(t) for t in {*self.types, *self.objects.values()}}
        self._object_order = {o: i for i, o in enumerate(self.objects)}
        self._by_type: dict[str, list[str]] = {}
        # fact interning (bit 0 is the never-true fact) and lowercase key -> op; shared by a batch's problems
        tables = shared.tables(self.action_schemas) if shared is not None else None
        self._facts, self._bit, self._ops = tables or ([("=",)], {}, {})
        self._raw: dict[tuple[str, tuple[str, ...]], GroundOp | BadStep] = {}  # as-written key -> op or error
        self._applicable_index: list[GroundOp] | None = None
        self._well_formed: list[GroundAction] | None = None
        self._up_validator: Any = None  # built once by .reference (computing a UP problem's kind is slow)
        # built from a byte array: OR-ing bit by bit into an int copies it each time (quadratic for 100k facts)
        self._init_state = _bits_to_int([self._intern(f) for f in self.init])
        self._goal_pos = self._mask(f for pos, f in self.goal if pos)
        self._goal_neg = self._mask(f for pos, f in self.goal if not pos)

    @property
    def up_problem(self) -> Any:
        """unified-planning's problem (None if there are no sources to parse it from).

        Raises :class:`UnsupportedFeatureError` if unified-planning cannot read files that the
        project's reader did."""
        if self._up_problem is None and self._sources is not None:
            with self._up_lock:  # one parse, however many threads ask at once
                if self._up_problem is None:
                    try:
                        self._up_problem = parse_up(self._sources).up_problem
                    except PDDLError as exc:
                        raise UnsupportedFeatureError(f"unified-planning cannot read this task: {exc}") from None
        return self._up_problem

    @up_problem.setter
    def up_problem(self, value: Any) -> None:
        self._up_problem = value

    # ---------------------------------------------------------------- states

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


def _bits_to_int(bits: list[int]) -> int:
    """The int with exactly ``bits`` set, in time linear in their number and span."""
    if not bits:
        return 0
    buf = bytearray(max(bits) // 8 + 1)
    for b in bits:
        buf[b >> 3] |= 1 << (b & 7)
    return int.from_bytes(buf, "little")


def load_problem(
    domain: str | Path, problem: str | Path, *, strict: bool = False, shared: GroundCache | None = None
) -> PlanningProblem:
    """Parse a PDDL domain and problem (file paths, or the PDDL text itself) into a PlanningProblem.

    A string containing ``(define`` is PDDL text; anything else is a path. Names are lowercased.
    A missing file or malformed PDDL raises :class:`PDDLError` with one line. A feature outside
    typed STRIPS with negative preconditions and equality (conditional effects, quantifiers,
    disjunction, numeric fluents, durative actions...) does not fail the load: it is recorded in
    ``unsupported`` and the grounded methods raise :class:`UnsupportedFeatureError` (critics
    fall back to unified-planning). With ``strict=True`` it raises at once. ``(either ...)``
    parameter types are supported (see :mod:`._either`).

    The project's reader reads the fragment (see :mod:`._reader` for what it accepts and its
    size limits); a file beyond it is parsed by unified-planning, as is ``up_problem`` on demand.
    ``shared``: the tables of a batch's problems of one domain (see :class:`.GroundCache`).
    """
    src = read_sources(domain, problem)
    try:
        own = read_pddl(src.domain_text, src.domain_label, src.problem_text, src.problem_label)
    except Beyond as exc:
        log.debug("%s: %s; reading it with unified-planning", src.problem_label, exc)
        parsed = parse_up(src)
        pp = PlanningProblem(
            lift(parsed.up_problem),
            domain_name=parsed.domain_name,
            name=str(parsed.up_problem.name).lower(),
            up_problem=parsed.up_problem,
            either=parsed.either,
            shared=shared,
        )
    else:
        pp = PlanningProblem(
            own.lifted,
            domain_name=own.domain_name,
            name=own.problem_name,
            either=own.either,
            sources=src,
            shared=shared,
        )
    if pp.unsupported is not None:
        log.info("%s: %s; the grounded validator will defer to unified-planning", src.problem_label, pp.unsupported)
        if strict:
            pp._require_supported()
    return pp


__all__ = ["BadStep", "GroundCache", "GroundOp", "PlanningProblem", "State", "StepLike", "load_problem"]
