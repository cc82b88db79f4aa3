"""onnxruntime's int8 matrix-product kernels on SmolLM2-135M's shapes: the anchor is MatMulNBits with
8-bit weights (blocks of 32, accuracy level 4: what the model builder's int8 export uses); beside it
DynamicQuantizeMatMul (int8 weights per output channel, the input quantized per tensor at run time,
MLAS's int8 GEMM: what the int8 export uses for every product but down_proj) and a plain fp32 MatMul.

    python benchmarks/bench_int8_kernels.py            # rows 1 and 16, 2 threads

One single-op graph per kernel and shape, random weights (the timing does not depend on them),
weights small enough to stay in cache (so this is the kernels' compute, not memory bandwidth: the
whole model's weights do not fit). Median of 5 timings of ``--reps`` runs each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

# (name, K, N): one decoder layer's products and the output layer
SHAPES = [("qkv", 576, 960), ("o", 576, 576), ("gate/up", 576, 1536), ("down", 1536, 576), ("lm_head", 576, 49152)]


def session(kind: str, k: int, n: int, threads: int) -> Any:
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if kind == "MatMulNBits int8":
        blocks = k // 32
        weights = numpy_helper.from_array(rng.integers(0, 255, (n, blocks, 32), dtype=np.uint8), "W")
        scales = numpy_helper.from_array((rng.random(n * blocks) * 0.01).astype(np.float32), "S")
        node = helper.make_node(
            "MatMulNBits",
            ["A", "W", "S"],
            ["Y"],
            domain="com.microsoft",
            K=k,
            N=n,
            bits=8,
            block_size=32,
            accuracy_level=4,
        )
        inits = [weights, scales]
    elif kind == "DynamicQuantizeMatMul":
        weights = numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "W")
        scales = numpy_helper.from_array((rng.random(n) * 0.01).astype(np.float32), "S")
        zeros = numpy_helper.from_array(np.zeros(n, np.int8), "Z")
        node = helper.make_node("DynamicQuantizeMatMul", ["A", "W", "S", "Z"], ["Y"], domain="com.microsoft")
        inits = [weights, scales, zeros]
    else:
        node = helper.make_node("MatMul", ["A", "W"], ["Y"])
        inits = [numpy_helper.from_array((rng.random((k, n)) - 0.5).astype(np.float32), "W")]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", n])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 9
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def seconds(sess: Any, rows: int, k: int, reps: int) -> float:
    import numpy as np

    a = np.random.default_rng(1).random((rows, k)).astype(np.float32)
    for _ in range(5):
        sess.run(None, {"A": a})
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(reps):
            sess.run(None, {"A": a})
        times.append((time.perf_counter() - started) / reps)
    return sorted(times)[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="1,16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=100)
    args = ap.parse_args(argv)
    rows = [int(r) for r in args.rows.split(",")]
    kinds = ["MatMulNBits int8", "DynamicQuantizeMatMul", "fp32 MatMul"]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, {args.threads} threads"
    )
    print(f"{'product':8} {'K x N':>11} {'rows':>4}  " + "  ".join(f"{k:>24}" for k in kinds) + "   anchor / DQMM")
    for name, k, n in SHAPES:
        sessions = [session(kind, k, n, args.threads) for kind in kinds]
        for m in rows:
            reps = max(5, args.reps // (20 if n > 10000 else 1))
            times = [seconds(s, m, k, reps) for s in sessions]
            cells = "  ".join(f"{t * 1e6:9.0f} us {m * k * n / t / 1e9:6.1f} GMAC/s" for t in times)
            print(f"{name:8} {f'{k}x{n}':>11} {m:4}  {cells}   {times[0] / times[1]:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
