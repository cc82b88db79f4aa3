"""How far each onnxruntime precision's next-token choices stray from fp32's, teacher-forced.

    llm-modulo bench benchmarks/configs/planner_ort_precision.toml --store runs/planner_ort_precision.sqlite ...
    python benchmarks/precision_agreement.py runs/planner_ort_precision.sqlite --model smollm2-135m-planner -n 60

The prompts are the first ``-n`` trials' prompts in a bench store (the arm's own prompts, rendered
as it rendered them). The anchor is the fp32 export, which decodes the transformers reference's
greedy tokens: its greedy continuation of each prompt (up to the answer's end marker, default
``[PLAN END]``) is fed to every other precision in one pass, and at each position the precision's
most likely token is compared with fp32's. Printed per precision: the continuations whose every
next token agrees (the greedy answer would be identical), the share of agreeing tokens, and the
ratio of disagreements to int8's. The solved counts themselves come from the bench config.

Teacher-forced agreement runs each continuation in one pass, and a greedy arm's solved count sees
only the most likely token; neither sees a shift in a sampled distribution (an output layer on 4
bits once made the base model's sampled text end early 2-3x as often). ``--samples K`` adds that
check: K sampled continuations (T=0.8, top-p 0.95, seeds 0..K-1, the prompts in turn, one token a
run, no end marker) from fp32 and from each precision, printed as the number ending before
``--max-tokens`` and the mean length.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from llm_modulo.models import load_model
from llm_modulo.models._ort_rows import InPlaceRows
from llm_modulo.protocols import Prompt, SamplingParams


def prompts(store: Path, count: int) -> list[Prompt]:
    rows = sqlite3.connect(store).execute("SELECT result_json FROM trials ORDER BY instance, label").fetchall()
    seen: dict[tuple[str, str], Prompt] = {}
    for (text,) in rows:
        trace = json.loads(text or "{}").get("trace") or []
        if trace and trace[0].get("prompt"):
            key = (trace[0]["prompt"], trace[0].get("prefill", ""))
            seen.setdefault(key, Prompt(({"role": "user", "content": key[0]},), prefill=key[1]))
    return list(seen.values())[:count]


def model_spec(model: str, precision: str) -> str:
    """The spec of ``model`` at ``precision``; a precision that is an export folder is loaded as it is."""
    if Path(precision).expanduser().is_dir():
        return precision
    return f"smollm2-ort:{precision}" if model in ("default", "smollm2") else f"{model}@ort:{precision}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path, help="a bench store whose trials logged their prompts")
    ap.add_argument("--model", default="smollm2-135m-planner", help="an adapter name, or 'default'")
    ap.add_argument(
        "--precisions", default="int8,int4", help="comma-separated precisions or export folders (export_mixed.py's)"
    )
    ap.add_argument("-n", type=int, default=60, help="prompts")
    ap.add_argument("--end", default="[PLAN END]", help="the answer's end marker (the continuation stops there)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--samples", type=int, default=0, help="sampled continuations a precision (0: none)")
    args = ap.parse_args(argv)
    if not args.store.is_file():
        print(f"error: no bench store at {args.store}", file=sys.stderr)
        return 2
    chosen = prompts(args.store, args.n)
    if not chosen:
        print(f"error: no logged prompts in {args.store}", file=sys.stderr)
        return 2
    anchor: Any = load_model(model_spec(args.model, "fp32")).load()
    cases = []
    for prompt in chosen:
        ids = anchor.encode(anchor.render(prompt))
        out = list(
            anchor.sample(prompt, 1, SamplingParams(temperature=0.0, max_tokens=args.max_tokens)).meta["token_ids"][0]
        )
        cut = next((i for i in range(1, len(out) + 1) if args.end in anchor.decode(out[:i])), len(out))
        cases.append((ids, out[:cut]))
    print(
        f"{len(cases)} prompts from {args.store}; anchor: {anchor.name} greedy, mean {sum(len(o) for _, o in cases) / len(cases):.1f} tokens"
    )
    results, lengths = {}, {}
    if args.samples:
        lengths["fp32"] = sampled_lengths(anchor, chosen, args.samples, args.max_tokens)
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        model = load_model(model_spec(args.model, precision)).load()
        results[precision] = agreement(model, cases)
        if args.samples:
            lengths[precision] = sampled_lengths(model, chosen, args.samples, args.max_tokens)
    base = results.get("int8")
    for precision, (same, agree, total) in results.items():
        ratio = f"  disagreements {((total - agree) / max(total - base[1], 1)):.2f}x int8's" if base else ""
        print(
            f"{precision:6} identical continuations {same}/{len(cases)}  next-token agreement {agree / total:.4f}{ratio}"
        )
    for precision, (early, tokens) in lengths.items():
        print(
            f"{precision:6} sampled: {early}/{args.samples} end before {args.max_tokens} tokens, "
            f"mean {tokens / args.samples:.1f} tokens"
        )
    return 0


def sampled_lengths(model: Any, chosen: list[Prompt], samples: int, max_tokens: int) -> tuple[int, int]:
    """(continuations ending before ``max_tokens``, their tokens in all) of ``samples`` sampled ones."""
    early = tokens = 0
    drafts, model.draft_tokens = model.draft_tokens, 0  # one token a run: the plain loop's distribution
    for seed in range(samples):
        params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=max_tokens, seed=seed)
        length = model.sample(chosen[seed % len(chosen)], 1, params).completions[0].tokens
        early, tokens = early + (length < max_tokens), tokens + length
    model.draft_tokens = drafts
    return early, tokens


def agreement(model: Any, cases: list[tuple[list[int], list[int]]]) -> tuple[int, int, int]:
    """(continuations agreeing at every position, agreeing positions, positions), one pass a prompt."""
    import numpy as np

    same = agree = total = 0
    for ids, out in cases:
        full = ids + out
        kv = model._buffers(1, len(full))
        logits = InPlaceRows(model._session, kv, model._vocab).run(np.array([full]), len(full))
        equal = logits[0, len(ids) - 1 : len(full) - 1].argmax(-1) == np.array(out)
        same, agree, total = same + bool(equal.all()), agree + int(equal.sum()), total + len(out)
    return same, agree, total


if __name__ == "__main__":
    sys.exit(main())
