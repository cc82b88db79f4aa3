"""LoRA training on a tiny random base: masked loss, checkpoints, exact resume, reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_modulo.errors import InputError
from llm_modulo.training import lora, targets

pytest.importorskip("peft")


@pytest.fixture()
def data(game24_records: list[dict[str, Any]], tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    targets.write_jsonl(game24_records, path)
    return path


def _adapter_tensors(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_loss_masks_the_prompt_and_matches_a_plain_computation(tiny_base: Path, tokenizer: Any, data: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    examples, skipped = lora.load_examples(data, tokenizer, max_len=512)
    assert skipped == 0 and len(examples) == 8
    batch = lora.collate(examples[:3], tokenizer.eos_token_id)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_base), dtype=torch.float32)
    with torch.no_grad():
        fast = lora.completion_loss(model, batch)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        plain = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), batch["labels"][:, 1:].reshape(-1), ignore_index=-100
        )
    assert torch.allclose(fast, plain, atol=1e-5)
    assert int((batch["labels"] != -100).sum()) == sum(e.completion_tokens for e in examples[:3])
    short, dropped = lora.load_examples(data, tokenizer, max_len=60)
    assert dropped > 0 and len(short) + dropped == 8  # too long: dropped, never truncated


def test_batches_are_seeded() -> None:
    a = lora.batch_order(10, 4, seed=1, epoch=0)
    assert a == lora.batch_order(10, 4, seed=1, epoch=0) != lora.batch_order(10, 4, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(10)) and [len(b) for b in a] == [4, 4, 2]


def test_train_writes_an_adapter_that_reloads(tiny_base: Path, data: Path, tmp_path: Path, one_thread: Any) -> None:
    import torch

    out = tmp_path / "run"
    report = lora.train(data, out, base=str(tiny_base), epochs=4, lr=3e-2, rank=4, alpha=8, batch_size=4,
                        max_len=512, seed=0, save_every=3, progress=False)  # fmt: skip
    assert report.steps == 8 and report.steps_this_run == 8 and report.examples == 8
    assert report.final_loss is not None and report.first_loss is not None
    assert min(report.losses[-3:]) < report.losses[0]
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "loss.png",
        "log.json",
        "training.json",
    ):
        assert (out / name).is_file(), name
    assert [p.name for p in sorted((out / "checkpoints").glob("step-*"))] == ["step-000006", "step-000008"]
    assert len(json.loads((out / "log.json").read_text())) == 8
    meta = json.loads((out / "training.json").read_text())
    assert meta["base"] == str(tiny_base) and meta["rank"] == 4 and meta["report"]["steps"] == 8
    assert meta["prompt_formats"] == ["compact"] and meta["domains"] == ["game24"] and meta["sources"] == ["imitation"]
    assert report.adapter_bytes == (out / "adapter_model.safetensors").stat().st_size > 0

    assert lora.is_adapter(out) and lora.resolve_adapter(str(out)) == out.resolve()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    peft_model, _ = lora.load_adapter(out, merge=False)
    merged, tok = lora.load_adapter(out)
    base = lora.base_folder(str(tiny_base))
    from transformers import AutoModelForCausalLM

    plain = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32).eval()
    with torch.no_grad():
        a, b, c = peft_model(input_ids=ids).logits, merged(input_ids=ids).logits, plain(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    assert not torch.allclose(a, c, atol=1e-4)  # the adapter changed the model
    assert tok.eos_token == "<|im_end|>"

    from llm_modulo.models.local import LocalModel

    folder = lora.merge_to_folder(out, tmp_path / "merged")  # a plain folder: the local backend loads it as is
    local = LocalModel(folder).load()
    with torch.no_grad():
        d = local._model(input_ids=ids).logits
    assert torch.allclose(d, b, atol=5e-2) and not torch.allclose(d, c, atol=1e-4)


def test_resume_after_an_interruption_is_exact(
    tiny_base: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: Any
) -> None:
    settings = dict(base=str(tiny_base), epochs=2, lr=1e-2, rank=2, alpha=4, batch_size=2, max_len=512,
                    seed=3, save_every=2, progress=False, dropout=0.1)  # fmt: skip
    whole = lora.train(data, tmp_path / "whole", **settings)

    calls = {"n": 0}
    real = lora.completion_loss

    def dies_at_step_6(model: Any, batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(model, batch)

    monkeypatch.setattr(lora, "completion_loss", dies_at_step_6)
    with pytest.raises(KeyboardInterrupt):
        lora.train(data, tmp_path / "cut", **settings)
    monkeypatch.setattr(lora, "completion_loss", real)
    resumed = lora.train(data, tmp_path / "cut", **settings)
    assert resumed.resumed_from == 4 and resumed.steps_this_run == whole.steps - 4
    assert resumed.losses == pytest.approx(whole.losses, abs=1e-6)
    a, b = _adapter_tensors(tmp_path / "whole"), _adapter_tensors(tmp_path / "cut")
    import torch

    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    with pytest.raises(InputError, match="other settings"):
        lora.train(data, tmp_path / "cut", **{**settings, "lr": 5e-3})
    fresh = lora.train(data, tmp_path / "cut", **{**settings, "lr": 5e-3, "resume": False, "epochs": 0.5})
    assert fresh.resumed_from is None and fresh.steps == 2


def test_init_adapter_starts_from_a_trained_adapter(
    tiny_base: Path, data: Path, tmp_path: Path, one_thread: Any
) -> None:
    import torch

    settings = dict(base=str(tiny_base), lr=3e-2, rank=4, alpha=8, batch_size=4, max_len=512, seed=0, progress=False)
    first = tmp_path / "first"
    lora.train(data, first, epochs=1, **settings)
    start = _adapter_tensors(first)
    assert any(float(t.abs().sum()) > 0 for k, t in start.items() if "lora_B" in k)  # trained, not the zero init

    # zero steps from the adapter: the weights are the adapter's own
    same = lora.train(data, tmp_path / "same", epochs=1, max_steps=0, init_adapter=str(first), **settings)
    assert same.steps == 0
    for k, t in _adapter_tensors(tmp_path / "same").items():
        assert torch.equal(t, start[k]), k
    # zero steps from nothing: lora_B is zero (what init_adapter replaces)
    lora.train(data, tmp_path / "zero", epochs=1, max_steps=0, **settings)
    assert all(float(t.abs().sum()) == 0 for k, t in _adapter_tensors(tmp_path / "zero").items() if "lora_B" in k)

    # further steps continue from it and lower the loss below a fresh start's first loss
    more = lora.train(data, tmp_path / "more", epochs=1, init_adapter=str(first), **settings)
    fresh = lora.train(data, tmp_path / "fresh", epochs=1, **settings)
    assert more.losses[0] < fresh.losses[0]
    meta = json.loads((tmp_path / "more" / "training.json").read_text())
    assert meta["init_adapter"] == str(first.resolve()) and meta["init_adapter_sha256"] == lora.adapter_digest(first)

    with pytest.raises(InputError, match="does not fit"):
        lora.train(data, tmp_path / "bad", epochs=1, init_adapter=str(first), **{**settings, "rank": 8})
    with pytest.raises(InputError, match="no LoRA adapter"):
        lora.train(data, tmp_path / "bad", epochs=1, init_adapter=str(tmp_path / "nothing"), **settings)
