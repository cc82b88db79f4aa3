"""The independent re-check: unified-planning re-judges every plan a store calls verified."""

from __future__ import annotations

import json
import sqlite3

from rich.console import Console

from llm_modulo.experiments.config import load_sweep
from llm_modulo.experiments.report import recheck_store
from llm_modulo.experiments.runner import run_sweep

CONFIG = """
name = "recheck"
models = ["random"]
seeds = [0]
[[budgets]]
nodes = 200
samples = "none"
rounds = "none"
[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic_3"
count = 3
[[instance_sets]]
domain = "mystery_blocksworld"
set = "blocksworld/mystery/generated_basic_3"
count = 2
[[strategies]]
name = "search"
"""


def test_recheck_agrees_then_catches_a_tampered_verified_plan(tmp_path, planbench):
    config = tmp_path / "recheck.toml"
    config.write_text(CONFIG)
    store = tmp_path / "recheck.sqlite"
    run_sweep(load_sweep(config), store, workers=1, cache=False, console=Console(quiet=True), progress=False)
    first = recheck_store(store)
    assert first.checked == 5 and first.agreed == 5 and first.ok
    assert "unified-planning" in first.engine

    # a store that claims a wrong plan is verified: the re-check must say so
    conn = sqlite3.connect(store)
    key, raw = conn.execute("SELECT key, result_json FROM trials WHERE verified = 1 LIMIT 1").fetchone()
    result = json.loads(raw)
    result["answer"] = result["answer"][:-1]  # drop the last step: the goal no longer holds
    conn.execute("UPDATE trials SET result_json = ? WHERE key = ?", (json.dumps(result), key))
    conn.commit()
    conn.close()
    second = recheck_store(store)
    assert second.false_verified == [key] and not second.ok


def test_report_with_recheck_states_the_agreement(tmp_path, planbench):
    from llm_modulo.experiments.report import write_report

    config = tmp_path / "recheck.toml"
    config.write_text(CONFIG)
    store = tmp_path / "recheck.sqlite"
    run_sweep(load_sweep(config), store, workers=1, cache=False, console=Console(quiet=True), progress=False)
    files = write_report(store, tmp_path / "out", recheck=True, parquet_out=False)
    text = files.report.read_text()
    assert "5 agree, 0 false" in text and "--recheck" in text
