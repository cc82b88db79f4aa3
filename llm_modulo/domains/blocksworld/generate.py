"""Seeded Blocksworld problems that are never test instances (training data).

:func:`blocksworld_problems`: ``n`` blocks, ``n`` uniform in ``[min_blocks, max_blocks]``
(default 3-8), named ``a b c ...`` as in PlanBench's generated instances. A state is drawn as a
uniformly random order of the blocks cut into towers at each of the ``n - 1`` gaps independently
with probability ``cut`` (default 1/2); this is *not* uniform over the set partitions or over the
states. The initial state is one such draw; the goal is the ``on`` facts of another draw
(PlanBench's goals are ``on`` facts only), redrawn until it has at least one ``on`` fact and is not
already true initially. The PDDL text follows PlanBench's layout, for its Blocksworld domain
(``blocksworld-4ops``).

Every problem whose canonical key (:mod:`.keys`) is a test instance's is dropped, and (by default)
repeats within one run; the problems are deterministic for a seed.
"""

from __future__ import annotations

import logging
import random
import shutil
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from llm_modulo.errors import InputError

from . import domain_file
from .keys import blocksworld_key, blocksworld_test_keys

log = logging.getLogger(__name__)

MIN_BLOCKS, MAX_BLOCKS = 3, 8
DOMAIN_NAME = "blocksworld-4ops"
Towers = tuple[tuple[str, ...], ...]  # each tower bottom to top


@dataclass(frozen=True)
class BlocksworldProblem:
    """A random Blocksworld problem: initial towers and the goal's ``on`` facts."""

    name: str
    blocks: tuple[str, ...]
    init: Towers
    goal: tuple[tuple[str, str], ...]  # (upper, lower) pairs: (on upper lower)

    @property
    def key(self) -> str:
        return blocksworld_key(self.init_facts(), [(True, ("on", a, b)) for a, b in self.goal])

    def init_facts(self) -> list[tuple[str, ...]]:
        """handempty, then each block's ontable/on fact (by name), then the clear facts."""
        below = {upper: lower for tower in self.init for lower, upper in zip(tower, tower[1:], strict=False)}
        tops = {tower[-1] for tower in self.init}
        facts: list[tuple[str, ...]] = [("handempty",)]
        facts += [("on", b, below[b]) if b in below else ("ontable", b) for b in self.blocks]
        facts += [("clear", b) for b in self.blocks if b in tops]
        return facts

    def pddl(self) -> str:
        """The problem in PlanBench's layout (``generated_basic/instance-*.pddl``)."""
        init = "\n".join("(" + " ".join(f) + ")" for f in self.init_facts())
        goal = "\n".join(f"(on {a} {b})" for a, b in self.goal)
        return (
            f"\n\n\n(define (problem BW-rand-{len(self.blocks)})\n(:domain {DOMAIN_NAME})\n"
            f"(:objects {' '.join(self.blocks)} )\n(:init\n{init}\n)\n(:goal\n(and\n{goal})\n)\n)\n\n\n"
        )


def block_names(n: int) -> tuple[str, ...]:
    """PlanBench's object names: ``a``, ``b``, ... (at most 26)."""
    if not 1 <= n <= 26:
        raise InputError(f"a generated Blocksworld problem has 1 to 26 blocks, not {n}")
    return tuple(string.ascii_lowercase[:n])


def random_towers(blocks: Sequence[str], rng: random.Random, cut: float = 0.5) -> Towers:
    """A random order of the blocks cut into towers at each gap with probability ``cut``."""
    order = list(blocks)
    rng.shuffle(order)
    towers: list[list[str]] = [[order[0]]]
    for block in order[1:]:
        if rng.random() < cut:
            towers.append([block])
        else:
            towers[-1].append(block)
    return tuple(tuple(t) for t in towers)


def _on_pairs(towers: Towers) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((upper, lower) for t in towers for lower, upper in zip(t, t[1:], strict=False)))


def random_blocksworld(rng: random.Random, n_blocks: int, name: str = "", cut: float = 0.5) -> BlocksworldProblem:
    """One random problem with ``n_blocks`` blocks (it may be a test instance: see :func:`blocksworld_problems`)."""
    blocks = block_names(n_blocks)
    if n_blocks < 2:
        raise InputError("a Blocksworld goal needs at least 2 blocks")
    init = random_towers(blocks, rng, cut)
    holds = set(_on_pairs(init))
    while True:
        goal = _on_pairs(random_towers(blocks, rng, cut))
        if goal and not set(goal) <= holds:
            return BlocksworldProblem(name or f"bw-{n_blocks}", blocks, init, goal)


Draw = Callable[[random.Random, int, str], BlocksworldProblem]


def blocksworld_problems(
    count: int,
    seed: int = 0,
    *,
    min_blocks: int = MIN_BLOCKS,
    max_blocks: int = MAX_BLOCKS,
    cut: float = 0.5,
    exclude: frozenset[str] | None = None,
    unique: bool = True,
    draw: Draw | None = None,
    max_tries: int | None = None,
) -> Iterator[BlocksworldProblem]:
    """``count`` random problems, none of them a test instance (up to renaming the blocks).

    ``exclude``: canonical keys to drop (default: every Blocksworld test instance,
    :func:`~.keys.blocksworld_test_keys`). ``unique``: no two problems share
    a key. Names are ``bw-s<seed>-<i>``. ``draw`` replaces :func:`random_blocksworld` (tests).
    Raises :class:`InputError` when ``max_tries`` draws (default ``50 * count + 1000``) give too few.
    """
    if not 2 <= min_blocks <= max_blocks <= 26:
        raise InputError(f"need 2 <= min_blocks <= max_blocks <= 26, got {min_blocks}..{max_blocks}")
    excluded = blocksworld_test_keys() if exclude is None else exclude
    rng = random.Random(seed)
    make: Draw = draw or (lambda r, n, name: random_blocksworld(r, n, name, cut))
    seen: set[str] = set()
    tries, made, dropped = 0, 0, 0
    limit = max_tries if max_tries is not None else 50 * count + 1000
    while made < count:
        if tries >= limit:
            raise InputError(f"only {made} of {count} Blocksworld problems after {tries} draws (seed {seed})")
        tries += 1
        problem = make(rng, rng.randint(min_blocks, max_blocks), f"bw-s{seed}-{made + 1}")
        key = problem.key
        if key in excluded:
            dropped += 1
            continue
        if unique and key in seen:
            continue
        seen.add(key)
        made += 1
        yield problem
    log.info("blocksworld: %d problems from %d draws (%d test instances dropped)", made, tries, dropped)


def write_blocksworld(problems: Sequence[BlocksworldProblem], folder: str | Path) -> list[Path]:
    """Write each problem as ``<folder>/<name>.pddl`` beside a copy of the domain file (``domain.pddl``),
    so the folder is an instance set for sweeps and :meth:`PlanningDomain.load_files`."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(domain_file("blocksworld"), out / "domain.pddl")
    paths = []
    for problem in problems:
        path = out / f"{problem.name}.pddl"
        path.write_text(problem.pddl())
        paths.append(path)
    return paths


__all__ = [
    "DOMAIN_NAME",
    "MAX_BLOCKS",
    "MIN_BLOCKS",
    "BlocksworldProblem",
    "Draw",
    "Towers",
    "block_names",
    "blocksworld_problems",
    "random_blocksworld",
    "random_towers",
    "write_blocksworld",
]
