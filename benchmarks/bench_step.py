"""One decode step of onnxruntime exports side by side: the anchor is the first folder.

    python benchmarks/bench_step.py ~/.cache/llm-modulo/models/smollm2-135m-instruct-onnx-int8-sq \\
        ~/.cache/llm-modulo/models/smollm2-135m-instruct-onnx-int8-sqf --rows 1,16

Each folder's run graph (``model-rows.onnx``, written if missing) gets one session; after a 589-token
prefill (random tokens: the timing does not depend on them), ``--steps`` steps of ``rows`` new tokens
each run on every session in turn, the order flipped every step, so a machine that speeds up or slows
down does so for all of them alike. Pool threads sleep between runs (``--spin`` to let them spin: with
several sessions in one process their spinning threads compete, so only use it with one folder).
Printed: the median and mean milliseconds a step and the ratio of medians to the anchor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

PROMPT = 589


class Folder:
    def __init__(self, folder: Path, rows: int, steps: int, threads: int, spin: bool) -> None:
        import numpy as np
        import onnxruntime as ort

        from llm_modulo.models._ort_rows import bind_in_place
        from llm_modulo.models._ort_shared import ensure_shared

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.session = ort.InferenceSession(str(ensure_shared(folder)), options, providers=["CPUExecutionProvider"])
        decoder = json.loads((folder / "genai_config.json").read_text())["model"]["decoder"]
        heads, size = decoder["num_key_value_heads"], decoder["head_size"]
        length = PROMPT + rows * steps + 8
        self.binding = self.session.io_binding()
        caches = sum(i.name.startswith("past_key_values.") for i in self.session.get_inputs())
        self.kv = [np.zeros((1, heads, length, size), np.float32) for _ in range(caches)]
        bind_in_place(self.binding, self.kv)  # as the engine binds them
        self.times: list[float] = []

    def run(self, ids: Any, start: int, timed: bool) -> None:
        import numpy as np

        n, total = ids.shape[1], start + ids.shape[1]
        b = self.binding
        b.bind_cpu_input("input_ids", ids)
        b.bind_cpu_input("attention_mask", np.ones((1, total), np.int64))
        b.bind_cpu_input("position_ids", np.arange(start, total, dtype=np.int64)[None])
        b.bind_cpu_input("attention_bias", np.zeros((1, 1, n, total), np.float32))
        b.bind_cpu_input("logits_positions", np.arange(n if timed else 1, dtype=np.int64) + (0 if timed else n - 1))
        b.bind_output("logits")
        started = time.perf_counter()
        self.session.run_with_iobinding(b)
        if timed:
            self.times.append(time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", type=Path, nargs="+", help="export folders (the first is the anchor)")
    ap.add_argument("--rows", default="1,16", help="new tokens a step, comma-separated cases")
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--spin", action="store_true")
    args = ap.parse_args(argv)
    missing = [f for f in args.folders if not (f / "model.onnx").is_file()]
    if missing:
        print(f"error: no model.onnx in {missing[0]}", file=sys.stderr)
        return 2
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(0)
    for rows in (int(r) for r in args.rows.split(",")):
        runs = [Folder(f, rows, args.steps, args.threads, args.spin) for f in args.folders]
        for _ in range(args.repeats):
            prompt = rng.integers(0, 49000, (1, PROMPT))
            for r in runs:
                r.run(prompt, 0, timed=False)
            for step in range(args.steps):
                ids = rng.integers(0, 49000, (1, rows))
                for r in runs if step % 2 == 0 else runs[::-1]:
                    r.run(ids, PROMPT + step * rows, timed=True)
        anchor = float(np.median(runs[0].times))
        for folder, r in zip(args.folders, runs, strict=True):
            median = float(np.median(r.times))
            print(
                f"{rows:3d} rows  {folder.name:48s} {median * 1e3:7.2f} ms median  "
                f"{float(np.mean(r.times)) * 1e3:7.2f} mean  {median / anchor:5.3f}x the anchor"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
