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
