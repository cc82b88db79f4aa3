"""The Ray executor gives the same trials as local worker processes, seed for seed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from llm_modulo.experiments.config import load_sweep
from llm_modulo.experiments.runner import run_sweep

pytest.importorskip("ray")

PLAN_2 = (
    "pick up the red block\nstack the red block on top of the orange block\n"
    "pick up the blue block\nstack the blue block on top of the red block\n[PLAN END]"
)
CONFIG = """
name = "ray"
models = ["random", "scripted:script.json"]
seeds = [0, 7]
feedback = ["first"]

[sampling]
max_tokens = 64

[[budgets]]
samples = 8
rounds = "none"

[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic_3"
count = 3

[[strategies]]
name = "best-of-n"
n = 4
constrained = "well-formed"

[[strategies]]
name = "modulo"
n = 4
constrained = "executable"
reuse_prefix = true

[[strategies]]
name = "search"
budgets = [{ nodes = 16 }]
"""
COLUMNS = ("key", "status", "verified", "rounds", "samples", "llm_calls", "nodes", "prompt_tokens",
           "generated_tokens", "answer_len", "model", "seed", "label")  # fmt: skip


def comparable(store: Path) -> dict[str, dict]:
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    out = {}
    for row in conn.execute("SELECT * FROM trials"):
        result = json.loads(row["result_json"])
        usage = {k: v for k, v in result["usage"].items() if k != "seconds"}
        out[row["key"]] = {
            **{c: row[c] for c in COLUMNS},
            "answer": result["answer"],
            "answer_text": result["answer_text"],
            "usage": usage,
            "completions": [s["completion"] for a in result["trace"] for s in a["samples"]],
        }
    return out


def test_ray_and_local_give_the_same_rows(planbench, tmp_path):
    (tmp_path / "script.json").write_text(
        json.dumps({"completions": ["pick up the sky\n[PLAN END]", PLAN_2], "cycle": True})
    )
    config = tmp_path / "ray.toml"
    config.write_text(CONFIG)
    sweep = load_sweep(config)
    assert len(sweep.trials) == 3 * 3 * 2 * 2

    local = run_sweep(sweep, tmp_path / "local.sqlite", executor="local", workers=2, cache=False, progress=False)
    on_ray = run_sweep(sweep, tmp_path / "ray.sqlite", executor="ray", workers=2, cache=False, progress=False)
    assert local.ran == on_ray.ran == len(sweep.trials)

    a, b = comparable(tmp_path / "local.sqlite"), comparable(tmp_path / "ray.sqlite")
    assert set(a) == set(b) == {t.key for t in sweep.trials}
    assert a == b
    assert {r["status"] for r in a.values()} >= {"verified", "exhausted"}  # not a vacuous comparison

    conn = sqlite3.connect(tmp_path / "ray.sqlite")
    (record,) = [json.loads(v) for (v,) in conn.execute("SELECT value FROM meta WHERE key LIKE 'sweep/ray/run/%'")]
    assert record["executor"] == "ray" and record["workers"] == 2 and record["status"] == "finished"
