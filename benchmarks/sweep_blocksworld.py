"""Small sweep: strategies x {embedded model, random control} on PlanBench Blocksworld instances.

Every arm gets the same sample budget (``--samples``), except ``direct``, which is one sample by
definition. Each finished trial is appended to a JSONL file; a rerun skips trials already there,
so a killed sweep resumes. Prints a Markdown table of success rates.

    python benchmarks/sweep_blocksworld.py --instances 20 --samples 16 --out runs/sweep_blocksworld.jsonl
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from llm_modulo import BestOfN, Budget, Direct, Modulo, SamplingParams
from llm_modulo.domains.planning.instances import list_instances
from llm_modulo.models import load_model
from llm_modulo.registry import load_planning_instance

# name -> (proposer, strategy class, constraint mode, reuse_prefix)
ARMS = {
    "direct, free text (model alone)": ("llm", Direct, "none", False),
    "best-of-n, free text": ("llm", BestOfN, "none", False),
    "modulo first, free text": ("llm", Modulo, "none", False),
    "modulo first, executable grammar + prefix reuse": ("llm", Modulo, "executable", True),
    "random: best-of-n, well-formed grammar": ("random", BestOfN, "well-formed", False),
    "random: best-of-n, executable grammar": ("random", BestOfN, "executable", False),
    "random: modulo first, executable grammar + prefix reuse": ("random", Modulo, "executable", True),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="blocksworld/generated_basic", help="PlanBench instance folder")
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--samples", type=int, default=16, help="sample budget per trial")
    ap.add_argument("--n", type=int, default=8, help="samples per LLM call")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arms", nargs="*", default=list(ARMS), help="subset of arms")
    ap.add_argument("--out", type=Path, default=Path("runs/sweep_blocksworld.jsonl"))
    args = ap.parse_args()

    names = list_instances(args.set, count=args.instances)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["arm"], row["instance"], row["samples_budget"], row["seed"]))
    llm = load_model(None, seed=args.seed)
    llm.load()
    rnd = load_model("random", seed=args.seed)
    tasks = {name: load_planning_instance(name) for name in names}
    todo = [(arm, name) for arm in args.arms for name in names if (arm, name, args.samples, args.seed) not in done]
    params = SamplingParams(temperature=1.0, max_tokens=args.max_tokens, seed=args.seed)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ok {task.fields[ok]}"),
        TimeRemainingColumn(),
    ) as progress:
        bar = progress.add_task("sweep", total=len(todo), ok=0)
        ok = 0
        with args.out.open("a") as sink:
            for arm, name in todo:
                proposer, cls, constrained, reuse = ARMS[arm]
                domain, task = tasks[name]
                n = 1 if cls is Direct else args.n
                strategy = cls(
                    llm if proposer == "llm" else rnd,
                    domain,
                    budget=Budget(rounds=None, samples=args.samples),
                    n=n,
                    params=params,
                    constrained=constrained,
                    feedback="first",
                    reuse_prefix=reuse,
                    seed=args.seed,
                )
                start = time.perf_counter()
                result = strategy.run(task)
                ok += result.verified
                row = {
                    "arm": arm,
                    "instance": name,
                    "samples_budget": args.samples,
                    "seed": args.seed,
                    "status": result.status.value,
                    "usage": result.usage.model_dump(),
                    "plan_len": len(result.answer or []),
                    "seconds": time.perf_counter() - start,
                    "machine": platform.machine(),
                    "model": getattr(llm, "name", ""),
                }
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                progress.update(bar, advance=1, ok=ok, description=f"{arm[:30]} {name.split('/')[-1]}")
    report(args.out, args.samples, args.seed)


def report(path: Path, samples: int, seed: int) -> None:
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows = [r for r in rows if r["samples_budget"] == samples and r["seed"] == seed]
    print("\n| arm | solved | samples used (mean) | LLM calls (mean) | tokens (mean) | s/instance |")
    print("|---|---|---|---|---|---|")
    for arm in ARMS:
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        solved = sum(r["status"] == "verified" for r in mine)
        mean = lambda key, mine=mine: sum(r["usage"][key] for r in mine) / len(mine)  # noqa: E731
        secs = sum(r["seconds"] for r in mine) / len(mine)
        print(
            f"| {arm} | {solved}/{len(mine)} ({100 * solved / len(mine):.0f}%) | {mean('samples'):.1f} | "
            f"{mean('llm_calls'):.1f} | {mean('generated_tokens'):.0f} | {secs:.1f} |"
        )


if __name__ == "__main__":
    main()
