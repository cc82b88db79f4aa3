"""Fuzz the grounded plan validator against unified-planning at scale (outside the test suite).

The generators of ``tests/verifiers/test_fuzz_validator.py`` (``tests/verifiers/plan_fuzz.py``),
drawn with ``random.Random``: random walks of applicable actions, gold plans, shortest
completions, and their mutations (steps dropped, inserted, swapped, duplicated, replaced; wrong
arity, unknown or mistyped objects, unknown actions, case changes, truncation), on hand-written
typed tasks and PlanBench Blocksworld, Mystery, Logistics and Blocksworld-hard instances. Every
``--text-every``-th plan also goes through the planning domain's ``parse`` and ``PlanCritic`` as
model text. Counts: plans, disagreements (verdict or first failing step), false "valid",
crashes; time and throughput of each validator.

    nice -n 10 python benchmarks/fuzz_validator.py [--plans 100000] [--seed 0] [--log fuzz.jsonl]

Progress and the counts so far print every ``--every`` plans and on Ctrl-C or SIGTERM; with ``--log``, each
disagreement or crash is appended as a JSON line, and ``--start N`` resumes a run at plan N (each
plan's draws come from ``seed`` and its index alone, so a resumed run draws the same plans).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "verifiers"))  # the generators live with the tests

from plan_fuzz import (  # noqa: E402
    FuzzProblem,
    RandomDraw,
    compare_reports,
    compare_text,
    critic_task,
    draw_plan,
    load_fuzz_problems,
    pick,
    plan_text,
    render,
)

from llm_modulo.verifiers.planning import up_check, validate  # noqa: E402

DEFAULT_PLANBENCH = Path(os.environ.get("LLM_MODULO_BENCHMARKS", REPO.parent / "shared" / "benchmarks")) / "planbench"


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.ours_s = 0.0
        self.up_s = 0.0
        self.start = time.perf_counter()

    def line(self) -> str:
        c = self.counts
        wall = time.perf_counter() - self.start
        ours = c["plans"] / self.ours_s if self.ours_s else 0.0
        up = c["plans"] / self.up_s if self.up_s else 0.0
        return (
            f"plans {c['plans']} (valid {c['valid']}, text {c['text']}), disagreements {c['disagreements']}, "
            f"false valid {c['false_valid']}, crashes {c['crashes']}; {wall:.0f} s; "
            f"grounded {ours:,.0f} plans/s, unified-planning {up:,.1f} plans/s"
        )


def timed_compare(fp: FuzzProblem, plan: list, tally: Tally) -> tuple[bool, list[str], bool]:
    """(false valid, problems, UP-valid), timing each validator on its own, then the comparison."""
    t0 = time.perf_counter()
    ours = validate(fp.problem, plan)
    t1 = time.perf_counter()
    ref = up_check(fp.problem, plan)
    tally.ours_s += t1 - t0
    tally.up_s += time.perf_counter() - t1
    result = compare_reports(ours, ref)
    return result.false_valid, result.problems, result.up_valid


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=100_000, help="plans to check (default 100000)")
    parser.add_argument("--start", type=int, default=0, help="first plan index (resume a run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--planbench", type=Path, default=DEFAULT_PLANBENCH)
    parser.add_argument("--text-every", type=int, default=10, help="every N-th plan also goes through parse + critic")
    parser.add_argument("--every", type=int, default=2000, help="print progress every N plans")
    parser.add_argument("--log", type=Path, help="append disagreements and crashes here (JSON lines)")
    args = parser.parse_args(argv)

    from llm_modulo.domains.blocksworld import blocksworld
    from llm_modulo.domains.logistics import logistics
    from llm_modulo.domains.planning import pddl_domain

    t0 = time.perf_counter()
    problems = load_fuzz_problems(args.planbench)
    domains = [pddl_domain(), pddl_domain(style="nl"), blocksworld(), logistics()]
    tasks = [(d, fp, critic_task(d, fp)) for fp in problems for d in domains if d.fits(fp.problem)]
    print(
        f"{len(problems)} tasks ({', '.join(fp.label for fp in problems)}), loaded in {time.perf_counter() - t0:.1f} s"
    )
    tally = Tally()
    log = args.log.open("a") if args.log else None

    def record(index: int, what: str, label: str, detail: object) -> None:
        if log is not None:
            log.write(json.dumps({"plan": index, "what": what, "task": label, "detail": detail}) + "\n")
            log.flush()

    # Ctrl-C, or kill -TERM / -INT of a run started in the background (where SIGINT starts ignored),
    # stops the run with its counts printed
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    index = args.start
    try:
        for index in range(args.start, args.start + args.plans):
            d = RandomDraw(random.Random(f"{args.seed}:{index}"))
            fp = pick(d, problems)
            kind, plan = draw_plan(d, fp)
            try:
                false_valid, found, up_valid = timed_compare(fp, plan, tally)
                if index % args.text_every == 0:
                    domain, fp, task = pick(d, [t for t in tasks if t[1] is fp])
                    text, _ = plan_text(d, [render(domain, task, fp, s) for s in plan])
                    tally.counts["text"] += 1
                    _, result = compare_text(domain, task, fp, text)
                    false_valid |= result.false_valid
                    found += [f"{domain.name}: {p}" for p in result.problems]
            except Exception:  # a crash is a finding: count it, log it, go on
                tally.counts["crashes"] += 1
                record(index, "crash", fp.label, traceback.format_exc())
                tally.counts["plans"] += 1
                continue
            tally.counts["plans"] += 1
            tally.counts["valid"] += up_valid
            tally.counts[f"kind {kind}"] += 1
            if found:
                tally.counts["disagreements"] += 1
                tally.counts["false_valid"] += false_valid
                record(index, "disagreement", fp.label, {"plan": [str(a) for a in plan], "problems": found})
                print(f"plan {index} ({fp.label}, {kind}): {found}", flush=True)
            if tally.counts["plans"] % args.every == 0:
                print(f"[{index + 1}] {tally.line()}", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted at plan {index} (resume with --start {index})")
    print(tally.line())
    print("kinds: " + ", ".join(f"{k[5:]} {v}" for k, v in sorted(tally.counts.items()) if k.startswith("kind ")))
    if log is not None:
        log.close()
    return 1 if tally.counts["disagreements"] or tally.counts["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
