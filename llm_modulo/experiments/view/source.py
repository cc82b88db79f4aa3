"""What the viewer shows: trials read from a trial store (one, an arm, a sweep, all) or a ``solve --json`` file.

Results are kept as plain JSON dicts, not :class:`~llm_modulo.types.Result` models: a store may hold
rows written by older versions (or by hand), and the viewer should show whatever is there.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.experiments.recheck import recheck_trials
from llm_modulo.files import input_file

SQLITE_MAGIC = b"SQLite format 3\x00"
BUDGET_FIELDS = ("rounds", "samples", "tokens", "seconds", "nodes")


@dataclass
class Trial:
    """One trial: its store row (or a row made up for a result file), its Result as JSON, the re-check."""

    key: str
    row: dict[str, Any]
    result: dict[str, Any] | None
    recheck: str = ""  # "agreed", "FALSE VERIFIED", "unchecked: why", "" (not verified or not asked)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.row.get("status") or (self.result or {}).get("status") or "unknown")

    @property
    def arm(self) -> str:
        return arm_name(self.row)

    @property
    def page(self) -> str:
        """The trial page's file name: the key cut to safe characters (a store is not trusted)."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.key)[:64] + ".html"


def budget_text(row: dict[str, Any]) -> str:
    try:
        budget = json.loads(row.get("budget_json") or "")
    except (TypeError, json.JSONDecodeError):
        budget = None
    if not isinstance(budget, dict):
        budget = {k: row.get(f"budget_{k}") for k in BUDGET_FIELDS}
    parts = [f"{k}={budget[k]}" for k in BUDGET_FIELDS if budget.get(k) is not None]
    return ", ".join(parts) or "unlimited"


def arm_name(row: dict[str, Any]) -> str:
    """label · model · feedback · budget: the arm a trial belongs to (as the report groups them)."""
    parts = [str(row.get("label") or row.get("strategy") or "?"), str(row.get("model") or "?")]
    if row.get("feedback"):
        parts.append(f"feedback {row['feedback']}")
    parts.append(budget_text(row))
    return " · ".join(parts)


def is_store(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def load_result_file(path: Path) -> Trial:
    """A ``solve --json`` file: one Result, shown as one trial."""
    text = input_file(path, "result file", max_bytes=None).read_text(encoding="utf-8", errors="replace")
    try:
        result = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"result file {path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(result, dict) or "status" not in result or "trace" not in result:
        raise InputError(f"result file {path}: not a Result (write one with `llm-modulo solve --json`)")
    config: dict[str, Any] = result["config"] if isinstance(result.get("config"), dict) else {}
    row: dict[str, Any] = {
        "key": str(result.get("task_id") or path.stem),
        "label": str(result.get("strategy") or ""),
        "domain": str(result.get("domain") or ""),
        "instance": str(result.get("task_id") or ""),
        "strategy": str(result.get("strategy") or ""),
        "model": str(config.get("model") or ""),
        "status": str(result.get("status")),
        "verified": int(result.get("status") == "verified"),
        "config_json": json.dumps({**config, "domain": result.get("domain"), "instance": result.get("task_id")}),
        "result_json": text,
    }
    return Trial(key=row["key"], row=row, result=result)


def load_store(path: Path, trial: str | None = None, sweep: str | None = None, arm: str | None = None) -> list[Trial]:
    """The store's trials, narrowed to a trial key (or a unique prefix of one), a sweep and an arm
    (its label, or the whole arm name the index shows)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        if trial is not None:
            found = conn.execute("SELECT * FROM trials WHERE key LIKE ? ORDER BY key", (trial + "%",)).fetchmany(2)
        else:
            sql, args = "SELECT * FROM trials", []
            if sweep is not None:
                sql, args = sql + " WHERE sweep = ?", [sweep]
            found = conn.execute(sql + " ORDER BY label, model, instance, seed, key", args).fetchall()
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a trial store: {path} ({exc})") from None
    rows = [dict(r) for r in found]
    if trial is not None:
        if not rows:
            raise InputError(f"no trial with key {trial!r} in {path}")
        if len(rows) > 1:
            raise InputError(f"trial key {trial!r} is ambiguous in {path}: give more of it")
    if arm is not None:
        rows = [r for r in rows if arm in (r.get("label"), arm_name(r))]
    if not rows:
        what = " ".join(x for x in (f"sweep {sweep!r}" if sweep else "", f"arm {arm!r}" if arm else "") if x)
        raise InputError(f"no trials{' for ' + what if what else ''} in {path}")
    return [Trial(key=str(r["key"]), row=r, result=_result(r)) for r in rows]


def _result(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        data = json.loads(row.get("result_json") or "null")
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def recheck(trials: list[Trial]) -> None:
    """Judge every verified answer again with the domain's reference check (independent of the critics)."""
    rows = [t.row for t in trials if t.row.get("verified")]
    if not rows:
        return
    checked = recheck_trials(rows)
    for t in trials:
        if not t.row.get("verified"):
            continue
        if t.key in checked.unchecked:
            t.recheck = f"unchecked: {checked.unchecked[t.key]}"
        elif t.key in checked.false_verified:
            t.recheck = "FALSE VERIFIED"
        else:
            t.recheck = f"agreed ({checked.engine})" if checked.engine else "agreed"


__all__ = ["Trial", "arm_name", "budget_text", "is_store", "load_result_file", "load_store", "recheck"]
