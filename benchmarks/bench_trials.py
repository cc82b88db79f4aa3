"""Concurrent trials on one local model: K sample calls of K different prompts decoded one at a
time (what a worker running one trial at a time does) versus together in one batch.

    python benchmarks/bench_trials.py                                  # the shipped planner, 16 PlanBench prompts
    python benchmarks/bench_trials.py -k 32 --threads 1 --model default

Each run starts with no kept prompt caches, so it prefills its prompts itself. The K prompts are the compact prompts of the first K instances of a PlanBench set, each decoded
greedily under its own well-formed-plan grammar (what ``direct`` runs in the planner benchmark).
Prints generated tokens per second one call at a time, in one ``sample_many`` batch, and through
:class:`~llm_modulo.models.batching.BatchingModel` from K threads (how ``bench --batch K`` calls
it), the ratios to the one-at-a-time run, and whether each request's tokens are the same.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from llm_modulo.models import load_model
from llm_modulo.models.batching import BatchingModel
from llm_modulo.models.prompts import CompactPrompts
from llm_modulo.protocols import Batch, SampleRequest, SamplingParams
from llm_modulo.registry import load_task


def requests(domain: str, set_name: str, k: int, max_tokens: int) -> list[SampleRequest]:
    params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=0)
    out = []
    for i in range(1, k + 1):  # PlanBench's instance-1 ... instance-k
        dom, task = load_task(f"{set_name}/instance-{i}", domain, "nl", one_shot=False)
        dom = CompactPrompts(dom)
        out.append(SampleRequest(dom.prompt(task), 1, params, dom.constraint(task)))
    return out


def tokens(batches: list[Batch]) -> int:
    return sum(c.tokens for b in batches for c in b.completions)


def threaded(model: BatchingModel, reqs: list[SampleRequest]) -> list[Batch]:
    results: list[Batch | None] = [None] * len(reqs)
    ready = threading.Barrier(len(reqs))  # trials in flight together, as in a running sweep

    def run(i: int) -> None:
        with model.client():
            ready.wait()
            r = reqs[i]
            results[i] = model.sample(r.prompt, r.n, r.params, r.constraint)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(reqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-planner", help="a model spec (default: the shipped planner)")
    ap.add_argument("--domain", default="blocksworld")
    ap.add_argument("--set", default="blocksworld/generated_basic", dest="set_name")
    ap.add_argument("-k", type=int, default=16, help="concurrent trials (prompts)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model, device=args.device)
    model.load()
    reqs = requests(args.domain, args.set_name, args.k, args.max_tokens)
    model.sample_many(reqs[:2])  # warm-up
    lengths = [len(model.tokenizer(model.render(r.prompt), add_special_tokens=False)["input_ids"]) for r in reqs]
    print(
        f"model {model.name} ({args.device}, {torch.get_num_threads()} threads); {len(reqs)} prompts of "
        f"{min(lengths)}-{max(lengths)} tokens, "
        f"greedy, grammar-constrained, max_tokens={args.max_tokens}"
    )

    model.clear_prompt_cache()  # each run reads its prompts itself
    t = time.perf_counter()
    alone = [model.sample(r.prompt, r.n, r.params, r.constraint) for r in reqs]
    t_alone = time.perf_counter() - t
    model.clear_prompt_cache()
    t = time.perf_counter()
    together = model.sample_many(reqs)
    t_many = time.perf_counter() - t
    batcher = BatchingModel(model, window=0.05)
    model.clear_prompt_cache()
    t = time.perf_counter()
    via_threads = threaded(batcher, reqs)
    t_threads = time.perf_counter() - t
    batcher.close()

    n_tok = tokens(alone)
    print(f"one at a time:       {n_tok / t_alone:7.1f} tok/s ({n_tok} tokens in {t_alone:.1f} s)")
    good = [b for b in together if isinstance(b, Batch)]
    print(
        f"sample_many:         {tokens(good) / t_many:7.1f} tok/s ({tokens(good)} tokens in {t_many:.1f} s); "
        f"x{t_alone / t_many:.2f}"
    )
    print(
        f"BatchingModel, {len(reqs)} threads: {tokens(via_threads) / t_threads:7.1f} tok/s "
        f"({tokens(via_threads)} tokens in {t_threads:.1f} s, {batcher.batches} batch(es)); x{t_alone / t_threads:.2f}"
    )
    same = sum(a.meta["token_ids"] == b.meta["token_ids"] for a, b in zip(alone, good, strict=False))
    same_t = sum(a.meta["token_ids"] == b.meta["token_ids"] for a, b in zip(alone, via_threads, strict=False))
    print(f"identical tokens to one-at-a-time: sample_many {same}/{len(reqs)}, threads {same_t}/{len(reqs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
