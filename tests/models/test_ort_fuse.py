"""The int8 export's fusion of products that read the same input (``fuse_shared_input_products``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from llm_modulo.models._ort_export import fuse_shared_input_products  # noqa: E402


def _graph() -> object:
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((8, 5)).astype(np.float32), "gate.w"),
        numpy_helper.from_array(rng.standard_normal((8, 3)).astype(np.float32), "up.w"),
        numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "tied.w"),
        numpy_helper.from_array(rng.standard_normal((5, 8)).astype(np.float32), "down.w"),
        numpy_helper.from_array(np.array([1, 0], np.int64), "ids"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "gate.w"], ["gate"], name="gate"),
        helper.make_node("MatMul", ["x", "up.w"], ["up"], name="up"),
        helper.make_node("MatMul", ["x", "tied.w"], ["tied"], name="tied"),  # its weight is read twice
        helper.make_node("Gather", ["tied.w", "ids"], ["rows"], name="embed"),
        helper.make_node("Relu", ["gate"], ["act"]),
        helper.make_node("MatMul", ["act", "down.w"], ["down"], name="down"),  # alone on its input
    ]
    outputs = [("up", 3), ("tied", 4), ("down", 8)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", width]) for name, width in outputs]
        + [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [2, 4])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def _run(model: object, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
    return session.run(None, {"x": x})  # type: ignore[no-any-return]


def test_products_of_one_input_become_one_and_compute_the_same() -> None:
    model = _graph()
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    before = _run(model, x)
    assert fuse_shared_input_products(model) == 1
    onnx.checker.check_model(model)
    products = [n for n in model.graph.node if n.op_type == "MatMul"]  # type: ignore[attr-defined]
    # gate and up fused; the tied weight's product and the lone down product untouched
    assert sorted(n.name for n in products) == ["down", "gate/fused2", "tied"]
    fused = next(n for n in products if n.name == "gate/fused2")
    weight = next(i for i in model.graph.initializer if i.name == fused.input[1])  # type: ignore[attr-defined]
    assert list(weight.dims) == [8, 8]
    for old, new in zip(before, _run(model, x), strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-5)
    assert fuse_shared_input_products(model) == 0  # nothing left to fuse


def test_a_new_recipe_removes_the_earlier_recipes_exports_of_the_same_model(tmp_path: Path) -> None:
    from llm_modulo.models._ort_export import drop_superseded

    names = ["m-onnx-int8", "m-onnx-int8-sq", "m-onnx-int8-sqf", "m-onnx-int4", "other-onnx-int8-sq"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.onnx").write_text("x")
    dropped = drop_superseded(tmp_path / "m-onnx-int8-sqf", "int8")
    assert sorted(p.name for p in dropped) == ["m-onnx-int8", "m-onnx-int8-sq"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-onnx-int4", "m-onnx-int8-sqf", "other-onnx-int8-sq"]
    assert drop_superseded(tmp_path / "m-onnx-int4", "int4") == []


@pytest.mark.parametrize(("bits", "symmetric", "tolerance"), [(8, True, 0.05), (4, False, 0.5), (4, True, 0.5)])
def test_weight_only_quantizes_the_named_products_only(bits: int, symmetric: bool, tolerance: float) -> None:
    from llm_modulo.models._ort_export import weight_only

    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(rng.standard_normal((64, 32)).astype(np.float32), f"{n}.w") for n in "ab"]
    nodes = [helper.make_node("MatMul", ["x", f"{n}.w"], [n], name=f"/{n}/MatMul") for n in "ab"]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", 32]) for n in "ab"],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    x = rng.standard_normal((3, 64)).astype(np.float32)
    before = _run(model, x)
    quantized = weight_only(model, ["/b/MatMul"], bits=bits, block=32, symmetric=symmetric)
    kinds = {n.name: n.op_type for n in quantized.graph.node}
    assert kinds["/a/MatMul"] == "MatMul" and list(kinds.values()).count("MatMulNBits") == 1
    nbits = next(n for n in quantized.graph.node if n.op_type == "MatMulNBits")
    assert {a.name: a.i for a in nbits.attribute}["bits"] == bits
    assert (len(nbits.input) > 3 and nbits.input[3] != "") != symmetric  # zero points only when asymmetric
    after = _run(quantized, x)
    np.testing.assert_array_equal(after[0], before[0])  # the other product untouched
    assert 0 < np.abs(after[1] - before[1]).max() < tolerance * np.abs(before[1]).max()
