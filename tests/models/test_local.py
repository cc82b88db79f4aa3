"""The local backend on a tiny random Llama with the real SmolLM2 tokenizer (fast, no weights)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from llm_modulo.errors import DecodeInterrupted, InputError, ModelLoadError  # noqa: E402
from llm_modulo.models import _shared_prefix  # noqa: E402
from llm_modulo.models.local import LocalModel  # noqa: E402
from llm_modulo.protocols import Batch, LanguageModel, LineConstraint, Prompt, SamplingParams  # noqa: E402

BLOCKS = "abcd"
BW_LINES = tuple(
    [f"(pick-up {x})" for x in BLOCKS]
    + [f"(put-down {x})" for x in BLOCKS]
    + [f"({op} {x} {y})" for op in ("stack", "unstack") for x in BLOCKS for y in BLOCKS if x != y]
)
END = "[PLAN END]"
PROMPT = Prompt(({"role": "user", "content": "Stack block a on block b. Write the plan."},))


def params(**kw: object) -> SamplingParams:
    # top_p=1 by default: on a random model's flat distribution the nucleus is most of the vocabulary
    base = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 12, "seed": 0}
    base.update(kw)
    return SamplingParams(**base)  # type: ignore[arg-type]


def test_protocol_and_name(lm: LocalModel, tiny_model_dir: Path) -> None:
    assert isinstance(lm, LanguageModel)
    assert lm.name == tiny_model_dir.name
    assert LocalModel().name == "smollm2-135m-instruct"  # lazy: nothing loaded


def test_n_completions_in_one_call(lm: LocalModel) -> None:
    batch = lm.sample(PROMPT, 5, params(max_tokens=8))
    assert isinstance(batch, Batch) and len(batch.completions) == 5
    assert batch.seconds > 0 and batch.meta["shared_prefix"] is True
    assert lm._model.config._attn_implementation == "sdpa"  # switched for the decode steps only
    prompt_tokens = {c.prompt_tokens for c in batch.completions}
    assert len(prompt_tokens) == 1 and prompt_tokens.pop() > 10
    for c in batch.completions:
        assert 1 <= c.tokens <= 8
        assert c.finish_reason in ("stop", "length")
    assert lm.sample(PROMPT, 0, params()).completions == []


def test_seed_reproducible(lm: LocalModel) -> None:
    first = [c.text for c in lm.sample(PROMPT, 4, params(seed=123)).completions]
    again = [c.text for c in lm.sample(PROMPT, 4, params(seed=123)).completions]
    other = [c.text for c in lm.sample(PROMPT, 4, params(seed=124)).completions]
    assert first == again
    assert first != other
    assert len(set(first)) > 1  # the rows are different samples, not copies


def test_model_seed_makes_a_run_reproducible(tiny_model_dir: Path) -> None:
    runs = []
    for _ in range(2):
        model = LocalModel(tiny_model_dir, seed=7)
        runs.append([c.text for _ in range(2) for c in model.sample(PROMPT, 2, params(seed=None)).completions])
    assert runs[0] == runs[1]
    assert runs[0][:2] != runs[0][2:]  # the second call continues the stream


def test_top_p_restricts_to_the_nucleus(lm: LocalModel) -> None:
    from llm_modulo.models._sampling import sample_next as _sample

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05] + [0.0] * 60, [0.05, 0.9, 0.05] + [0.0] * 61]))
    gen = torch.Generator().manual_seed(0)
    drawn = torch.stack([_sample(logits, 1.0, 0.7, gen) for _ in range(300)])
    assert set(drawn[:, 0].tolist()) == {0, 1}  # 0.5 + 0.3 covers 0.7
    assert set(drawn[:, 1].tolist()) == {1}
    assert set(_sample(logits, 0.0, 0.7, gen).tolist()) == {0, 1}  # greedy
    flat = torch.zeros(2, 5000)  # nucleus beyond the first top-k tries
    assert _sample(flat, 1.0, 0.99, gen).shape == (2,)
    batch = lm.sample(PROMPT, 2, params(top_p=0.5, max_tokens=3))
    assert all(c.tokens == 3 for c in batch.completions)


def test_max_tokens_gives_length(lm: LocalModel) -> None:
    batch = lm.sample(PROMPT, 3, params(max_tokens=5, top_p=1.0))
    # a random model over 49k tokens almost never picks EOS
    assert [(c.tokens, c.finish_reason) for c in batch.completions] == [(5, "length")] * 3


def test_interrupt_stops_the_decode_in_progress_and_not_the_next(
    lm: LocalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep stopping with trials in flight must not wait for a long batch to end: ``interrupt``
    stops the running decode before its next token; an interrupt while idle changes nothing."""
    steps = []
    armed = [True]
    choose = lm._choose

    def counting(*args: object) -> object:
        steps.append(1)
        if armed[0] and len(steps) == 3:
            lm.interrupt()  # as BatchingModel.abandon() does from the driver's thread
        return choose(*args)

    monkeypatch.setattr(lm, "_choose", counting)
    with pytest.raises(DecodeInterrupted):
        lm.sample(PROMPT, 4, params(max_tokens=200))
    assert len(steps) == 3  # stopped at the next token, not after 200
    armed[0] = False
    lm.interrupt()  # idle: a no-op
    batch = lm.sample(PROMPT, 2, params(max_tokens=5))
    assert [(c.tokens, c.finish_reason) for c in batch.completions] == [(5, "length")] * 2


