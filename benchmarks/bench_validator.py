"""Plans validated per second: the grounded STRIPS validator against unified-planning's.

Loads PlanBench instances with their gold plans, adds three corruptions of each (last step
dropped, first two steps swapped, one step replaced by a random type-correct action), and
validates every plan *from its text* with both validators. Problem parsing is excluded for
both; plan-text parsing is included for both (ours: ``parse_pddl_plan``; unified-planning:
``PDDLReader.parse_plan_string``). unified-planning's validator object is built once per problem.

    python benchmarks/bench_validator.py [--instances N] [--set blocksworld] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "verifiers"))  # the PlanBench gold-plan loader lives with the tests

from planbench_gold import SETS, gold_cases  # noqa: E402

from llm_modulo.verifiers.planning import PlanningProblem, load_problem, parse_pddl_plan, validate  # noqa: E402
from llm_modulo.verifiers.planning.reference import _validator  # noqa: E402

DEFAULT_PLANBENCH = Path(os.environ.get("LLM_MODULO_BENCHMARKS", REPO.parent / "shared" / "benchmarks")) / "planbench"


def plan_texts(problem: PlanningProblem, gold_text: str, rng: random.Random) -> list[str]:
    gold = [str(a) for a in parse_pddl_plan(gold_text)]
    replaced = list(gold)
    replaced[rng.randrange(len(gold))] = str(rng.choice(problem.well_formed_actions()))
    swapped = gold[1:2] + gold[:1] + gold[2:]
    return ["\n".join(p) for p in (gold, gold[:-1], swapped, replaced)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100, help="instances to load (default 100)")
    parser.add_argument("--set", default="blocksworld", choices=SETS, help="PlanBench set (default blocksworld)")
    parser.add_argument("--planbench", type=Path, default=DEFAULT_PLANBENCH)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-seconds", type=float, default=1.0, help="repeat our pass until it takes this long")
    args = parser.parse_args(argv)

    from unified_planning.io import PDDLReader

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    work: list[tuple[PlanningProblem, str]] = []
    for case in gold_cases(args.planbench, args.set, args.instances):
        problem = load_problem(case.domain, case.problem)
        _validator(problem)  # build unified-planning's validator now: not timed
        work += [(problem, text) for text in plan_texts(problem, case.plan_text, rng)]
    loaded = time.perf_counter() - t0
    steps = sum(len(parse_pddl_plan(t)) for _, t in work)
    print(f"{args.set}: {len(work) // 4} instances, {len(work)} plans ({steps} steps), loaded in {loaded:.1f} s")

    # ours: warm the per-problem ground-action caches once, then time repeated passes
    ours = [validate(p, parse_pddl_plan(t)).valid for p, t in work]
    repeats, ours_s = 0, 0.0
    while ours_s < args.min_seconds:
        start = time.perf_counter()
        for problem, text in work:
            validate(problem, parse_pddl_plan(text))
        ours_s += time.perf_counter() - start
        repeats += 1
    ours_rate = repeats * len(work) / ours_s

    reader = PDDLReader()
    theirs = []
    start = time.perf_counter()
    for problem, text in work:
        up_plan = reader.parse_plan_string(problem.up_problem, text)
        theirs.append(_validator(problem).validate(problem.up_problem, up_plan).status.name == "VALID")
    up_s = time.perf_counter() - start
    up_rate = len(work) / up_s

    agree = sum(a == b for a, b in zip(ours, theirs, strict=False))
    print(f"valid plans: {sum(ours)} of {len(work)}")
    print(f"grounded-strips : {ours_rate:12,.0f} plans/s  ({1e6 / ours_rate:8.1f} us/plan, {repeats} passes)")
    print(f"unified-planning: {up_rate:12,.1f} plans/s  ({1e6 / up_rate:8.1f} us/plan)")
    print(f"agreement: {agree}/{len(work)}")
    print(f"speed-up: {ours_rate / up_rate:,.0f}x")
    return 0 if agree == len(work) else 1


if __name__ == "__main__":
    raise SystemExit(main())
