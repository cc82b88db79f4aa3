"""The trial store: one SQLite file per sweep (or shared by several), the runner's only output.

Each finished trial is committed in its own transaction with its full Result JSON, so a killed
run loses at most the trials in flight. A key is never stored twice (``INSERT OR IGNORE``); the
one exception is ``--retry-errors``, which replaces an ``error`` row in the same transaction.
WAL mode lets a report read while a sweep writes.

The schema is a contract with ``llm-modulo report``: change it only together with the reader.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.files import input_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
  key TEXT PRIMARY KEY,
  sweep TEXT NOT NULL,
  label TEXT NOT NULL,
  domain TEXT NOT NULL,
  instance_set TEXT NOT NULL,
  instance TEXT NOT NULL,
  strategy TEXT NOT NULL,
  model TEXT NOT NULL,
  proposer TEXT NOT NULL,
  feedback TEXT NOT NULL,
  seed INTEGER NOT NULL,
  budget_json TEXT NOT NULL,
  budget_samples INTEGER, budget_tokens INTEGER, budget_rounds INTEGER, budget_nodes INTEGER,
  status TEXT NOT NULL,
  verified INTEGER NOT NULL,
  rounds INTEGER, samples INTEGER, llm_calls INTEGER, nodes INTEGER,
  prompt_tokens INTEGER, generated_tokens INTEGER,
  seconds REAL,
  answer_len INTEGER,
  config_json TEXT NOT NULL,
  result_json TEXT,
  error TEXT,
  worker TEXT,
  finished_at TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

COLUMNS: tuple[str, ...] = (
    "key", "sweep", "label", "domain", "instance_set", "instance", "strategy", "model", "proposer",
    "feedback", "seed", "budget_json", "budget_samples", "budget_tokens", "budget_rounds", "budget_nodes",
    "status", "verified", "rounds", "samples", "llm_calls", "nodes", "prompt_tokens", "generated_tokens",
    "seconds", "answer_len", "config_json", "result_json", "error", "worker", "finished_at",
)  # fmt: skip

BUSY_TIMEOUT_MS = 60_000


class TrialStore:
    """The SQLite trial store. Open it, use it, close it (or use it as a context manager)."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        try:
            special = self.path.exists() and not self.path.is_file()
        except OSError:  # a name too long: sqlite3 says so below
            special = False
        if special:  # a folder, a pipe, a device: SQLite would fail with a bare "disk I/O error", or block
            input_file(self.path, "store", max_bytes=None, empty_ok=True)
        try:
            self._open(readonly)
        except (sqlite3.DatabaseError, OSError) as exc:  # not a SQLite file, or a path that cannot be opened
            raise InputError(f"store {self.path}: {exc}") from None

    def _open(self, readonly: bool) -> None:
        if readonly:
            self._conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA schema_version")  # reads the header: a file that is not SQLite fails here, not later
        if not readonly:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a commit survives a killed process
            self._conn.executescript(SCHEMA)

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- trials --------------------------------------------------------------------------------
    def done_keys(self, include_errors: bool = True) -> set[str]:
        """Keys already stored; without ``include_errors``, rows with status ``error`` do not count."""
        sql = "SELECT key FROM trials" + ("" if include_errors else " WHERE status != 'error'")
        return {k for (k,) in self._conn.execute(sql)}

    def error_keys(self) -> set[str]:
        return {k for (k,) in self._conn.execute("SELECT key FROM trials WHERE status = 'error'")}

    def count(self, sweep: str | None = None) -> int:
        if sweep is None:
            return int(self._conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        return int(self._conn.execute("SELECT COUNT(*) FROM trials WHERE sweep = ?", (sweep,)).fetchone()[0])

    def insert(self, row: Mapping[str, Any], replace_error: bool = False) -> bool:
        """Commit one finished trial in its own transaction. True if stored, False if the key was
        already there. With ``replace_error`` an existing ``error`` row for the key is replaced."""
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown trial column(s): {', '.join(sorted(unknown))}")
        values = [row.get(c) for c in COLUMNS]
        placeholders = ", ".join("?" for _ in COLUMNS)
        with self._transaction() as conn:
            if replace_error:
                conn.execute("DELETE FROM trials WHERE key = ? AND status = 'error'", (row["key"],))
            cur = conn.execute(f"INSERT OR IGNORE INTO trials ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)
            return cur.rowcount == 1

    def rows(self, sweep: str | None = None, keys: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Stored rows as dicts (all columns), optionally of one sweep or for given keys."""
        self._conn.row_factory = sqlite3.Row
        try:
            if keys is not None:
                wanted = list(keys)
                for i in range(0, len(wanted), 500):
                    chunk = wanted[i : i + 500]
                    sql = f"SELECT * FROM trials WHERE key IN ({', '.join('?' for _ in chunk)})"
                    yield from (dict(r) for r in self._conn.execute(sql, chunk).fetchall())
                return
            if sweep is None:
                cur = self._conn.execute("SELECT * FROM trials ORDER BY finished_at, key")
            else:
                cur = self._conn.execute("SELECT * FROM trials WHERE sweep = ? ORDER BY finished_at, key", (sweep,))
            yield from (dict(r) for r in cur.fetchall())
        finally:
            self._conn.row_factory = None

    # -- meta ------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        found = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if found is None else json.loads(found[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True))
            )

    def meta_keys(self, prefix: str = "") -> list[str]:
        return [k for (k,) in self._conn.execute("SELECT key FROM meta WHERE key LIKE ? ORDER BY key", (prefix + "%",))]

    # -- internals -------------------------------------------------------------------------------
    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error): one writer at a time, no upgrade deadlock."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


__all__ = ["COLUMNS", "SCHEMA", "TrialStore"]
