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
import os
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
from llm_modulo.strategies import model_time  # noqa: E402
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
    differed: int = 0  # expansions the model ranked whose top child is not a heuristic-best one
    ranked: int = 0  # expansions the model ranked (2+ children, within its time share)
    choices: int = 0  # expansions with 2+ children (ranked or not)
    model_seconds: float = 0.0


def differed(result: Result) -> tuple[int, int, int]:
    """(expansions the proposer ranked whose top child is not among the estimate's best, expansions it
    ranked, expansions with 2+ children), from the trace: each expansion keeps its children's scores,
    their estimates and whether the model was asked."""
    diff = ranked = choices = 0
    for attempt in result.trace:
        info = attempt.info
        children: dict[str, float] = info.get("children", {})
        if len(children) < 2:
            continue
        choices += 1
        if not info.get("model"):
            continue
        ranked += 1
        estimates = {line: math.inf if h is None else h for line, h in info["estimates"].items()}
        best_h = min(estimates.values())
        top = max(children, key=lambda line: children[line])
        diff += estimates[top] != best_h
    return diff, ranked, choices


def run_search(
    model: Any,
    folder: Path,
    problem: Path,
    nodes: int,
    queues: str,
    seconds: float | None,
    ranks: bool = True,
    share: float | None = None,
) -> Run:
    domain, task = load_planning_task(str(folder / "domain.pddl"), str(problem))
    budget = Budget(nodes=nodes, samples=None, rounds=None, seconds=seconds)
    start = time.perf_counter()
    result = Search(model, domain, seed=0, queues=queues, budget=budget, model_share=share).run(task)
    wall = time.perf_counter() - start
    d, r, c = differed(result) if ranks else (0, 0, 0)
    solved = bool(result.verified)
    length = len(result.answer) if solved else None
    return Run(problem.stem, solved, result.usage.nodes, length, wall, d, r, c, result.info.get("model_seconds", 0.0))


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
        "asked": ranked / choices if (choices := sum(r.choices for r in runs)) else math.nan,
    }


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if math.isnan(x) else "unsolved" if math.isinf(x) else f"{x:.{digits}f}"


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _ratio(a: float, b: float) -> str:
    return "-" if not (math.isfinite(a) and math.isfinite(b)) or b == 0 else f"{a / b:.2f}x"


