"""Training records: a certified (prompt, completion) pair as a JSONL line, and the files that hold them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llm_modulo.strategies.base import judge
from llm_modulo.types import Task, certified


def certify(domain: Any, task: Task, completion: str, prefill: str | None = None) -> bool:
    """True when the hard critics accept the answer ``prefill + completion`` for ``task``
    (``prefill``: the opening of the prompt it answers; by default the bare prompt's)."""
    opening = domain.prompt(task).prefill if prefill is None else prefill
    return certified(judge(domain, task, opening + completion)[1])


def record(
    domain: Any, task: Task, completion: str, source: str, key: str, prompt_format: str, **extra: Any
) -> dict[str, Any]:
    """A JSONL record for ``completion`` on ``task`` (the prompt as ``domain`` writes it)."""
    prompt = domain.prompt(task)
    return {
        "prompt": [dict(m) for m in prompt.messages],
        "prefill": prompt.prefill,
        "completion": completion,
        "source": source,
        "domain": domain.name,
        "problem_hash": key,
        "task_id": task.id,
        "prompt_format": prompt_format,
        **extra,
    }


def write_jsonl(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write records one per line; returns how many. The file appears whole or not at all: an
    error while the records are made leaves an earlier file at ``path`` as it was."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    n = 0
    try:
        with part.open("w") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    return n


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


__all__ = ["certify", "read_jsonl", "record", "write_jsonl"]
