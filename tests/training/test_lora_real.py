"""LoRA on the real embedded SmolLM2-135M: a few steps lower the loss, and the adapter reloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_a_few_steps_on_the_real_model(tmp_path: Path, one_thread: Any) -> None:
    pytest.importorskip("peft")
    import torch
    from transformers import AutoModelForCausalLM

    from llm_modulo.errors import ModelLoadError
    from llm_modulo.training import generate, lora, targets

    try:
        base = lora.base_folder("default")
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    records = list(targets.imitation_game24(generate.game24_puzzles(20, seed=5), seed=5))
    data = tmp_path / "d.jsonl"
    targets.write_jsonl(records, data)
    out = tmp_path / "adapter"
    report = lora.train(data, out, epochs=2, max_steps=5, lr=2e-3, rank=8, alpha=16, batch_size=4,
                        max_len=128, seed=0, save_every=5, progress=False)  # fmt: skip
    assert report.steps == 5 and report.examples + report.skipped == 20 and report.examples >= 12

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    examples, _ = lora.load_examples(data, tokenizer, max_len=128)
    batch = lora.collate(examples, tokenizer.eos_token_id)
    plain = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32).eval()
    unmerged, _ = lora.load_adapter(out, merge=False)
    merged, _ = lora.load_adapter(out)
    with torch.no_grad():
        before = float(lora.completion_loss(plain, batch))
        after = float(lora.completion_loss(merged, batch))
        ids = batch["input_ids"][:2]
        a, b = unmerged(input_ids=ids).logits, merged(input_ids=ids).logits
    assert after < before - 0.1, (before, after)
    assert torch.allclose(a, b, atol=2e-3)
    assert (out / "loss.png").is_file() and report.adapter_bytes > 1_000_000
