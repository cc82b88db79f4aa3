"""Memory of a batched sweep over several local models: each model released once no trial left
uses it (what ``bench --batch`` does) versus every loaded model kept to the end (before).

    python benchmarks/bench_release.py                        # base + the two shipped adapters
    python benchmarks/bench_release.py --models default,smollm2-135m-planner --count 16 --threads 1

Measured on the 2-core dev box (--threads 1, beside another job): 3 models, 12 instances each, batch 4:
peak RSS 2,552 MB kept, 2,111 MB released (1.21x); 3 models held at the end against 0.

Each variant runs in a fresh Python process (so peak memory is its own): the same sweep, ``direct``
with compact prompts on the first ``--count`` PlanBench 3-block instances for every model, run with
``--batch`` into a temporary store. Prints, per variant, the process's peak resident memory, its
resident memory when the sweep is done, how many local models it still holds, and the wall time,
then the kept/released ratio of peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(variant: str, models: list[str], count: int, batch: int, threads: int) -> dict[str, float | int | str]:
    from llm_modulo.experiments import executors, worker
    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import run_sweep

    if variant == "keep":  # the behaviour before: nothing released
        executors.BatchedExecutor.release = lambda self, model: None  # type: ignore[method-assign]
    config = {
        "name": "release",
        "models": models,
        "seeds": [0],
        "feedback": ["first"],
        "sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 32},
        "budgets": [{"samples": 1, "rounds": 1}],
        "instance_sets": [{"domain": "blocksworld", "set": "blocksworld/generated_basic_3", "count": count}],
        "strategies": [
            {"name": "direct", "constrained": "well-formed", "domain_options": {"prompt_format": "compact"}}
        ],
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "release.yaml").write_text(json.dumps(config))  # JSON is YAML
        sweep = load_sweep(Path(tmp) / "release.yaml")
        outcome = run_sweep(sweep, Path(tmp) / "s.sqlite", batch=batch, threads=threads, progress=False, cache=False)
    held = sum(1 for key in worker._MODELS if key[2])
    return {
        "variant": variant,
        "trials": outcome.ran,
        "errors": outcome.errors,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_at_end_mb": round(_rss_now_mb(), 1),
        "models_held_at_end": held,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        default="default,smollm2-135m-planner,smollm2-135m-game24",
        help="comma-separated model specs, each a local model",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=12,
        help="instances per model (more than 2 x batch, so a model's trials outlast the window of trials in flight)",
    )
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=["keep", "release"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.child:
        print(json.dumps(child(args.child, models, args.count, args.batch, args.threads)))
        return 0
    results = {}
    for variant in ("keep", "release"):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--models",
            ",".join(models),
            "--count",
            str(args.count),
            "--batch",
            str(args.batch),
            "--threads",
            str(args.threads),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-2000:])
            return done.returncode
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(results[variant]))
    keep, release = results["keep"]["peak_rss_mb"], results["release"]["peak_rss_mb"]
    print(
        f"{len(models)} models, batch {args.batch}: peak RSS kept {keep:.0f} MB, released {release:.0f} MB "
        f"({keep / release:.2f}x); held at the end: {results['keep']['models_held_at_end']} vs "
        f"{results['release']['models_held_at_end']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
