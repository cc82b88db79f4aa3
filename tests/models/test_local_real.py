"""The real embedded SmolLM2-135M-Instruct (converted once into the user cache, ~30 s the first time)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from llm_modulo.errors import ModelLoadError  # noqa: E402
from llm_modulo.models import _shared_prefix  # noqa: E402
from llm_modulo.models.local import LocalModel  # noqa: E402
from llm_modulo.protocols import LineConstraint, Prompt, SamplingParams  # noqa: E402

pytestmark = pytest.mark.slow

BLOCKS = ("a", "b", "c")
BW_LINES = tuple(
    [f"(pick-up {x})" for x in BLOCKS]
    + [f"(put-down {x})" for x in BLOCKS]
    + [f"({op} {x} {y})" for op in ("stack", "unstack") for x in BLOCKS for y in BLOCKS if x != y]
)
END = "[PLAN END]"


@pytest.fixture(scope="module")
def smol() -> LocalModel:
    try:
        return LocalModel(seed=0).load()
    except ModelLoadError as exc:
        pytest.skip(str(exc))


def test_chat_prompt_n4(smol: LocalModel) -> None:
    prompt = Prompt(({"role": "user", "content": "Name three colours of blocks."},))
    batch = smol.sample(prompt, 4, SamplingParams(temperature=0.8, max_tokens=24, seed=1))
    assert len(batch.completions) == 4
    assert batch.meta["shared_prefix"] is True
    for c in batch.completions:
        assert c.text.strip() and c.tokens > 0 and c.prompt_tokens > 10
        assert c.finish_reason in ("stop", "length")


def test_constrained_blocksworld_plan(smol: LocalModel) -> None:
    prompt = Prompt(
        (
            {
                "role": "user",
                "content": "Blocks a, b, c are on the table. Goal: a on b. "
                "Write one action per line, like (pick-up a), then [PLAN END].",
            },
        )
    )
    constraint = LineConstraint(BW_LINES, END, max_lines=6)
    batch = smol.sample(prompt, 6, SamplingParams(temperature=1.0, max_tokens=80, seed=2), constraint)
    for c in batch.completions:
        *lines, last = c.text.split("\n")
        assert c.finish_reason == "stop" and last == END, c.text
        assert len(lines) <= 6 and all(line in BW_LINES for line in lines), c.text


def test_shared_prefix_equals_plain_greedy(smol: LocalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    prompt = Prompt(({"role": "user", "content": "Explain in one sentence what a stack of blocks is."},))
    greedy = SamplingParams(temperature=0.0, max_tokens=12)
    shared = smol.sample(prompt, 2, greedy)
    monkeypatch.setattr(_shared_prefix, "can_share", lambda model, cache: False)
    plain = smol.sample(prompt, 2, greedy)
    assert shared.meta["token_ids"] == plain.meta["token_ids"]


def test_score_matches_a_full_forward_pass_and_reuses_the_prompt(smol):
    """Batched scoring over the cached prompt equals scoring each continuation with a plain forward pass."""
    import torch

    prompt = Prompt(messages=({"role": "user", "content": "Name a block action."},), prefill="[PLAN]\n")
    conts = ["(pick-up a)\n", "(unstack b c)\n", END]
    first = smol.score(prompt, conts)
    tok = smol.tokenizer

    def naive(prompt: Prompt, cont: str) -> float:
        ids = tok(smol.render(prompt), add_special_tokens=False)["input_ids"]
        cid = tok.encode(cont, add_special_tokens=False)
        with torch.inference_mode():
            lp = smol._model(input_ids=torch.tensor([ids + cid])).logits[0].float().log_softmax(-1)
        return sum(lp[len(ids) - 1 + j, cid[j]].item() for j in range(len(cid)))

    for cont, value in zip(conts, first.logprobs, strict=False):
        assert value == pytest.approx(naive(prompt, cont), abs=1e-3)
    again = smol.score(prompt, conts)
    assert again.prompt_tokens == 0 and again.logprobs == pytest.approx(first.logprobs, abs=1e-4)
    longer = Prompt(messages=prompt.messages, prefill="[PLAN]\n(pick-up a)\n")
    extended = smol.score(longer, ["(stack a b)\n"])
    assert 0 < extended.prompt_tokens < first.prompt_tokens  # only the new line was read
    assert extended.logprobs[0] == pytest.approx(naive(longer, "(stack a b)\n"), abs=1e-3)
