"""Writes synthetic trial stores per the schema in notes/schema.md (the contract with the runner).

Independent of the runner's own code on purpose: the report is tested against the contract.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
  key TEXT PRIMARY KEY, sweep TEXT NOT NULL, label TEXT NOT NULL, domain TEXT NOT NULL,
  instance_set TEXT NOT NULL, instance TEXT NOT NULL, strategy TEXT NOT NULL, model TEXT NOT NULL,
  proposer TEXT NOT NULL, feedback TEXT NOT NULL, seed INTEGER NOT NULL, budget_json TEXT NOT NULL,
  budget_samples INTEGER, budget_tokens INTEGER, budget_rounds INTEGER, budget_nodes INTEGER,
  status TEXT NOT NULL, verified INTEGER NOT NULL,
  rounds INTEGER, samples INTEGER, llm_calls INTEGER, nodes INTEGER,
  prompt_tokens INTEGER, generated_tokens INTEGER, seconds REAL, answer_len INTEGER,
  config_json TEXT NOT NULL, result_json TEXT, error TEXT, worker TEXT, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def trial(
    *,
    sweep: str = "demo",
    label: str,
    domain: str = "blocksworld",
    instance_set: str = "blocksworld/generated_basic",
    index: int,
    strategy: str,
    model: str = "default",
    feedback: str = "first",
    seed: int = 0,
    budget: dict[str, Any] | None = None,
    status: str = "exhausted",
    rounds: int | None = 1,
    samples: int | None = 8,
    tokens: int | None = 100,
    seconds: float | None = 1.0,
    options: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One trial row as the runner would write it (config_json shaped like the runner's)."""
    budget = {"rounds": None, "samples": 16, "tokens": None, "seconds": None, "nodes": None, **(budget or {})}
    instance = f"{instance_set}/instance-{index}"
    config = {
        "domain": domain,
        "instance_set": instance_set,
        "instance": instance,
        "style": "nl",
        "strategy": strategy,
        "options": options or {},
        "model": model,
        "budget": budget,
        "feedback": feedback,
        "seed": seed,
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": 128},
    }
    config_json = json.dumps(config, sort_keys=True)
    calls = None if status == "error" else (rounds or 1)
    return {
        "key": hashlib.sha256(config_json.encode()).hexdigest(),
        "sweep": sweep,
        "label": label,
        "domain": domain,
        "instance_set": instance_set,
        "instance": instance,
        "strategy": strategy,
        "model": model,
        "proposer": "random" if model == "random" else "llm",
        "feedback": feedback,
        "seed": seed,
        "budget_json": json.dumps(budget),
        "budget_samples": budget["samples"],
        "budget_tokens": budget["tokens"],
        "budget_rounds": budget["rounds"],
        "budget_nodes": budget["nodes"],
        "status": status,
        "verified": int(status == "verified"),
        "rounds": None if status == "error" else rounds,
        "samples": None if status == "error" else samples,
        "llm_calls": calls,
        "nodes": 0,
        "prompt_tokens": None if status == "error" else 600 * (calls or 0),
        "generated_tokens": None if status == "error" else tokens,
        "seconds": seconds,
        "answer_len": 6 if status == "verified" else None,
        "config_json": config_json,
        "result_json": None if status == "error" else json.dumps({"status": status, "trace": []}),
        "error": error,
        "worker": "host:1",
        "finished_at": f"2025-01-01T00:00:{index:02d}Z",
    }


