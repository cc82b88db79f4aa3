"""The SQLite trial store: the exact schema shared with the report reader, one row per key, meta."""

from __future__ import annotations

import sqlite3

import pytest

from llm_modulo.experiments.store import COLUMNS, TrialStore

# The contract: name, type, NOT NULL, primary key, in order.
EXPECTED_TRIALS = [
    ("key", "TEXT", 0, 1), ("sweep", "TEXT", 1, 0), ("label", "TEXT", 1, 0), ("domain", "TEXT", 1, 0),
    ("instance_set", "TEXT", 1, 0), ("instance", "TEXT", 1, 0), ("strategy", "TEXT", 1, 0),
    ("model", "TEXT", 1, 0), ("proposer", "TEXT", 1, 0), ("feedback", "TEXT", 1, 0),
    ("seed", "INTEGER", 1, 0), ("budget_json", "TEXT", 1, 0), ("budget_samples", "INTEGER", 0, 0),
    ("budget_tokens", "INTEGER", 0, 0), ("budget_rounds", "INTEGER", 0, 0), ("budget_nodes", "INTEGER", 0, 0),
    ("status", "TEXT", 1, 0), ("verified", "INTEGER", 1, 0), ("rounds", "INTEGER", 0, 0),
    ("samples", "INTEGER", 0, 0), ("llm_calls", "INTEGER", 0, 0), ("nodes", "INTEGER", 0, 0),
    ("prompt_tokens", "INTEGER", 0, 0), ("generated_tokens", "INTEGER", 0, 0), ("seconds", "REAL", 0, 0),
    ("answer_len", "INTEGER", 0, 0), ("config_json", "TEXT", 1, 0), ("result_json", "TEXT", 0, 0),
    ("error", "TEXT", 0, 0), ("worker", "TEXT", 0, 0), ("finished_at", "TEXT", 0, 0),
]  # fmt: skip
EXPECTED_META = [("key", "TEXT", 0, 1), ("value", "TEXT", 1, 0)]


def table_info(conn: sqlite3.Connection, table: str) -> list[tuple]:
    return [(name, kind, notnull, pk) for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})")]


def row(key: str, **over) -> dict:
    base = {
        "key": key, "sweep": "s", "label": "best-of-n", "domain": "blocksworld",
        "instance_set": "blocksworld/generated_basic_3", "instance": "blocksworld/generated_basic_3/instance-1",
        "strategy": "best-of-n", "model": "random", "proposer": "random", "feedback": "first", "seed": 0,
        "budget_json": "{}", "status": "exhausted", "verified": 0, "config_json": "{}",
    }  # fmt: skip
    return {**base, **over}


def test_schema_is_exactly_the_contract(tmp_path):
    with TrialStore(tmp_path / "s.sqlite") as store:
        conn = store._conn
        assert table_info(conn, "trials") == EXPECTED_TRIALS
        assert table_info(conn, "meta") == EXPECTED_META
        assert [name for name, *_ in EXPECTED_TRIALS] == list(COLUMNS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_a_key_is_stored_once(tmp_path):
    with TrialStore(tmp_path / "s.sqlite") as store:
        assert store.insert(row("k1"))
        assert not store.insert(row("k1", status="verified", verified=1))
        assert store.count() == 1
        assert next(store.rows())["status"] == "exhausted"
        assert store.done_keys() == {"k1"}


def test_error_rows_are_retried_only_on_request(tmp_path):
    with TrialStore(tmp_path / "s.sqlite") as store:
        store.insert(row("k1", status="error", error="RuntimeError: boom"))
        store.insert(row("k2"))
        assert store.done_keys() == {"k1", "k2"}
        assert store.done_keys(include_errors=False) == {"k2"}
        assert store.error_keys() == {"k1"}
        assert not store.insert(row("k1", status="verified", verified=1))
        assert store.insert(row("k1", status="verified", verified=1), replace_error=True)
        assert not store.insert(row("k2", status="verified", verified=1), replace_error=True)  # not an error row
        assert {r["key"]: r["status"] for r in store.rows()} == {"k1": "verified", "k2": "exhausted"}


def test_unknown_column_is_refused(tmp_path):
    with TrialStore(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="unknown trial column"):
        store.insert(row("k1", colour="red"))


def test_meta_round_trips_json(tmp_path):
    with TrialStore(tmp_path / "s.sqlite") as store:
        assert store.get_meta("models", {}) == {}
        store.set_meta("models", {"random": {"name": "random", "description": "control"}})
        store.set_meta("sweep/x/run/2025-01-01T00:00:00+00:00", {"seconds": 1.5, "gpu": None})
        assert store.get_meta("models")["random"]["name"] == "random"
        assert store.meta_keys("sweep/x/run/") == ["sweep/x/run/2025-01-01T00:00:00+00:00"]


def test_rows_by_sweep_and_keys_and_a_reader_beside_the_writer(tmp_path):
    path = tmp_path / "s.sqlite"
    with TrialStore(path) as store:
        for i in range(3):
            store.insert(row(f"a{i}", sweep="a"))
        store.insert(row("b0", sweep="b"))
        with TrialStore(path, readonly=True) as reader:  # WAL: reads while the writer holds the file open
            assert reader.count() == 4 and reader.count("a") == 3
            assert {r["key"] for r in reader.rows(sweep="b")} == {"b0"}
            assert {r["key"] for r in reader.rows(keys=["a1", "b0", "zz"])} == {"a1", "b0"}
            store.insert(row("a3", sweep="a"))
            assert reader.count("a") == 4
