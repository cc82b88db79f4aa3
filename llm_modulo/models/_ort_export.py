"""The onnxruntime engine's model files (:mod:`.ort_local`): exported once per precision.

- ``int4``: ``onnxruntime_genai``'s model builder, MatMulNBits with 4-bit weights (blocks of 32).
- ``fp32``: the builder's fp32 graph (the transformers reference's numbers).
- ``int8``: int8 weights where the CPU's int8 units run fastest. The builder's fp32 graph, with
  activation scales folded into the weights first (:mod:`._ort_smooth`) and the products that read
  the same input made one (gate and up: one product and a split, fewer and larger runs), then every
  matrix product but down_proj quantized by onnxruntime's dynamic quantization (int8 weights per
  output channel, the input quantized per tensor at run time: ``DynamicQuantizeMatMul``, MLAS's
  VNNI GEMM, 2-3x the throughput of MatMulNBits at 16 rows) and down_proj by MatMulNBits with 8-bit
  weights, whose input is quantized per block of 256 (the SiLU-gated product has outliers that one
  scale per tensor loses). Measured against fp32 in ``docs/results/decode-engines.md``.

Every export runs in a fresh temporary folder renamed into place under a file lock, so a killed or
concurrent build never leaves a half-written model. The folder names carry a recipe tag
(``RECIPES``), so a changed recipe is exported anew instead of reusing an old cache.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError, ModelLoadError
from llm_modulo.models import smollm2

log = logging.getLogger(__name__)

PRECISIONS = ("int4", "int8", "fp32")
# int8: the precision whose solved counts stay inside the reference's (int4 loses a trained adapter's plans)
DEFAULT_PRECISION = "int8"
# the folder suffix of each precision's current recipe (a new tag: exported anew)
RECIPES = {"int4": "int4", "int8": "int8-sqf", "fp32": "fp32"}
# earlier recipes' tags, whose folders a new export replaces (each holds the model's weights again)
SUPERSEDED = {"int8": ("int8", "int8-sq")}
REQUIRED = ("model.onnx", "genai_config.json", "tokenizer.json", "chat_template.jinja")
INSTALL_HINT = "install it with: pip install 'llm-modulo[ort]'"
_NOT_WEIGHTS = ("model.onnx", "model.onnx.data")
# down_proj's input blocks: 256 ran 4-6% faster a step than 32 and kept the planner's plans as close
# to fp32's (docs/results/decode-engines.md, "One product for gate and up")
DOWN_BLOCK = 256


def engine_identity(precision: str = DEFAULT_PRECISION) -> str:
    """What tells an onnxruntime export's results apart in a store: ``onnxruntime:<recipe>``."""
    return f"onnxruntime:{RECIPES[precision]}"


def onnx_dir(precision: str = DEFAULT_PRECISION, cache_dir: Path | None = None) -> Path:
    """``<cache root>/models/smollm2-135m-instruct-onnx-<recipe>``."""
    return smollm2.converted_dir(cache_dir).with_name(f"{smollm2.NAME}-onnx-{RECIPES[precision]}")


def is_exported(folder: Path) -> bool:
    return all((folder / f).is_file() for f in REQUIRED)


def ensure_onnx(
    precision: str = DEFAULT_PRECISION,
    cache_dir: Path | None = None,
    source: Path | None = None,
    target: Path | None = None,
) -> Path:
    """The ONNX export of the embedded model (or of the transformers folder ``source``, into ``target``),
    built the first time (~20 s) and renamed into place."""
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    target = target or onnx_dir(precision, cache_dir)
    if is_exported(target):
        return target
    source = source or smollm2.ensure_converted(cache_dir)
    with smollm2._file_lock(target.parent / f".{target.name}.lock"):
        if is_exported(target):
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            log.info("exporting %s to ONNX (%s) once (about 20 s), into %s", source.name, precision, target)
            started = time.perf_counter()
            out = tmp / "model"
            if precision == "int8":
                _export_int8(source, out, tmp)
            else:
                _build(source, out, precision, tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(out, target)
            log.info("exported %s to ONNX in %.1f s", source.name, time.perf_counter() - started)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    drop_superseded(target, precision)
    return target


def drop_superseded(target: Path, precision: str) -> list[Path]:
    """Remove the exports an earlier recipe of ``precision`` left beside ``target`` (same model)."""
    stem, sep, _ = target.name.rpartition("-onnx-")
    dropped = []
    for tag in SUPERSEDED.get(precision, ()):
        old = target.with_name(f"{stem}{sep}{tag}")
        if sep and old != target and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
            log.info("removed %s (an earlier %s recipe's export)", old, precision)
            dropped.append(old)
    return dropped


def _build(source: Path, out: Path, precision: str, work: Path) -> None:
    """The model builder in a subprocess (it holds gigabytes it never frees)."""
    cmd = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(out)]
    cmd += ["-p", precision, "-e", "cpu", "-c", str(work / ".hf")]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - our own argv
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelLoadError(
            f"the ONNX export failed ({INSTALL_HINT}; --model smollm2-ref runs the model on transformers): {tail[0]}"
        )


def _export_int8(source: Path, out: Path, work: Path) -> None:
    """Scales folded, fp32 graph built, then quantized (the module's docstring)."""
    model, fp32 = fused_fp32(source, work)
    down = [n.name for n in model.graph.node if n.op_type == "MatMul" and "down_proj" in n.name]
    quantize_rest(weight_only(model, down, bits=8, block=DOWN_BLOCK), fp32, out, work)


