"""Mixed-precision onnxruntime exports of the embedded model or a trained adapter, for comparison.

    python benchmarks/export_mixed.py /tmp/mixed/lm4 lm_head=q4a:32 down_proj=q8:256
    python benchmarks/export_mixed.py /tmp/mixed/all4 --adapter smollm2-135m-planner \\
        qkv=q4a:32 o_proj=q4a:32 gate_proj=q4a:32 down_proj=q4a:32 lm_head=q4a:32

The engine's int8 recipe (``llm_modulo.models._ort_export``) up to the quantization: activation
scales folded into the weights (``--no-smooth`` to skip), the builder's fp32 graph, gate and up made
one product. Then each ``NAME=KIND`` puts the matrix products whose node name contains NAME on
KIND; the others get the recipe's default, ``dq8`` (per-channel int8 weights, ``DynamicQuantizeMatMul``):

- ``q4:B`` / ``q4a:B``: MatMulNBits, 4-bit weights in blocks of B, symmetric / with zero points;
- ``q8:B``: MatMulNBits, 8-bit weights in blocks of B (the recipe's down_proj is ``q8:256``);
- ``hqq:B``: 4-bit weights fitted by HQQ (half-quadratic, no calibration data).

The folder loads like an export (``model.onnx`` and the engine's ``model-rows.onnx``): time it with
``bench_step.py`` against the engine's own export, and compare its tokens with ``precision_agreement.py``'s
method. Node names: ``qkv_proj``, ``o_proj``, ``gate_proj`` (gate and up, fused), ``down_proj``, ``lm_head``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

KINDS = ("dq8", "q4", "q4a", "q8", "hqq")


def parse(specs: list[str]) -> dict[str, tuple[str, int]]:
    """{node-name part: (kind, block)} from NAME=KIND[:B] items (ValueError on a bad one)."""
    chosen = {}
    for spec in specs:
        name, sep, how = spec.partition("=")
        kind, _, block = how.partition(":")
        if not sep or not name or kind not in KINDS or (block and not block.isdigit()):
            raise ValueError(f"bad item {spec!r}: NAME=KIND[:BLOCK], KIND one of {', '.join(KINDS)}")
        chosen[name] = (kind, int(block or 32))
    return chosen


def quantize_nodes(model: Any, names: list[str], kind: str, block: int) -> Any:
    """``model`` with the MatMuls named ``names`` as MatMulNBits of ``kind``; the others untouched."""
    if kind != "hqq":
        from llm_modulo.models._ort_export import weight_only

        return weight_only(model, names, bits=8 if kind == "q8" else 4, block=block, symmetric=kind != "q4a")
    from onnxruntime.quantization.matmul_nbits_quantizer import HQQWeightOnlyQuantConfig, MatMulNBitsQuantizer

    others = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name not in names]
    config = HQQWeightOnlyQuantConfig(block_size=block, bits=4)
    quantizer = MatMulNBitsQuantizer(model, nodes_to_exclude=others, algo_config=config)
    quantizer.process()
    return quantizer.model.model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="the new export's folder (replaced if it exists)")
    ap.add_argument("specs", nargs="*", help="NAME=KIND[:BLOCK] items")
    ap.add_argument("--adapter", help="a trained adapter's name or folder (default: the base model)")
    ap.add_argument("--no-smooth", action="store_true", help="skip folding activation scales into the weights")
    args = ap.parse_intermixed_args(argv)
    try:
        chosen = parse(args.specs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from llm_modulo.models import smollm2
    from llm_modulo.models._ort_export import fused_fp32, quantize_rest
    from llm_modulo.models._ort_shared import ensure_shared
    from llm_modulo.models.adapters import merged_folder, resolve_adapter

    if args.adapter:
        adapter = resolve_adapter(args.adapter)
        if adapter is None:
            print(f"error: no trained adapter {args.adapter!r}", file=sys.stderr)
            return 2
        source = merged_folder(adapter)
    else:
        source = smollm2.ensure_converted()
    with tempfile.TemporaryDirectory(prefix="export-mixed-") as tmp:
        model, fp32 = fused_fp32(source, Path(tmp), smooth=not args.no_smooth)
        products = [n.name for n in model.graph.node if n.op_type == "MatMul"]
        for kind, block in sorted({how for how in chosen.values() if how[0] != "dq8"}):
            names = [p for p in products if any(part in p for part, how in chosen.items() if how == (kind, block))]
            model = quantize_nodes(model, names, kind, block)
            print(f"{kind}:{block}: {len(names)} products")
        shutil.rmtree(args.out, ignore_errors=True)
        quantize_rest(model, fp32, args.out, Path(tmp))
    ensure_shared(args.out)
    size = sum(f.stat().st_size for f in args.out.iterdir()) / 2**20
    print(f"{args.out}: {size:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
