"""The int8 export's activation-scale folding (SmoothQuant): the model computes the same function,
with the weights and norms actually changed, on a tiny random Llama whose query heads share
key-value heads (the o_proj fold must respect the grouping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared tiny random Llama (4 query heads on 2 key-value heads) with a few loud channels,
    as trained models have: the scales must not be trivial."""
    import shutil

    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.input_layernorm.weight[:3] = 20.0
            layer.mlp.up_proj.weight[:5] *= 30.0
    folder = tmp_path_factory.mktemp("tiny-loud")
    model.save_pretrained(folder)
    for f in tiny_model_dir.iterdir():
        if not (folder / f.name).exists():
            shutil.copy(f, folder / f.name)
    return folder


def _logits(folder: Path, text: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ids = AutoTokenizer.from_pretrained(folder)(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model(ids).logits, model


def test_folding_keeps_the_function_and_moves_the_scales(tiny: Path, tmp_path: Path) -> None:
    from llm_modulo.models._ort_smooth import smooth_folder

    out = smooth_folder(tiny, tmp_path / "smoothed")
    text = "Stack the red block on top of the blue block, then put down the green one."
    before, original = _logits(tiny, text)
    after, folded = _logits(out, text)
    assert float((after - before).abs().max()) < 1e-3
    for a, b in zip(original.model.layers, folded.model.layers, strict=True):
        assert not bool((a.input_layernorm.weight == b.input_layernorm.weight).all())
        assert not bool((a.self_attn.o_proj.weight == b.self_attn.o_proj.weight).all())
        assert not bool((a.mlp.down_proj.weight == b.mlp.down_proj.weight).all())
    # the loud input channels are quieter after the fold: the norm's gain there shrank
    assert float(folded.model.layers[0].input_layernorm.weight[:3].abs().max()) < 20.0
