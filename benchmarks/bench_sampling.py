"""Throughput of the local backend: one batched call of n samples versus n=1 and versus n sequential calls.

    python benchmarks/bench_sampling.py                       # embedded SmolLM2, PlanBench prompt, n=16
    python benchmarks/bench_sampling.py --threads 1 --repeats 3 --max-tokens 96

Prints the model load time, generated tokens per second at n=1 and at n, the batched/n=1 ratio
(target >= 3x at n=16), the same with the Blocksworld line grammar (constrained decoding), and
the batched call against n sequential n=1 calls ("naive"). Tokens per second count every
generated token over the whole call, prompt prefill included.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from llm_modulo.models.local import LocalModel
from llm_modulo.protocols import LineConstraint, Prompt, SamplingParams

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROMPTS = (
    REPO.parent / "shared" / "benchmarks" / "planbench" / "prompts" / "blocksworld" / "task_1_plan_generation.json"
)


def blocksworld_grammar(query: str, max_lines: int) -> LineConstraint:
    """PlanBench's natural-language actions over the colours named in the query."""
    colours = sorted(set(re.findall(r"the (\w+) block", query)))
    lines = [f"pick up the {c} block" for c in colours] + [f"put down the {c} block" for c in colours]
    for x in colours:
        for y in colours:
            if x != y:
                lines.append(f"stack the {x} block on top of the {y} block")
                lines.append(f"unstack the {x} block from on top of the {y} block")
    return LineConstraint(tuple(lines), "[PLAN END]", max_lines)


def measure(
    model: LocalModel,
    prompt: Prompt,
    n: int,
    params: SamplingParams,
    constraint: LineConstraint | None,
    sequential: bool = False,
) -> tuple[float, int, float]:
    """(tokens per second, generated tokens, seconds) of one batched call, or of n calls of n=1."""
    started = time.perf_counter()
    if sequential:
        tokens = 0
        for i in range(n):
            seed = None if params.seed is None else params.seed + i
            one = SamplingParams(params.temperature, params.top_p, params.max_tokens, params.stop, seed)
            batch = model.sample(prompt, 1, one, constraint)
            tokens += sum(c.tokens for c in batch.completions)
    else:
        tokens = sum(c.tokens for c in model.sample(prompt, n, params, constraint).completions)
    seconds = time.perf_counter() - started
    return tokens / seconds, tokens, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="a model folder or Hub id (default: the embedded SmolLM2)")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    ap.add_argument("--instance", type=int, default=0, help="index into the prompt file's instances")
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--repeats", type=int, default=2, help="repeat each measurement; the median is reported")
    ap.add_argument("--no-constrained", action="store_true")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--show", action="store_true", help="print the first completions")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    query = json.loads(args.prompts.read_text())["instances"][args.instance]["query"]
    prompt = Prompt(({"role": "user", "content": query},))
    params = SamplingParams(temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, seed=0)

    started = time.perf_counter()
    model = LocalModel(args.model, device=args.device, dtype=args.dtype).load()
    print(
        f"model {model.name} ({model.dtype}, {args.device}, {torch.get_num_threads()} threads): "
        f"load {time.perf_counter() - started:.2f} s (torch/transformers imports included)"
    )
    warm = model.sample(prompt, 1, SamplingParams(max_tokens=2, seed=0))
    print(
        f"prompt: {warm.completions[0].prompt_tokens} tokens; n={args.n}, max_tokens={args.max_tokens}, "
        f"T={args.temperature}, top_p={args.top_p}, {args.repeats} repeat(s), median shown"
    )

    def median(
        prompt: Prompt, n: int, constraint: LineConstraint | None, sequential: bool = False
    ) -> tuple[float, int, float]:
        runs = [measure(model, prompt, n, params, constraint, sequential) for _ in range(args.repeats)]
        return sorted(runs)[len(runs) // 2]

    modes: list[tuple[str, Prompt, LineConstraint | None]] = [("unconstrained", prompt, None)]
    if not args.no_constrained:
        # Without the "[PLAN]" prefill SmolLM2 picks "[" (towards the "[PLAN]" it wants to echo) and the
        # grammar can only complete that as "[PLAN END]": an empty plan in 5 tokens.
        grammar = blocksworld_grammar(query, max_lines=12)
        planned = Prompt(prompt.messages, prefill="[PLAN]\n")
        modes.append((f"constrained, {len(grammar.lines)} lines", planned, grammar))
    for label, mode_prompt, constraint in modes:
        one = median(mode_prompt, 1, constraint)
        many = median(mode_prompt, args.n, constraint)
        print(f"[{label}] n=1: {one[0]:6.1f} tok/s ({one[1]} tokens in {one[2]:.2f} s)")
        print(
            f"[{label}] n={args.n}: {many[0]:6.1f} tok/s ({many[1]} tokens in {many[2]:.2f} s)"
            f"  -> n={args.n} / n=1 = {many[0] / one[0]:.1f}x"
        )
        if not args.no_naive:
            naive = median(mode_prompt, args.n, constraint, sequential=True)
            print(
                f"[{label}] naive {args.n} x n=1: {naive[0]:6.1f} tok/s ({naive[1]} tokens in {naive[2]:.2f} s)"
                f"  -> batched / naive = {many[0] / naive[0]:.1f}x"
            )
        if args.show:
            for c in model.sample(mode_prompt, 2, params, constraint).completions:
                print(f"  --- {c.tokens} tokens, {c.finish_reason}:\n{c.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
