"""The project's own PDDL reader for the fragment the grounded validator supports.

Typed STRIPS with negative preconditions, equality, constants and ``(either ...)`` parameter
types, read straight into the lifted model :class:`~._lift.Lifted` without unified-planning.
It reads what the field's tools write: any case, ``;`` comments anywhere, sections in any order,
empty sections (``(:types)``, ``(:constants)``, ``(:functions)``, as Tarski writes them),
requirement flags that change nothing, untyped objects and ``(and)`` as an empty condition.

A feature outside the fragment (conditional effects, quantifiers, disjunction, numeric
fluents, durative actions, derived predicates, constraints, metrics...) raises :class:`Beyond`,
and the caller falls back to unified-planning's reader. Anything wrong with the files is a
one-line :class:`PDDLError` naming the file and, where it can, the line.

Linear cost: one tokenizer pass (:mod:`._sexp`) and look-ups. A file over ``MAX_BYTES`` (50 MB)
or a task over ``MAX_OBJECTS`` (1,000,000) fails at once with one line; 10 MB files and 100k
objects load in seconds. As in most planners (not unified-planning), arguments are not
type-checked against predicate signatures: a wrongly typed fact never matches a typed action.
"""

from __future__ import annotations

from collections import deque

from llm_modulo.errors import PDDLError

from ._either import EitherTypes, common_ancestor
from ._fragment import (
    BEYOND_SECTIONS,
    MAX_BYTES,
    Beyond,
    check_requirements,
    declare_objects,
    predicate,
    section_map,
)
from ._lift import ROOT_TYPE, Lifted
from ._model import ActionSchema, Fact, Literal, SchemaEquality, SchemaLiteral
from ._record import Frozen
from ._sexp import SExp, SList, SyntaxProblem, fail, parse_sexps, parse_sexps_unlined, show, slist, typed_list


class ReadPDDL(Frozen):
    _fields = ("lifted", "domain_name", "problem_name", "either")
    lifted: Lifted
    domain_name: str
    problem_name: str
    either: EitherTypes

    def __init__(self, lifted: Lifted, domain_name: str, problem_name: str, either: EitherTypes) -> None:
        fields = self.__dict__
        fields["lifted"], fields["domain_name"], fields["problem_name"], fields["either"] = (
            lifted,
            domain_name,
            problem_name,
            either,
        )


class _file:  # noqa: N801  # a class, not @contextmanager: a third of the cost, three times a problem
    """Turn a :class:`SyntaxProblem` into the one-line PDDLError that names the file and line."""

    def __init__(self, label: str, role: str) -> None:
        self.label, self.role = label, role

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, SyntaxProblem):
            where = f" (line {exc.line})" if exc.line else ""
            raise PDDLError(f"{self.label}: malformed PDDL {self.role}{where}: {exc.message}") from None


def _define(text: str, label: str, role: str, lines: bool) -> tuple[str, SList]:
    """(name, the ``(define ...)`` list) of a domain or problem text (``lines``: with line numbers)."""
    if len(text) > MAX_BYTES:
        raise PDDLError(
            f"{label}: the {role} file is {len(text) / 1e6:.0f} MB; files over {MAX_BYTES // 1_000_000} MB are not read"
        )
    with _file(label, role):
        tree = parse_sexps(text) if lines else parse_sexps_unlined(text)
    if not tree:
        raise PDDLError(f"{label}: empty {role} file")
    head = tree[0]
    if not (isinstance(head, SList) and len(head) >= 2 and head[0] == "define" and isinstance(head[1], SList)):
        raise PDDLError(f"{label}: not a PDDL {role} (it does not start with '(define ({role} ...)')")
    kind = head[1]
    if not (len(kind) == 2 and isinstance(kind[0], str) and isinstance(kind[1], str)) or kind[0] not in (
        "domain",
        "problem",
    ):
        raise PDDLError(f"{label}: not a PDDL {role} (it does not start with '(define ({role} NAME)')")
    if kind[0] != role:
        raise PDDLError(f"{label}: this is a PDDL {kind[0]}, where a {role} was expected")
    if len(tree) > 1:
        with _file(label, role):
            raise fail("text after the end of '(define ...)'", tree[1])
    return kind[1], head


# domain text -> (name, the domain's part of the lifted model, its either types): a batch of problems
# of one domain reads the domain once. Only domains read without error, and only small ones, are kept.
_DOMAINS: dict[str, tuple[str, Lifted, EitherTypes]] = {}
_DOMAINS_KEPT = 8
_DOMAIN_BYTES_KEPT = 1_000_000


