"""Language-model backends: local (onnxruntime, transformers), OpenAI-compatible HTTP, scripted, uniform random."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

DEFAULT_MODEL = "smollm2-135m-instruct"
# the embedded model on transformers, whatever engine the default runs on: the reference
REFERENCE_MODEL = "smollm2-ref"
DEFAULT_ALIASES = (None, "", "default", DEFAULT_MODEL, "smollm2")
# the `ort` extra: what the engine imports to run and to export once (with torch and transformers)
_ORT_EXTRA = ("onnxruntime", "onnxruntime_genai", "onnx", "tokenizers", "jinja2", "numpy")


def default_engine(device: str = "cpu") -> str:
    """The engine the default model runs on: ``"onnxruntime"`` on the CPU where the ``ort`` extra is
    installed (int8; 0.9 s to the first token, 3-8x transformers' decoding on 2 cores:
    docs/results/decode-engines.md), else ``"transformers"`` (the reference, and the engine on a GPU)."""
    if device == "cpu" and all(importlib.util.find_spec(name) is not None for name in _ORT_EXTRA):
        return "onnxruntime"
    return "transformers"


def default_identity(device: str = "cpu") -> str | None:
    """What tells the default model's results apart in a store: its engine and recipe, None on transformers
    (so stores written before onnxruntime became the default engine keep their keys)."""
    if default_engine(device) != "onnxruntime":
        return None
    from llm_modulo.models._ort_export import engine_identity

    return engine_identity()


def load_model(spec: str | None = None, seed: int | None = None, device: str = "cpu") -> Any:
    """A language model from a spec string.

    - ``None``, ``"default"``, ``"smollm2"`` or ``"smollm2-135m-instruct"``: the embedded
      SmolLM2-135M-Instruct, offline, on :func:`default_engine` (onnxruntime int8 on the CPU, exported once);
    - ``"smollm2-ref"``: the same model on transformers (the reference: bf16 weights read as fp32);
    - ``"smollm2-ort"`` or ``"smollm2-ort:<int4|int8|fp32>"``: the same model on onnxruntime (needs the
      ``ort`` extra; exported to ONNX once; int8 unless named);
    - ``"<adapter>@ort"`` or ``"<adapter>@ort:<int4|int8|fp32>"``: a trained LoRA adapter (below) on
      onnxruntime, merged and exported once (e.g. ``smollm2-135m-planner@ort:fp32``);
    - ``"random"``: the uniform-random proposer (the control);
    - ``"openai:<base-url>/<model>"``: an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, OpenAI);
      ``?deadline=S&timeout=S`` after it sets the seconds per request and per network phase;
    - ``"scripted:<path.json>"``: replays completions from a JSON file, a list of strings or
      ``{"completions": [...], "cycle": true}`` (the test double; see :func:`read_script`);
    - a path to a local model folder (transformers format), or to an onnxruntime export (``model.onnx``
      and ``genai_config.json`` in it: the ``smollm2-ort`` engine loads it as it is);
    - a LoRA adapter from ``llm-modulo train``: its folder, or its ``--name`` (merged into the base once).
    """
    if spec in DEFAULT_ALIASES and default_engine(device) == "onnxruntime":
        from llm_modulo.models.ort_local import DEFAULT_PRECISION, OrtModel

        return OrtModel(DEFAULT_PRECISION, seed=seed)
    if spec in DEFAULT_ALIASES or spec == REFERENCE_MODEL:
        from llm_modulo.models.local import LocalModel

        if spec != REFERENCE_MODEL and device == "cpu":
            logging.getLogger(__name__).info("the ort extra is not installed: the default model runs on transformers")

        return LocalModel(None, device=device, seed=seed)
    assert spec is not None
    if spec == "smollm2-ort" or spec.startswith("smollm2-ort:"):
        from llm_modulo.models.ort_local import DEFAULT_PRECISION, OrtModel

        if device != "cpu":
            raise InputError(f"{spec!r} runs on the CPU only")
        return OrtModel(spec.partition(":")[2] or DEFAULT_PRECISION, seed=seed)
    if "@ort" in spec:
        from llm_modulo.models._ort_adapter import load_ort_adapter, split_spec

        if split_spec(spec) is not None:
            return load_ort_adapter(spec, seed=seed, device=device)
    if spec == "random":
        from llm_modulo.models.random_proposer import RandomProposer

        return RandomProposer(seed=seed)
    if spec.startswith("scripted:"):
        from llm_modulo.models.scripted import ScriptedModel

        completions, cycle = read_script(spec.removeprefix("scripted:"))
        return ScriptedModel(completions, cycle=cycle)
    if spec.startswith("openai:"):
        from llm_modulo.models.openai_http import OpenAIModel

        return OpenAIModel.from_spec(spec)
    folder = Path(spec).expanduser()
    if (folder / "model.onnx").is_file() and (folder / "genai_config.json").is_file():
        from llm_modulo.models.ort_local import OrtModel

        if device != "cpu":
            raise InputError(f"{spec!r} (an onnxruntime export) runs on the CPU only")
        return OrtModel(seed=seed, folder=folder)
    from llm_modulo.models.adapters import merged_folder, resolve_adapter

    adapter = resolve_adapter(spec)
    if adapter is not None or Path(spec).expanduser().is_dir():
        from llm_modulo.models.local import LocalModel

        if adapter is not None:  # a LoRA adapter from `llm-modulo train`: base + adapter, merged once
            return LocalModel(merged_folder(adapter), device=device, seed=seed)
        return LocalModel(Path(spec).expanduser(), device=device, seed=seed)
    raise InputError(
        f"unknown model {spec!r}: give a local model folder, 'openai:<base-url>/<model>', "
        f"'random', 'scripted:<file.json>', a trained adapter (folder or name), or '{DEFAULT_MODEL}' (the embedded default)"
    )


def read_script(path: str | Path) -> tuple[list[str], bool]:
    """(completions, cycle) from a scripted model's JSON file: a list of completion strings, or
    ``{"completions": [...], "cycle": true}``."""
    import json

    file = Path(path).expanduser()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"scripted model file {str(file)!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"scripted model file {str(file)!r}: not JSON ({exc})") from None
    cycle = False
    if isinstance(data, dict):
        unknown = set(data) - {"completions", "cycle"}
        if unknown:
            raise InputError(f"scripted model file {str(file)!r}: unknown key(s) {', '.join(sorted(unknown))}")
        cycle = data.get("cycle", False)
        data = data.get("completions")
        if not isinstance(cycle, bool):
            raise InputError(f"scripted model file {str(file)!r}: 'cycle' must be true or false")
    if not isinstance(data, list) or not all(isinstance(c, str) for c in data):
        raise InputError(
            f"scripted model file {str(file)!r}: expected a list of completion strings "
            'or {"completions": [...], "cycle": true}'
        )
    return data, cycle


__all__ = [
    "DEFAULT_ALIASES",
    "DEFAULT_MODEL",
    "REFERENCE_MODEL",
    "default_engine",
    "default_identity",
    "load_model",
    "read_script",
]
