"""``LocalModel.sample_many``: several prompts decoded as one batch give each request what its own
``sample`` call gives (tiny random Llama, fast)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from test_local import BW_LINES, END, PROMPT, params  # noqa: E402

from llm_modulo.errors import InputError  # noqa: E402
from llm_modulo.models.local import LocalModel  # noqa: E402
from llm_modulo.protocols import Batch, LineConstraint, MultiSamplingModel, Prompt, SampleRequest  # noqa: E402


def _prompt(text: str, prefill: str = "") -> Prompt:
    return Prompt(({"role": "user", "content": text},), prefill=prefill)


def _requests() -> list[SampleRequest]:
    """Prompts of different lengths, greedy and seeded sampling, a grammar, a stop string, a prefill."""
    return [
        SampleRequest(PROMPT, 2, params(temperature=0.0, max_tokens=10)),
        SampleRequest(_prompt(" ".join(["blocks on the table"] * 30)), 3, params(seed=5, max_tokens=14)),
        SampleRequest(
            _prompt("Plan it.", prefill="(pick-up a)"),
            4,
            params(seed=9, max_tokens=40),
            LineConstraint(BW_LINES, END, max_lines=3),
        ),
        SampleRequest(_prompt("Say something short"), 2, params(seed=2, max_tokens=6, stop=("e",))),
    ]


def _view(batch: Batch) -> list[tuple[str, int, int, str]]:
    return [(c.text, c.tokens, c.prompt_tokens, c.finish_reason) for c in batch.completions]


@pytest.mark.parametrize("kept", ["cold", "warm", "part"])
@pytest.mark.parametrize("one_prefill", [True, False], ids=["one-prefill", "prefill-each"])
def test_many_equals_one_by_one(lm: LocalModel, monkeypatch: pytest.MonkeyPatch, kept: str, one_prefill: bool) -> None:
    """Every request gets its own call's tokens, whether the prompts prefill in one padded pass
    or one by one, and whether recent prompts' caches hold none, all or part of them."""
    assert isinstance(lm, MultiSamplingModel)
    assert lm._head_split_ok()  # a Llama: logits are the head on the last hidden state
    monkeypatch.setattr(lm, "_head_split", one_prefill)
    requests = _requests()
    lm.clear_prompt_cache()
    alone = [lm.sample(r.prompt, r.n, r.params, r.constraint) for r in requests]
    if kept == "cold":
        lm.clear_prompt_cache()
    elif kept == "part":  # the kept prompts share only a prefix with two of the requests
        lm.clear_prompt_cache()
        for r in requests[:2]:
            lm.sample(Prompt(r.prompt.messages + ({"role": "assistant", "content": "x"},)), 1, params(max_tokens=1))
    together = lm.sample_many(requests)
    assert len(together) == len(requests)
    for one, many in zip(alone, together, strict=False):
        assert isinstance(many, Batch)
        assert _view(many) == _view(one)
        assert many.meta["token_ids"] == one.meta["token_ids"]
        assert many.meta["batched_requests"] == len(requests) and "batched_requests" not in one.meta
    # the texts really differ between requests (no row was decoded against another's prompt)
    assert len({c.text for b in together if isinstance(b, Batch) for c in b.completions}) > 4
    fresh = [b.meta["prefill_tokens"] for b in together if isinstance(b, Batch)]
    if kept == "warm":
        assert fresh == [0] * 4  # kept whole: nothing is read again
    elif kept == "cold":  # (one by one, a later prompt reuses the chat template an earlier one read)
        full = [b.completions[0].prompt_tokens for b in together if isinstance(b, Batch)]
        assert fresh[0] == full[0] and all(0 < f <= n for f, n in zip(fresh, full, strict=False))
        assert fresh == full or not one_prefill
    else:
        assert 0 < fresh[0] < together[0].completions[0].prompt_tokens  # type: ignore[union-attr]
    lm.clear_prompt_cache()


def test_many_rows_match_a_from_scratch_forward(lm: LocalModel) -> None:
    """Greedy rows of a short and a long prompt decoded together equal the argmax of a full
    forward pass over each prompt + its tokens: positions and prefixes are per group."""
    short, long = PROMPT, _prompt(" ".join(["the red block is clear"] * 25))
    greedy = params(temperature=0.0, max_tokens=12)
    results = lm.sample_many([SampleRequest(short, 1, greedy), SampleRequest(long, 1, greedy)])
    for prompt, batch in zip((short, long), results, strict=False):
        assert isinstance(batch, Batch)
        ids = lm.tokenizer(lm.render(prompt), add_special_tokens=False, return_tensors="pt")["input_ids"]
        gen = torch.tensor([batch.meta["token_ids"][0]])
        with torch.inference_mode():
            logits = lm._model(input_ids=torch.cat([ids, gen], dim=1)).logits[0]
        assert torch.equal(logits[ids.shape[1] - 1 : -1].argmax(-1), gen[0])