def write_store(path: Path, rows: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    if rows:
        cols = list(rows[0])
        conn.executemany(
            f"INSERT INTO trials ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [[r[c] for c in cols] for r in rows],
        )
    for key, value in (meta or {}).items():
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
    conn.commit()
    conn.close()
    return path


def _arm(label: str, strategy: str, outcomes: list[tuple[bool, int, int, int]], **kw: Any) -> list[dict[str, Any]]:
    """outcomes: (solved, rounds, samples, tokens) per instance 1..N."""
    return [
        trial(
            label=label,
            index=i,
            strategy=strategy,
            status="verified" if ok else "exhausted",
            rounds=r,
            samples=s,
            tokens=t,
            **kw,
        )
        for i, (ok, r, s, t) in enumerate(outcomes, 1)
    ]


def demo_rows() -> list[dict[str, Any]]:
    """A small sweep on 10 Blocksworld instances and 4 Mystery ones.

    Blocksworld (10 instances, seed 0):
      direct (LLM) 0/10; best-of-n LLM 3/10 at samples=16 and 2/10 at samples=8; best-of-n random 8/10;
      modulo first LLM 5/10 (+1 error row), modulo none LLM 2/10, modulo first random 4/10.
    Mystery (4 instances): best-of-n LLM 1/4 only (no modulo, no random control).
    """
    fail16 = (False, 2, 16, 1600)
    rows: list[dict[str, Any]] = []
    rows += _arm("direct", "direct", [(False, 1, 1, 90)] * 10, budget={"samples": 1}, options={"n": 1})
    grammar = {"n": 8, "constrained": "executable"}
    rows += _arm(
        "best-of-n",
        "best-of-n",
        [(True, 1, 8, 800), (True, 1, 8, 800), (True, 2, 16, 1600)] + [fail16] * 7,
        options=grammar,
    )
    rows += _arm(
        "best-of-n",
        "best-of-n",
        [(True, 1, 8, 800), (True, 1, 8, 800)] + [(False, 1, 8, 800)] * 8,
        budget={"samples": 8},
        options=grammar,
    )
    rows += _arm(
        "best-of-n",
        "best-of-n",
        [(True, 1, 8, 500)] * 6 + [(True, 2, 16, 1000)] * 2 + [(False, 2, 16, 1000)] * 2,
        model="random",
        options=grammar,
    )
    modulo = {"n": 4, "constrained": "executable", "reuse_prefix": True}
    mod_budget = {"rounds": 10, "samples": 40}
    first = [(True, 1, 4, 300), (True, 2, 8, 600), (True, 2, 8, 600), (True, 3, 12, 900), (True, 5, 20, 1500)]
    rows += _arm("modulo", "modulo", first + [(False, 10, 40, 3000)] * 5, budget=mod_budget, options=modulo)
    rows.append(
        trial(
            label="modulo",
            index=11,
            strategy="modulo",
            status="error",
            budget=mod_budget,
            options=modulo,
            error="ModelError: server went away",
        )
    )
    rows += _arm(
        "modulo",
        "modulo",
        [(True, 4, 16, 1200), (True, 6, 24, 1800)] + [(False, 10, 40, 3000)] * 8,
        budget=mod_budget,
        options=modulo,
        feedback="none",
    )
    rows += _arm(
        "modulo",
        "modulo",
        [(True, 1, 4, 200)] * 2 + [(True, 3, 12, 600)] * 2 + [(False, 10, 40, 2000)] * 6,
        budget=mod_budget,
        options=modulo,
        model="random",
    )
    mystery = {"domain": "mystery_blocksworld", "instance_set": "blocksworld/mystery/generated_basic"}
    rows += _arm("best-of-n", "best-of-n", [(True, 1, 8, 800)] + [fail16] * 3, options=grammar, **mystery)
    return rows


DEMO_META: dict[str, Any] = {
    "models": {
        "default": {"name": "SmolLM2-135M-Instruct", "description": "bf16 weights, CPU"},
        "random": {"name": "random", "description": "uniform over the answer grammar"},
    },
    "sweep/demo/config": {"path": "configs/demo.toml", "text": "name = 'demo'", "format": "toml"},
    "sweep/demo/run/2025-01-01T00:00:00Z": {
        "commit": "0123456789abcdef0123",
        "dirty": True,
        "hardware": {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0, "gpu": None, "platform": "Linux-x86_64"},
        "python": "3.11.2",
        "torch": None,
        "executor": "local",
        "workers": 2,
        "seconds": 3723.0,
        "trials_run": 80,
        "command": "llm-modulo bench configs/demo.toml",
    },
    "sweep/demo/run/2025-01-02T00:00:00Z": {
        "commit": "0123456789abcdef0123",
        "dirty": True,
        "hardware": {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0, "gpu": None, "platform": "Linux-x86_64"},
        "python": "3.11.2",
        "torch": None,
        "executor": "local",
        "workers": 2,
        "seconds": 60.0,
        "trials_run": 15,
        "command": "llm-modulo bench configs/demo.toml",
    },
}


def odd_rows(**common: Any) -> list[dict[str, Any]]:
    """All-error arms, non-anytime strategies at two budgets, several seeds, unlimited budgets, Game of 24
    (``common``: fields every row shares, e.g. ``sweep``)."""
    rows = [
        trial(label="broken", index=i, strategy="best-of-n", status="error", error="boom", **common) for i in (1, 2)
    ]
    for samples in (4, 8):
        rows += [
            trial(
                **common,
                label=f"sc k={samples}",
                index=i,
                strategy="self-consistency",
                seed=seed,
                budget={"samples": samples},
                samples=samples,
                status="verified" if i <= samples // 4 else "failed",
            )
            for i in (1, 2, 3)
            for seed in (0, 1)
        ]
    rows += [
        trial(
            label="search",
            index=i,
            strategy="search",
            budget={"samples": None, "nodes": 50},
            samples=None,
            tokens=None,
            status="verified",
        )
        for i in (1, 2)
    ]
    rows += [
        trial(
            label="modulo",
            index=i,
            strategy="modulo",
            feedback=fb,
            domain="game24",
            instance_set="game24/24.csv",
            status="verified",
            rounds=i,
        )
        for i in (1, 2)
        for fb in ("binary", "all")
    ]
    return rows


def demo_store(path: Path) -> Path:
    return write_store(path, demo_rows(), DEMO_META)
