"""A killed sweep resumes without losing or repeating trials.

``llm-modulo bench`` runs as a subprocess (its own process group, worker pool included); once the
store holds some but not all trials the whole group gets SIGKILL (or SIGINT, as Ctrl-C would),
and the same command then finishes the sweep. The store must end with every expected key
exactly once, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from llm_modulo.experiments.config import load_sweep

CONFIG = """
name = "resume"
models = ["random"]
seeds = [0, 1]
feedback = ["first"]

[[budgets]]
samples = 16
rounds = "none"

[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic"
count = 20

[[strategies]]
name = "best-of-n"
n = 8
constrained = "well-formed"

[[strategies]]
name = "modulo"
n = 8
constrained = "executable"
reuse_prefix = true

[[strategies]]
name = "direct"
constrained = "well-formed"
budgets = [{ samples = 1, rounds = 1 }]
"""


def count_rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def _default_sigint() -> None:
    # a shell that starts jobs in the background (as CI may) ignores SIGINT in them, and a Python
    # started with SIGINT ignored keeps ignoring it: give the sweep the default, as a terminal would
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(config: Path, store: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "llm_modulo.cli", "bench", str(config), "--store", str(store), "--workers", "2"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the signal reaches the workers too
        preexec_fn=_default_sigint,
        env={**os.environ, "COLUMNS": "200"},
    )


def stop_midway(proc: subprocess.Popen, store: Path, total: int, sig: int, timeout: float = 90.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = count_rows(store)
        if done >= 5:
            os.killpg(proc.pid, sig)
            return done
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended before it could be stopped:\n{proc.stderr.read()}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("no trial was committed in time")


def check_complete(store: Path, expected: set[str]) -> None:
    conn = sqlite3.connect(store)
    keys = [k for (k,) in conn.execute("SELECT key FROM trials")]
    assert len(keys) == len(expected)
    assert set(keys) == expected


def run_records(store: Path) -> list[dict]:
    conn = sqlite3.connect(store)
    rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE 'sweep/resume/run/%' ORDER BY key")
    return [json.loads(v) for _, v in rows]


def test_kill_9_midway_then_resume(planbench, tmp_path):
    config = tmp_path / "resume.toml"
    config.write_text(CONFIG)
    expected = {t.key for t in load_sweep(config).trials}
    assert len(expected) == 20 * 2 * 3
    store = tmp_path / "resume.sqlite"

    proc = start(config, store, tmp_path)
    stop_midway(proc, store, len(expected), signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    committed = count_rows(store)
    assert 0 < committed < len(expected), committed  # killed midway: some, not all

    proc = start(config, store, tmp_path)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err + out
    check_complete(store, expected)
    # the second run ran exactly what was missing
    assert run_records(store)[-1]["trials_run"] == len(expected) - committed
    assert f"{len(expected)}/{len(expected)} trials" in out


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(planbench, tmp_path):
    config = tmp_path / "resume.toml"
    config.write_text(CONFIG)
    expected = {t.key for t in load_sweep(config).trials}
    store = tmp_path / "resume.sqlite"

    proc = start(config, store, tmp_path)
    stop_midway(proc, store, len(expected), signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted:" in err and f"resume with: llm-modulo bench {config}" in err
    committed = count_rows(store)
    assert 0 < committed < len(expected)
    (record,) = run_records(store)
    assert record["status"] == "interrupted" and record["trials_run"] == committed

    proc = start(config, store, tmp_path)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err + out
    check_complete(store, expected)