def read_pddl(domain_text: str, domain_label: str, problem_text: str, problem_label: str) -> ReadPDDL:
    """Read a domain and a problem into the lifted model; raises :class:`Beyond` or :class:`PDDLError`."""
    try:  # first without line numbers, which only an error message needs
        return _read_pddl(domain_text, domain_label, problem_text, problem_label, False)
    except PDDLError:
        return _read_pddl(domain_text, domain_label, problem_text, problem_label, True)


def _read_pddl(domain_text: str, domain_label: str, problem_text: str, problem_label: str, lines: bool) -> ReadPDDL:
    cached = _DOMAINS.get(domain_text)
    if cached is None:
        domain_name, domain_tree = _define(domain_text, domain_label, "domain", lines)
    else:
        domain_name = cached[0]
    problem_name, problem_tree = _define(problem_text, problem_label, "problem", lines)
    with _file(problem_label, "problem"):
        sections = section_map(problem_tree)
        for_domain = sections.get(":domain")
        if for_domain is None or len(for_domain[0]) != 2 or not isinstance(for_domain[0][1], str):
            raise fail("no '(:domain NAME)' section", problem_tree)
    if for_domain[0][1] != domain_name:
        raise PDDLError(f"{problem_label}: problem is for domain {for_domain[0][1]}, not {domain_name}")
    if cached is None:
        out = Lifted()
        either = EitherTypes()
        with _file(domain_label, "domain"):
            _Domain(domain_tree, out, either)
        if len(domain_text) <= _DOMAIN_BYTES_KEPT:
            if len(_DOMAINS) >= _DOMAINS_KEPT:
                _DOMAINS.pop(next(iter(_DOMAINS)), None)
            _DOMAINS[domain_text] = (domain_name, _domain_part(out), either)
    else:
        out, either = _domain_part(cached[1]), cached[2]  # the problem adds objects: a copy; schemas are frozen
    with _file(problem_label, "problem"):
        _read_problem(sections, out)
    return ReadPDDL(out, domain_name, problem_name, either)


def _domain_part(lifted: Lifted) -> Lifted:
    """A copy of what a domain puts in the lifted model (types, constants, predicates, schemas)."""
    return Lifted(dict(lifted.types), dict(lifted.objects), dict(lifted.predicates), dict(lifted.schemas))


