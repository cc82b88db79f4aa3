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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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


def start(
    config: Path, store: Path, cwd: Path, how: tuple[str, ...] | list[str] = ("--workers", "2")
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "llm_modulo.cli", "bench", str(config), "--store", str(store), *how],
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


SERVED = """
name = "served"
models = ["{model}"]
seeds = [0]
feedback = ["first"]

[[budgets]]
samples = 1
rounds = 1

[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic"
count = 6

[[strategies]]
name = "direct"
constrained = "none"
"""


@contextmanager
def model_server(answering: threading.Event) -> Iterator[tuple[str, list[int]]]:
    """An OpenAI-compatible server that holds every request until ``answering`` is set, then
    answers with one (wrong) plan; yields (model spec, requests received)."""
    received: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(1)
            while not answering.wait(0.1):
                pass
            message = {"role": "assistant", "content": "(pick-up a)\n[PLAN END]"}
            raw = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:  # the sweep was stopped while it waited
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"openai:http://127.0.0.1:{httpd.server_address[1]}/v1/tiny", received
    finally:
        answering.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("how", [["--workers", "2"], ["--workers", "1", "--batch", "2"]], ids=["processes", "threads"])
def test_ctrl_c_during_long_model_calls_exits_at_once(planbench, tmp_path, how):
    """Both trials in flight are inside a model call that would last minutes: Ctrl-C still ends
    the sweep within seconds (exit 130), and the resume runs every trial once."""
    answering = threading.Event()
    with model_server(answering) as (model, received):
        config = tmp_path / "served.toml"
        config.write_text(SERVED.format(model=model))
        expected = {t.key for t in load_sweep(config).trials}
        store = tmp_path / "served.sqlite"
        proc = start(config, store, tmp_path, how)
        deadline = time.monotonic() + 90
        # both in flight wait: in the server (processes), or one there and one for its turn (threads
        # share one model, which serves an HTTP model's calls one at a time)
        while len(received) < (2 if "--batch" not in how else 1):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the trials never called the model"
            time.sleep(0.02)
        time.sleep(0.2)
        stopped = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("Ctrl-C did not end the sweep") from None
        assert time.monotonic() - stopped < 5.0
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "interrupted: 0/6 trials" in err
        assert count_rows(store) == 0

        answering.set()
        proc = start(config, store, tmp_path, how)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        check_complete(store, expected)


def test_a_request_past_its_deadline_is_an_error_row_not_a_lost_trial(planbench, tmp_path):
    from rich.console import Console

    from llm_modulo.experiments.runner import run_sweep

    with model_server(threading.Event()) as (model, received):  # never answers
        config = tmp_path / "served.toml"
        config.write_text(SERVED.format(model=f"{model}?deadline=1").replace("count = 6", "count = 2"))
        sweep = load_sweep(config)
        outcome = run_sweep(sweep, tmp_path / "s.sqlite", workers=1, progress=False, console=Console(quiet=True))
    assert (outcome.ran, outcome.errors) == (2, 2)
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    errors = [e for (e,) in conn.execute("SELECT error FROM trials WHERE status = 'error'")]
    assert len(errors) == 2 and all(e.startswith("DeadlineExceeded: ") and "1 s deadline" in e for e in errors)
    assert len(received) == 2  # one request per trial: nothing retried past the deadline


def test_a_worker_still_starting_up_survives_ctrl_c(planbench, tmp_path):
    """Ctrl-C reaches the whole process group, workers included: one still importing must not die
    of it (a traceback on the terminal, a broken pool) but run its trial; the driver decides."""
    from llm_modulo.experiments.executors import LocalExecutor

    config = tmp_path / "resume.toml"
    config.write_text(CONFIG)
    spec = load_sweep(config).trials[0]
    executor = LocalExecutor(workers=1, threads=1)
    try:
        job = executor.submit(spec)
        (worker,) = executor._pool._processes.values()
        os.kill(worker.pid, signal.SIGINT)  # long before its imports end
        assert executor.outcome(job)["key"] == spec.key
    finally:
        executor.shutdown()
