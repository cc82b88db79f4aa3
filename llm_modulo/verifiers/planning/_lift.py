"""Translate a unified-planning ``Problem`` into the lifted STRIPS model of :mod:`._model`.

Types, objects and predicates always translate. Actions and goals translate only when they stay
inside typed STRIPS with negative preconditions and equality; anything else is recorded as the
name of the first unsupported feature, so that a caller can fall back to unified-planning's
own validator instead of failing.
"""

from __future__ import annotations

from typing import Any

from llm_modulo.errors import UnsupportedFeatureError

from ._model import ActionSchema, Fact, Literal, SchemaEquality, SchemaLiteral
from ._record import Record

ROOT_TYPE = "object"


class Lifted(Record):
    """A task in the lifted model (what a reader fills in)."""

    _fields = ("types", "objects", "predicates", "schemas", "init", "goal", "unsupported")

    def __init__(
        self,
        types: dict[str, str | None] | None = None,
        objects: dict[str, str] | None = None,
        predicates: dict[str, int] | None = None,
        schemas: dict[str, ActionSchema] | None = None,
        init: frozenset[Fact] = frozenset(),
        goal: tuple[Literal, ...] = (),
        unsupported: str | None = None,
    ) -> None:
        self.types: dict[str, str | None] = {} if types is None else types  # type -> parent (None for the root)
        self.objects: dict[str, str] = {} if objects is None else objects  # object -> type, in declaration order
        self.predicates: dict[str, int] = {} if predicates is None else predicates
        self.schemas: dict[str, ActionSchema] = {} if schemas is None else schemas
        self.init = init
        self.goal = goal
        self.unsupported = unsupported  # the first feature outside the grounded validator's fragment


def lift(up_problem: Any) -> Lifted:
    """The lifted model of ``up_problem``; ``unsupported`` names a feature that blocks grounding."""
    out = Lifted()
    _lift_types(up_problem, out)
    for obj in up_problem.all_objects:
        out.objects[obj.name.lower()] = obj.type.name.lower()
    try:
        _check_problem_extras(up_problem)
        for fluent in up_problem.fluents:
            if not fluent.type.is_bool_type():
                raise UnsupportedFeatureError(f"numeric fluents ({fluent.name})")
            out.predicates[fluent.name.lower()] = fluent.arity
        for action in up_problem.actions:
            schema = _lift_action(action)
            out.schemas[schema.name] = schema
        out.init = frozenset(
            _ground_fact(fluent_exp)
            for fluent_exp, value in up_problem.explicit_initial_values.items()
            if value.is_bool_constant() and value.bool_constant_value()
        )
        goal: list[Literal] = []
        for g in up_problem.goals:
            goal.extend(_goal_literals(g))
        out.goal = tuple(dict.fromkeys(goal))  # drop duplicates, keep order
    except UnsupportedFeatureError as exc:
        out.unsupported = str(exc)
    return out


def _lift_types(up_problem: Any, out: Lifted) -> None:
    out.types[ROOT_TYPE] = None
    for t in up_problem.user_types:
        name = t.name.lower()
        parent = t.father.name.lower() if t.father is not None else None
        if name == ROOT_TYPE:
            continue
        out.types[name] = parent if parent is not None else ROOT_TYPE


def _check_problem_extras(up_problem: Any) -> None:
    if getattr(up_problem, "timed_effects", None):
        raise UnsupportedFeatureError("timed initial literals")
    if getattr(up_problem, "timed_goals", None):
        raise UnsupportedFeatureError("timed goals")
    if getattr(up_problem, "trajectory_constraints", None):
        raise UnsupportedFeatureError("trajectory constraints")


def _lift_action(action: Any) -> ActionSchema:
    from unified_planning.model import InstantaneousAction

    name = action.name.lower()
    if not isinstance(action, InstantaneousAction):
        kind = "durative actions" if hasattr(action, "duration") else f"{type(action).__name__} actions"
        raise UnsupportedFeatureError(f"{kind} ({name})")
    params = tuple(("?" + p.name.lower(), p.type.name.lower()) for p in action.parameters)
    pre: list[SchemaLiteral] = []
    eqs: list[SchemaEquality] = []
    for cond in action.preconditions:
        _condition(cond, True, pre, eqs, where=f"action {name}")
    add: list[SchemaLiteral] = []
    dele: list[SchemaLiteral] = []
    for eff in action.effects:
        if eff.is_conditional():
            raise UnsupportedFeatureError(f"conditional effects (action {name})")
        if eff.is_forall():
            raise UnsupportedFeatureError(f"universally quantified effects (action {name})")
        if not eff.is_assignment() or not eff.value.is_bool_constant():
            raise UnsupportedFeatureError(f"numeric effects (action {name})")
        lit = SchemaLiteral(True, eff.fluent.fluent().name.lower(), tuple(_term(a) for a in eff.fluent.args))
        (add if eff.value.bool_constant_value() else dele).append(lit)
    return ActionSchema(name, params, tuple(pre), tuple(eqs), tuple(add), tuple(dele))


def _condition(node: Any, positive: bool, pre: list[SchemaLiteral], eqs: list[SchemaEquality], where: str) -> None:
    """Flatten a precondition into literals and equalities, or raise UnsupportedFeatureError."""
    if node.is_and() and positive:
        for arg in node.args:
            _condition(arg, True, pre, eqs, where)
    elif node.is_not():
        _condition(node.arg(0), not positive, pre, eqs, where)
    elif node.is_fluent_exp():
        if not node.fluent().type.is_bool_type():
            raise UnsupportedFeatureError(f"numeric conditions ({where})")
        pre.append(SchemaLiteral(positive, node.fluent().name.lower(), tuple(_term(a) for a in node.args)))
    elif node.is_equals() and all(a.is_parameter_exp() or a.is_object_exp() for a in node.args):
        eqs.append(SchemaEquality(positive, _term(node.arg(0)), _term(node.arg(1))))
    elif node.is_bool_constant():
        if node.bool_constant_value() != positive:  # a precondition that never holds
            eqs.append(SchemaEquality(False, "?", "?"))
    else:
        raise UnsupportedFeatureError(f"{_feature_name(node, positive)} ({where})")


def _goal_literals(node: Any, positive: bool = True) -> list[Literal]:
    if node.is_and() and positive:
        return [lit for arg in node.args for lit in _goal_literals(arg)]
    if node.is_not():
        return _goal_literals(node.arg(0), not positive)
    if node.is_fluent_exp() and node.fluent().type.is_bool_type():
        return [(positive, _ground_fact(node))]
    if node.is_bool_constant() and node.bool_constant_value() == positive:
        return []
    raise UnsupportedFeatureError(f"{_feature_name(node, positive)} (goal)")


def _feature_name(node: Any, positive: bool) -> str:
    if node.is_or() or (node.is_and() and not positive):
        return "disjunctive conditions"
    if node.is_exists() or node.is_forall():
        return "quantified conditions"
    if node.is_implies() or node.is_iff():
        return "implications"
    if node.is_le() or node.is_lt():
        return "numeric conditions"
    if node.is_equals():
        return "equality over non-object terms"
    return f"conditions of kind {node.node_type.name.lower()}"


def _term(node: Any) -> str:
    if node.is_parameter_exp():
        return "?" + str(node.parameter().name.lower())
    if node.is_object_exp():
        return str(node.object().name.lower())
    raise UnsupportedFeatureError(f"non-object terms ({node})")


def _ground_fact(node: Any) -> Fact:
    return (node.fluent().name.lower(), *(a.object().name.lower() for a in node.args))
