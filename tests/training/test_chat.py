"""Training sequences are what the local backend feeds the model at inference."""

from __future__ import annotations

from typing import Any

from llm_modulo.training import chat


def _local_model_with(tokenizer: Any) -> Any:
    """A LocalModel whose tokenizer is set and whose weights are never loaded (render needs only the tokenizer)."""
    from llm_modulo.models.local import LocalModel

    model = LocalModel()
    model._tokenizer = tokenizer
    model._model = object()  # load() returns at once
    return model


def test_render_matches_the_local_backend(tokenizer: Any) -> None:
    domain = chat.training_domain("blocksworld", "compact")
    from llm_modulo.domains.blocksworld import sussman_anomaly

    task = sussman_anomaly(domain.inner)
    prompt = domain.prompt(task, prefill="unstack the orange block from on top of the red block\n")
    local = _local_model_with(tokenizer)
    assert chat.render(tokenizer, prompt.messages, prompt.prefill) == local.render(prompt)
    assert local.render(prompt).startswith("<|im_start|>system")


def test_compact_prompts_keep_only_the_statement() -> None:
    from llm_modulo.domains.blocksworld import sussman_anomaly

    full = chat.training_domain("blocksworld", "full")
    compact = chat.training_domain("blocksworld", "compact")
    task = sussman_anomaly(full)
    long, short = full.prompt(task).messages[0]["content"], compact.prompt(task).messages[0]["content"]
    assert short.startswith("[STATEMENT]") and long.endswith(short) and len(short) < len(long) / 2
    assert "I am playing with a set of blocks" in long and "I am playing" not in short
    assert compact.prompt(task).prefill == full.prompt(task).prefill == "[PLAN]\n"
    assert compact.name == "blocksworld" and compact.critics(task)  # everything else is the inner domain's
    game = chat.training_domain("game24", "compact")
    assert game.prompt(game.load("4 4 6 8")).messages[0]["content"] == "Input: 4 4 6 8"


def test_encode_masks_the_prompt_and_ends_with_eos(tokenizer: Any) -> None:
    record = {
        "prompt": [{"role": "user", "content": "Input: 4 4 6 8"}],
        "prefill": "Steps:\n",
        "completion": "4 + 8 = 12 (left: 4 6 12)\n6 - 4 = 2 (left: 2 12)\n2 * 12 = 24 (left: 24)\nAnswer: (6 - 4) * (4 + 8) = 24\n[END]",
    }
    enc = chat.encode_example(tokenizer, record, max_len=512)
    assert enc is not None
    head = tokenizer(chat.render(tokenizer, record["prompt"], "Steps:\n"), add_special_tokens=False)["input_ids"]
    assert list(enc.input_ids[: len(head)]) == head
    assert all(x == chat.IGNORE for x in enc.labels[: len(head)])
    tail = list(enc.labels[len(head) :])
    assert tail[-1] == tokenizer.eos_token_id and chat.IGNORE not in tail
    assert tokenizer.decode(tail[:-1]) == record["completion"]
    # each line is tokenized alone, as the constrained decoder's trie holds it
    first_line = tokenizer.encode("4 + 8 = 12 (left: 4 6 12)\n", add_special_tokens=False)
    assert tail[: len(first_line)] == first_line
    assert chat.encode_example(tokenizer, record, max_len=len(enc.input_ids) - 1) is None
