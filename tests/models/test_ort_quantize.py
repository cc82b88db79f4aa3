"""The int8 export's vectorized per-channel quantization writes the same bytes as onnxruntime's own loop."""

from __future__ import annotations

from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
onnx = pytest.importorskip("onnx")
quantization = pytest.importorskip("onnxruntime.quantization")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from llm_modulo.models._ort_quantize import vectorized_per_channel  # noqa: E402


def _model(path: Path) -> Path:
    rng = np.random.default_rng(7)
    first = rng.normal(0, 0.05, (16, 24)).astype(np.float32)
    first[:, 3] = 0.0  # an all-zero channel: scale 1, as onnxruntime sets it
    first[:, 5] = 1e-40  # below float32's smallest normal: the same
    first[2, 7] = 3.0  # an outlier in one channel only
    first[:, 9] = np.float32(0.5) * 254 / 127  # values exactly halfway between grid points
    second = rng.normal(0, 1.0, (24, 8)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"], name="first"),
            helper.make_node("MatMul", ["h", "w2"], ["y"], name="second"),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
        [numpy_helper.from_array(first, "w1"), numpy_helper.from_array(second, "w2")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _quantize(source: Path, out: Path) -> bytes:
    quantization.quantize_dynamic(
        source,
        out,
        weight_type=quantization.QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )
    return out.read_bytes()


def test_vectorized_per_channel_weights_are_byte_identical_to_onnxruntimes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onnxruntime.quantization import base_quantizer

    source = _model(tmp_path / "tiny.onnx")
    reference = _quantize(source, tmp_path / "reference.onnx")

    def per_channel_loop(*args: object, **kwargs: object) -> None:
        raise AssertionError("onnxruntime's per-channel loop ran")

    monkeypatch.setattr(base_quantizer, "quantize_data", per_channel_loop)
    with vectorized_per_channel():
        ours = _quantize(source, tmp_path / "ours.onnx")
    assert ours == reference
    quantized = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "ours.onnx")).graph.initializer}
    assert quantized["w1_quantized"].dtype == np.int8 and quantized["w1_scale"][3] == 1.0


def test_other_settings_go_to_onnxruntimes_own_loop(tmp_path: Path) -> None:
    source = _model(tmp_path / "tiny.onnx")
    options = {"weight_type": quantization.QuantType.QInt8, "per_channel": True, "reduce_range": True}
    quantization.quantize_dynamic(source, tmp_path / "reference.onnx", **options)
    with vectorized_per_channel():
        quantization.quantize_dynamic(source, tmp_path / "ours.onnx", **options)
    assert (tmp_path / "ours.onnx").read_bytes() == (tmp_path / "reference.onnx").read_bytes()
