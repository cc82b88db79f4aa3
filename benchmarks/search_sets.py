"""Seeded benchmark sets for the ``search`` strategy: problems never seen in training or prompts.

- ``blocksworld-6-10``: PlanBench's Blocksworld domain, 6-10 blocks (drawn by
  :func:`llm_modulo.domains.blocksworld.generate.random_blocksworld`, test instances dropped), the blocks
  renamed to words from :data:`WORDS` (no prompt, example or data file of the package uses them);
- ``gripper``: the IPC-1998 Gripper domain (STRIPS, untyped), 2 rooms, 4-12 balls, all balls start in
  one room and must go to the other (the IPC's shape), robot and balls with fresh names;
- ``depots``: the IPC-2002 Depots domain (STRIPS, typed), 1-2 depots, 1-2 distributors, 1-2 trucks,
  one hoist and one pallet per place, 3-6 crates stacked at random; the goal is the ``on`` facts of
  another random stacking, cut to a random non-empty subset.

Each set is one folder: ``domain.pddl`` plus ``<name>.pddl`` per problem, the same for a seed.

    python benchmarks/search_sets.py --out runs/search-sets --count 10 --seed 0
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

from llm_modulo.domains.blocksworld import domain_file
from llm_modulo.domains.blocksworld.generate import blocksworld_problems

# names absent from every .py/.pddl/.txt/.json/.yaml/.toml under llm_modulo/ (checked with grep -w)
WORDS = (
    "quartz gannet basalt heron marble osprey garnet puffin cobalt lynx ermine jasper kestrel onyx plover "
    "sable topaz walrus zircon bison cedar dingo egret fennel gecko hazel ibis jackal koala lichen mink newt "
    "ocelot pika quail raven saffron tapir urchin vole wombat yak"
).split()

GRIPPER_DOMAIN = """(define (domain gripper-strips)
  (:predicates (room ?r) (ball ?b) (gripper ?g) (at-robby ?r) (at ?b ?r) (free ?g) (carry ?o ?g))
  (:action move
    :parameters (?from ?to)
    :precondition (and (room ?from) (room ?to) (at-robby ?from))
    :effect (and (at-robby ?to) (not (at-robby ?from))))
  (:action pick
    :parameters (?obj ?room ?gripper)
    :precondition (and (ball ?obj) (room ?room) (gripper ?gripper) (at ?obj ?room) (at-robby ?room) (free ?gripper))
    :effect (and (carry ?obj ?gripper) (not (at ?obj ?room)) (not (free ?gripper))))
  (:action drop
    :parameters (?obj ?room ?gripper)
    :precondition (and (ball ?obj) (room ?room) (gripper ?gripper) (carry ?obj ?gripper) (at-robby ?room))
    :effect (and (at ?obj ?room) (free ?gripper) (not (carry ?obj ?gripper)))))
"""

DEPOTS_DOMAIN = """(define (domain depot)
  (:requirements :typing)
  (:types place locatable - object
          depot distributor - place
          truck hoist surface - locatable
          pallet crate - surface)
  (:predicates (at ?x - locatable ?y - place) (on ?x - crate ?y - surface) (in ?x - crate ?y - truck)
               (lifting ?x - hoist ?y - crate) (available ?x - hoist) (clear ?x - surface))
  (:action drive
    :parameters (?x - truck ?y - place ?z - place)
    :precondition (and (at ?x ?y))
    :effect (and (not (at ?x ?y)) (at ?x ?z)))
  (:action lift
    :parameters (?x - hoist ?y - crate ?z - surface ?p - place)
    :precondition (and (at ?x ?p) (available ?x) (at ?y ?p) (on ?y ?z) (clear ?y))
    :effect (and (not (at ?y ?p)) (lifting ?x ?y) (not (clear ?y)) (not (available ?x)) (clear ?z) (not (on ?y ?z))))
  (:action drop
    :parameters (?x - hoist ?y - crate ?z - surface ?p - place)
    :precondition (and (at ?x ?p) (at ?z ?p) (clear ?z) (lifting ?x ?y))
    :effect (and (available ?x) (not (lifting ?x ?y)) (at ?y ?p) (not (clear ?z)) (clear ?y) (on ?y ?z)))
  (:action load
    :parameters (?x - hoist ?y - crate ?z - truck ?p - place)
    :precondition (and (at ?x ?p) (at ?z ?p) (lifting ?x ?y))
    :effect (and (not (lifting ?x ?y)) (in ?y ?z) (available ?x)))
  (:action unload
    :parameters (?x - hoist ?y - crate ?z - truck ?p - place)
    :precondition (and (at ?x ?p) (at ?z ?p) (available ?x) (in ?y ?z))
    :effect (and (not (in ?y ?z)) (not (available ?x)) (lifting ?x ?y))))
