"""PDDL load time against file size: the project's own reader against unified-planning's.

Generates typed STRIPS tasks of growing size (objects 1k..100k, predicates 1k..20k, and a
10 MB problem) and times, for each, ``read_pddl`` (the own reader alone), ``load_problem``
(reading plus building the grounded model) and unified-planning's ``PDDLReader`` (parsing
alone, in a forked child). unified-planning runs until one size takes over ``--up-limit``
seconds (the child is stopped then); that size and the larger ones print "skipped". The anchor is
the own reader's time (best of 3) on the first size of each series, and ``x anchor`` is each time over it,
beside ``x size`` (the file size over the first one): equal growth means linear time, as does
a steady ``own MB/s`` (the smallest sizes take milliseconds, so their ratios are the noisiest).
A last table times a fresh interpreter importing the package and loading Blocksworld,
with the own reader and with unified-planning.

    python benchmarks/bench_pddl_load.py [--up-limit 60] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llm_modulo.verifiers.planning import load_problem  # noqa: E402
from llm_modulo.verifiers.planning._parse import Sources, parse_up  # noqa: E402
from llm_modulo.verifiers.planning._reader import read_pddl  # noqa: E402

OBJECTS_DOMAIN = """(define (domain haul) (:requirements :strips :typing)
  (:types pkg loc - object)
  (:predicates (at ?p - pkg ?l - loc) (road ?a ?b - loc) (done ?p - pkg))
  (:action move :parameters (?p - pkg ?a ?b - loc)
    :precondition (and (at ?p ?a) (road ?a ?b) (not (= ?a ?b)))
    :effect (and (at ?p ?b) (not (at ?p ?a)))))
"""


def objects_problem(n: int, facts_per_pkg: int = 1) -> str:
    """``n`` objects (nine packages to one location), each package at ``facts_per_pkg`` places."""
    locs = max(1, n // 10)
    pkgs = n - locs
    lines = [f"(define (problem haul-{n}) (:domain haul)", "(:objects"]
    lines += [" ".join(f"p{i}" for i in range(j, min(j + 20, pkgs))) + " - pkg" for j in range(0, pkgs, 20)]
    lines += [" ".join(f"l{i}" for i in range(j, min(j + 20, locs))) + " - loc" for j in range(0, locs, 20)]
    lines.append(")")
    lines.append("(:init")
    lines += [f"  (at p{i} l{(i + k) % locs})" for i in range(pkgs) for k in range(facts_per_pkg)]
    lines += [f"  (road l{i} l{(i + 1) % locs})" for i in range(locs)]
    lines.append(")")
    lines.append(f"(:goal (and (at p0 l{1 % locs}) (not (at p1 l0)))))")
    return "\n".join(lines) + "\n"


def predicates_task(k: int) -> tuple[str, str]:
    """A domain with ``k`` unary predicates (one action per hundred) and a problem with one fact each."""
    preds = "\n".join(f"  (q{i} ?x - thing)" for i in range(k))
    actions = "\n".join(
        f"(:action a{i} :parameters (?x - thing) :precondition (q{i} ?x) :effect (and (q{i + 1} ?x) (not (q{i} ?x))))"
        for i in range(0, k - 1, 100)
    )
    domain = (
        f"(define (domain preds) (:requirements :strips :typing)\n(:types thing)\n(:predicates\n{preds})\n{actions})\n"
    )
    init = "\n".join(f"  (q{i} t{i % 100})" for i in range(k))
    objects = " ".join(f"t{i}" for i in range(100))
    problem = f"(define (problem preds-{k}) (:domain preds)\n(:objects {objects} - thing)\n(:init\n{init})\n(:goal (q{k - 1} t0)))\n"
    return domain, problem


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def up_seconds(src: Sources, limit: float) -> float | None:
    """unified-planning's parse time, in a forked child stopped after ``limit`` seconds (None then)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put(timed(lambda: parse_up(src))))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    return float(queue.get())


def series(title: str, tasks: list[tuple[str, str, str]], up_limit: float, up_gave_up: bool = False) -> bool:
    """Print one table; once unified-planning runs past ``up_limit`` the larger sizes skip it.
    Returns whether it gave up."""
    print(f"\n### {title}\n")
    print(
        "| size | file MB | own reader s | own MB/s | load_problem s | unified-planning s | UP / own | x size | x anchor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    anchor = first_mb = 0.0
    for label, domain, problem in tasks:
        mb = (len(domain) + len(problem)) / 1e6
        src = Sources(domain, "<domain>", problem, "<problem>")
        own = min(timed(lambda src=src: read_pddl(*vars(src).values())) for _ in range(3))
        full = min(timed(lambda domain=domain, problem=problem: load_problem(domain, problem)) for _ in range(2))
        anchor, first_mb = anchor or own, first_mb or mb
        up = None if up_gave_up else up_seconds(src, up_limit)
        if up is None:
            up_cell, ratio = f"skipped (over {up_limit:.0f} s)", "-"
            up_gave_up = True
        else:
            up_cell, ratio = f"{up:.2f}", f"{up / own:.0f}"
        print(
            f"| {label} | {mb:.2f} | {own:.3f} | {mb / own:.1f} | {full:.3f} | {up_cell} | {ratio} | {mb / first_mb:.1f} | {own / anchor:.1f} |",
            flush=True,
        )
    return up_gave_up


def startup() -> None:
    domain = REPO / "llm_modulo/domains/blocksworld/data/blocksworld/domain.pddl"
    problem = REPO / "llm_modulo/domains/blocksworld/data/blocksworld/sussman.pddl"
    own = f"from llm_modulo.verifiers.planning import load_problem; load_problem({str(domain)!r}, {str(problem)!r})"
    up = f"from llm_modulo.verifiers.planning._parse import parse_pddl; parse_pddl({str(domain)!r}, {str(problem)!r})"
    print("\n### Start-up: a fresh interpreter imports the package and loads Sussman's anomaly\n")
    print("| path | seconds (best of 3) |")
    print("|---|---:|")
    for name, code in (("own reader (load_problem)", own), ("unified-planning (PDDLReader)", up)):
        best = min(timed(lambda code=code: subprocess.run([sys.executable, "-c", code], check=True)) for _ in range(3))
        print(f"| {name} | {best:.2f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--up-limit", type=float, default=60.0, help="stop unified-planning after this many seconds")
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    args = parser.parse_args(argv)
    parse_up(Sources(OBJECTS_DOMAIN, "<domain>", objects_problem(10), "<problem>"))  # import and grammar, not timed
    counts = [1_000, 2_000, 5_000] if args.quick else [1_000, 5_000, 10_000, 20_000, 50_000, 100_000]
    gave_up = series("Objects", [(f"{n:,} objects", OBJECTS_DOMAIN, objects_problem(n)) for n in counts], args.up_limit)
    preds = [1_000, 2_000] if args.quick else [1_000, 2_000, 5_000, 10_000, 20_000]
    series("Predicates", [(f"{k:,} predicates", *predicates_task(k)) for k in preds], args.up_limit)
    big = objects_problem(100_000, facts_per_pkg=1 if args.quick else 4)
    while not args.quick and len(big) < 10_000_000:  # top up to 10 MB with more facts per package
        big = objects_problem(100_000, facts_per_pkg=big.count("(at ") // 90_000 + 1)
    series("A 10 MB problem (100k objects)", [("10 MB", OBJECTS_DOMAIN, big)], args.up_limit, gave_up)
    startup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
