"""Where ``search`` stands: expansions, plan length and wall time per proposer on unseen problems (issue 22).

    python benchmarks/search_bench.py                       # 10 problems per set, the model on 3
    python benchmarks/search_bench.py --count 20 --model-count 0 --nodes 5000

Sets (from :mod:`search_sets`, seeded, written under ``--out``): Blocksworld 6-10 blocks with fresh
names, Gripper (2 rooms, 4-12 balls), Depots (IPC 2002, small). Proposers, all through the library:

- ``random``: the control (``--model random``): greedy best-first on FF's relaxed-plan estimate,
  ties broken at random (the default ``search``, one open list);
- ``gbfs-ff`` / ``gbfs-ff+po``: the same search with ties broken by insertion order (no
  proposer at all), one open list / two (FF's helpful actions as Fast Downward's preferred operators);
- ``default``: the embedded SmolLM2 ranking the children, on the ``--model-count`` smallest
  Blocksworld problems only, ``--model-seconds`` each (slow on a CPU);
- ``fast-downward``: unified-planning's Fast Downward (``OneshotPlanner(name="fast-downward")``, its
  default configuration), if ``up_fast_downward`` imports; expansions read from its log.

Per set and proposer: solved, median expansions over all problems (an unsolved one
counts as infinitely many), median plan length and wall seconds over the problems it solved, and for the proposers that rank children, the share of
expansions with 2+ children where the proposer's top child is not among the heuristic's best
(read from the search trace: each expansion keeps its children's scores; the children's estimates
are recomputed here with the domain's ``search_guide``). Ratios are against ``random`` on the same
problems, from the same run.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_sets import SETS, write_sets  # noqa: E402

from llm_modulo.models.random_proposer import RandomProposer  # noqa: E402
from llm_modulo.protocols import ScoreBatch  # noqa: E402
from llm_modulo.registry import load_planning_task  # noqa: E402
from llm_modulo.strategies.search import Search  # noqa: E402
from llm_modulo.types import Budget, Result  # noqa: E402


class InsertionOrder:
    """No proposer: every child scores 0, so the open list breaks ties by insertion order (plain GBFS)."""

    name = "none"

    def score(self, prompt: Any, continuations: Sequence[str], seed: int | None = None) -> ScoreBatch:
        return ScoreBatch(logprobs=[0.0] * len(continuations))


@dataclass
class Run:
    problem: str
    solved: bool
    expansions: int | None
    length: int | None
    seconds: float
    differed: int = 0  # expansions (2+ children) whose top-ranked child is not a heuristic-best one
    ranked: int = 0  # expansions with 2+ children


def differed(result: Result, domain: Any, task: Any, heuristic: str) -> tuple[int, int]:
    """(expansions where the proposer's top child is not among the estimate's best, expansions with 2+ children)."""
    guide = domain.search_guide(task, heuristic)
    paths: dict[int, tuple[str, ...]] = {}
    diff = ranked = 0
    for i, attempt in enumerate(result.trace):
        info = attempt.info
        if "children" not in info:
            continue
        parent = info.get("parent", -1)
        lines = (*paths[parent], info["step"]) if parent >= 0 else ()
        paths[i] = lines
        children: dict[str, float] = info["children"]
        if len(children) < 2:
            continue
        ranked += 1
        estimates = {line: guide((*lines, line))[1] for line in children}
        best_h = min(estimates.values())
        top = max(children, key=lambda line: children[line])
        diff += estimates[top] != best_h
    return diff, ranked


def run_search(
    model: Any, folder: Path, problem: Path, nodes: int, queues: str, seconds: float | None, ranks: bool = True
) -> Run:
    domain, task = load_planning_task(str(folder / "domain.pddl"), str(problem))
    budget = Budget(nodes=nodes, samples=None, rounds=None, seconds=seconds)
    start = time.perf_counter()
    result = Search(model, domain, seed=0, queues=queues, budget=budget).run(task)
    wall = time.perf_counter() - start
    d, r = differed(result, domain, task, "relaxed-plan") if ranks else (0, 0)
    solved = bool(result.verified)
    return Run(problem.stem, solved, result.usage.nodes, len(result.answer) if solved else None, wall, d, r)


def fd_available() -> bool:
    try:
        import up_fast_downward  # noqa: F401
    except ImportError:
        return False
    return True


def run_fd(folder: Path, problem: Path) -> Run:
    import unified_planning.shortcuts as up
    from unified_planning.io import PDDLReader

    up.get_environment().credits_stream = None
    parsed = PDDLReader().parse_problem(str(folder / "domain.pddl"), str(problem))
    start = time.perf_counter()
    with up.OneshotPlanner(name="fast-downward") as planner:
        result = planner.solve(parsed, output_stream=None)
    wall = time.perf_counter() - start
    solved = result.plan is not None
    found = [int(x) for m in result.log_messages for x in re.findall(r"Expanded (\d+) state", m.message)]
    return Run(problem.stem, solved, found[-1] if found else None, len(result.plan.actions) if solved else None, wall)


def _median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def summary(runs: Sequence[Run]) -> dict[str, float]:
    ok = [r for r in runs if r.solved]
    # an unsolved problem counts as infinitely many expansions (a time cap can stop the model early)
    exp = [r.expansions if r.solved and r.expansions is not None else math.inf for r in runs]
    ranked = sum(r.ranked for r in runs)
    return {
        "solved": len(ok),
        "n": len(runs),
        "exp": _median(exp) if any(math.isfinite(x) for x in exp) else math.nan,
        "len": _median([r.length for r in ok if r.length is not None]),
        "secs": _median([r.seconds for r in ok]),
        "diff": sum(r.differed for r in runs) / ranked if ranked else math.nan,
    }


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if math.isnan(x) else "unsolved" if math.isinf(x) else f"{x:.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return "-" if not (math.isfinite(a) and math.isfinite(b)) or b == 0 else f"{a / b:.2f}x"


def table(title: str, cells: dict[str, list[Run]]) -> None:
    print(f"\n### {title}\n")
    print(
        "| proposer | solved | median expansions | median plan length | median s / solved | model != heuristic "
        "| expansions / random | length / random | s / random |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    anchor = summary(cells["random"])
    for name, runs in cells.items():
        s = summary(runs)
        print(
            f"| {name} | {s['solved']}/{s['n']} | {_fmt(s['exp'])} | {_fmt(s['len'])} | {_fmt(s['secs'], 3)} "
            f"| {_fmt(100 * s['diff'])}{'%' if not math.isnan(s['diff']) else ''} | {_ratio(s['exp'], anchor['exp'])} "
            f"| {_ratio(s['len'], anchor['len'])} | {_ratio(s['secs'], anchor['secs'])} |"
        )
    control = {r.problem for r in cells["random"] if r.solved}
    for name, runs in cells.items():  # the control must solve whatever the others solve
        missed = sorted(r.problem for r in runs if r.solved and r.problem not in control)
        if name != "random" and missed:
            print(f"\nsolved by {name}, not by random: {', '.join(missed)}")


def blocks(problem: Path) -> int:
    text = problem.read_text()
    return len(text.split("(:objects", 1)[1].split(")", 1)[0].split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/search-sets", help="where the sets are written")
    parser.add_argument("--count", type=int, default=10, help="problems per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=2000, help="expansion budget per problem")
    parser.add_argument("--model", default="default", help="the model spec ranked against the control")
    parser.add_argument("--model-count", type=int, default=3, help="smallest Blocksworld problems the model runs on")
    parser.add_argument("--model-seconds", type=float, default=150.0, help="seconds per problem for the model")
    args = parser.parse_args()
    folders = write_sets(args.out, args.count, args.seed)
    fd = fd_available()
    print(
        f"sets: {args.count} per set, seed {args.seed}, {args.nodes} expansions; "
        f"Fast Downward: {'yes' if fd else 'not installed (pip install up-fast-downward), skipped'}"
    )
    controls = {
        "random": (lambda: RandomProposer(seed=0), "single"),
        "gbfs-ff": (InsertionOrder, "single"),
        "gbfs-ff+po": (InsertionOrder, "dual"),
    }
    ranks = {"random": True, "gbfs-ff": False, "gbfs-ff+po": False}  # insertion order ranks nothing
    for set_name in SETS:
        folder = folders[set_name]
        problems = sorted(p for p in folder.glob("*.pddl") if p.name != "domain.pddl")
        cells: dict[str, list[Run]] = {}
        for name, (make, queues) in controls.items():
            cells[name] = [run_search(make(), folder, p, args.nodes, queues, None, ranks[name]) for p in problems]
        if fd:
            cells["fast-downward"] = [run_fd(folder, p) for p in problems]
        table(f"{set_name} ({len(problems)} problems)", cells)
    if args.model_count > 0:
        from llm_modulo.models import load_model

        folder = folders["blocksworld-6-10"]
        problems = sorted(
            (p for p in folder.glob("*.pddl") if p.name != "domain.pddl"), key=lambda p: (blocks(p), p.name)
        )
        subset = problems[: args.model_count]
        model = load_model(None if args.model == "default" else args.model, seed=0)
        cells = {
            name: [run_search(make(), folder, p, args.nodes, q, None, ranks[name]) for p in subset]
            for name, (make, q) in controls.items()
        }
        cells[args.model] = [run_search(model, folder, p, args.nodes, "single", args.model_seconds) for p in subset]
        if fd:
            cells["fast-downward"] = [run_fd(folder, p) for p in subset]
        sizes = ", ".join(f"{p.stem} ({blocks(p)} blocks)" for p in subset)
        table(f"model subset: {sizes}; {args.model_seconds:.0f} s cap each", cells)
        for r in cells[args.model]:
            print(
                f"  {args.model} {r.problem}: solved={r.solved} expansions={r.expansions} length={r.length} {r.seconds:.1f} s"
            )


if __name__ == "__main__":
    main()
