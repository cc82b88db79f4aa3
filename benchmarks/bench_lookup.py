"""Decoding at n=1 with drafts looked up in the context, against one token a run (the anchor).

    python benchmarks/bench_lookup.py runs/planner_ort_precision.sqlite --model smollm2-135m-planner@ort:int8
    python benchmarks/bench_lookup.py STORE --model smollm2-ort:fp32 --drafts 0,2,4 -n 20
    python benchmarks/bench_lookup.py STORE --model smollm2-ort --temperature 0.8 --top-p 0.95 --stop ""

The prompts are the first ``-n`` distinct prompts logged in a bench store (an arm's own prompts,
as :mod:`precision_agreement` reads them); each is decoded to ``--stop`` or ``--max-tokens``,
greedily or sampled (``--temperature``, seed = the prompt's index), once per draft size in turn
(0 = the anchor, one token a run; the sizes interleaved prompt by prompt, so machine drift is
shared). Printed per draft size: generated tokens, model runs, tokens a run, decode tok/s (prefill
excluded), the ratio to the anchor, and how many outputs equal the anchor's (all of them at fp32;
int8/int4 quantize each run's activations over its tokens, so a near-tie can tip).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from precision_agreement import prompts  # noqa: E402

from llm_modulo.models import load_model  # noqa: E402
from llm_modulo.protocols import SamplingParams  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path, help="a bench store whose trials logged their prompts")
    ap.add_argument("--model", default="smollm2-135m-planner@ort:int8", help="an onnxruntime model spec")
    ap.add_argument("--drafts", default="0,4", help="draft sizes; 0 (one token a run) is the anchor")
    ap.add_argument("-n", type=int, default=20, help="prompts")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--stop", default="[PLAN END]")
    ap.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    ap.add_argument("--top-p", type=float, default=1.0)
    args = ap.parse_args(argv)
    if not args.store.is_file():
        print(f"error: no bench store at {args.store}", file=sys.stderr)
        return 2
    chosen = prompts(args.store, args.n)
    model = load_model(args.model).load()
    if not hasattr(model, "draft_tokens"):
        print(f"error: {args.model} is not an onnxruntime model", file=sys.stderr)
        return 2
    sizes = sorted({0, *(int(d) for d in args.drafts.split(",") if d.strip())})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
    how = f"T={args.temperature}, top_p={args.top_p}" if args.temperature > 0 else "greedy"
    print(f"{model.name}, {len(chosen)} prompts from {args.store}, {how}, max_tokens {args.max_tokens}")
    tokens = dict.fromkeys(sizes, 0)
    runs = dict.fromkeys(sizes, 0)
    seconds = dict.fromkeys(sizes, 0.0)
    outputs: dict[int, list[list[int]]] = {size: [] for size in sizes}
    for index, prompt in enumerate(chosen):
        params = SamplingParams(
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            stop=(args.stop,) if args.stop else (),
            seed=index,
        )
        for size in sizes if index % 2 == 0 else sizes[::-1]:
            model.draft_tokens = size
            batch = model.sample(prompt, 1, params)
            tokens[size] += batch.completions[0].tokens
            runs[size] += int(batch.meta["decode_runs"])  # type: ignore[call-overload]
            seconds[size] += float(batch.meta["decode_seconds"])  # type: ignore[arg-type]
            outputs[size].append(list(batch.meta["token_ids"][0]))  # type: ignore[index]
    base = tokens[0] / max(seconds[0], 1e-9)
    for size in sizes:
        rate = tokens[size] / max(seconds[size], 1e-9)
        same = sum(a == b for a, b in zip(outputs[0], outputs[size], strict=True))
        print(
            f"draft {size}: {tokens[size]} tokens in {runs[size]} runs ({tokens[size] / max(runs[size], 1):.2f} a run), "
            f"decode {rate:.1f} tok/s ({rate / base:.2f}x the anchor), outputs equal to the anchor's {same}/{len(chosen)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
