"""A second ONNX graph for batched decoding from one shared prompt (:mod:`.ort_local`, issue 22).

The exported model's GroupQueryAttention needs one copy of the prompt's keys and values per
row, so at n=16 each step reads 16 copies of a 589-token cache. This rewrite of the same graph
(same weights file) replaces each attention node by plain ops that attend every row's queries to
*one* copy of the prompt's keys and values (inputs ``prefix.<i>.key_t`` [kv heads, head size,
P] and ``prefix.<i>.value`` [kv heads, P, head size]) and to the row's own generated tokens
(``past_key_values.<i>.*`` [n, kv heads, t, head size] in, ``present.<i>.*`` with one more
position out), one softmax over both. Rotary embedding is the contrib ``RotaryEmbedding`` op at
``position_ids``. Written once next to ``model.onnx`` as ``model-shared.onnx``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SHARED_FILE = "model-shared.onnx"


def ensure_shared(folder: Path, heads: int, kv_heads: int, head_size: int) -> Path:
    """``folder/model-shared.onnx``, written from ``folder/model.onnx`` the first time (~1 s)."""
    target = folder / SHARED_FILE
    if target.is_file():
        return target
    import onnx

    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    _rewrite(model.graph, heads, kv_heads, head_size)
    fd, tmp = tempfile.mkstemp(prefix=f".{SHARED_FILE}.", dir=folder)
    os.close(fd)
    try:
        onnx.save(model, tmp)  # the weights stay in model.onnx.data, referenced by name
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def _rewrite(graph: Any, heads: int, kv_heads: int, head_size: int) -> None:
    from onnx import TensorProto, helper

    group, hidden, kv_hidden = heads // kv_heads, heads * head_size, kv_heads * head_size
    nodes: list[Any] = []
    consts: dict[str, list[int]] = {}

    def const(values: list[int]) -> str:
        name = "/shared/const/" + "_".join(str(v) for v in values)
        if name not in consts:
            consts[name] = values
            nodes.append(
                helper.make_node(
                    "Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values)
                )
            )
        return name

    def op(kind: str, inputs: list[str], name: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [name], name=name, domain=domain, **attrs))
        return name

    # P, the shared prefix's length, from layer 0's keys: [kv, head, P]
    shape_p = op("Shape", ["prefix.0.key_t"], "/shared/P_shape")
    p_len = op("Slice", [shape_p, const([2]), const([3])], "/shared/P")
    scores_shape = op("Concat", [const([kv_heads, -1, group]), p_len], "/shared/scores_shape", axis=0)
    big = 2**62
    layer = 0
    for node in graph.node:
        if node.op_type != "GroupQueryAttention":
            if "/attn_mask_reformat/" not in node.name:
                nodes.append(node)
            continue
        i, p = layer, f"/shared/layers.{layer}"
        layer += 1
        packed, cos, sin = node.input[0], node.input[7], node.input[8]
        q_raw, k_raw, v_raw = f"{p}/q", f"{p}/k", f"{p}/v"
        nodes.append(
            helper.make_node(
                "Split",
                [packed, const([hidden, kv_hidden, kv_hidden])],
                [q_raw, k_raw, v_raw],
                name=f"{p}/split",
                axis=2,
            )
        )
        ms = "com.microsoft"
        q = op("RotaryEmbedding", [q_raw, "position_ids", cos, sin], f"{p}/q_rope", ms, num_heads=heads, interleaved=0)
        k = op(
            "RotaryEmbedding", [k_raw, "position_ids", cos, sin], f"{p}/k_rope", ms, num_heads=kv_heads, interleaved=0
        )
        q4 = op("Reshape", [q, const([-1, kv_heads, group, head_size])], f"{p}/q4")  # [n, kv, group, d]
        k_new = op("Reshape", [k, const([-1, kv_heads, 1, head_size])], f"{p}/k_new")
        v_new = op("Reshape", [v_raw, const([-1, kv_heads, 1, head_size])], f"{p}/v_new")
        own_k = op("Concat", [f"past_key_values.{i}.key", k_new], f"present.{i}.key", axis=2)
        own_v = op("Concat", [f"past_key_values.{i}.value", v_new], f"present.{i}.value", axis=2)
        scale = helper.get_attribute_value(next(a for a in node.attribute if a.name == "scale")) or head_size**-0.5
        scale_name = f"{p}/scale"
        nodes.append(
            helper.make_node(
                "Constant", [], [scale_name], value=helper.make_tensor(scale_name, TensorProto.FLOAT, [], [scale])
            )
        )
        qs = op("Mul", [q4, scale_name], f"{p}/q_scaled")
        # the prompt: all rows' queries against one copy, per kv head [kv, n*group, P]
        qg = op("Transpose", [qs], f"{p}/q_kv_major", perm=[1, 0, 2, 3])  # [kv, n, group, d]
        qg3 = op("Reshape", [qg, const([kv_heads, -1, head_size])], f"{p}/q_flat")
        s_p = op("MatMul", [qg3, f"prefix.{i}.key_t"], f"{p}/scores_prefix")
        s_p4 = op("Reshape", [s_p, scores_shape], f"{p}/scores_prefix4")  # [kv, n, group, P]
        # the row's own tokens [n, kv, group, t+1] -> [kv, n, group, t+1]
        own_kt = op("Transpose", [own_k], f"{p}/own_kt", perm=[0, 1, 3, 2])
        s_o = op("MatMul", [qs, own_kt], f"{p}/scores_own")
        s_o4 = op("Transpose", [s_o], f"{p}/scores_own_kv_major", perm=[1, 0, 2, 3])
        scores = op("Concat", [s_p4, s_o4], f"{p}/scores", axis=3)
        probs = op("Softmax", [scores], f"{p}/probs", axis=-1)
        pr_p = op("Slice", [probs, const([0]), p_len, const([3])], f"{p}/probs_prefix")
        pr_o = op("Slice", [probs, p_len, const([big]), const([3])], f"{p}/probs_own")
        pr_p3 = op("Reshape", [pr_p, op("Shape", [s_p], f"{p}/s_p_shape")], f"{p}/probs_prefix3")
        out_p = op("MatMul", [pr_p3, f"prefix.{i}.value"], f"{p}/out_prefix")  # [kv, n*group, d]
        out_p4 = op("Reshape", [out_p, const([kv_heads, -1, group, head_size])], f"{p}/out_prefix4")
        out_o = op("MatMul", [pr_o, op("Transpose", [own_v], f"{p}/own_v_kv_major", perm=[1, 0, 2, 3])], f"{p}/out_own")
        # out_o: [kv, n, group, t+1] @ [kv, n, t+1, d] -> [kv, n, group, d]
        both = op("Add", [out_p4, out_o], f"{p}/out")
        rows = op("Transpose", [both], f"{p}/out_rows", perm=[1, 0, 2, 3])  # [n, kv, group, d]
        nodes.append(helper.make_node("Reshape", [rows, const([-1, 1, hidden])], [node.output[0]], name=f"{p}/merge"))

    del graph.node[:]
    graph.node.extend(nodes)
    inputs = [x for x in graph.input if x.name != "attention_mask"]
    del graph.input[:]
    graph.input.extend(inputs)
    graph.input.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", 1]))
    for i in range(layer):
        graph.input.append(
            helper.make_tensor_value_info(f"prefix.{i}.key_t", TensorProto.FLOAT, [kv_heads, head_size, "prefix"])
        )
        graph.input.append(
            helper.make_tensor_value_info(f"prefix.{i}.value", TensorProto.FLOAT, [kv_heads, "prefix", head_size])
        )


__all__ = ["SHARED_FILE", "ensure_shared"]