def fused_fp32(source: Path, work: Path, smooth: bool = True) -> tuple[Any, Path]:
    """(the builder's fp32 graph of the transformers folder ``source``, loaded, with the products that
    read the same input fused; the builder's folder, under ``work``); activation scales folded into
    the weights first unless not ``smooth``."""
    try:
        import onnx

        from llm_modulo.models._ort_smooth import smooth_folder
    except ImportError as exc:
        raise ModelLoadError(f"the int8 export needs {exc.name}; {INSTALL_HINT}") from exc
    fp32 = work / "fp32"
    _build(smooth_folder(source, work / "smoothed") if smooth else source, fp32, "fp32", work)
    model = onnx.load(str(fp32 / "model.onnx"))
    fuse_shared_input_products(model)
    return model, fp32


def quantize_rest(model: Any, fp32: Path, out: Path, work: Path) -> None:
    """Write ``out``: ``model`` with its remaining MatMuls quantized per output channel to int8
    (``DynamicQuantizeMatMul``), weights in ``model.onnx.data``, and the builder's other files from ``fp32``."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        from llm_modulo.models._ort_quantize import vectorized_per_channel
    except ImportError as exc:
        raise ModelLoadError(f"the int8 export needs {exc.name}; {INSTALL_HINT}") from exc
    staged = work / "staged.onnx"
    onnx.save(model, str(staged))
    out.mkdir(parents=True)
    quiet = _Drop(
        "pre-processing before quantization"
    )  # its chatter and its advice for image models, on the root logger
    logging.getLogger().addFilter(quiet)
    try:
        with vectorized_per_channel():
            quantize_dynamic(
                staged,
                out / "model.onnx",
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                extra_options={"MatMulConstBOnly": True},
                use_external_data_format=True,  # model.onnx.data: memory-mapped at load, shared by model-rows.onnx
            )
    finally:
        logging.getLogger().removeFilter(quiet)
    (out / "model.onnx.data").chmod(0o644)  # as readable as the builder's files
    for f in fp32.iterdir():
        if f.name not in _NOT_WEIGHTS:
            shutil.copy(f, out / f.name)


def weight_only(model: Any, names: list[str], bits: int, block: int, symmetric: bool = True) -> Any:
    """``model`` with the MatMuls named ``names`` as MatMulNBits (``bits``-bit weights in blocks of
    ``block``, with zero points unless ``symmetric``; inputs quantized to int8 per block at run time,
    accuracy level 4); every other product untouched."""
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    others = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name not in names]
    config = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=symmetric, accuracy_level=4, bits=bits)
    quantizer = MatMulNBitsQuantizer(
        model,
        bits=bits,
        block_size=block,
        is_symmetric=symmetric,
        accuracy_level=4,
        nodes_to_exclude=others,
        algo_config=config,
    )
    quantizer.process()
    return quantizer.model.model


def fuse_shared_input_products(model: Any) -> int:
    """Make the MatMuls that read the same input with constant 2-D weights one MatMul over the
    weights side by side, and a Split into the original outputs (in place). Per output channel
    the function is unchanged, and so is per-channel int8 quantization of it; the input is
    quantized once either way. Returns how many groups were fused."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    # weights only this product reads (a tied weight stays where it is)
    weights = {i.name: i for i in graph.initializer if len(i.dims) == 2 and readers.get(i.name) == 1}
    groups: dict[str, list[Any]] = {}
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights:
            groups.setdefault(node.input[0], []).append(node)
    fused = 0
    for source, nodes in groups.items():
        if len(nodes) < 2:
            continue
        arrays = [numpy_helper.to_array(weights[n.input[1]]) for n in nodes]
        if len({a.shape[0] for a in arrays}) != 1:
            continue
        name = f"{nodes[0].name}/fused{len(nodes)}"
        graph.initializer.append(numpy_helper.from_array(np.concatenate(arrays, axis=1), f"{name}.weight"))
        graph.initializer.append(
            numpy_helper.from_array(np.array([a.shape[1] for a in arrays], np.int64), f"{name}.sizes")
        )
        product = helper.make_node("MatMul", [source, f"{name}.weight"], [f"{name}/output_0"], name=name)
        split = helper.make_node(
            "Split", [f"{name}/output_0", f"{name}.sizes"], [n.output[0] for n in nodes], axis=-1, name=f"{name}/Split"
        )
        at = min(list(graph.node).index(n) for n in nodes)
        for n in nodes:
            graph.node.remove(n)
            graph.initializer.remove(weights[n.input[1]])
        graph.node.insert(at, split)
        graph.node.insert(at, product)
        fused += 1
    return fused


class _Drop(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING or (
            record.levelno == logging.WARNING and self.text not in record.getMessage()
        )


__all__ = [
    "DEFAULT_PRECISION",
    "INSTALL_HINT",
    "PRECISIONS",
    "RECIPES",
    "REQUIRED",
    "drop_superseded",
    "engine_identity",
    "ensure_onnx",
    "fuse_shared_input_products",
    "fused_fp32",
    "is_exported",
    "onnx_dir",
    "quantize_rest",
    "weight_only",
]