def test_the_runs_seconds_stop_a_decode_between_tokens(lm: LocalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a run with ``Budget(seconds=...)`` a long decode stops at the deadline, not at its end."""
    import time

    from llm_modulo.budget import run_deadline
    from llm_modulo.errors import BudgetSecondsExceeded

    steps = []
    choose = lm._choose

    def slow(*args: object) -> object:
        steps.append(1)
        time.sleep(0.05)
        return choose(*args)

    lm.sample(PROMPT, 1, params(max_tokens=1))  # loaded and warm: the deadline is all decoding
    monkeypatch.setattr(lm, "_choose", slow)
    with run_deadline(1.0), pytest.raises(BudgetSecondsExceeded):
        lm.sample(PROMPT, 2, params(max_tokens=200))
    assert 1 <= len(steps) < 60  # stopped near 1 s (20 steps), not after 200 tokens
    assert lm.sample(PROMPT, 1, params(max_tokens=3)).completions[0].tokens == 3  # outside the run: no deadline


def test_stop_strings_cut_the_text(lm: LocalModel) -> None:
    batch = lm.sample(PROMPT, 6, params(max_tokens=40, stop=("e", "a")))
    stopped = [c for c in batch.completions if c.finish_reason == "stop"]
    assert stopped, "random text over 40 tokens always contains an 'e' or an 'a'"
    for c in batch.completions:
        assert "e" not in c.text and "a" not in c.text
        assert c.tokens <= 40
    free = lm.sample(PROMPT, 6, params(max_tokens=40))
    assert max(c.tokens for c in free.completions) > max(c.tokens for c in stopped)


def test_eos_ends_a_row(lm: LocalModel) -> None:
    eos = lm.tokenizer.eos_token_id

    def prefer_eos(module: object, args: object, output: torch.Tensor) -> torch.Tensor:
        output[..., eos] += 1000.0
        return output

    handle = lm._model.lm_head.register_forward_hook(prefer_eos)
    lm.clear_prompt_cache()  # the kept prompt logits predate the hook
    try:
        batch = lm.sample(PROMPT, 3, params(max_tokens=10))
    finally:
        handle.remove()
        lm.clear_prompt_cache()
    assert [(c.text, c.tokens, c.finish_reason) for c in batch.completions] == [("", 1, "stop")] * 3


def test_greedy_is_deterministic_and_rows_agree(lm: LocalModel) -> None:
    batch = lm.sample(PROMPT, 3, params(temperature=0.0, seed=None, max_tokens=10))
    assert len({c.text for c in batch.completions}) == 1


def test_shared_prefix_matches_plain_decoding(lm: LocalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    long_prompt = Prompt(({"role": "user", "content": " ".join(["blocks on the table"] * 40)},))
    greedy = params(temperature=0.0, max_tokens=16)
    shared = lm.sample(long_prompt, 2, greedy)
    monkeypatch.setattr(_shared_prefix, "can_share", lambda model, cache: False)
    plain = lm.sample(long_prompt, 2, greedy)
    assert shared.meta["shared_prefix"] is True and plain.meta["shared_prefix"] is False
    assert [c.text for c in shared.completions] == [c.text for c in plain.completions]
    # and both match a from-scratch forward over the whole text, token by token
    tok = lm.tokenizer
    ids = tok(lm.render(long_prompt), add_special_tokens=False, return_tensors="pt")["input_ids"]
    gen = torch.tensor([shared.meta["token_ids"][0]])
    with torch.inference_mode():
        logits = lm._model(input_ids=torch.cat([ids, gen], dim=1)).logits[0]
    expected = logits[ids.shape[1] - 1 : -1].argmax(-1)
    assert torch.equal(expected, gen[0])


def test_prefill_is_not_repeated(lm: LocalModel) -> None:
    prefill = "Here is my plan, step by step:"
    prompt = Prompt(PROMPT.messages, prefill=prefill)
    assert lm.render(prompt).endswith("<|im_start|>assistant\n" + prefill)
    for c in lm.sample(prompt, 4, params(max_tokens=6)).completions:
        assert not c.text.startswith(prefill[:10])


def test_render_without_chat_template(lm: LocalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lm.tokenizer, "chat_template", None)
    prompt = Prompt(({"role": "system", "content": "S"}, {"role": "user", "content": "U"}), prefill="P")
    assert lm.render(prompt) == prompt.render_plain() == "S\n\nU\nP"


def _parse(text: str) -> tuple[list[str], str]:
    *lines, last = text.split("\n")
    return lines, last


@pytest.mark.parametrize("seed", range(6))
def test_constrained_yields_only_grammar_lines(lm: LocalModel, seed: int) -> None:
    constraint = LineConstraint(BW_LINES, END, max_lines=4)
    batch = lm.sample(PROMPT, 8, params(seed=seed, max_tokens=64), constraint)
    assert batch.meta["constrained"] is True
    for c in batch.completions:
        lines, last = _parse(c.text)
        assert c.finish_reason == "stop", c.text
        assert last == END
        assert len(lines) <= 4
        assert all(line in BW_LINES for line in lines), c.text
        assert c.tokens == len(lm.tokenizer.encode(c.text, add_special_tokens=False))


def test_constrained_never_draws_a_line_excluded_after_its_predecessors(lm: LocalModel) -> None:
    """``exclude_after`` in a static grammar: the local model's decoder, not only the grammar's
    own bookkeeping, rules each line out after the exact lines it follows."""
    # no stopping before the second line; the first half of the lines never first
    banned = frozenset(
        {((), END), *(((line,), END) for line in BW_LINES), *(((), line) for line in BW_LINES[: len(BW_LINES) // 2])}
    )
    constraint = LineConstraint(BW_LINES, END, max_lines=3, exclude_after=banned)
    bodies = []
    for seed in range(3):
        for c in lm.sample(PROMPT, 8, params(seed=seed, max_tokens=64), constraint).completions:
            lines, last = _parse(c.text)
            assert last == END and all(line in BW_LINES for line in lines), c.text
            assert all((tuple(lines[:i]), line) not in banned for i, line in enumerate(lines)), c.text
            assert (tuple(lines), END) not in banned, c.text
            bodies.append(lines)
    assert all(len(lines) >= 2 for lines in bodies)


def test_constrained_makes_lines_at_temperature_zero_and_one(lm: LocalModel) -> None:
    constraint = LineConstraint(BW_LINES, END, max_lines=3)
    batches = [lm.sample(PROMPT, 8, params(seed=seed, max_tokens=64), constraint) for seed in range(2)]
    texts = [c.text for batch in batches for c in batch.completions]
    assert any(_parse(t)[0] for t in texts), "a random model should produce some lines before the end"
    greedy = lm.sample(PROMPT, 2, params(temperature=0.0, max_tokens=64), constraint).completions
    assert all(_parse(c.text)[1] == END for c in greedy)


def test_max_lines_honoured(lm: LocalModel) -> None:
    only_end = lm.sample(PROMPT, 4, params(max_tokens=20), LineConstraint(BW_LINES, END, max_lines=0))
    assert [c.text for c in only_end.completions] == [END] * 4
    one = lm.sample(PROMPT, 8, params(max_tokens=30), LineConstraint(BW_LINES, END, max_lines=1))
    for c in one.completions:
        lines, last = _parse(c.text)
        assert len(lines) <= 1 and last == END


def test_constrained_prefill_gets_a_newline(lm: LocalModel) -> None:
    prompt = Prompt(PROMPT.messages, prefill="(pick-up a)")
    assert lm.render(prompt).endswith("(pick-up a)")
    for c in lm.sample(prompt, 4, params(max_tokens=40), LineConstraint(BW_LINES, END, 2)).completions:
        assert c.text.startswith("\n") and c.text.endswith(END)
        lines, _ = _parse("(pick-up a)" + c.text)
        assert lines[0] == "(pick-up a)" and all(line in BW_LINES for line in lines)


def test_constrained_honours_stop_strings(lm: LocalModel) -> None:
    batch = lm.sample(PROMPT, 8, params(max_tokens=64, stop=("\n",)), LineConstraint(BW_LINES, END, 4))
    for c in batch.completions:
        assert c.text == END or c.text in BW_LINES


def test_constrained_length_cut(lm: LocalModel) -> None:
    batch = lm.sample(PROMPT, 4, params(max_tokens=2), LineConstraint(BW_LINES, END, 4))
    for c in batch.completions:
        assert c.tokens <= 2
        if c.finish_reason == "length":
            assert not c.text.endswith(END)


def test_bad_arguments(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="dtype"):
        LocalModel(tiny_model_dir, dtype="int3")
    with pytest.raises(ModelLoadError, match="cannot load model"):
        LocalModel(tmp_path / "no-such-model").load()
    with pytest.raises(InputError, match="n must be"):
        LocalModel(tiny_model_dir).sample(PROMPT, -1, params())


def test_bad_constraint(lm: LocalModel) -> None:
    with pytest.raises(InputError, match="newline"):
        lm.sample(PROMPT, 1, params(), LineConstraint(("a\nb",), END))


def test_prompt_longer_than_context(lm: LocalModel) -> None:
    huge = Prompt(({"role": "user", "content": "block " * 2000},))
    with pytest.raises(InputError, match="reads at most"):
        lm.sample(huge, 1, params())


def test_import_does_not_load_torch() -> None:
    code = "import sys, llm_modulo.models.local, llm_modulo.models.smollm2; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
