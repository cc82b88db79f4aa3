"""Trained LoRA adapters as models: finding one by folder or name, reading its record, merging it.

An adapter folder (written by ``llm-modulo train``, see :mod:`llm_modulo.training.lora`) holds
``adapter_config.json`` and ``adapter_model.safetensors`` (peft's format), the tokenizer, and
``training.json`` (the base model, the settings, the prompt formats trained on). Named adapters
live under ``<cache root>/adapters/`` (the user's) or ``llm_modulo/adapters/`` (shipped).

This module is the models' side of adapters (a model spec that names one loads base + adapter,
merged once); training writes adapters and imports these helpers from here, never the reverse.
torch, transformers and peft are imported inside the functions only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from llm_modulo.errors import ModelLoadError

ADAPTER_CONFIG = "adapter_config.json"
TRAINING_FILE = "training.json"


def base_folder(base: str | Path = "default") -> Path:
    """The transformers folder of ``base``: ``"default"`` is the embedded SmolLM2 (converted once)."""
    if str(base) == "default":
        from llm_modulo.models import smollm2

        return smollm2.ensure_converted()
    path = Path(base).expanduser()
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"no model folder at {path} (config.json missing); base must be 'default' or a folder")
    return path


def adapters_root() -> Path:
    """``<cache root>/adapters``: where named adapters (``smollm2-135m-planner``) live."""
    from llm_modulo.models import smollm2

    return smollm2.default_cache_dir() / "adapters"


def packaged_adapters_root() -> Path:
    """``llm_modulo/adapters``: adapters shipped with the package (selectable by name for every user)."""
    return Path(__file__).resolve().parent.parent / "adapters"


def is_adapter(path: str | Path) -> bool:
    return (Path(path).expanduser() / ADAPTER_CONFIG).is_file()


def read_json(path: Path) -> Any:
    """The JSON in ``path``, None when there is no such file."""
    return json.loads(path.read_text()) if path.is_file() else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def adapter_digest(adapter: str | Path) -> str | None:
    """sha256 of an adapter folder's weights (None without them): what identifies a trained adapter."""
    weights = Path(adapter) / "adapter_model.safetensors"
    return sha256_file(weights) if weights.is_file() else None


def resolve_adapter(spec: str) -> Path | None:
    """The adapter folder a model spec names: a path, or a name under :func:`adapters_root` (the
    user's, first) or :func:`packaged_adapters_root` (shipped); else None."""
    path = Path(spec).expanduser()
    if is_adapter(path):
        return path.resolve()
    if "/" not in spec:
        for root in (adapters_root(), packaged_adapters_root()):
            if is_adapter(root / spec):
                return root / spec
    return None


def trained_prompt_formats(spec: str | None) -> tuple[str, ...]:
    """The prompt formats (``compact``, ``full``) the adapter a model spec names was trained on,
    from its ``training.json``; () for anything else (the embedded model, a server, a folder)."""
    folder = resolve_adapter(spec) if spec else None
    if folder is None:
        return ()
    try:
        info = read_json(folder / TRAINING_FILE)
    except (OSError, ValueError):  # unreadable: treated as no record, as for the embedded model
        return ()
    formats = info.get("prompt_formats") if isinstance(info, dict) else None
    return tuple(str(f) for f in formats) if isinstance(formats, list) else ()


def _torch_dtype(torch: Any, dtype: str, device: str) -> Any:
    if dtype == "auto":
        dtype = "float32" if device.startswith("cpu") else "bfloat16"
    return getattr(torch, dtype)


def load_adapter(
    adapter_dir: str | Path, device: str = "cpu", dtype: str = "auto", merge: bool = True
) -> tuple[Any, Any]:
    """(model, tokenizer): the base named in ``training.json`` (else the embedded model) with the
    adapter; ``merge`` folds it into the weights (a plain transformers model), else a peft model."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(adapter_dir).expanduser()
    if not is_adapter(folder):
        raise ModelLoadError(f"no LoRA adapter in {folder} ({ADAPTER_CONFIG} missing)")
    meta = read_json(folder / TRAINING_FILE) or {}
    base = base_folder(meta.get("base", "default"))
    base_model = AutoModelForCausalLM.from_pretrained(str(base), dtype=_torch_dtype(torch, dtype, device))
    tokenizer = AutoTokenizer.from_pretrained(str(folder if (folder / "tokenizer.json").is_file() else base))
    # Any: a peft model, or once merged a plain transformers model (peft reaches merge_and_unload
    # through nn.Module.__getattr__, typed Tensor | Module)
    model: Any = PeftModel.from_pretrained(base_model, str(folder))
    if merge:
        model = model.merge_and_unload()
    return model.to(device).eval(), tokenizer


def merge_to_folder(adapter_dir: str | Path, out: str | Path) -> Path:
    """Write base + adapter merged as a plain model folder (``LocalModel(out)`` loads it unchanged)."""
    import torch

    model, tokenizer = load_adapter(adapter_dir, dtype="float32")  # merge in float32, store bf16 like the base
    out = Path(out)
    model.to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def merged_folder(adapter: Path) -> Path:
    """``<adapter>/merged``: the base with the adapter folded in, written on first use and again
    whenever the adapter's weights change (a shipped adapter merges into the cache instead)."""
    digest = adapter_digest(adapter) or ""
    merged = adapter / "merged"
    if adapter.resolve().is_relative_to(packaged_adapters_root()) or not os.access(adapter, os.W_OK):
        merged = adapters_root() / ".merged" / f"{adapter.name}-{digest[:16]}"
        merged.parent.mkdir(parents=True, exist_ok=True)
    stamp = merged / "adapter.sha256"
    if (merged / "config.json").is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return merged
    # merge beside, then swap in: a retrained adapter is merged again, and concurrent workers never see half a folder
    tmp = Path(tempfile.mkdtemp(prefix=".merged-", dir=merged.parent))
    try:
        merge_to_folder(adapter, tmp)
        (tmp / "adapter.sha256").write_text(digest + "\n")
        if merged.exists():
            old = merged.parent / f".merged-old-{os.getpid()}"
            merged.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(merged)
    except OSError:
        if not (merged / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return merged


__all__ = [
    "ADAPTER_CONFIG",
    "TRAINING_FILE",
    "adapter_digest",
    "adapters_root",
    "base_folder",
    "is_adapter",
    "load_adapter",
    "merge_to_folder",
    "merged_folder",
    "packaged_adapters_root",
    "read_json",
    "resolve_adapter",
    "sha256_file",
    "trained_prompt_formats",
]
