"""Reading a trial store: the ``trials`` rows (one sweep's, with the trials it borrowed) and the ``meta`` table.

The store is read with ``sqlite3`` against the schema that ``llm-modulo bench`` writes (one row per
trial, a ``meta`` table of JSON values), read-only.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

# Columns the report cannot do without; the rest of the schema is read when present.
REQUIRED_COLUMNS = (
    "key",
    "sweep",
    "label",
    "domain",
    "instance_set",
    "instance",
    "strategy",
    "model",
    "proposer",
    "feedback",
    "seed",
    "budget_json",
    "status",
    "verified",
)


def open_store(store: str | Path) -> sqlite3.Connection:
    """A read-only connection to a trial store, or an :class:`InputError` saying why it is not one."""
    path = Path(store)
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as exc:  # a name too long for the file system
        raise InputError(f"trial store {path}: {exc.strerror}") from None
    if not exists:
        raise InputError(f"trial store not found: {path}")
    if not is_file:
        raise InputError(f"not a trial store (not a file): {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a trial store: {path} ({exc})") from None
    if "trials" not in tables:
        conn.close()
        raise InputError(f"not a trial store: {path} has no 'trials' table (write one with `llm-modulo bench`)")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(trials)")]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        conn.close()
        raise InputError(f"not a trial store: {path}: the trials table lacks {', '.join(missing)}")
    return conn


def _columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, declared type) of the trials table, in table order."""
    return [(row[1], (row[2] or "").upper()) for row in conn.execute("PRAGMA table_info(trials)")]


_ORDER = ("sweep", "domain", "instance_set", "label", "model", "instance", "seed", "key")


def select_rows(
    conn: sqlite3.Connection, sweep: str | None, with_result: bool
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The store's trials, or one sweep's: those it ran and those it found stored by another
    sweep with the same key (``sweep/<name>/trials`` in the meta table), shown under its name and label."""
    cols = [(n, t) for n, t in _columns(conn) if with_result or n != "result_json"]
    names = ", ".join(f'"{n}"' for n, _ in cols)
    keys = [n for n, _ in cols]
    query = f"SELECT {names} FROM trials"
    args: tuple[Any, ...] = ()
    if sweep is not None:
        query += " WHERE sweep = ?"
        args = (sweep,)
    query += " ORDER BY " + ", ".join(_ORDER)
    try:
        rows = [dict(zip(keys, r, strict=False)) for r in conn.execute(query, args)]
        if sweep is not None:
            borrowed = _borrowed(conn, sweep, names, keys, {r["key"] for r in rows})
            if borrowed:
                rows = sorted(rows + borrowed, key=lambda r: tuple(str(r.get(k)) for k in _ORDER))
    except sqlite3.DatabaseError as exc:
        raise InputError(f"cannot read the trial store: {exc}") from None
    return cols, rows


def _borrowed(
    conn: sqlite3.Connection, sweep: str, names: str, keys: list[str], have: set[str]
) -> list[dict[str, Any]]:
    """The trials of ``sweep`` stored under another sweep's name (bench ran them once for both)."""
    labels = _meta_value(conn, f"sweep/{sweep}/trials")
    if not isinstance(labels, dict):
        return []
    wanted = [k for k in labels if k not in have]
    out: list[dict[str, Any]] = []
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        for r in conn.execute(f"SELECT {names} FROM trials WHERE key IN ({marks})", chunk):
            row = dict(zip(keys, r, strict=False))
            row["sweep"], row["label"] = sweep, labels[row["key"]]
            out.append(row)
    return out


def sweep_names(conn: sqlite3.Connection) -> list[str]:
    names = {r[0] for r in conn.execute("SELECT DISTINCT sweep FROM trials")}
    if _has_meta(conn):  # the keys alone: the values (a sweep's key map among them) need no parsing here
        keys = (r[0] for r in conn.execute("SELECT key FROM meta"))
        names |= {m.group(1) for key in keys if (m := re.match(r"^sweep/(.+)/(config|run/[^/]+)$", key))}
    return sorted(names)


def _has_meta(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is not None


def _parse(value: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return value


def _meta_value(conn: sqlite3.Connection, key: str) -> Any:
    """One entry of the meta table, parsed from JSON; None when absent."""
    if not _has_meta(conn):
        return None
    found = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else _parse(found[0])


def read_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    if not _has_meta(conn):
        return {}
    return {key: _parse(value) for key, value in conn.execute("SELECT key, value FROM meta ORDER BY key")}


def load_trials(store: str | Path, sweep: str | None = None, *, with_result: bool = False) -> list[dict[str, Any]]:
    """Every trial of ``store`` (one sweep's, if given) as a dict of its columns.

    ``result_json`` (the full trace) is left out unless ``with_result``.
    """
    conn = open_store(store)
    try:
        if sweep is not None and sweep not in sweep_names(conn):
            raise InputError(f"no sweep {sweep!r} in {store}; sweeps: {', '.join(sweep_names(conn)) or '(none)'}")
        return select_rows(conn, sweep, with_result)[1]
    finally:
        conn.close()


def load_meta(store: str | Path) -> dict[str, Any]:
    """The store's ``meta`` table, values parsed from JSON."""
    conn = open_store(store)
    try:
        return read_meta(conn)
    finally:
        conn.close()