class _Domain:
    """Reads a domain's sections into ``out`` (types, constants as objects, predicates, schemas)."""

    def __init__(self, tree: SList, out: Lifted, either: EitherTypes) -> None:
        self.out, self.either = out, either
        sections = section_map(tree)
        check_requirements(sections)
        for key in sections:
            if key in BEYOND_SECTIONS:
                raise Beyond(BEYOND_SECTIONS[key])
            if key == ":functions" and any(len(n) > 1 for n in sections[key]):
                raise Beyond("numeric fluents")
            if key not in (":types", ":constants", ":predicates", ":functions", ":action"):
                raise fail(f"unknown domain section {key}", sections[key][0])
        self._types(sections.get(":types", []))
        for node in sections.get(":constants", []):
            declare_objects(out, node, self.type_of)
        for node in sections.get(":predicates", []):
            self._predicates(node)
        for node in sections.get(":action", []):
            schema = self._action(node)
            if schema.name in out.schemas:
                raise fail(f"action {schema.name} is declared more than once", node)
            out.schemas[schema.name] = schema

    def _types(self, nodes: list[SList]) -> None:
        types = self.out.types
        types[ROOT_TYPE] = None
        declared: dict[str, str] = {}
        for node in nodes:
            for name, parent in typed_list(node[1:], node):
                if name == ROOT_TYPE:  # Tarski lists the root among the types
                    continue
                if not isinstance(parent, str):
                    raise fail(f"type {name} has {show(parent)} as its parent; a parent type is a name", node)
                if name in declared:
                    raise fail(f"type {name} is declared more than once", node)
                if name == parent:
                    raise fail(f"type {name} is declared as a subtype of itself", node)
                declared[name] = parent
        for name, parent in declared.items():
            types[name] = parent
            types.setdefault(parent, ROOT_TYPE)  # a parent used but not declared is a child of object
        for name in declared:  # a cycle would make every type check loop
            seen = {name}
            t: str | None = types.get(name)
            while t is not None:
                if t in seen:
                    raise fail(f"the types {', '.join(sorted(seen))} are each other's ancestors", nodes[0])
                seen.add(t)
                t = types.get(t)

    def type_of(self, spec: SExp, where: SList) -> str:
        """A declared type name; ``(either a b)`` is the nearest common ancestor of its members."""
        if isinstance(spec, str):
            if spec not in self.out.types:
                raise fail(f"undefined type {spec}", where)
            return spec
        members = _either_members(spec)
        for m in members:
            self.type_of(m, where)
        return common_ancestor(members, {t: p for t, p in self.out.types.items() if p is not None})

    def _predicates(self, node: SList) -> None:
        for pred in node[1:]:
            if not (isinstance(pred, SList) and pred and isinstance(pred[0], str)):
                raise fail(f"expected a predicate '(name ?x ...)', found {show(pred)}", node)
            name = pred[0]
            params = typed_list(pred[1:], pred)
            for param, ptype in params:
                if not param.startswith("?"):
                    raise fail(f"predicate {name}: parameter {param} must start with '?'", pred)
                self.type_of(ptype, pred)
            if name in self.out.predicates:
                raise fail(f"predicate {name} is declared more than once", pred)
            self.out.predicates[name] = len(params)

    def _action(self, node: SList) -> ActionSchema:
        if len(node) < 2 or not isinstance(node[1], str):
            raise fail("an action without a name", node)
        name = node[1]
        fields: dict[str, SExp] = {}
        for i in range(2, len(node), 2):
            key = node[i]
            if key == ":observe":
                raise Beyond("sensing actions")
            if key not in (":parameters", ":precondition", ":effect") or i + 1 >= len(node):
                raise fail(f"action {name}: unexpected {show(key)}", node)
            fields[str(key)] = node[i + 1]
        raw = fields.get(":parameters", slist(node.line))
        if not isinstance(raw, SList):
            raise fail(f"action {name}: :parameters must be a list", node)
        params: list[tuple[str, str]] = []
        for index, (param, ptype) in enumerate(typed_list(list(raw), raw)):
            if not param.startswith("?"):
                raise fail(f"action {name}: parameter {param} must start with '?'", raw)
            if any(param == p for p, _ in params):
                raise fail(f"action {name}: parameter {param} is declared more than once", raw)
            params.append((param, self.type_of(ptype, raw)))
            if isinstance(ptype, SList):
                self.either.params.setdefault(name, {})[index] = f"(either {' '.join(_either_members(ptype))})"
        terms = _Terms(name, {p for p, _ in params}, self.out)
        pre: list[SchemaLiteral] = []
        eqs: list[SchemaEquality] = []
        if ":precondition" in fields:
            _condition(fields[":precondition"], True, pre, eqs, terms)
        add: list[SchemaLiteral] = []
        dele: list[SchemaLiteral] = []
        queue: deque[SExp] = deque([fields.get(":effect", slist(node.line))])
        while queue:  # breadth first, as unified-planning orders effects
            eff = queue.popleft()
            if not isinstance(eff, SList):
                raise fail(f"action {name}: expected an effect, found {show(eff)}", node)
            if not eff:
                continue
            if eff[0] == "and":
                queue.extend(eff[1:])
            elif eff[0] == "not" and len(eff) == 2 and isinstance(eff[1], SList):
                dele.append(terms.literal(eff[1], True))
            else:
                add.append(terms.literal(eff, True))
        return ActionSchema(name, tuple(params), tuple(pre), tuple(eqs), tuple(add), tuple(dele))


def _either_members(spec: SList) -> list[str]:
    if len(spec) < 2 or spec[0] != "either" or not all(isinstance(m, str) for m in spec[1:]):
        raise fail(f"expected a type name or '(either ...)', found {show(spec)}", spec)
    return [str(m) for m in spec[1:]]


class _Terms:
    """The parameters and constants an action's literals may use."""

    def __init__(self, action: str, params: set[str], out: Lifted) -> None:
        self.action, self.params, self.out = action, params, out

    def term(self, t: SExp, where: SList) -> str:
        if isinstance(t, SList):
            raise Beyond(f"non-object terms (action {self.action})")
        if t in self.params or (not t.startswith("?") and t in self.out.objects):
            return t
        kind = "parameter" if t.startswith("?") else "constant"
        raise fail(f"action {self.action}: undefined {kind} {t}", where)

    def literal(self, atom: SList, positive: bool) -> SchemaLiteral:
        head = predicate(atom, self.out, f"action {self.action}")
        return SchemaLiteral(positive, head, tuple(self.term(t, atom) for t in atom[1:]))


