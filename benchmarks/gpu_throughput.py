"""The GPU throughput check (issue 22): generated tokens per second of the embedded SmolLM2-135M on
a GPU, from one run, against Hugging Face ``generate`` and against the 5,000 tok/s goal.

    python benchmarks/gpu_throughput.py                      # on a CUDA machine: ~3-6 min on an H200
    python benchmarks/gpu_throughput.py --dry-run            # the same code on the CPU at tiny sizes

Measures, on one colouring prompt (instances are generated in the package, so nothing beside the
checkout is needed):

(a) the anchor: ``transformers`` ``generate`` (sampling, bf16) at n=1 and n=256;
(b) the project's :class:`~llm_modulo.models.local.LocalModel` sampling n=16/64/256 in one call,
    without and with the domain's :class:`LineConstraint` (constrained decoding);
(c) ``llm-modulo bench --device cuda --workers 1 --batch K --no-cache`` on
    ``benchmarks/configs/gpu_throughput.toml`` (150 trials decoded together), aggregate generated
    tok/s from the store: all tokens over the command's wall time (load included), and over the
    trials' own window (first start to last finish).

Prints a table with each figure's ratio to the anchor and to the goal, and writes the figures as
JSON to ``$OUT/gpu_throughput.json`` when ``$OUT`` is set (the device runner collects ``$OUT``),
else to ``--out``. Without CUDA it refuses in one line unless ``--dry-run``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "benchmarks" / "configs" / "gpu_throughput.toml"
GOAL = 5000.0  # tok/s, issue 22
INSTANCE = "n10-p0.4-k3-s0"  # the first "study" graph
_HF_MODELS: dict[str, Any] = {}  # the anchor's model per device, loaded once


def hf_generate(folder: Path, prompt_text: str, n: int, max_tokens: int, device: str) -> dict[str, Any]:
    """Tokens per second of ``generate`` drawing n samples of one prompt (the anchor)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if device not in _HF_MODELS:
        _HF_MODELS[device] = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()  # type: ignore[arg-type]
    model = _HF_MODELS[device]
    ids = tok(prompt_text, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    eos = tok.eos_token_id
    torch.manual_seed(0)
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            ids,
            do_sample=True,
            temperature=1.0,
            top_p=0.95,
            max_new_tokens=max_tokens,
            num_return_sequences=n,
            pad_token_id=eos,
        )
    rows = out[:, ids.shape[1] :].tolist()  # .tolist() waits for the GPU
    seconds = time.perf_counter() - started
    tokens = sum(row.index(eos) + 1 if eos in row else len(row) for row in rows)
    return {"tokens": tokens, "seconds": seconds, "tok_s": tokens / seconds}


def local_sample(model: Any, prompt: Any, n: int, max_tokens: int, constraint: Any) -> dict[str, Any]:
    """Tokens per second of one ``LocalModel.sample`` call of n samples."""
    from llm_modulo.protocols import SamplingParams

    params = SamplingParams(temperature=1.0, top_p=0.95, max_tokens=max_tokens, seed=0)
    model.clear_prompt_cache()  # each call prefills its prompt itself
    started = time.perf_counter()
    batch = model.sample(prompt, n, params, constraint)
    seconds = time.perf_counter() - started
    tokens = sum(c.tokens for c in batch.completions)
    return {"tokens": tokens, "seconds": seconds, "tok_s": tokens / seconds}


