"""``llm-modulo validate`` as a process: its cold start, and many plans in one ``--plans`` call.

(a) Cold start: ``python -m llm_modulo.cli validate D P PLAN`` on one PlanBench plan (blocksworld
instance-162's gold plan), ``--runs`` times, against ``python -c pass`` (the anchor); best and median.

(b) Batch: the PlanBench Blocksworld gold plans (``blocksworld`` and ``blocksworld_3``: 600, each with
its own problem file) written as JSONL and validated by one ``validate --plans`` call (two processes
where it may use two cores: ``taskset -c 0`` gives it one), timed
from start to exit (interpreter start, imports, parsing every problem, validating, writing the
JSON lines; the fastest of ``--batch-runs``), against unified-planning parsing the domain and problem and validating the plan for
each (one reused ``PDDLReader``, imports and its grammar not timed: the anchor is generous to it).
unified-planning runs on the first ``--up-plans`` plans (all with 0) and its per-plan time is the anchor;
its verdict on each of them must be the process's.

The processes run with Python's bytecode cache on (in a temporary ``PYTHONPYCACHEPREFIX``, written by one
run before the timed ones), as an installed package has it: pip compiles bytecode on install, and
a ``PYTHONDONTWRITEBYTECODE`` in the environment would time the compiling of every module instead.

    python benchmarks/bench_validate_cli.py [--runs 5] [--up-plans 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "verifiers"))  # the PlanBench gold-plan loader lives with the tests

from planbench_gold import GoldCase, gold_cases  # noqa: E402

DEFAULT_PLANBENCH = Path(os.environ.get("LLM_MODULO_BENCHMARKS", REPO.parent / "shared" / "benchmarks")) / "planbench"
GOLD_162 = "(unstack b c)\n(stack b a)\n(pick-up c)\n(stack c b)\n"
VALIDATE = [sys.executable, "-m", "llm_modulo.cli", "validate"]
ENV = dict(os.environ)


def bytecode_cache(tmp: Path) -> None:
    """Let the timed processes cache bytecode, in ``tmp`` (the checkout stays clean)."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")


def wall(command: list[str], **kwargs: object) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False, env=ENV, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start, done


def cold_start(planbench: Path, runs: int, tmp: Path) -> None:
    folder = planbench / "blocksworld"
    plan = tmp / "instance-162.plan"
    plan.write_text(GOLD_162)
    command = [*VALIDATE, str(folder / "generated_domain.pddl"), str(folder / "generated_basic/instance-162.pddl")]
    rows = {"python -c pass": [sys.executable, "-c", "pass"], "llm-modulo validate D P PLAN": [*command, str(plan)]}
    print(f"(a) cold start, {runs} runs each (s):")
    for label, argv in rows.items():
        times = []
        for _ in range(runs):
            seconds, done = wall(argv)
            assert done.returncode == 0, done.stderr.decode()
            times.append(seconds)
        print(f"    {label:30s} best {min(times):.3f}  median {statistics.median(times):.3f}")


def up_seconds(cases: list[GoldCase]) -> tuple[float, dict[str, bool]]:
    """Seconds for unified-planning to parse the domain and problem and validate the plan, for each
    case; and its verdicts by case id."""
    from unified_planning.engines.plan_validator import SequentialPlanValidator
    from unified_planning.io import PDDLReader
    from unified_planning.shortcuts import get_environment

    get_environment().credits_stream = None
    reader = PDDLReader()
    verdicts = {}
    start = time.perf_counter()
    for case in cases:
        problem = reader.parse_problem(str(case.domain), str(case.problem))
        plan = reader.parse_plan_string(problem, case.plan_text)
        result = SequentialPlanValidator(problem_kind=problem.kind).validate(problem, plan)
        verdicts[case.id] = result.status.name == "VALID"
    return time.perf_counter() - start, verdicts


def batch(planbench: Path, up_plans: int, repeats: int, tmp: Path) -> None:
    cases = [c for s in ("blocksworld", "blocksworld_3") for c in gold_cases(planbench, s)]
    jsonl = tmp / "plans.jsonl"
    with jsonl.open("w") as out:
        for c in cases:
            out.write(json.dumps({"id": c.id, "domain": str(c.domain), "problem": str(c.problem), "plan": c.plan_text}))
            out.write("\n")
    first = cases[0]
    wall([*VALIDATE, str(first.domain), str(first.problem), "--plans", str(jsonl)])  # writes the bytecode
    runs = [wall([*VALIDATE, str(first.domain), str(first.problem), "--plans", str(jsonl)]) for _ in range(repeats)]
    seconds, done = min(runs, key=lambda run: run[0])
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    valid = sum(r["valid"] is True for r in rows)
    assert done.returncode == 0 and valid == len(cases), done.stderr.decode()[-2000:]
    ours = seconds / len(cases)
    print(f"(b) {len(cases)} PlanBench Blocksworld gold plans ({len(set(c.problem for c in cases))} problems):")
    print(
        f"    one validate --plans call      {seconds:.3f} s  ({ours * 1e3:.2f} ms/plan, {valid} valid; best of {repeats})"
    )
    sample = cases if up_plans <= 0 else cases[:up_plans]
    up_total, up_verdicts = up_seconds(sample)
    ours_verdicts = {r["id"]: r["valid"] for r in rows}
    differ = [i for i, v in up_verdicts.items() if ours_verdicts.get(i) is not v]
    assert not differ, f"verdicts differ from unified-planning's on {differ[:5]}"
    up = up_total / len(sample)
    print(
        f"    unified-planning (anchor)      {up * len(sample):.3f} s for {len(sample)} plans  ({up * 1e3:.1f} ms/plan)"
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"    ratio: {up / ours:,.0f}x  (load average {os.getloadavg()[0]:.2f}; {cores} core(s) for the call)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--planbench", type=Path, default=DEFAULT_PLANBENCH)
    parser.add_argument("--runs", type=int, default=5, help="cold-start runs of each command (default 5)")
    parser.add_argument("--up-plans", type=int, default=100, help="plans unified-planning validates (0: all)")
    parser.add_argument("--batch-runs", type=int, default=3, help="--plans processes; the fastest counts (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bytecode_cache(Path(tmp))
        cold_start(args.planbench, args.runs, Path(tmp))
        batch(args.planbench, args.up_plans, args.batch_runs, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