def _condition(node: SExp, positive: bool, pre: list[SchemaLiteral], eqs: list[SchemaEquality], terms: _Terms) -> None:
    """Flatten a precondition into literals and equalities, as :func:`._lift._condition` does."""
    if not isinstance(node, SList):
        raise fail(f"action {terms.action}: expected a condition, found {show(node)}", None)
    if not node or (node[0] == "and" and len(node) == 1):  # () and (and): true
        if not positive:
            eqs.append(SchemaEquality(False, "?", "?"))  # (not (and)) never holds
    elif node[0] == "and":
        if not positive:
            raise Beyond(f"disjunctive conditions (action {terms.action})")
        for arg in node[1:]:
            _condition(arg, True, pre, eqs, terms)
    elif node[0] == "not" and len(node) == 2:
        _condition(node[1], not positive, pre, eqs, terms)
    elif node[0] == "=" and len(node) == 3:
        eqs.append(SchemaEquality(positive, terms.term(node[1], node), terms.term(node[2], node)))
    else:
        pre.append(terms.literal(node, positive))


def _read_problem(sections: dict[str, list[SList]], out: Lifted) -> None:
    sections.pop(":domain")
    check_requirements(sections)
    for key in sections:
        if key in BEYOND_SECTIONS:
            raise Beyond(BEYOND_SECTIONS[key])
        if key not in (":objects", ":init", ":goal"):
            raise fail(f"unknown problem section {key}", sections[key][0])

    def type_of(spec: SExp, where: SList) -> str:
        name = spec if isinstance(spec, str) else None
        if name is None or name not in out.types:
            raise fail(f"undefined type {name if name is not None else show(spec)}", where)
        return name

    for node in sections.get(":objects", []):
        declare_objects(out, node, type_of)
    init: set[Fact] = set()
    predicates, objects = out.predicates, out.objects
    for node in sections.get(":init", []):
        items = node[1:]
        if len(items) == 1 and isinstance(items[0], SList) and items[0][:1] == ["and"]:
            items = items[0][1:]
        for item in items:
            # the common case inline (a 10 MB problem has a few hundred thousand facts)
            if type(item) is SList and item and type(head := item[0]) is str and predicates.get(head) == len(item) - 1:
                args = item[1:]
                if all(type(t) is str and t in objects for t in args):
                    init.add((head, *args))  # type: ignore[arg-type]  # all str, checked above
                    continue
            if isinstance(item, SList) and len(item) == 3 and item[0] == "at" and _is_number(item[1]):
                raise Beyond("timed initial literals")
            if isinstance(item, SList) and item[:1] == ["not"] and len(item) == 2 and isinstance(item[1], SList):
                _fact(item[1], out, "init")  # a false fact: checked, and false anyway
            elif isinstance(item, SList):
                init.add(_fact(item, out, "init"))
            else:
                raise fail(f"init: expected a fact '(predicate ...)', found {show(item)}", node)
    out.init = frozenset(init)
    goal: list[Literal] = []
    for node in sections.get(":goal", []):
        if len(node) != 2:
            raise fail("the goal must be one condition (use '(and ...)')", node)
        _goal(node[1], True, goal, out)
    out.goal = tuple(dict.fromkeys(goal))


def _is_number(token: SExp) -> bool:
    return isinstance(token, str) and token.replace(".", "", 1).isdigit()


def _fact(atom: SList, out: Lifted, where: str) -> Fact:
    head = predicate(atom, out, where)
    args: list[str] = []
    for t in atom[1:]:
        if isinstance(t, SList):
            raise Beyond(f"non-object terms ({where})")
        if t not in out.objects:
            raise fail(f"{where}: undefined object {t}", atom)
        args.append(t)
    return (head, *args)


def _goal(node: SExp, positive: bool, goal: list[Literal], out: Lifted) -> None:
    if not isinstance(node, SList):
        raise fail(f"goal: expected a condition, found {show(node)}", None)
    if not node or (node[0] == "and" and len(node) == 1):
        if not positive:
            raise Beyond("a goal that never holds")
    elif node[0] == "and":
        if not positive:
            raise Beyond("disjunctive conditions (goal)")
        for arg in node[1:]:
            _goal(arg, True, goal, out)
    elif node[0] == "not" and len(node) == 2:
        _goal(node[1], not positive, goal, out)
    else:
        goal.append((positive, _fact(node, out, "goal")))


__all__ = ["Beyond", "ReadPDDL", "read_pddl"]
