"""The onnxruntime engine for the embedded SmolLM2 (the default engine on the CPU): same greedy tokens
as the transformers reference at fp32, grammar respected at int4, and the cheap parts without a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_modulo.errors import InputError, ModelLoadError
from llm_modulo.models import load_model
from llm_modulo.models.ort_local import OrtModel, onnx_dir
from llm_modulo.protocols import LineConstraint, Prompt, SamplingParams

PROMPT = Prompt(({"role": "user", "content": "Name three colours."},))
GRAMMAR = LineConstraint(("red", "green", "blue", "yellow"), "[END]", 3)


def test_spec_and_folder_without_loading(tmp_path: Path) -> None:
    model = load_model("smollm2-ort", seed=3)
    assert isinstance(model, OrtModel) and model.precision == "int8" and model.seed == 3
    assert load_model("smollm2-ort:fp32").precision == "fp32"
    with pytest.raises(InputError):
        load_model("smollm2-ort:int3")
    with pytest.raises(InputError):
        load_model("smollm2-ort", device="cuda")
    assert onnx_dir("int8", tmp_path) == tmp_path / "models" / "smollm2-135m-instruct-onnx-int8-sqf"
    export = tmp_path / "my-export"
    export.mkdir()
    (export / "model.onnx").write_bytes(b"")
    assert not isinstance(load_model(str(export)), OrtModel)  # not an export without its config
    (export / "genai_config.json").write_text("{}")
    model = load_model(str(export), seed=2)
    assert isinstance(model, OrtModel) and model.folder == export and model.name == "my-export" and model.seed == 2
    with pytest.raises(InputError):
        load_model(str(export), device="cuda")


def test_the_default_model_runs_on_onnxruntime_on_the_cpu_and_on_transformers_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.util

    import llm_modulo.models as models
    from llm_modulo.experiments.resolve import check_model
    from llm_modulo.models.local import LocalModel

    pytest.importorskip("onnxruntime")
    for spec in (None, "default", "smollm2", "smollm2-135m-instruct"):
        model = load_model(spec, seed=5)
        assert isinstance(model, OrtModel) and model.precision == "int8" and model.seed == 5
    assert check_model("default", tmp_path, "t.toml", "models[0]") == ("default", "onnxruntime:int8-sqf")
    assert isinstance(load_model("smollm2-ref"), LocalModel)  # the reference, by name
    assert isinstance(load_model(None, device="cuda"), LocalModel)
    assert models.default_engine("cuda") == "transformers"
    assert check_model("default", tmp_path, "t.toml", "models[0]", device="cuda") == ("default", None)
    # without the ort extra: transformers, and a store keeps the keys it had before onnxruntime
    real = importlib.util.find_spec
    for missing in ("onnxruntime", "onnxruntime_genai"):  # the runtime, or what exports the model once
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda name, *a, gone=missing: None if name == gone else real(name, *a)
        )
        assert models.default_engine() == "transformers" and isinstance(load_model(), LocalModel)
        assert check_model("default", tmp_path, "t.toml", "models[0]") == ("default", None)


def _loaded(precision: str) -> OrtModel:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    try:
        return OrtModel(precision, seed=0).load()
    except ModelLoadError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_fp32_greedy_matches_the_transformers_reference() -> None:
    pytest.importorskip("torch")
    from llm_modulo.models.local import LocalModel

    ort = _loaded("fp32")
    ref = LocalModel(seed=0)
    greedy = SamplingParams(temperature=0, max_tokens=16)
    assert ort.render(PROMPT) == ref.render(PROMPT)
    expected = ref.sample(PROMPT, 1, greedy).meta["token_ids"]
    got = ort.sample(PROMPT, 2, greedy)
    assert got.meta["token_ids"] == [expected[0], expected[0]]
    assert got.completions[0].text == ref.sample(PROMPT, 1, greedy).completions[0].text


@pytest.mark.slow
def test_an_export_folder_loads_by_its_path() -> None:
    ort = _loaded("fp32")
    by_path = load_model(str(onnx_dir("fp32"))).load()
    greedy = SamplingParams(temperature=0, max_tokens=12)
    assert by_path.sample(PROMPT, 1, greedy).meta["token_ids"] == ort.sample(PROMPT, 1, greedy).meta["token_ids"]


@pytest.mark.slow
def test_int4_samples_respect_the_grammar_and_the_seed() -> None:
    model = _loaded("int4")
    prompt = Prompt(PROMPT.messages, prefill="Colours:")
    params = SamplingParams(temperature=0.8, max_tokens=40, seed=1)
    batch = model.sample(prompt, 4, params, GRAMMAR)
    assert len(batch.completions) == 4 and batch.meta["constrained"] is True
    for c in batch.completions:
        assert c.text.startswith("\n")  # the prefill lacked its newline
        *lines, end = c.text[1:].split("\n")
        assert end == "[END]" and len(lines) <= 3 and set(lines) <= set(GRAMMAR.lines)
        assert c.finish_reason == "stop"
    assert model.sample(prompt, 4, params, GRAMMAR).meta["token_ids"] == batch.meta["token_ids"]
    stopped = model.sample(PROMPT, 3, SamplingParams(temperature=0.8, max_tokens=30, stop=("\n",), seed=2))
    assert all("\n" not in c.text and c.tokens <= 30 for c in stopped.completions)
    many = model.sample_many([])
    assert many == []


def test_choose_many_greedy_nucleus_and_grammar_rows() -> None:
    np = pytest.importorskip("numpy")
    from llm_modulo.models._ort_sampling import choose_many

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 1000)).astype(np.float32)
    logits[:, 7] += 20  # one dominant token a row
    assert choose_many(logits, [None] * 4, 0.0, 1.0, rng) == [7, 7, 7, 7]
    allowed = [None, np.array([3, 5]), None, np.array([11])]
    picks = choose_many(logits, allowed, 0.0, 1.0, rng)
    assert picks[0] == picks[2] == 7 and picks[1] == [3, 5][int(np.argmax(logits[1, [3, 5]]))] and picks[3] == 11
    # a nucleus this small holds the dominant token only; the draws follow the seed
    assert choose_many(logits, [None] * 4, 0.8, 0.5, np.random.default_rng(1)) == [7, 7, 7, 7]
    flat = np.zeros((3, 1000), dtype=np.float32)  # no token above the floors: the whole row is the nucleus
    a = choose_many(flat, [None, None, np.arange(10)], 1.0, 0.95, np.random.default_rng(2))
    assert a == choose_many(flat, [None, None, np.arange(10)], 1.0, 0.95, np.random.default_rng(2))
    assert a[2] < 10 and len(set(a)) > 1
    assert all(0 <= t < 1000 for t in choose_many(flat, [None] * 3, 1.0, 1.0, rng))


@pytest.mark.slow
def test_one_shared_prompt_copy_decodes_as_one_copy_per_row() -> None:
    model = _loaded("fp32")
    params = SamplingParams(temperature=0.8, max_tokens=24, seed=5)
    shared = model.sample(PROMPT, 3, params)
    model.shared_prompt = False
    copies = model.sample(PROMPT, 3, params)
    assert shared.meta["token_ids"] == copies.meta["token_ids"]
    assert [c.text for c in shared.completions] == [c.text for c in copies.completions]


def test_pool_threads_spin_only_when_a_core_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_modulo.models import _ort_rows

    real = _ort_rows._idle_and_total()
    assert real is None or 0 <= real[0] <= real[1]  # /proc/stat read where there is one
    monkeypatch.setattr(_ort_rows.os, "cpu_count", lambda: 2)
    ticks = iter([(1000, 5000), (1090, 5100)])  # 90 of 100 ticks idle: 1.8 cores free
    monkeypatch.setattr(_ort_rows, "_idle_and_total", lambda: next(ticks))
    assert _ort_rows.cores_free(window=0)
    ticks = iter([(1000, 5000), (1020, 5100)])  # 20 of 100: both cores busy with others
    monkeypatch.setattr(_ort_rows, "_idle_and_total", lambda: next(ticks))
    assert not _ort_rows.cores_free(window=0)
    monkeypatch.setattr(_ort_rows, "_idle_and_total", lambda: None)  # no /proc: the load average
    monkeypatch.setattr(_ort_rows.os, "getloadavg", lambda: (0.7, 0.0, 0.0))
    assert _ort_rows.cores_free(window=0)
    monkeypatch.setattr(_ort_rows.os, "getloadavg", lambda: (3.5, 0.0, 0.0))
    assert not _ort_rows.cores_free(window=0)


@pytest.mark.slow
def test_int8_is_per_channel_int8_with_down_proj_by_blocks_and_runs_at_n_above_one() -> None:
    onnx = pytest.importorskip("onnx")
    model = _loaded("int8")
    graph = onnx.load(str(onnx_dir("int8") / "model.onnx"), load_external_data=False).graph
    nbits = [n.name for n in graph.node if n.op_type == "MatMulNBits"]
    assert len(nbits) == model._layers and all("down_proj" in name for name in nbits)
    # qkv, o, gate and up as one product (then a split); lm_head
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == 3 * model._layers + 1
    assert sum(n.op_type == "Split" and "gate_proj" in n.name for n in graph.node) == model._layers
    assert not any(n.op_type == "MatMul" for n in graph.node)
    batch = model.sample(
        Prompt(PROMPT.messages, prefill="Colours:"), 3, SamplingParams(temperature=0.8, max_tokens=40, seed=1), GRAMMAR
    )
    for c in batch.completions:
        *lines, end = c.text[1:].split("\n")
        assert end == "[END]" and set(lines) <= set(GRAMMAR.lines)


@pytest.mark.slow
@pytest.mark.parametrize(
    "params",
    [SamplingParams(temperature=0, max_tokens=24), SamplingParams(temperature=0.8, top_p=0.95, max_tokens=24, seed=3)],
    ids=["greedy", "sampled"],
)
def test_fp32_decoding_with_drafts_gives_the_same_tokens_in_fewer_runs(params: SamplingParams) -> None:
    model = _loaded("fp32")
    text = "Copy this line exactly: the red block is on top of the blue block and the blue block is on the table."
    prompt = Prompt(({"role": "user", "content": text},))
    model.draft_tokens = 0
    plain = model.sample(prompt, 1, params)
    model.draft_tokens = 4
    drafted = model.sample(prompt, 1, params)
    assert drafted.meta["token_ids"] == plain.meta["token_ids"]
    assert drafted.meta["decode_runs"] < plain.meta["decode_runs"]
    grammar = model.sample(Prompt(PROMPT.messages, prefill="Colours:"), 1, params, GRAMMAR)
    model.draft_tokens = 0
    assert (
        model.sample(Prompt(PROMPT.messages, prefill="Colours:"), 1, params, GRAMMAR).meta["token_ids"]
        == grammar.meta["token_ids"]
    )


@pytest.mark.slow
def test_fp32_scores_match_the_transformers_reference_in_one_run() -> None:
    pytest.importorskip("torch")
    from llm_modulo.models.local import LocalModel

    ort = _loaded("fp32")
    continuations = [
        "Red, green and blue.",
        "Purple",
        "Red, green and blue. Those are three colours people name often.",
    ]
    got = ort.score(PROMPT, continuations)
    expected = LocalModel(seed=0).score(PROMPT, continuations)
    assert got.tokens == expected.tokens and got.prompt_tokens == expected.prompt_tokens
    assert got.logprobs == pytest.approx(expected.logprobs, abs=2e-3)
    assert got.logprobs[2] < got.logprobs[0]  # an extension only adds tokens, each with log p < 0
    again = ort.score(PROMPT, continuations[:1])
    assert again.prompt_tokens == 0 and again.logprobs[0] == pytest.approx(got.logprobs[0], abs=1e-4)
    assert ort.score(PROMPT, []).logprobs == []


def test_a_failed_export_is_one_line_naming_the_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import subprocess

    from llm_modulo.models import _ort_export

    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="Traceback ...\nRuntimeError: builder broke\n")
    monkeypatch.setattr(_ort_export.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(ModelLoadError) as info:
        _ort_export._build(tmp_path, tmp_path / "out", "int8", tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.endswith("RuntimeError: builder broke") and "--model smollm2-ref" in message
