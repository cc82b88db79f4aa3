"""Ranking a search node's next steps: batched scoring over the cached prompt vs the naive ways.

For search nodes of PlanBench instances (the applicable next actions after a plan prefix), the
embedded model ranks the children three ways, in the same run:

- ``score``: ``LocalModel.score``, one batched forward pass of all children over the prompt's
  KV cache, which is kept between calls (only the tokens after the common prefix are re-read);
- ``naive``: one full forward pass of prompt + child per child (what a plain transformers
  loop does);
- ``sample``: n=8 constrained samples from the node, ranking by first-step frequency (what a
  strategy without ``score`` must do).

Prints ms per node and the ratios, and checks that ``score`` and ``naive`` agree.

    python benchmarks/bench_scoring.py --instances 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from llm_modulo.domains.planning.instances import list_instances
from llm_modulo.models import load_model
from llm_modulo.protocols import SamplingParams
from llm_modulo.registry import load_planning_instance


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="blocksworld/generated_basic")
    ap.add_argument("--instances", type=int, default=5)
    ap.add_argument("--depth", type=int, default=4, help="plan steps walked per instance (one node each)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model("smollm2-ref", seed=0).load()  # transformers: the naive way needs its forward pass
    tok = model.tokenizer
    times: dict[str, list[float]] = {"score": [], "naive": [], "sample": []}
    worst = 0.0
    children = 0
    for name in list_instances(args.set, count=args.instances):
        domain, task = load_planning_instance(name)
        grammar = domain.constraint(task, "", executable=True)
        lines: tuple[str, ...] = ()
        for _ in range(args.depth):
            allowed, _ = grammar.choices(lines)
            if not allowed:
                break
            allowed = list(allowed)
            children += len(allowed)
            prefix = "".join(line + "\n" for line in lines)
            prompt = domain.prompt(task, prefill=prefix)
            conts = [line + "\n" for line in allowed]
            t = time.perf_counter()
            scored = model.score(prompt, conts).logprobs
            times["score"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ids = tok(model.render(prompt), add_special_tokens=False)["input_ids"]
            naive = []
            with torch.inference_mode():
                for c in conts:
                    cid = tok.encode(c, add_special_tokens=False)
                    lp = model._model(input_ids=torch.tensor([ids + cid])).logits[0].float().log_softmax(-1)
                    naive.append(sum(lp[len(ids) - 1 + j, cid[j]].item() for j in range(len(cid))))
            times["naive"].append(time.perf_counter() - t)
            worst = max(worst, max(abs(a - b) for a, b in zip(scored, naive, strict=False)))
            t = time.perf_counter()
            model.sample(
                prompt,
                8,
                SamplingParams(temperature=1.0, max_tokens=24, seed=0),
                constraint=domain.constraint(task, prefix, executable=True),
            )
            times["sample"].append(time.perf_counter() - t)
            lines = (*lines, allowed[0])
    ms = {k: 1000 * statistics.mean(v) for k, v in times.items()}
    print(
        f"{len(times['score'])} nodes, {children / len(times['score']):.1f} children per node, "
        f"{args.threads} thread(s), set {args.set}"
    )
    print("| method | ms per node | vs score |")
    print("|---|---|---|")
    for k in ("score", "naive", "sample"):
        print(f"| {k} | {ms[k]:.0f} | {ms[k] / ms['score']:.1f}x |")
    print(f"max |score - naive| log-prob difference: {worst:.2e}")


if __name__ == "__main__":
    main()