def test_bad_request_fails_alone(lm: LocalModel) -> None:
    too_long = _prompt("word " * 2000)
    good = SampleRequest(PROMPT, 2, params(max_tokens=5))
    results = lm.sample_many(
        [
            good,
            SampleRequest(too_long, 1, params()),
            SampleRequest(PROMPT, 0, params()),
            SampleRequest(PROMPT, -1, params()),
        ]
    )
    assert isinstance(results[0], Batch) and len(results[0].completions) == 2
    assert isinstance(results[1], InputError) and "reads at most" in str(results[1])
    assert isinstance(results[2], Batch) and results[2].completions == []
    assert isinstance(results[3], InputError)
    with pytest.raises(InputError):
        lm.sample(PROMPT, -1, params())


def test_recent_prompts_are_not_prefilled_again(lm: LocalModel) -> None:
    lm.clear_prompt_cache()
    problem = _prompt(" ".join(["the blue block is on the table"] * 12))
    feedback = Prompt(
        problem.messages
        + ({"role": "assistant", "content": "(pick-up a)"}, {"role": "user", "content": "That fails: a is not clear."})
    )
    greedy = params(temperature=0.0, max_tokens=10)
    first = lm.sample(problem, 2, greedy)
    again = lm.sample(problem, 2, greedy)  # the same prompt: nothing to prefill
    later = lm.sample(feedback, 2, greedy)  # the problem's tokens are shared: only the rest is read
    assert first.meta["prefill_tokens"] == first.completions[0].prompt_tokens
    assert again.meta["prefill_tokens"] == 0 and _view(again) == _view(first)
    shared = int(later.meta["prefill_tokens"])  # type: ignore[call-overload]
    assert 0 < shared < later.completions[0].prompt_tokens - first.completions[0].prompt_tokens // 2
    lm.clear_prompt_cache()
    fresh = lm.sample(feedback, 2, greedy)
    assert fresh.meta["prefill_tokens"] == fresh.completions[0].prompt_tokens
    assert _view(fresh) == _view(later)  # reused keys and values decode the same tokens


def test_the_prompt_cache_is_bounded(lm: LocalModel) -> None:
    lm.clear_prompt_cache()
    lm.sample(PROMPT, 1, params(max_tokens=2))
    one = lm._prompt_bytes
    assert one > 0
    old = lm.prompt_cache_bytes
    lm.prompt_cache_bytes = int(one * 2.5)
    try:
        for i in range(5):
            lm.sample(_prompt(f"Task number {i}: stack block a on block b."), 1, params(max_tokens=2))
        assert len(lm._prompts) <= 2 and lm._prompt_bytes <= lm.prompt_cache_bytes
        first = tuple(lm.tokenizer(lm.render(PROMPT), add_special_tokens=False)["input_ids"])
        assert first not in lm._prompts  # the oldest went first
    finally:
        lm.prompt_cache_bytes = old
        lm.clear_prompt_cache()


def test_prompts_prefill_in_groups_of_similar_length(lm: LocalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    lm.clear_prompt_cache()
    groups: list[list[int]] = []
    original = lm._prefill_group

    def record(group, found):  # type: ignore[no-untyped-def]
        groups.append(sorted(job.prompt_tokens - f[0] for job, f in zip(group, found, strict=False)))
        return original(group, found)

    monkeypatch.setattr(lm, "_prefill_group", record)
    greedy = params(temperature=0.0, max_tokens=3)
    short_a, short_b = _prompt("Stack a on b."), _prompt("Stack b on c.")
    long = _prompt(" ".join(["the green block is on the table"] * 20))
    results = lm.sample_many([SampleRequest(p, 1, greedy) for p in (long, short_a, short_b)])
    assert all(isinstance(r, Batch) for r in results)
    assert len(groups) == 2 and len(groups[0]) == 2 and len(groups[1]) == 1  # the long one alone
    assert groups[1][0] > 3 * groups[0][1]
    lm.clear_prompt_cache()


@pytest.mark.parametrize("seed", [0, 1])
def test_constrained_logits_only_for_allowed_tokens_decode_the_same(
    lm: LocalModel, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = lm._restricted_logits
    monkeypatch.setattr(lm, "_restricted_logits", lambda h, a: calls.append(a.numel()) or original(h, a))
    constraint = LineConstraint(BW_LINES, END, max_lines=4)
    requests = [
        SampleRequest(PROMPT, 3, params(seed=seed, max_tokens=48), constraint),
        SampleRequest(_prompt("Plan: unstack c from d."), 2, params(temperature=0.0, max_tokens=48), constraint),
    ]
    restricted = lm.sample_many(requests)
    assert calls and max(calls) < 1000  # the restricted head ran, over a few hundred tokens at most
    lm.restrict_head = False
    try:
        full = lm.sample_many(requests)
    finally:
        lm.restrict_head = True
    for a, b in zip(restricted, full, strict=False):
        assert isinstance(a, Batch) and isinstance(b, Batch)
        assert a.meta["token_ids"] == b.meta["token_ids"]