"""


def _names(rng: random.Random, k: int) -> list[str]:
    return rng.sample(WORDS, k)


def blocksworld_set(count: int, seed: int, min_blocks: int = 6, max_blocks: int = 10) -> dict[str, str]:
    """``count`` Blocksworld problems (PlanBench's domain), blocks named with fresh words."""
    rng = random.Random(seed)
    out = {}
    for problem in blocksworld_problems(count, seed, min_blocks=min_blocks, max_blocks=max_blocks):
        rename = dict(zip(problem.blocks, _names(rng, len(problem.blocks)), strict=True))
        init = "\n".join("(" + " ".join(rename.get(x, x) for x in f) + ")" for f in problem.init_facts())
        goal = "\n".join(f"(on {rename[a]} {rename[b]})" for a, b in problem.goal)
        out[problem.name] = (
            f"(define (problem {problem.name})\n(:domain blocksworld-4ops)\n"
            f"(:objects {' '.join(rename[b] for b in problem.blocks)} )\n(:init\n{init}\n)\n"
            f"(:goal\n(and\n{goal})\n)\n)\n"
        )
    return out


def gripper_set(count: int, seed: int, min_balls: int = 4, max_balls: int = 12) -> dict[str, str]:
    """``count`` Gripper problems: 2 rooms, ``min_balls``-``max_balls`` balls moved from one room to the other."""
    rng = random.Random(seed)
    out = {}
    for i in range(1, count + 1):
        n = rng.randint(min_balls, max_balls)
        names = _names(rng, n + 4)
        rooms, grippers, balls = names[:2], names[2:4], names[4:]
        init = [f"(room {r})" for r in rooms] + [f"(gripper {g})" for g in grippers] + [f"(free {g})" for g in grippers]
        init += [f"(ball {b})" for b in balls] + [f"(at {b} {rooms[0]})" for b in balls]
        init.append(f"(at-robby {rooms[rng.randrange(2)]})")
        goal = " ".join(f"(at {b} {rooms[1]})" for b in balls)
        name = f"gripper-s{seed}-{i}"
        out[name] = (
            f"(define (problem {name})\n(:domain gripper-strips)\n(:objects {' '.join(names)})\n"
            f"(:init {' '.join(init)})\n(:goal (and {goal})))\n"
        )
    return out


def _stacks(rng: random.Random, crates: list[str], pallets: list[str]) -> list[tuple[str, str]]:
    """(crate, surface) pairs: each crate in a random order goes onto a random pallet's stack."""
    order = crates[:]
    rng.shuffle(order)
    tops = {p: p for p in pallets}
    pairs = []
    for crate in order:
        pallet = rng.choice(pallets)
        pairs.append((crate, tops[pallet]))
        tops[pallet] = crate
    return pairs


def depots_set(count: int, seed: int, min_crates: int = 3, max_crates: int = 6) -> dict[str, str]:
    """``count`` Depots problems (IPC 2002's typed STRIPS domain) of a small random size."""
    rng = random.Random(seed)
    out = {}
    for i in range(1, count + 1):
        n_dep, n_dist, n_truck, n_crate = (
            rng.randint(1, 2),
            rng.randint(1, 2),
            rng.randint(1, 2),
            rng.randint(min_crates, max_crates),
        )
        n_place = n_dep + n_dist
        names = _names(rng, n_place + n_truck + n_crate)
        places, trucks, crates = names[:n_place], names[n_place : n_place + n_truck], names[n_place + n_truck :]
        pallets, hoists = [f"pallet{k}" for k in range(n_place)], [f"hoist{k}" for k in range(n_place)]
        place_of = dict(zip(pallets, places, strict=True))
        init = [f"(at {p} {place_of[p]})" for p in pallets]
        init += [f"(at {h} {pl}) (available {h})" for h, pl in zip(hoists, places, strict=True)]
        init += [f"(at {t} {rng.choice(places)})" for t in trucks]
        pairs = _stacks(rng, crates, pallets)
        base: dict[str, str] = {}  # crate -> its stack's pallet (pairs go bottom-up)
        for crate, surface in pairs:
            base[crate] = surface if surface in place_of else base[surface]
        init += [f"(at {c} {place_of[base[c]]}) (on {c} {s})" for c, s in pairs]
        under = {s for _, s in pairs}
        init += [f"(clear {x})" for x in pallets + crates if x not in under]
        goal_pairs = _stacks(rng, crates, pallets)
        goal_pairs = [p for p in goal_pairs if p not in pairs] or goal_pairs
        goal = rng.sample(goal_pairs, rng.randint(1, len(goal_pairs)))
        objects = (
            f"{' '.join(places[:n_dep])} - depot {' '.join(places[n_dep:])} - distributor "
            f"{' '.join(trucks)} - truck {' '.join(pallets)} - pallet {' '.join(crates)} - crate {' '.join(hoists)} - hoist"
        )
        name = f"depots-s{seed}-{i}"
        out[name] = (
            f"(define (problem {name})\n(:domain depot)\n(:objects {objects})\n(:init {' '.join(init)})\n"
            f"(:goal (and {' '.join(f'(on {c} {s})' for c, s in goal)})))\n"
        )
    return out


SETS: dict[str, tuple[Callable[[int, int], dict[str, str]], Callable[[], str]]] = {
    "blocksworld-6-10": (blocksworld_set, lambda: Path(domain_file("blocksworld")).read_text()),
    "gripper": (gripper_set, lambda: GRIPPER_DOMAIN),
    "depots": (depots_set, lambda: DEPOTS_DOMAIN),
}


def write_sets(out: str | Path, count: int, seed: int = 0, names: tuple[str, ...] = tuple(SETS)) -> dict[str, Path]:
    """Write each set to ``<out>/<set>/`` (``domain.pddl`` and one file per problem); returns the folders."""
    folders = {}
    for set_name in names:
        make, domain = SETS[set_name]
        folder = Path(out) / set_name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "domain.pddl").write_text(domain())
        for name, text in make(count, seed).items():
            (folder / f"{name}.pddl").write_text(text)
        folders[set_name] = folder
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/search-sets")
    parser.add_argument("--count", type=int, default=10, help="problems per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, folder in write_sets(args.out, args.count, args.seed).items():
        print(f"{name}: {folder}")


if __name__ == "__main__":
    main()
