"""Generated planning families for training: a PDDL domain and a seeded problem generator each.

:data:`FAMILIES` maps a family name to its :class:`Family`: Blocksworld (PlanBench's domain file,
4 blocks and more: every 3-block problem is a renamed test instance), Gripper, Ferry, Miconic
and Depots (the IPC's STRIPS domains, :mod:`.pddl`), with problems from :mod:`.draws`. A
problem's size (blocks, balls, cars, passengers, crates) is drawn in the family's range;
:func:`draw_problem` gives (domain text, problem text, size). Which problems are test instances
is not the generator's business: the caller drops them by their renaming-invariant key
(:mod:`llm_modulo.domains.planning.keys`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llm_modulo.errors import InputError

from . import draws, pddl


def _blocksworld_domain() -> str:
    from llm_modulo.domains.blocksworld import domain_file

    return Path(domain_file("blocksworld")).read_text()


@dataclass(frozen=True)
class Family:
    """A generated family: its domain's PDDL, a generator ``draw(rng, size)`` and the size range."""

    name: str
    domain: Callable[[], str]
    draw: Callable[[random.Random, int], str]
    sizes: tuple[int, int]
    unit: str


FAMILIES: dict[str, Family] = {
    "blocksworld": Family("blocksworld", _blocksworld_domain, draws.blocksworld, (4, 9), "blocks"),
    "gripper": Family("gripper", lambda: pddl.GRIPPER, draws.gripper, (1, 7), "balls"),
    "ferry": Family("ferry", lambda: pddl.FERRY, draws.ferry, (1, 6), "cars"),
    "miconic": Family("miconic", lambda: pddl.MICONIC, draws.miconic, (1, 6), "passengers"),
    "depots": Family("depots", lambda: pddl.DEPOTS, draws.depots, (2, 5), "crates"),
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise InputError(f"unknown domain family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def draw_problem(name: str, rng: random.Random, size: int | None = None) -> tuple[str, str, int]:
    """(domain text, problem text, size) of one random problem of the family ``name``."""
    found = family(name)
    low, high = found.sizes
    n = rng.randint(low, high) if size is None else size
    if not low <= n:
        raise InputError(f"{name} problems have at least {low} {found.unit}, not {n}")
    return found.domain(), found.draw(rng, n), n


__all__ = ["FAMILIES", "Family", "draw_problem", "family"]
