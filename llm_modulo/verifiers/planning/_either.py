"""PDDL ``(either t1 t2 ...)`` parameter types, which unified-planning's reader does not parse.

Before parsing, each ``(either ...)`` in a domain is replaced by the nearest common ancestor
of its member types (``object`` at worst), and the union is remembered per action parameter.
The grounded validator and the unified-planning bridge then check arguments against the
union itself (``fits``), so typing stays exact: an object of neither type is a ``wrong_type`` step.
"""

from __future__ import annotations

import re

from ._record import Record
from ._sexp import SExp, SList, parse_sexps, typed_list

_EITHER = re.compile(r"\(\s*either\s+([^()]*?)\s*\)", re.IGNORECASE)


class EitherTypes(Record):
    """What :func:`expand_either` found: ``params[action][index]`` is ``"(either a b)"``."""

    _fields = ("params",)

    def __init__(self, params: dict[str, dict[int, str]] | None = None) -> None:
        self.params: dict[str, dict[int, str]] = {} if params is None else params

    def __bool__(self) -> bool:
        return bool(self.params)


def either_members(type_name: str) -> tuple[str, ...] | None:
    """``"(either a b)"`` -> ``("a", "b")``; ``None`` for a plain type name."""
    m = _EITHER.fullmatch(type_name.strip())
    return tuple(m.group(1).lower().split()) if m else None


def _parents(domain: list[SExp]) -> dict[str, str]:
    parents: dict[str, str] = {}
    for section in domain:
        if isinstance(section, SList) and section and section[0] == ":types":
            for name, parent in typed_list(section[1:], section):
                if isinstance(parent, str):
                    parents[name] = parent
    return parents


def common_ancestor(types: list[str], parents: dict[str, str]) -> str:
    """The nearest type that every one of ``types`` descends from (``object`` at worst)."""

    def chain(t: str) -> list[str]:
        out = [t]
        while out[-1] in parents and parents[out[-1]] not in out:
            out.append(parents[out[-1]])
        return out

    chains = [chain(t) for t in types]
    for candidate in chains[0]:
        if all(candidate in c for c in chains[1:]):
            return candidate
    return "object"


def expand_either(domain_text: str) -> tuple[str, EitherTypes]:
    """The domain text with each ``(either ...)`` replaced by its members' nearest common
    ancestor, and the unions of action parameters. Text without ``either`` comes back as is."""
    if not _EITHER.search(domain_text):
        return domain_text, EitherTypes()
    tree = parse_sexps(domain_text)
    domain: list[SExp] = next((x for x in tree if isinstance(x, SList) and x and x[0] == "define"), [])
    parents = _parents(domain)
    found = EitherTypes()
    for section in domain:
        if not (isinstance(section, list) and len(section) > 1 and section[0] == ":action"):
            continue
        name = str(section[1])
        for key, value in zip(section, section[1:], strict=False):
            if key == ":parameters" and isinstance(value, SList):
                for index, (_param, ptype) in enumerate(typed_list(list(value), value)):
                    if isinstance(ptype, list) and ptype and ptype[0] == "either":
                        members = " ".join(str(t) for t in ptype[1:])
                        found.params.setdefault(name, {})[index] = f"(either {members})"

    def replace(m: re.Match[str]) -> str:
        return common_ancestor(m.group(1).lower().split(), parents)

    return _EITHER.sub(replace, domain_text), found
