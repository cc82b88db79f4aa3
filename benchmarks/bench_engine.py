"""Decode engines for the embedded SmolLM2, side by side in one run: transformers (the reference) and onnxruntime.

    python benchmarks/bench_engine.py                          # reference vs ort int8 and int4, 3 repeats
    python benchmarks/bench_engine.py --engines ref,ort:int4 --repeats 3 --threads 2

For each engine it prints: the import and load seconds, the seconds from process start to the
first generated token (a fresh subprocess, warm cache: converted weights already on disk, short
prompt), the milliseconds to score n one-line plan continuations after the cached prompt (as search
ranks children), and generated tokens per second at n=1 and at n (aggregate over the call, the 589-token
PlanBench prompt's prefill included, and decode only), unconstrained and with the Blocksworld
line grammar, and greedy under the grammar at n=1 (where onnxruntime checks drafts looked up in
the context). The prompt's KV cache is kept from the prefill call, as both engines do; a first
call with n=2 before them, timed apart, loads what batching needs once. Each engine
runs in its own fresh process, in turn within each repeat (a busy machine slows them alike, and
one engine's idle threads never compete with another's); the medians are shown, and the ratio to
the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_sampling import DEFAULT_PROMPTS, blocksworld_grammar  # noqa: E402

from llm_modulo.protocols import LineConstraint, Prompt, SamplingParams  # noqa: E402

# what each engine imports to run (timed as "import"; the rest of loading is "load")
_RUNTIME = {"ref": ("torch", "transformers.models.llama"), "ort": ("numpy", "onnxruntime", "tokenizers", "jinja2")}
SHORT = Prompt(({"role": "user", "content": "Name three colours."},))


# engine variants: ort:<precision>[:spin|:nospin][:copies][:nodraft] (OrtModel's spin, shared_prompt=False,
# draft_tokens=0); without :spin or :nospin the model decides by the load average
_VARIANTS = {
    "spin": ("spin", True),
    "nospin": ("spin", False),
    "copies": ("shared_prompt", False),
    "nodraft": ("draft_tokens", 0),
}


def spec_of(engine: str) -> str:
    if engine == "ref":
        return "smollm2-ref"
    return "smollm2-" + ":".join(p for p in engine.split(":") if p not in _VARIANTS)


def worker(engine: str, spawned: float, args: argparse.Namespace) -> dict[str, float]:
    """One engine in a fresh process: import, load, first token, prefill, then the throughput cases."""
    started = time.monotonic()
    import importlib

    for module in _RUNTIME["ref" if engine == "ref" else "ort"]:
        importlib.import_module(module)
    imported = time.monotonic()
    from llm_modulo.models import load_model

    model = load_model(spec_of(engine))
    for part in engine.split(":"):
        if part in _VARIANTS:
            setattr(model, *_VARIANTS[part])
    if args.threads and engine == "ref":
        import torch

        torch.set_num_threads(args.threads)
    elif args.threads:
        model.threads = args.threads
    model.load()
    loaded = time.monotonic()
    model.sample(SHORT, 1, SamplingParams(max_tokens=1, seed=0))
    out = {"import (s)": imported - started, "load (s)": loaded - imported}
    out["first token (s)"] = time.monotonic() - spawned  # from spawning the process: interpreter start included
    query = json.loads(args.prompts.read_text())["instances"][0]["query"]
    prompt = Prompt(({"role": "user", "content": query},))
    t = time.monotonic()
    batch = model.sample(prompt, 1, SamplingParams(max_tokens=1, seed=0))
    out[f"prefill {batch.completions[0].prompt_tokens} tok (s)"] = time.monotonic() - t
    t = time.monotonic()  # the first call with n > 1 (ort: loads the shared-prompt graph once)
    model.sample(SHORT, 2, SamplingParams(max_tokens=1, seed=0))
    out["first n>1 call (s)"] = time.monotonic() - t
    planned = Prompt(prompt.messages, prefill="[PLAN]\n")
    grammar = blocksworld_grammar(query, max_lines=12)
    params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=args.max_tokens, seed=0)
    cases = [("n=1", prompt, 1, None), (f"n={args.n}", prompt, args.n, None)]
    cases += [("constrained n=1", planned, 1, grammar), (f"constrained n={args.n}", planned, args.n, grammar)]
    cases += [("greedy constrained n=1", planned, 1, grammar)]  # onnxruntime: lookup drafts
    for label, p, n, g in cases:
        sampling = SamplingParams(temperature=0.0, max_tokens=args.max_tokens) if label.startswith("greedy") else params
        total, decode = throughput(model, p, n, sampling, g)
        out[f"{label} tok/s"], out[f"{label} decode tok/s"] = total, decode
    # batched scoring, as search ranks children: n one-line continuations after the (cached) prompt
    lines = [f"[PLAN]\n{line}" for line in (grammar.lines * args.n)[: args.n]]
    model.score(prompt, lines[:1])  # the prompt's cache (kept by both engines)
    t = time.monotonic()
    scored = model.score(prompt, lines)
    out[f"score {args.n} rows (ms)"] = 1000 * (time.monotonic() - t)
    out[f"score {args.n} rows, tokens"] = float(scored.tokens)
    return out


def throughput(
    model: Any, prompt: Prompt, n: int, params: SamplingParams, grammar: LineConstraint | None
) -> tuple[float, float]:
    """(tok/s over the call, tok/s of the decode alone) of one call of n samples."""
    started = time.perf_counter()
    batch = model.sample(prompt, n, params, grammar)
    seconds = time.perf_counter() - started
    tokens = sum(c.tokens for c in batch.completions)
    decode = float(batch.meta.get("decode_seconds", seconds))  # type: ignore[arg-type]
    return tokens / seconds, tokens / max(decode, 1e-9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--engines",
        default="ref,ort:int8,ort:int4",
        help="comma-separated: ref, ort:int4, ort:int8, ort:fp32; suffix :spin or :nospin (pool threads spin or sleep), :copies "
        "(one prompt KV copy per row at n>1, the exported graph), :nodraft (one token a run at n=1: no looked-up drafts)",
    )
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads for every engine (0: each one's default)")
    ap.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="also write the medians here")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--spawned", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.spawned, args)))
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    runs: dict[str, dict[str, list[float]]] = {e: {} for e in engines}
    for _ in range(args.repeats):
        for engine in engines:  # interleaved, each in a fresh process: a busy machine slows all alike
            argv = [sys.executable, __file__, "--worker", engine, "--spawned", repr(time.monotonic())]
            argv += ["--threads", str(args.threads), "-n", str(args.n), "--max-tokens", str(args.max_tokens)]
            argv += ["--prompts", str(args.prompts)]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                runs[engine].setdefault(key, []).append(value)
    load = os.getloadavg()[0]
    medians = {e: {k: sorted(v)[len(v) // 2] for k, v in r.items()} for e, r in runs.items()}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    print(f"commit {commit.strip()}, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"{args.repeats} repeat(s), medians; n={args.n}, max_tokens={args.max_tokens}, T=0.8, top_p=0.95")
    keys = list(medians[engines[0]])
    width = max(14, *(len(e) + 2 for e in engines))
    label = max(28, *(len(k) + 1 for k in keys))
    print(f"{'':{label}}" + "".join(f"{e:>{width}}" for e in engines) + ("   ratio to ref" if "ref" in engines else ""))
    for key in keys:
        row = "".join(f"{medians[e][key]:{width}.2f}" for e in engines)
        if "ref" in engines:
            row += "  " + " ".join(f"{medians[e][key] / medians['ref'][key]:6.2f}x" for e in engines if e != "ref")
        print(f"{key:{label}}{row}")
    if args.json:
        args.json.write_text(json.dumps(medians, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
