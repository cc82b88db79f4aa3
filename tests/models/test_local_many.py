"""``LocalModel.sample_many``: several prompts decoded as one batch give each request what its own
``sample`` call gives (tiny random Llama, fast)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from llm_modulo.errors import InputError  # noqa: E402
from llm_modulo.models.local import LocalModel  # noqa: E402
from llm_modulo.protocols import Batch, LineConstraint, MultiSamplingModel, Prompt, SampleRequest  # noqa: E402

from test_local import BW_LINES, END, PROMPT, params  # noqa: E402


def _prompt(text: str, prefill: str = "") -> Prompt:
    return Prompt(({"role": "user", "content": text},), prefill=prefill)


def _requests() -> list[SampleRequest]:
    """Prompts of different lengths, greedy and seeded sampling, a grammar, a stop string, a prefill."""
    return [
        SampleRequest(PROMPT, 2, params(temperature=0.0, max_tokens=10)),
        SampleRequest(_prompt(" ".join(["blocks on the table"] * 30)), 3, params(seed=5, max_tokens=14)),
        SampleRequest(_prompt("Plan it.", prefill="(pick-up a)"), 4,
                      params(seed=9, max_tokens=40), LineConstraint(BW_LINES, END, max_lines=3)),
        SampleRequest(_prompt("Say something short"), 2, params(seed=2, max_tokens=6, stop=("e",))),
    ]


def _view(batch: Batch) -> list[tuple[str, int, int, str]]:
    return [(c.text, c.tokens, c.prompt_tokens, c.finish_reason) for c in batch.completions]


def test_many_equals_one_by_one(lm: LocalModel) -> None:
    assert isinstance(lm, MultiSamplingModel)
    requests = _requests()
    alone = [lm.sample(r.prompt, r.n, r.params, r.constraint) for r in requests]
    together = lm.sample_many(requests)
    assert len(together) == len(requests)
    for one, many in zip(alone, together):
        assert isinstance(many, Batch)
        assert _view(many) == _view(one)
        assert many.meta["token_ids"] == one.meta["token_ids"]
        assert many.meta["batched_requests"] == len(requests) and "batched_requests" not in one.meta
    # the texts really differ between requests (no row was decoded against another's prompt)
    assert len({c.text for b in together if isinstance(b, Batch) for c in b.completions}) > 4


def test_many_rows_match_a_from_scratch_forward(lm: LocalModel) -> None:
    """Greedy rows of a short and a long prompt decoded together equal the argmax of a full
    forward pass over each prompt + its tokens: positions and prefixes are per group."""
    short, long = PROMPT, _prompt(" ".join(["the red block is clear"] * 25))
    greedy = params(temperature=0.0, max_tokens=12)
    results = lm.sample_many([SampleRequest(short, 1, greedy), SampleRequest(long, 1, greedy)])
    for prompt, batch in zip((short, long), results):
        assert isinstance(batch, Batch)
        ids = lm.tokenizer(lm.render(prompt), add_special_tokens=False, return_tensors="pt")["input_ids"]
        gen = torch.tensor([batch.meta["token_ids"][0]])
        with torch.inference_mode():
            logits = lm._model(input_ids=torch.cat([ids, gen], dim=1)).logits[0]
        assert torch.equal(logits[ids.shape[1] - 1 : -1].argmax(-1), gen[0])


def test_bad_request_fails_alone(lm: LocalModel) -> None:
    too_long = _prompt("word " * 2000)
    good = SampleRequest(PROMPT, 2, params(max_tokens=5))
    results = lm.sample_many([good, SampleRequest(too_long, 1, params()), SampleRequest(PROMPT, 0, params()),
                              SampleRequest(PROMPT, -1, params())])
    assert isinstance(results[0], Batch) and len(results[0].completions) == 2
    assert isinstance(results[1], InputError) and "reads at most" in str(results[1])
    assert isinstance(results[2], Batch) and results[2].completions == []
    assert isinstance(results[3], InputError)
    with pytest.raises(InputError):
        lm.sample(PROMPT, -1, params())
