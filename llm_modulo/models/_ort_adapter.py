"""A trained LoRA adapter on the onnxruntime engine: merged into the base once, exported once.

Model spec ``<adapter>@ort`` (int8) or ``<adapter>@ort:<int4|int8|fp32>``, e.g.
``smollm2-135m-planner@ort:fp32``. The adapter is folded into the base weights by
:func:`~llm_modulo.models.adapters.merged_folder` (peft's ``merge_and_unload``, a transformers
folder under ``<cache root>/adapters/.merged``, the same one the transformers reference loads);
that folder is exported by the model builder into ``<cache root>/models/<adapter>-<digest>-onnx-<precision>``
under the same file lock as the embedded model's export. The weights' digest is in the name, so a
retrained adapter is exported anew. Later loads check the folder only: no torch or peft import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.models import smollm2
from llm_modulo.models._ort_export import DEFAULT_PRECISION, PRECISIONS, RECIPES, ensure_onnx, is_exported
from llm_modulo.models.adapters import adapter_digest, merged_folder, resolve_adapter
from llm_modulo.models.ort_local import OrtModel

SUFFIX = "@ort"


def split_spec(spec: str) -> tuple[str, str] | None:
    """(adapter spec, precision) of ``<adapter>@ort[:<precision>]``; None for any other spec."""
    head, sep, tail = spec.rpartition(SUFFIX)
    if not sep or not head or (tail and not tail.startswith(":")):
        return None
    return head, tail[1:] or DEFAULT_PRECISION


def adapter_spec(spec: str | None) -> str | None:
    """The adapter a spec names, without ``@ort[:precision]`` (what its prompt format is decided by)."""
    split = split_spec(spec) if spec else None
    return split[0] if split else spec


def adapter_onnx_dir(adapter: Path, precision: str = DEFAULT_PRECISION, cache_dir: Path | None = None) -> Path:
    """``<cache root>/models/<adapter>-<16 hex of its weights' sha256>-onnx-<recipe>``."""
    digest = (adapter_digest(adapter) or "")[:16]
    return smollm2.converted_dir(cache_dir).with_name(f"{adapter.name}-{digest}-onnx-{RECIPES[precision]}")


def ensure_adapter_onnx(adapter: Path, precision: str = DEFAULT_PRECISION, cache_dir: Path | None = None) -> Path:
    """The adapter's ONNX export: merged (once) and exported (once) on first use."""
    target = adapter_onnx_dir(adapter, precision, cache_dir)
    if is_exported(target):
        return target
    return ensure_onnx(precision, cache_dir, source=merged_folder(adapter), target=target)


class OrtAdapterModel(OrtModel):
    """:class:`OrtModel` on base + a LoRA adapter, merged."""

    def __init__(self, adapter: Path, precision: str = DEFAULT_PRECISION, **options: Any) -> None:
        super().__init__(precision, **options)
        self.adapter = adapter
        self.name = f"{adapter.name}-onnx-{precision}"

    def _export(self) -> Path:
        return ensure_adapter_onnx(self.adapter, self.precision, self.cache_dir)


def load_ort_adapter(spec: str, seed: int | None = None, device: str = "cpu") -> OrtAdapterModel:
    """The model for ``<adapter>@ort[:<precision>]`` (not loaded yet)."""
    split = split_spec(spec)
    if split is None:
        raise InputError(f"not an adapter on onnxruntime: {spec!r} (expected '<adapter>{SUFFIX}[:int4|int8|fp32]')")
    name, precision = split
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r} in {spec!r}; known: {', '.join(PRECISIONS)}")
    if device != "cpu":
        raise InputError(f"{spec!r} runs on the CPU only")
    adapter = resolve_adapter(name)
    if adapter is None:
        raise InputError(f"{spec!r}: no trained adapter {name!r} (a folder, or a name under the adapters roots)")
    return OrtAdapterModel(adapter, precision, seed=seed)


__all__ = [
    "SUFFIX",
    "OrtAdapterModel",
    "adapter_onnx_dir",
    "adapter_spec",
    "ensure_adapter_onnx",
    "load_ort_adapter",
    "split_spec",
]
