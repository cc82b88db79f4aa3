"""A trained adapter on the onnxruntime engine: the spec, the export's folder, compact prompts by
the adapter's record, and the merged export's fp32 greedy tokens equal to the transformers adapter's."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_modulo.errors import InputError, ModelLoadError
from llm_modulo.models import load_model
from llm_modulo.models._ort_adapter import OrtAdapterModel, adapter_onnx_dir, adapter_spec, split_spec
from llm_modulo.models.adapters import adapter_digest, resolve_adapter
from llm_modulo.protocols import Prompt, SamplingParams

PLANNER = "smollm2-135m-planner"


def test_spec_parsing_and_folder_without_loading(tmp_path: Path) -> None:
    assert split_spec(f"{PLANNER}@ort") == (PLANNER, "int8")
    assert split_spec(f"{PLANNER}@ort:fp32") == (PLANNER, "fp32")
    assert split_spec("smollm2-ort") is None and split_spec("@ort") is None and split_spec("a@orta") is None
    assert adapter_spec(f"{PLANNER}@ort:int4") == PLANNER and adapter_spec("smollm2-ort") == "smollm2-ort"
    model = load_model(f"{PLANNER}@ort:fp32", seed=4)
    assert isinstance(model, OrtAdapterModel) and model.precision == "fp32" and model.seed == 4
    assert model.name == f"{PLANNER}-onnx-fp32" and load_model(f"{PLANNER}@ort").precision == "int8"
    for bad in (f"{PLANNER}@ort:int3", "no-such-adapter@ort"):
        with pytest.raises(InputError):
            load_model(bad)
    with pytest.raises(InputError):
        load_model(f"{PLANNER}@ort", device="cuda")
    adapter = resolve_adapter(PLANNER)
    assert adapter is not None
    digest = (adapter_digest(adapter) or "")[:16]
    assert adapter_onnx_dir(adapter, "int4", tmp_path) == tmp_path / "models" / f"{PLANNER}-{digest}-onnx-int4"


def test_the_planner_on_onnxruntime_gets_compact_prompts_like_the_planner() -> None:
    from llm_modulo.cli.solve import compact_prompts

    assert compact_prompts("auto", f"{PLANNER}@ort:fp32") == compact_prompts("auto", PLANNER) is True
    assert compact_prompts("auto", "smollm2-ort") is False


@pytest.mark.slow
def test_merged_export_fp32_greedy_matches_the_transformers_adapter() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    try:
        ort = load_model(f"{PLANNER}@ort:fp32", seed=0).load()
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    ref = load_model(PLANNER, seed=0)
    prompt = Prompt(({"role": "user", "content": "Stack block a on block b. The blocks are on the table."},))
    greedy = SamplingParams(temperature=0, max_tokens=24)
    assert ort.render(prompt) == ref.render(prompt)
    expected = ref.sample(prompt, 1, greedy)
    got = ort.sample(prompt, 1, greedy)
    assert got.meta["token_ids"] == expected.meta["token_ids"]
    assert got.completions[0].text == expected.completions[0].text


def test_an_adapter_on_onnxruntime_keys_its_trials_by_its_weights_and_the_export(tmp_path: Path) -> None:
    """A retrained adapter (same name, other weights) or another export recipe is another setting."""
    import shutil

    from llm_modulo.experiments.resolve import check_model
    from llm_modulo.models._ort_export import RECIPES

    shipped = resolve_adapter(PLANNER)
    assert shipped is not None
    weights = adapter_digest(shipped)
    _, digest = check_model(f"{PLANNER}@ort", tmp_path, "t.toml", "models[0]")
    assert digest == f"{weights}+onnxruntime:{RECIPES['int8']}"
    assert check_model(f"{PLANNER}@ort:fp32", tmp_path, "t.toml", "models[0]")[1] == f"{weights}+onnxruntime:fp32"
    assert check_model(PLANNER, tmp_path, "t.toml", "models[0]")[1] == weights  # on transformers, as before
    retrained = tmp_path / PLANNER
    shutil.copytree(shipped, retrained)
    with (retrained / "adapter_model.safetensors").open("ab") as fh:
        fh.write(b"\0")
    _, other = check_model(f"{retrained}@ort", tmp_path, "t.toml", "models[0]")
    assert other is not None and other != digest and other.endswith(f"+onnxruntime:{RECIPES['int8']}")
