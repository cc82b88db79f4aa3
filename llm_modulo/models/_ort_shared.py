"""The graph the onnxruntime engine runs (:mod:`.ort_local`, issue 22): the exported model with three
inputs wired in, written once next to ``model.onnx`` as ``model-rows.onnx`` (same weights file).

- ``position_ids`` and ``attention_bias``, the GroupQueryAttention op's optional inputs: the n rows
  of a batched decode run as *one* sequence of batch 1 (the exported op reads one copy of the
  prompt's keys and values per batch row, so at n=16 each step would read 16 copies of a 589-token
  cache). A single KV buffer holds the prompt once, then each step's new tokens (one a row, side by
  side); every row's query sees the prompt and its own earlier tokens (bias 0) and nothing else
  (bias -max), all at the row's own position (rotary). The op's causal mask hides only tokens the
  bias hides too. A prefill or a one-row decode passes a zero bias: the plain causal mask.
- ``logits_positions``: the positions whose logits the run computes (the final hidden states are
  gathered before the output layer), so a prefill computes one row of logits, not one per prompt
  token (the output layer is 28M of the model's 135M weights).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SHARED_FILE = "model-rows.onnx"
_NORMS = (
    "SkipSimplifiedLayerNormalization",
    "SimplifiedLayerNormalization",
    "SkipLayerNormalization",
    "LayerNormalization",
)


def ensure_shared(folder: Path) -> Path:
    """``folder/model-rows.onnx``, written from ``folder/model.onnx`` the first time (~1 s)."""
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
    _gather_before_output_layer(model, helper)
    shape: list[str | int] = ["batch_size", "sequence_length"]
    model.graph.input.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, shape))
    bias_shape: list[str | int] = ["batch_size", 1, "sequence_length", "total_sequence_length"]
    model.graph.input.append(helper.make_tensor_value_info("attention_bias", TensorProto.FLOAT, bias_shape))
    model.graph.input.append(helper.make_tensor_value_info("logits_positions", TensorProto.INT64, ["logits_length"]))
    fd, tmp = tempfile.mkstemp(prefix=f".{SHARED_FILE}.", dir=folder)
    os.close(fd)
    try:
        onnx.save(model, tmp)  # the weights stay in model.onnx.data, referenced by name
        os.chmod(tmp, 0o644)  # as readable as the export's files (mkstemp made it 0600)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    (folder / "model-shared.onnx").unlink(missing_ok=True)  # this file's earlier name
    return target


def _gather_before_output_layer(model: Any, helper: Any) -> None:
    """Insert ``Gather(hidden, logits_positions, axis=1)`` between the final norm and the output
    layer: walking back from ``logits`` to the first normalization, whose output the layer reads."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    node = producer["logits"]
    while node.input and producer.get(node.input[0]) is not None and producer[node.input[0]].op_type not in _NORMS:
        node = producer[node.input[0]]
    hidden = node.input[0]
    if hidden not in producer:
        raise ValueError("no normalization before the output layer: not a decoder graph this engine knows")
    gathered = f"{hidden}_at_logits_positions"
    for consumer in graph.node:
        for i, name in enumerate(consumer.input):
            if name == hidden:
                consumer.input[i] = gathered
    gather = helper.make_node(
        "Gather", [hidden, "logits_positions"], [gathered], axis=1, name="/logits_positions/Gather"
    )
    graph.node.insert(list(graph.node).index(producer[hidden]) + 1, gather)


__all__ = ["SHARED_FILE", "ensure_shared"]
