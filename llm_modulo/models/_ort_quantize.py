"""onnxruntime's per-channel int8 weight quantization, one array operation per weight.

``quantize_dynamic`` quantizes a weight's output channels one at a time in Python (187,392
channels in the embedded model, ~12 s of a ~30 s export). :func:`vectorized_per_channel` replaces
that one method, for the case the int8 export uses (int8, symmetric, full range, no overrides), with
the same arithmetic over the whole array: the same scales (float64 range over 254, stored as float32),
the same zero points (0), the same rounding (half to even) and clipping. Every other case goes to
onnxruntime's own method. The exported files are byte-identical either way (checked in
``tests/models/test_ort_quantize.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def _per_channel(
    original: Any,
    self: Any,
    weight_name: str,
    weight_qType: int,  # noqa: N803 - onnxruntime's parameter name
    channel_axis: int,
    reduce_range: bool = True,
    keep_float_weight: bool = False,
) -> tuple[str, str, str]:
    import numpy as np
    import onnx
    from onnxruntime.quantization.quant_utils import TENSOR_NAME_QUANT_SUFFIX, find_by_name, tensor_proto_to_array

    initializer = find_by_name(weight_name, self.model.initializer())
    plain = (
        initializer is not None
        and weight_qType == onnx.TensorProto.INT8
        and self.is_weight_symmetric(weight_qType)
        and not (self.reduce_range and reduce_range)
        and self.min_real_range is None
        and not keep_float_weight
        and not self.tensor_quant_overrides.get_per_channel_overrides(weight_name, default_val=None)
    )
    weights = tensor_proto_to_array(initializer) if plain else None
    if weights is None or weights.dtype != np.float32 or weights.ndim != 2:
        return original(self, weight_name, weight_qType, channel_axis, reduce_range, keep_float_weight)  # type: ignore[no-any-return]
    axis = channel_axis % 2
    other = 1 - axis
    absmax = np.maximum(np.abs(np.minimum(weights.min(other), 0)), np.abs(np.maximum(weights.max(other), 0)))
    wide = (absmax.astype(np.float64) - (-absmax).astype(np.float64)) / np.float64(254)
    scale = np.where(wide < np.finfo(np.float32).tiny, np.float32(1), wide.astype(np.float32)).astype(np.float32)
    quantized = np.clip((weights / np.expand_dims(scale, other)).round(), -128, 127).astype(np.int8)
    q_name, zp_name, scale_name = (
        weight_name + TENSOR_NAME_QUANT_SUFFIX,
        weight_name + "_zero_point",
        weight_name + "_scale",
    )
    count = [weights.shape[axis]]
    self.model.initializer_extend(
        [
            onnx.helper.make_tensor(scale_name, initializer.data_type, count, scale.tolist()),
            onnx.helper.make_tensor(zp_name, weight_qType, count, [0] * count[0]),
        ]
    )
    self.model.initializer_extend([onnx.numpy_helper.from_array(quantized, q_name)])
    return q_name, zp_name, scale_name


@contextlib.contextmanager
def vectorized_per_channel() -> Iterator[None]:
    """While open, ``quantize_dynamic``'s per-channel weights are computed as whole arrays."""
    from unittest import mock

    from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer

    original = ONNXQuantizer.quantize_weight_per_channel_impl

    def patched(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
        return _per_channel(original, self, *args, **kwargs)

    with mock.patch.object(ONNXQuantizer, "quantize_weight_per_channel_impl", patched):
        yield


__all__ = ["vectorized_per_channel"]
