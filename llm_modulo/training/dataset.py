"""A JSONL training set as the trainer reads it: its summary, its encoded examples, seeded batches.

Records are tokenized by :func:`.chat.encode_example` (as the local backend renders prompts at
inference); a record longer than ``max_len`` is dropped, never truncated.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

from .chat import IGNORE, Encoded, encode_example


def data_summary(path: str | Path) -> dict[str, list[str]]:
    """The domains, prompt formats and sources of a JSONL dataset (inference must use the same prompt format)."""
    found: dict[str, set[str]] = {"domains": set(), "prompt_formats": set(), "sources": set()}
    with Path(path).open() as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                for key, field_name in (
                    ("domains", "domain"),
                    ("prompt_formats", "prompt_format"),
                    ("sources", "source"),
                ):
                    if rec.get(field_name):
                        found[key].add(str(rec[field_name]))
    return {k: sorted(v) for k, v in found.items()}


def load_examples(path: str | Path, tokenizer: Any, max_len: int) -> tuple[list[Encoded], int]:
    """(encoded examples, number skipped as longer than ``max_len``)."""
    examples, skipped = [], 0
    with Path(path).open("rb") as fh:  # bytes, decoded line by line: a line that is not UTF-8 is a bad record
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
                enc = encode_example(tokenizer, rec, max_len)
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{path}:{n}: not a training record ({type(exc).__name__}: {exc})") from None
            if enc is None:
                skipped += 1
            elif enc.completion_tokens:
                examples.append(enc)
    return examples, skipped


def batch_order(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch: a seeded permutation of the examples cut into ``batch_size`` chunks."""
    order = list(range(n))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def collate(examples: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors: input_ids, attention_mask, labels (padding is :data:`IGNORE`)."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        k = len(e.input_ids)
        ids[i, :k] = torch.tensor(e.input_ids)
        labels[i, :k] = torch.tensor(e.labels)
        mask[i, :k] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


__all__ = ["batch_order", "collate", "data_summary", "load_examples"]
