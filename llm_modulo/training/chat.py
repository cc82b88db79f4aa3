"""Training prompts and their tokens: what the model sees at training time is what it sees at inference.

Prompt formats (``prompt_format``, ``"compact"`` or ``"full"``) are defined with the models, in
:mod:`llm_modulo.models.prompts` (inference runs a trained adapter with them); :func:`training_domain`
builds a domain with one of them. ``PROMPT_FORMATS``, ``NO_COT`` and ``CompactPrompts`` stay
importable from here.

Tokens (:func:`encode_example`): the prompt text is rendered exactly as
:meth:`llm_modulo.models.local.LocalModel.render` renders it (the tokenizer's chat template with
the generation prompt, then the prefill) and tokenized alone without special tokens, as
:meth:`LocalModel.sample` does. The completion is tokenized one line at a time (``line + "\\n"``
each alone, then the end marker), as the constrained decoder's trie and ``LocalModel.score``
tokenize lines, then the end-of-sequence token (``<|im_end|>``), so unconstrained sampling learns
to stop. Prompt tokens are masked out of the loss (label -100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.models.prompts import NO_COT, PROMPT_FORMATS, CompactPrompts

IGNORE = -100  # label of a token outside the loss


def training_domain(name: str, prompt_format: str = "compact", **options: Any) -> Any:
    """The registered domain ``name``, zero-shot, with the prompts of ``prompt_format``.

    Use the same call at inference to run a model trained on data made with it.
    """
    from llm_modulo.registry import get_domain

    if prompt_format not in PROMPT_FORMATS:
        raise InputError(f"unknown prompt format {prompt_format!r}; known: {', '.join(PROMPT_FORMATS)}")
    domain = get_domain(name, one_shot=False, **options)
    return CompactPrompts(domain) if prompt_format == "compact" else domain


def render(tokenizer: Any, messages: Sequence[dict[str, str]], prefill: str = "") -> str:
    """The prompt text exactly as :meth:`LocalModel.render` builds it."""
    messages = [dict(m) for m in messages]
    if getattr(tokenizer, "chat_template", None) and messages:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    else:
        parts = [m["content"] for m in messages]
        text = "\n\n".join(parts) + ("\n" if parts else "")
    return str(text) + prefill


@dataclass(frozen=True)
class Encoded:
    """One training sequence: token ids and labels (prompt tokens are :data:`IGNORE`)."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

    @property
    def completion_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def completion_ids(tokenizer: Any, completion: str, eos_id: int | None) -> list[int]:
    """The completion's tokens: each line (with its newline) alone, then EOS."""
    ids: list[int] = []
    for piece in completion.splitlines(keepends=True):
        ids += tokenizer.encode(piece, add_special_tokens=False)
    if eos_id is not None:
        ids.append(int(eos_id))
    return ids


def encode_example(tokenizer: Any, record: dict[str, Any], max_len: int | None = None) -> Encoded | None:
    """The tokens of one JSONL record (``prompt`` messages, ``prefill``, ``completion``); None when
    longer than ``max_len`` (no truncation: a cut prompt is not what inference sees)."""
    prompt = record["prompt"]
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    text = render(tokenizer, messages, record.get("prefill", ""))
    head = tokenizer(text, add_special_tokens=False)["input_ids"]
    tail = completion_ids(tokenizer, record["completion"], tokenizer.eos_token_id)
    if max_len is not None and len(head) + len(tail) > max_len:
        return None
    return Encoded(tuple(head) + tuple(tail), (IGNORE,) * len(head) + tuple(tail))


__all__ = [
    "IGNORE",
    "NO_COT",
    "PROMPT_FORMATS",
    "CompactPrompts",
    "Encoded",
    "completion_ids",
    "encode_example",
    "render",
    "training_domain",
]
