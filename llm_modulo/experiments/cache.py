"""A completion cache on disk, so a rerun of a sweep (or a second sweep sharing trials' calls)
never pays twice for the same seeded model call.

``CachingModel(model, spec, path)`` wraps any :class:`~llm_modulo.protocols.LanguageModel`.
A ``sample`` call is keyed by the sha256 of (model spec, prompt messages, prefill, n, every
:class:`~llm_modulo.protocols.SamplingParams` field, the constraint's signature); only seeded
calls are cached, since unseeded sampling is not reproducible. ``score(prompt, continuations,
seed)`` (log-probs, an optional model method the ``search`` strategy uses) is cached too when the
wrapped model has it, keyed by (spec, prompt, continuations, seed), seeded calls only. Every
other attribute (``name``, ``load()``, ...) is forwarded to the wrapped model.

The file is SQLite in WAL mode with a busy timeout: several worker processes may read and
write it at once; a key written twice keeps its first value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SamplingParams, ScoreBatch

log = logging.getLogger(__name__)

_T = TypeVar("_T")
CACHE_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL);
"""
_TABLES = ("completions", "scores")


def default_cache_path(store: str | Path) -> Path:
    """``runs/x.sqlite`` -> ``runs/x.cache.sqlite``."""
    return Path(store).with_suffix(".cache.sqlite")


class CompletionCache:
    """A key -> JSON text table on disk, safe under several processes (one connection per process)."""

    def __init__(self, path: str | Path, timeout: float = 60.0, retries: int = 5) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.retries = retries
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None

    def __getstate__(self) -> dict[str, Any]:  # a connection never crosses a process boundary
        return {**self.__dict__, "_conn": None, "_pid": None}

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            self._retry(lambda: conn.executescript(_SCHEMA))
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _retry(self, op: Callable[[], _T]) -> _T:
        """Bounded retries with jittered backoff on "database is locked" beyond the busy timeout."""
        delay = 0.05
        for attempt in range(self.retries + 1):
            try:
                return op()
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == self.retries:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay *= 2
        raise AssertionError("unreachable")

    def get(self, table: str, key: str) -> str | None:
        assert table in _TABLES
        conn = self._connect()
        found = self._retry(lambda: conn.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone())
        return None if found is None else str(found[0])

    def put(self, table: str, key: str, value: str) -> None:
        assert table in _TABLES
        conn = self._connect()
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._retry(
            lambda: conn.execute(
                f"INSERT OR IGNORE INTO {table} (key, value, created_at) VALUES (?, ?, ?)", (key, value, stamp)
            )
        )

    def count(self, table: str = "completions") -> int:
        assert table in _TABLES
        conn = self._connect()
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = self._pid = None


# -- keys ------------------------------------------------------------------------------------


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _prompt_data(prompt: Any) -> Any:
    if isinstance(prompt, Prompt):
        return {"messages": [dict(m) for m in prompt.messages], "prefill": prompt.prefill}
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (list, tuple)):
        return [dict(m) if isinstance(m, dict) else m for m in prompt]
    return repr(prompt)


def constraint_signature(constraint: LineConstraint | None) -> dict[str, Any] | None:
    """What a grammar contributes to a cache key. A dynamic grammar (``next_lines``) is a function
    of the task and the prefill, which the prompt already pins down."""
    if constraint is None:
        return None
    signature: dict[str, Any] = {
        "lines": list(constraint.lines),
        "end": constraint.end,
        "max_lines": constraint.max_lines,
        "exclude_first": sorted(constraint.exclude_first),
        "dynamic": constraint.next_lines is not None,
    }
    if constraint.exclude_after:  # only when set, so that the keys of earlier samples stay as they were
        signature["exclude_after"] = sorted([list(after), line] for after, line in constraint.exclude_after)
    return signature


def sample_key(spec: str, prompt: Prompt, n: int, params: SamplingParams, constraint: LineConstraint | None) -> str:
    fields = dataclasses.asdict(params)
    fields["stop"] = list(params.stop)
    return _digest(
        {
            "v": CACHE_VERSION,
            "kind": "sample",
            "model": spec,
            "prompt": _prompt_data(prompt),
            "n": n,
            "params": fields,
            "constraint": constraint_signature(constraint),
        }
    )


