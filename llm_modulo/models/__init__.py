"""Language-model backends: local (transformers), OpenAI-compatible HTTP, scripted, uniform random."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

DEFAULT_MODEL = "smollm2-135m-instruct"


def load_model(spec: str | None = None, seed: int | None = None, device: str = "cpu") -> Any:
    """A language model from a spec string.

    - ``None``, ``"default"`` or ``"smollm2-135m-instruct"``: the embedded SmolLM2-135M-Instruct, offline;
    - ``"random"``: the uniform-random proposer (the control);
    - ``"openai:<base-url>/<model>"``: an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, OpenAI);
    - a path to a local model folder (transformers format).
    """
    if spec in (None, "", "default", DEFAULT_MODEL, "smollm2"):
        from llm_modulo.models.local import LocalModel

        return LocalModel(None, device=device, seed=seed)
    assert spec is not None
    if spec == "random":
        from llm_modulo.models.random_proposer import RandomProposer

        return RandomProposer(seed=seed)
    if spec.startswith("openai:"):
        from llm_modulo.models.openai_http import OpenAIModel, parse_model_spec

        base_url, model = parse_model_spec(spec)
        return OpenAIModel(base_url=base_url, model=model)
    if Path(spec).expanduser().is_dir():
        from llm_modulo.models.local import LocalModel

        return LocalModel(Path(spec).expanduser(), device=device, seed=seed)
    raise InputError(
        f"unknown model {spec!r}: give a local model folder, 'openai:<base-url>/<model>', "
        f"'random', or '{DEFAULT_MODEL}' (the embedded default)"
    )


__all__ = ["DEFAULT_MODEL", "load_model"]
