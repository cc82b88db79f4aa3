"""Seeded random problems of the generated families; each takes ``(rng, size)`` and returns PDDL text.

Objects get plain role names (``ball3``, ``room1``): the vocabulary a model sees is drawn later
(:mod:`llm_modulo.domains.planning.renaming`). Every goal is reachable by construction.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

Fact = tuple[str, ...]


def problem_text(name: str, domain: str, objects: dict[str, str], init: Sequence[Fact], goal: Sequence[Fact]) -> str:
    """A PDDL problem: ``objects`` name -> type ("" for untyped), positive ``init`` facts and goal atoms."""
    typed = " ".join(f"{o} - {t}" if t else o for o, t in objects.items())
    atoms = " ".join("(" + " ".join(f) + ")" for f in init)
    goals = " ".join("(" + " ".join(f) + ")" for f in goal)
    return f"(define (problem {name})\n (:domain {domain})\n (:objects {typed})\n (:init {atoms})\n (:goal (and {goals})))\n"


def _moved(rng: random.Random, items: Sequence[str], where: dict[str, str], places: Sequence[str]) -> list[Fact]:
    """Goal ``(at item place)`` facts for a random non-empty subset of ``items``, each to another place."""
    chosen = rng.sample(list(items), rng.randint(1, len(items)))
    return [("at", item, rng.choice([p for p in places if p != where[item]])) for item in chosen]


def gripper(rng: random.Random, size: int) -> str:
    """``size`` balls in 2-4 rooms, two grippers; some balls must move to other rooms."""
    rooms = [f"room{i}" for i in range(1, rng.randint(2, 4) + 1)]
    balls = [f"ball{i}" for i in range(1, size + 1)]
    grippers = ["left", "right"]
    where = {b: rng.choice(rooms) for b in balls}
    init: list[Fact] = [("room", r) for r in rooms]
    init += [("gripper", g) for g in grippers]
    init += [("free", g) for g in grippers] + [("ball", b) for b in balls]
    init += [("at", b, where[b]) for b in balls] + [("at-robby", rng.choice(rooms))]
    objects = dict.fromkeys([*rooms, *grippers, *balls], "")
    return problem_text(f"gripper-{size}", "gripper-strips", objects, init, _moved(rng, balls, where, rooms))


def ferry(rng: random.Random, size: int) -> str:
    """``size`` cars at 2-5 locations, one ferry; some cars must go to other locations."""
    places = [f"port{i}" for i in range(1, rng.randint(2, 5) + 1)]
    cars = [f"car{i}" for i in range(1, size + 1)]
    where = {c: rng.choice(places) for c in cars}
    init: list[Fact] = [("location", p) for p in places]
    init += [("car", c) for c in cars]
    init += [("not-eq", a, b) for a in places for b in places if a != b]
    init += [("at", c, where[c]) for c in cars] + [("at-ferry", rng.choice(places)), ("empty-ferry",)]
    objects = dict.fromkeys([*places, *cars], "")
    return problem_text(f"ferry-{size}", "ferry", objects, init, _moved(rng, cars, where, places))


def miconic(rng: random.Random, size: int) -> str:
    """``size`` passengers over 2-6 floors; some (or all) must be served."""
    floors = [f"floor{i}" for i in range(rng.randint(2, 6))]
    people = [f"person{i}" for i in range(1, size + 1)]
    init: list[Fact] = [("above", a, b) for i, a in enumerate(floors) for b in floors[i + 1 :]]
    for p in people:
        start, end = rng.sample(floors, 2)
        init += [("origin", p, start), ("destin", p, end)]
    init.append(("lift-at", rng.choice(floors)))
    goal = [("served", p) for p in rng.sample(people, rng.randint(1, size))]
    objects = {**dict.fromkeys(floors, "floor"), **dict.fromkeys(people, "passenger")}
    return problem_text(f"miconic-{size}", "miconic", objects, init, goal)


def _stacks(rng: random.Random, crates: Sequence[str], pallets: Sequence[str]) -> list[tuple[str, str]]:
    """(crate, surface) pairs bottom-up: the crates in a random order, each onto a random pallet's stack."""
    tops = {p: p for p in pallets}
    pairs = []
    for crate in rng.sample(list(crates), len(crates)):
        pallet = rng.choice(list(pallets))
        pairs.append((crate, tops[pallet]))
        tops[pallet] = crate
    return pairs


def depots(rng: random.Random, size: int) -> str:
    """``size`` crates stacked on the pallets of 1-2 depots and 1-2 distributors, 1-2 trucks; the
    goal is some ``on`` facts of another random stacking."""
    depots_ = [f"depot{i}" for i in range(rng.randint(1, 2))]
    dists = [f"distributor{i}" for i in range(rng.randint(1, 2))]
    places = depots_ + dists
    pallets = [f"pallet{i}" for i in range(len(places))]
    hoists = [f"hoist{i}" for i in range(len(places))]
    trucks = [f"truck{i}" for i in range(rng.randint(1, 2))]
    crates = [f"crate{i}" for i in range(size)]
    place_of = dict(zip(pallets, places, strict=True))
    init: list[Fact] = [("at", p, place_of[p]) for p in pallets]
    init += [f for h, pl in zip(hoists, places, strict=True) for f in (("at", h, pl), ("available", h))]
    init += [("at", t, rng.choice(places)) for t in trucks]
    pairs = _stacks(rng, crates, pallets)
    base: dict[str, str] = {}
    for crate, surface in pairs:
        base[crate] = surface if surface in place_of else base[surface]
        init += [("at", crate, place_of[base[crate]]), ("on", crate, surface)]
    under = {s for _, s in pairs}
    init += [("clear", x) for x in pallets + crates if x not in under]
    target = [p for p in _stacks(rng, crates, pallets) if p not in pairs]
    goal = rng.sample(target, rng.randint(1, len(target))) if target else [pairs[-1]]
    objects = {**dict.fromkeys(depots_, "depot"), **dict.fromkeys(dists, "distributor"),
               **dict.fromkeys(trucks, "truck"), **dict.fromkeys(pallets, "pallet"),
               **dict.fromkeys(crates, "crate"), **dict.fromkeys(hoists, "hoist")}  # fmt: skip
    return problem_text(f"depots-{size}", "depot", objects, init, [("on", c, s) for c, s in goal])


def blocksworld(rng: random.Random, size: int) -> str:
    """``size`` blocks in random towers (PlanBench's generator), the goal ``on`` facts of another draw."""
    from llm_modulo.domains.blocksworld.generate import random_blocksworld

    return random_blocksworld(rng, size).pddl()


__all__ = ["blocksworld", "depots", "ferry", "gripper", "miconic", "problem_text"]
