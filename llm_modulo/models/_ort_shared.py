"""A second ONNX graph for batched decoding from one shared prompt (:mod:`.ort_local`, issue 22).

The exported model's GroupQueryAttention reads one copy of the prompt's keys and values per
batch row, so at n=16 each step would read 16 copies of a 589-token cache. This graph is the same
one (same weights file) with the attention op's optional ``position_ids`` and ``attention_bias``
inputs wired to graph inputs, which lets the n rows run as *one* sequence of batch 1: a single
KV buffer holds the prompt once, then each step's new tokens (one a row, side by side); every
row's query sees the prompt and its own earlier tokens (bias 0) and nothing else (bias -max),
all at the row's own position (rotary). The op's causal mask hides only tokens the bias hides
too. Written once next to ``model.onnx`` as ``model-shared.onnx``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SHARED_FILE = "model-shared.onnx"


def ensure_shared(folder: Path) -> Path:
    """``folder/model-shared.onnx``, written from ``folder/model.onnx`` the first time (~1 s)."""
    target = folder / SHARED_FILE
    if target.is_file():
        return target
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    for node in model.graph.node:
        if node.op_type == "GroupQueryAttention":  # inputs 9 and 10: position_ids, attention_bias
            inputs = [*node.input, *[""] * max(0, 11 - len(node.input))]
            inputs[9:11] = ["position_ids", "attention_bias"]
            del node.input[:]
            node.input.extend(inputs)
    shape: list[str | int] = ["batch_size", "sequence_length"]
    model.graph.input.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, shape))
    bias_shape: list[str | int] = ["batch_size", 1, "sequence_length", "total_sequence_length"]
    model.graph.input.append(helper.make_tensor_value_info("attention_bias", TensorProto.FLOAT, bias_shape))
    fd, tmp = tempfile.mkstemp(prefix=f".{SHARED_FILE}.", dir=folder)
    os.close(fd)
    try:
        onnx.save(model, tmp)  # the weights stay in model.onnx.data, referenced by name
        os.chmod(tmp, 0o644)  # as readable as the export's files (mkstemp made it 0600)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


__all__ = ["SHARED_FILE", "ensure_shared"]