def table(title: str, cells: dict[str, list[Run]]) -> None:
    print(f"\n### {title}\n")
    print(
        "| proposer | solved | median expansions | median plan length | median s / solved | model asked "
        "| model != heuristic | expansions / random | length / random | s / random |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    anchor = summary(cells["random"])
    for name, runs in cells.items():
        s = summary(runs)
        print(
            f"| {name} | {s['solved']}/{s['n']} | {_fmt(s['exp'])} | {_fmt(s['len'])} | {_fmt(s['secs'], 3)} "
            f"| {_pct(s['asked'])} | {_pct(s['diff'])} | {_ratio(s['exp'], anchor['exp'])} "
            f"| {_ratio(s['len'], anchor['len'])} | {_ratio(s['secs'], anchor['secs'])} |"
        )
    control = {r.problem: r for r in cells["random"]}
    for name, runs in cells.items():  # the control must solve whatever the others solve
        if name == "random":
            continue
        missed = sorted(r.problem for r in runs if r.solved and not control[r.problem].solved)
        if missed:
            print(f"\nsolved by {name}, not by random: {', '.join(missed)}")
        # and within the same expansions: problems where the control needed more than this proposer
        more = [
            r.problem
            for r in runs
            if r.solved
            and r.expansions is not None
            and control[r.problem].solved
            and (control[r.problem].expansions or 0) > r.expansions
        ]
        print(f"\nrandom needed more expansions than {name} on {len(more)} of {len(runs)} problems")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/search-sets", help="where the sets are written")
    parser.add_argument("--count", type=int, default=10, help="problems per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=2000, help="expansion budget per problem")
    parser.add_argument("--model", default="default", help="the model spec ranked against the control ('' for none)")
    parser.add_argument(
        "--model-share",
        type=float,
        default=None,
        help="the search's model_share for the model (default: the search's, 2; inf: ask at every expansion)",
    )
    parser.add_argument("--model-sets", default="all", help="comma-separated sets the model runs on, or all")
    parser.add_argument(
        "--model-count", type=int, default=0, help="the model on the N smallest problems of each set only (0: all)"
    )
    parser.add_argument("--model-seconds", type=float, default=None, help="seconds per problem for the model")
    args = parser.parse_args()
    folders = write_sets(args.out, args.count, args.seed)
    fd = fd_available()
    print(
        f"sets: {args.count} per set, seed {args.seed}, {args.nodes} expansions; "
        f"Fast Downward: {'yes' if fd else 'not installed (pip install up-fast-downward), skipped'}"
    )
    controls = {
        "random": (lambda: RandomProposer(seed=0), "single"),
        "random+po": (lambda: RandomProposer(seed=0), "dual"),
        "gbfs-ff": (InsertionOrder, "single"),
        "gbfs-ff+po": (InsertionOrder, "dual"),
    }
    ranks = {"random": True, "random+po": True, "gbfs-ff": False, "gbfs-ff+po": False}  # insertion order ranks nothing
    model = None
    model_sets = set(SETS) if args.model_sets == "all" else set(args.model_sets.split(","))
    if args.model:
        from llm_modulo.models import load_model

        start = time.perf_counter()
        model = load_model(None if args.model == "default" else args.model, seed=0)
        warm(model, folders[next(iter(SETS))])
        share = "the search's default" if args.model_share is None else args.model_share
        print(
            f"model {args.model}: loaded and warmed in {time.perf_counter() - start:.1f} s (not counted); model_share {share}"
        )
    for set_name in SETS:
        folder = folders[set_name]
        problems = sorted(
            (p for p in folder.glob("*.pddl") if p.name != "domain.pddl"), key=lambda p: (size(p), p.name)
        )
        if model is not None and set_name in model_sets and args.model_count > 0:
            problems = problems[: args.model_count]
        cells: dict[str, list[Run]] = {}
        for name, (make, queues) in controls.items():
            # the control's scores cost nothing: it ranks at every expansion (share inf)
            cells[name] = [
                run_search(make(), folder, p, args.nodes, queues, None, ranks[name], math.inf) for p in problems
            ]
        if model is not None and set_name in model_sets:
            cells[args.model] = [
                run_search(model, folder, p, args.nodes, "single", args.model_seconds, True, args.model_share)
                for p in problems
            ]
            for r in cells[args.model]:
                print(
                    f"  {args.model} {r.problem}: solved={r.solved} expansions={r.expansions} length={r.length} "
                    f"{r.seconds:.2f} s (model {r.model_seconds:.2f} s, asked at {r.ranked} of {r.choices})"
                )
        if fd:
            cells["fast-downward"] = [run_fd(folder, p) for p in problems]
        table(f"{set_name} ({len(problems)} problems)", cells)


def warm(model: Any, folder: Path) -> None:
    """Load the model's weights before any search is timed (a lazy backend loads on its first call),
    and measure one call on another problem's prompt, as a search's first call reads it after the
    previous problem's: the search's estimate of a call's cost then starts from a real call, as it
    does in a sweep after the first."""
    scorer = getattr(model, "score", None)
    if not callable(scorer):
        return
    texts = []
    for problem in [p for p in sorted(folder.glob("*.pddl")) if p.name != "domain.pddl"][:2]:
        domain, task = load_planning_task(str(folder / "domain.pddl"), str(problem))
        prompt = domain.prompt(task)
        start = time.perf_counter()
        scorer(prompt, ["a\n", "b\n"])  # the first loads the weights
        texts.append((prompt.render_plain(), time.perf_counter() - start))
    (first, _), (second, seconds) = texts
    model_time.record(model, seconds, len(second) - len(os.path.commonprefix([first, second])) + 4)


def size(problem: Path) -> int:
    """Objects in the problem (how the model's subset picks the smallest)."""
    text = problem.read_text()
    return len(text.split("(:objects", 1)[1].split(")", 1)[0].split())


if __name__ == "__main__":
    main()