def score_key(spec: str, prompt: Any, continuations: Sequence[str], seed: int | None = None) -> str:
    return _digest(
        {
            "v": CACHE_VERSION,
            "kind": "score",
            "model": spec,
            "prompt": _prompt_data(prompt),
            "continuations": list(continuations),
            "seed": seed,  # the random control's scores are draws: the seed is part of the call
        }
    )


# -- the wrapper -----------------------------------------------------------------------------


class CachingModel:
    """A :class:`~llm_modulo.protocols.LanguageModel` that answers repeated seeded calls from disk.

    ``inner_calls`` counts calls that reached the wrapped model, ``hits`` those served from the cache.
    """

    def __init__(self, model: Any, spec: str, path: str | Path | CompletionCache) -> None:
        self.model = model
        self.spec = spec
        self.cache = path if isinstance(path, CompletionCache) else CompletionCache(path)
        self.inner_calls = 0
        self.hits = 0

    def __repr__(self) -> str:
        return f"CachingModel({self.model!r}, cache={str(self.cache.path)!r})"

    def __getattr__(self, attr: str) -> Any:
        # only reached for attributes not set on the wrapper: forward them (name, load, ...)
        if attr.startswith("__") or attr in ("model", "spec", "cache"):
            raise AttributeError(attr)
        value = getattr(self.model, attr)
        if attr == "score" and callable(value):
            return self._score
        return value

    def sample(self, prompt: Prompt, n: int, params: SamplingParams, constraint: LineConstraint | None = None) -> Batch:
        if params.seed is None:  # unseeded sampling is not reproducible: never cached
            self.inner_calls += 1
            unseeded: Batch = self.model.sample(prompt, n, params, constraint=constraint)
            return unseeded
        key = sample_key(self.spec, prompt, n, params, constraint)
        cached = self.cache.get("completions", key)
        if cached is not None:
            self.hits += 1
            data = json.loads(cached)
            return Batch(
                completions=[Completion(**c) for c in data["completions"]],
                seconds=0.0,
                meta={**data.get("meta", {}), "cache": "hit", "original_seconds": data.get("seconds", 0.0)},
            )
        self.inner_calls += 1
        batch: Batch = self.model.sample(prompt, n, params, constraint=constraint)
        value = {
            "completions": [dataclasses.asdict(c) for c in batch.completions],
            "seconds": batch.seconds,
            "meta": json.loads(json.dumps(batch.meta, default=str)),
        }
        self.cache.put("completions", key, json.dumps(value))
        return batch

    def _score(self, prompt: Any, continuations: Sequence[str], seed: int | None = None, **kwargs: Any) -> Any:
        """``score`` of the wrapped model (a :class:`~llm_modulo.protocols.ScoreBatch`, or a list of
        log-probs from older models), cached like ``sample``: seeded calls only."""
        inner = self.model.score
        if seed is None or kwargs:  # unseeded, or arguments the key does not know about: do not guess
            self.inner_calls += 1
            return (
                inner(prompt, continuations, **kwargs)
                if seed is None
                else inner(prompt, continuations, seed=seed, **kwargs)
            )
        key = score_key(self.spec, prompt, continuations, seed)
        cached = self.cache.get("scores", key)
        if cached is not None:
            self.hits += 1
            data = json.loads(cached)
            if data.get("type") == "ScoreBatch":
                return ScoreBatch(
                    logprobs=[float(x) for x in data["logprobs"]],
                    tokens=data.get("tokens", 0),
                    prompt_tokens=data.get("prompt_tokens", 0),
                    seconds=0.0,
                )
            return [float(x) for x in data["logprobs"]]
        self.inner_calls += 1
        result = inner(prompt, continuations, seed=seed)
        if isinstance(result, ScoreBatch):
            value = {"type": "ScoreBatch", **dataclasses.asdict(result)}
        else:
            value = {"type": "list", "logprobs": [float(x) for x in result]}
        self.cache.put("scores", key, json.dumps(value))
        return result


__all__ = ["CachingModel", "CompletionCache", "constraint_signature", "default_cache_path", "sample_key", "score_key"]