def sweep_config(dry_run: bool, folder: Path) -> Path:
    """The sweep config: the shipped one, or a tiny one of the same shape for ``--dry-run``."""
    if not dry_run:
        return CONFIG
    lines = ['name = "gpu_throughput_dry"', 'models = ["default"]', 'feedback = ["first"]', "seeds = [0]"]
    lines += ["[sampling]", "temperature = 1.0", "top_p = 0.95", "max_tokens = 12"]
    lines += ["[[budgets]]", "samples = 4", 'rounds = "none"']
    lines += ["[[instance_sets]]", 'domain = "coloring"', 'set = "small"', "count = 3"]
    lines += ["[[strategies]]", 'name = "best-of-n"', "n = 2", 'constrained = "well-formed"']
    path = folder / "gpu_throughput_dry.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_sweep(config: Path, store: Path, device: str, threads: int, timeout: float) -> dict[str, Any]:
    """``llm-modulo bench`` on ``config`` with every trial in one batch; figures from the store."""
    from llm_modulo.experiments.config import load_sweep

    trials = len(load_sweep(config).trials)
    bench = ["bench", str(config), "--store", str(store), "--workers", "1", "--batch", str(trials)]
    bench += ["--threads", str(threads), "--device", device, "--no-cache"]
    exe = Path(sys.executable).with_name("llm-modulo")  # absent where the package is not installed
    cmd = [str(exe), *bench] if exe.exists() else [sys.executable, "-m", "llm_modulo.cli", *bench]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    stopped = False
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # the trials done so far are in the store: measure those
        stopped = True
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    wall = time.perf_counter() - started
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT generated_tokens, seconds, finished_at, status, verified FROM trials").fetchall()
    tokens = sum(r[0] or 0 for r in rows)
    ends = [datetime.fromisoformat(r[2]).timestamp() for r in rows if r[2]]
    starts = [e - (r[1] or 0.0) for e, r in zip(ends, [r for r in rows if r[2]], strict=True)]
    window = max(ends) - min(starts) if ends else float("nan")
    return {
        "command": " ".join(["llm-modulo", *bench]),
        "rc": rc,
        "stopped_at_timeout": stopped,
        "trials": len(rows),
        "trials_planned": trials,
        "errors": sum(r[3] == "error" for r in rows),
        "verified": sum(bool(r[4]) for r in rows),
        "tokens": tokens,
        "wall_s": wall,
        "window_s": window,
        "tok_s_wall": tokens / wall if wall else float("nan"),
        "tok_s_window": tokens / window if window else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="run on the CPU at tiny sizes (a smoke test)")
    ap.add_argument("--out", type=Path, default=None, help="JSON of the figures (default: $OUT/gpu_throughput.json)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: 4 on CUDA, 1 dry)")
    ap.add_argument("--sweep-timeout", type=float, default=300.0, help="seconds before the sweep is stopped")
    args = ap.parse_args(argv)

    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(
            f"gpu_throughput: CUDA is not available (torch {torch.__version__}); run it on a GPU machine, "
            "or --dry-run for the CPU smoke test",
            file=sys.stderr,
        )
        return 2
    device = "cpu" if args.dry_run else "cuda"
    max_tokens = 8 if args.dry_run else args.max_tokens
    anchor_ns = (1, 4) if args.dry_run else (1, 256)
    local_ns = (2, 4) if args.dry_run else (16, 64, 256)
    args.threads = args.threads or (1 if args.dry_run else min(4, os.cpu_count() or 1))
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    from llm_modulo.models import smollm2
    from llm_modulo.models.local import LocalModel
    from llm_modulo.registry import load_task

    dom, task = load_task(INSTANCE, "coloring")
    prompt, constraint = dom.prompt(task), dom.constraint(task)
    model = LocalModel(None, device=device).load()
    text = model.render(prompt)
    prompt_tokens = len(model.tokenizer(text, add_special_tokens=False)["input_ids"])
    figures: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (dry run)",
        "torch": torch.__version__,
        "commit": _commit(),
        "instance": INSTANCE,
        "prompt_tokens": prompt_tokens,
        "max_tokens": max_tokens,
        "goal_tok_s": GOAL,
    }
    folder = smollm2.ensure_converted()
    hf_generate(folder, text, 2, 4, device)  # warm-up: load, CUDA kernels
    figures["hf_generate"] = {str(n): hf_generate(folder, text, n, max_tokens, device) for n in anchor_ns}
    _HF_MODELS.clear()  # free its copy before the sweep loads its own

    model.sample(prompt, 2, _params(4), constraint)  # warm-up
    local: dict[str, Any] = {}
    for label, c in (("unconstrained", None), ("constrained", constraint)):
        local[label] = {str(n): local_sample(model, prompt, n, max_tokens, c) for n in local_ns}
    figures["local"] = local
    del model
    if device == "cuda":
        torch.cuda.empty_cache()

    with tempfile.TemporaryDirectory() as tmp:
        config = sweep_config(args.dry_run, Path(tmp))
        budget = min(args.sweep_timeout, max(60.0, 450.0 - (time.perf_counter() - t0)))
        figures["sweep"] = run_sweep(config, Path(tmp) / "store.sqlite", device, args.threads, budget)
        figures["sweep"]["config"] = str(CONFIG.relative_to(REPO)) if not args.dry_run else "tiny copy (dry run)"
    figures["total_s"] = time.perf_counter() - t0

    print_table(figures, anchor_ns)
    out = args.out or (Path(os.environ["OUT"]) / "gpu_throughput.json" if os.environ.get("OUT") else None)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures: {out}")
    return 0


def _params(max_tokens: int) -> Any:
    from llm_modulo.protocols import SamplingParams

    return SamplingParams(temperature=1.0, top_p=0.95, max_tokens=max_tokens, seed=0)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def print_table(f: dict[str, Any], anchor_ns: tuple[int, ...]) -> None:
    lo, hi = (f["hf_generate"][str(n)]["tok_s"] for n in anchor_ns)
    print(
        f"\n{f['device']}, torch {f['torch']}, commit {f['commit']}; prompt {f['prompt_tokens']} tokens "
        f"({f['instance']}), max_tokens {f['max_tokens']}, T=1.0 top_p=0.95"
    )
    head = f"{'what':<44} {'tokens':>8} {'s':>8} {'tok/s':>9} {'/HF n=' + str(anchor_ns[0]):>9} "
    print(head + f"{'/HF n=' + str(anchor_ns[1]):>10} {'/goal':>7}")

    def row(label: str, tokens: int, seconds: float, rate: float) -> None:
        print(
            f"{label:<44} {tokens:>8} {seconds:>8.2f} {rate:>9.1f} {rate / lo:>9.1f} {rate / hi:>10.2f} {rate / GOAL:>7.2f}"
        )

    for n, m in f["hf_generate"].items():
        row(f"HF generate n={n}", m["tokens"], m["seconds"], m["tok_s"])
    for label, by_n in f["local"].items():
        for n, m in by_n.items():
            row(f"LocalModel.sample n={n}, {label}", m["tokens"], m["seconds"], m["tok_s"])
    s = f["sweep"]
    note = f"{s['trials']}/{s['trials_planned']} trials" + (", stopped at timeout" if s["stopped_at_timeout"] else "")
    row(f"bench sweep, wall ({note})", s["tokens"], s["wall_s"], s["tok_s_wall"])
    row("bench sweep, trials' window", s["tokens"], s["window_s"], s["tok_s_window"])
    verdict = "reached" if s["tok_s_window"] >= GOAL else "not reached"
    print(f"goal {GOAL:,.0f} tok/s aggregate across the sweep: {verdict}; total {f['total_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
