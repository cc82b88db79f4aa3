"""Fixtures for the training tests: the SmolLM2 tokenizer and a tiny random Llama that uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    pytest.importorskip("transformers")
    from llm_modulo.errors import ModelLoadError
    from llm_modulo.models import smollm2

    try:
        return smollm2.load_tokenizer()
    except ModelLoadError as exc:
        pytest.skip(f"the SmolLM2 tokenizer is not available: {exc}")


@pytest.fixture(scope="session")
def tiny_base(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 16-wide random Llama with SmolLM2's tokenizer and chat template (a stand-in base model)."""
    pytest.importorskip("peft")
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tiny-base")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def game24_records() -> list[dict[str, Any]]:
    from llm_modulo.training import generate, targets

    return list(targets.imitation_game24(generate.game24_puzzles(8, seed=11), seed=11))


def _store_trial(
    store: Any, domain_name: str, instance: str, task: Any, domain: Any, completions: list[str], proposer: str
) -> None:
    """Run best-of-n with a scripted model on ``task`` and store the trial as the runner would."""
    from llm_modulo.models.scripted import ScriptedModel
    from llm_modulo.strategies.best_of_n import BestOfN
    from llm_modulo.types import Budget

    result = BestOfN(
        ScriptedModel(completions), domain, Budget(samples=len(completions), rounds=1), n=len(completions)
    ).run(task)
    store.insert(
        {
            "key": f"{instance}-{proposer}", "sweep": "s", "label": "best-of-n", "domain": domain_name,
            "instance_set": instance.rsplit("/", 1)[0], "instance": instance, "strategy": "best-of-n",
            "model": "default" if proposer == "llm" else "random", "proposer": proposer, "feedback": "none",
            "seed": 0, "budget_json": "{}", "status": result.status.value, "verified": int(result.verified),
            "config_json": "{}", "result_json": result.model_dump_json(),
        }
    )  # fmt: skip


@pytest.fixture()
def store_trial() -> Any:
    """Store a trial of best-of-n with a scripted model: ``store_trial(store, domain_name, instance, task, domain, completions, proposer)``."""
    return _store_trial


@pytest.fixture()
def one_thread() -> Any:
    """Training steps on a shared 2-core box are faster on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _real_sweep_rows(sweep: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Run ``sweep`` (a bench config as a dict) with the real embedded base model, one worker and one
    thread, into ``folder``; its stored rows. Skips when peft or the base model is not installed."""
    pytest.importorskip("peft")
    import yaml

    from llm_modulo.errors import ModelLoadError
    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import run_sweep
    from llm_modulo.experiments.store import TrialStore
    from llm_modulo.training import lora

    try:
        lora.base_folder("default")
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    path = folder / f"{sweep['name']}.yaml"
    path.write_text(yaml.safe_dump(sweep))
    run_sweep(load_sweep(path), folder / "s.sqlite", workers=1, threads=1, progress=False)
    with TrialStore(folder / "s.sqlite", readonly=True) as db:
        return list(db.rows())


@pytest.fixture()
def real_sweep_rows(tmp_path: Path, one_thread: Any) -> Any:
    """``real_sweep_rows(sweep)``: run a sweep with the real local model; the stored rows."""
    return lambda sweep: _real_sweep_rows(sweep, tmp_path)
