"""Shared fixtures. Benchmark data is read from ../shared/benchmarks (see its README)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llm_modulo.errors import ModelLoadError

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(os.environ.get("LLM_MODULO_BENCHMARKS", REPO.parent / "shared" / "benchmarks"))
PLANBENCH = BENCHMARKS / "planbench"


@pytest.fixture(scope="session")
def planbench() -> Path:
    if not PLANBENCH.is_dir():
        pytest.skip(f"PlanBench data not found at {PLANBENCH}")
    return PLANBENCH


@pytest.fixture(scope="session")
def bw():
    from llm_modulo.domains.blocksworld import blocksworld

    return blocksworld()


@pytest.fixture(scope="session")
def sussman(bw):
    from llm_modulo.domains.blocksworld import sussman_anomaly

    return sussman_anomaly(bw)


SUSSMAN_PLAN = [
    "unstack the orange block from on top of the red block",
    "put down the orange block",
    "pick up the blue block",
    "stack the blue block on top of the orange block",
    "pick up the red block",
    "stack the red block on top of the blue block",
]


@pytest.fixture
def sussman_plan_text() -> str:
    return "\n".join(SUSSMAN_PLAN) + "\n[PLAN END]"


# -- a tiny random Llama with the real SmolLM2 tokenizer: local-backend tests run on it (fast, no weights)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama (hidden 64, GQA) with the SmolLM2 tokenizer and chat template."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from llm_modulo.models import smollm2

    try:
        tokenizer = smollm2.load_tokenizer()
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def lm(tiny_model_dir: Path):
    from llm_modulo.models.local import LocalModel

    return LocalModel(tiny_model_dir).load()
