"""The sweep runner: rows, meta records, errors as rows, fatal errors, --limit, --retry-errors, the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_modulo.cli import app
from llm_modulo.experiments.config import load_sweep, trial_key
from llm_modulo.experiments.executors import FatalTrialError
from llm_modulo.experiments.runner import run_sweep
from llm_modulo.strategies.base import BaseStrategy
from llm_modulo.types import Result

REPO = Path(__file__).resolve().parents[2]
PLAN_2 = (
    "pick up the red block\nstack the red block on top of the orange block\n"
    "pick up the blue block\nstack the blue block on top of the red block\n[PLAN END]"
)


def write_sweep(
    folder: Path,
    name: str = "t",
    models: str = '["random", "scripted:script.json"]',
    count: int = 3,
    strategies: str | None = None,
    seeds: str = "[0]",
) -> Path:
    (folder / "script.json").write_text(
        json.dumps({"completions": [PLAN_2, "pick up the sky\n[PLAN END]"], "cycle": True})
    )
    strategies = strategies or (
        '[[strategies]]\nname = "best-of-n"\nn = 4\nconstrained = "well-formed"\n'
        '[[strategies]]\nname = "modulo"\nn = 4\nconstrained = "executable"\nreuse_prefix = true\n'
        '[[strategies]]\nname = "direct"\nconstrained = "well-formed"\nbudgets = [{ samples = 1, rounds = 1 }]\n'
    )
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nmodels = {models}\nseeds = {seeds}\nfeedback = ["first"]\n'
        "[sampling]\ntemperature = 1.0\nmax_tokens = 64\n"
        '[[budgets]]\nsamples = 8\nrounds = "none"\n'
        f'[[instance_sets]]\ndomain = "blocksworld"\nset = "blocksworld/generated_basic_3"\ncount = {count}\n'
        + strategies
    )
    return path


def stored(path: Path, columns: str = "*") -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute(f"SELECT {columns} FROM trials ORDER BY key")]


def meta(path: Path) -> dict:
    conn = sqlite3.connect(path)
    return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def test_rows_and_meta_of_an_in_process_run(planbench, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    store = tmp_path / "t.sqlite"
    outcome = run_sweep(sweep, store, workers=1, progress=False, command="llm-modulo bench t.toml")
    assert outcome.status == "finished" and outcome.ran == len(sweep.trials) == 3 * 3 * 2
    rows = stored(store)
    assert {r["key"] for r in rows} == {t.key for t in sweep.trials}
    for r in rows:
        assert r["key"] == trial_key(json.loads(r["config_json"]))  # the key is the hash of the stored config
        assert r["sweep"] == "t" and r["status"] in ("verified", "exhausted", "failed")
        assert r["verified"] == (r["status"] == "verified")
        assert r["proposer"] == ("random" if r["model"] == "random" else "llm")
        assert r["worker"].endswith(f":{os.getpid()}") and r["finished_at"] and r["error"] is None
        result = Result.model_validate_json(r["result_json"])  # the full Result, trace included
        assert result.trace and result.usage.samples == r["samples"]
        assert r["budget_samples"] == result.config["budget"]["samples"]
    scripted = {
        r["instance"]: r["status"] for r in rows if r["model"].startswith("scripted") and r["strategy"] == "direct"
    }
    assert scripted["blocksworld/generated_basic_3/instance-2"] == "verified"  # fresh model per trial: PLAN_2 first
    records = meta(store)
    assert records["sweep/t/config"]["text"].startswith('name = "t"')
    assert records["sweep/t/config"]["format"] == "toml"
    (run_key,) = [k for k in records if k.startswith("sweep/t/run/")]
    run = records[run_key]
    assert run["status"] == "finished" and run["trials_run"] == 18 and run["executor"] == "local"
    assert run["command"] == "llm-modulo bench t.toml" and run["workers"] == 1
    assert set(run["hardware"]) == {"cpu", "cores", "memory_gib", "gpu", "platform"} and run["python"]
    assert "commit" in run and "dirty" in run and "torch" in run
    assert set(records["models"]) == {"random", "scripted:script.json"}
    assert records["models"]["random"]["name"] == "random"


def test_worker_pool_gives_the_same_rows_as_in_process(planbench, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, count=2))
    run_sweep(sweep, tmp_path / "one.sqlite", workers=1, progress=False)
    run_sweep(sweep, tmp_path / "two.sqlite", workers=2, progress=False)
    columns = "key, status, samples, llm_calls, generated_tokens, answer_len"
    assert stored(tmp_path / "one.sqlite", columns) == stored(tmp_path / "two.sqlite", columns)
    assert len({r["worker"] for r in stored(tmp_path / "two.sqlite")}) >= 1


class Boom(BaseStrategy):
    """A strategy that raises an ordinary exception while ``armed``."""

    name = "boom"
    armed = True

    def run(self, task):
        if Boom.armed:
            raise RuntimeError("the strategy broke\nsecond line")
        return Result(task_id=task.id, domain=task.domain, strategy=self.name, status="failed")


def test_ordinary_errors_are_rows_and_retry_errors_reruns_them(planbench, tmp_path, monkeypatch):
    from llm_modulo import registry

    monkeypatch.setitem(registry.STRATEGIES, "boom", f"{__name__}:Boom")
    monkeypatch.setattr(Boom, "armed", True)
    strategies = (
        '[[strategies]]\nname = "boom"\nconstrained = "well-formed"\n'
        '[[strategies]]\nname = "best-of-n"\nconstrained = "well-formed"\n'
    )
    sweep = load_sweep(write_sweep(tmp_path, models='["random"]', strategies=strategies))
    store = tmp_path / "t.sqlite"
    outcome = run_sweep(sweep, store, workers=1, progress=False)
    assert outcome.status == "finished" and outcome.errors == 3
    errors = [r for r in stored(store) if r["status"] == "error"]
    assert len(errors) == 3 and all(r["error"] == "RuntimeError: the strategy broke" for r in errors)
    assert all(r["result_json"] is None and r["verified"] == 0 for r in errors)
    assert run_sweep(sweep, store, workers=1, progress=False).ran == 0  # errors count as done ...
    Boom.armed = False
    again = run_sweep(sweep, store, workers=1, progress=False, retry_errors=True)  # ... unless retried
    assert again.ran == 3 and again.errors == 0
    assert sorted(r["status"] for r in stored(store)) == ["exhausted"] * 3 + ["failed"] * 3


def test_fatal_error_aborts_and_keeps_what_finished(planbench, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, models='["random", "scripted:script.json"]'))
    (tmp_path / "script.json").unlink()  # the model spec goes bad after the config was checked
    store = tmp_path / "t.sqlite"
    with pytest.raises(FatalTrialError, match="script.json"):
        run_sweep(sweep, store, workers=1, progress=False)
    rows = stored(store)
    assert [r["model"] for r in rows] == ["random"]  # the trial before the bad one is committed
    (record,) = [v for k, v in meta(store).items() if k.startswith("sweep/t/run/")]
    assert record["status"] == "aborted" and record["trials_run"] == 1


def test_fatal_error_in_the_cli_is_one_line_exit_2(planbench, tmp_path):
    config = write_sweep(
        tmp_path,
        models='["openai:http://127.0.0.1:9/v1/nothing-listens-here"]',
        count=1,
        strategies='[[strategies]]\nname = "direct"\n',
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llm_modulo.cli",
            "bench",
            str(config),
            "--store",
            str(tmp_path / "t.sqlite"),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    # (the HTTP backend logs its retries as warnings; the error itself is one line)
    errors = [line for line in done.stderr.strip().splitlines() if not line.startswith("WARNING")]
    assert len(errors) == 1 and errors[0].startswith("error:") and "Traceback" not in done.stderr, done.stderr
    assert "cannot reach" in errors[0]


def test_limit_runs_part_and_the_rest_resumes(planbench, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, models='["random"]'))
    store = tmp_path / "t.sqlite"
    first = run_sweep(sweep, store, workers=1, progress=False, limit=4)
    assert first.ran == 4 and first.status == "partial" and first.remaining == 5
    # the first trials in run order: every arm on instance 1 before instance 2
    assert {r["instance"] for r in stored(store)} == {
        "blocksworld/generated_basic_3/instance-1",
        "blocksworld/generated_basic_3/instance-2",
    }
    second = run_sweep(sweep, store, workers=1, progress=False)
    assert second.done_before == 4 and second.ran == 5 and second.status == "finished"
    assert {r["key"] for r in stored(store)} == {t.key for t in sweep.trials}


def test_two_sweeps_share_a_store_and_identical_trials(planbench, tmp_path):
    small = load_sweep(write_sweep(tmp_path, name="small", models='["random"]', count=2))
    big = load_sweep(write_sweep(tmp_path, name="big", models='["random"]', count=3))
    store = tmp_path / "shared.sqlite"
    run_sweep(small, store, workers=1, progress=False)
    outcome = run_sweep(big, store, workers=1, progress=False)
    assert outcome.done_before == 6 and outcome.ran == 3
    assert {r["sweep"] for r in stored(store)} == {"small", "big"}
    # a report of one sweep holds all its trials, those the other sweep ran included, under its own name
    from llm_modulo.experiments.report import load_trials

    rows = load_trials(store, "big")
    assert len(rows) == 9 and {r["key"] for r in rows} == {t.key for t in big.trials}
    assert {r["sweep"] for r in rows} == {"big"}
    assert len(load_trials(store, "small")) == 6 and len(load_trials(store)) == 9


def test_a_shared_trial_is_reported_under_each_sweeps_label(planbench, tmp_path):
    one = load_sweep(
        write_sweep(
            tmp_path,
            name="one",
            models='["random"]',
            count=1,
            strategies='[[strategies]]\nname = "best-of-n"\nlabel = "first-label"\nn = 4\nconstrained = "well-formed"\n',
        )
    )
    two = load_sweep(
        write_sweep(
            tmp_path,
            name="two",
            models='["random"]',
            count=2,
            strategies='[[strategies]]\nname = "best-of-n"\nlabel = "second-label"\nn = 4\nconstrained = "well-formed"\n',
        )
    )
    store = tmp_path / "s.sqlite"
    run_sweep(one, store, workers=1, progress=False)
    run_sweep(two, store, workers=1, progress=False)
    from llm_modulo.experiments.report import load_trials, write_report

    assert [r["label"] for r in load_trials(store, "two")] == ["second-label", "second-label"]
    assert [r["label"] for r in load_trials(store, "one")] == ["first-label"]
    files = write_report(store, tmp_path / "rep", "two", csv_out=False, parquet_out=False)
    assert files.trials == 2


runner = CliRunner()


def test_cli_bad_config_is_one_line_exit_2(planbench, tmp_path):
    config = write_sweep(
        tmp_path, strategies='[[strategies]]\nname = "best-of-n"\nconstrained = "well-formed"\nkk = 1\n'
    )
    result = runner.invoke(app, ["bench", str(config), "--store", str(tmp_path / "t.sqlite")])
    assert result.exit_code == 2
    text = result.output.strip()
    assert "\n" not in text and text.startswith("error:") and "strategies[0].kk: unknown option" in text
    assert not (tmp_path / "t.sqlite").exists()


def test_cli_dry_run_prints_the_arms_and_runs_nothing(planbench, tmp_path, monkeypatch):
    from llm_modulo import cli

    # the CLI's console read the terminal's width when it was imported, whichever test did that
    monkeypatch.setattr(cli.out, "width", 200)
    config = write_sweep(tmp_path, seeds="[0, 1]")
    result = runner.invoke(
        app, ["bench", str(config), "--store", str(tmp_path / "t.sqlite"), "--dry-run"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "36 trials" in result.output and "best-of-n" in result.output and "scripted:script.json" in result.output
    assert not (tmp_path / "t.sqlite").exists()


def test_console_tables_never_cut_a_name_on_a_narrow_terminal(planbench, tmp_path):
    import io

    from rich.console import Console

    from llm_modulo.experiments.runner import plan_table, summary_table

    sweep = load_sweep(write_sweep(tmp_path, seeds="[0, 1]"))
    for table in (plan_table(sweep), summary_table(sweep, {})):
        buffer = io.StringIO()
        Console(file=buffer, width=40, color_system=None).print(table)
        text = buffer.getvalue()
        assert "…" not in text and "scr" in text  # folded onto more lines, never cut


def test_cli_runs_and_resumes(planbench, tmp_path):
    config = write_sweep(tmp_path, models='["random"]', count=2)
    store = tmp_path / "t.sqlite"
    args = ["bench", str(config), "--store", str(store), "--workers", "1", "--no-cache"]
    result = runner.invoke(app, [*args, "--limit", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2/6 trials" in result.output and "rerun the same command" in result.output
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "6/6 trials" in result.output and "solved / trials" in result.output
    assert not (tmp_path / "t.cache.sqlite").exists()  # --no-cache


def test_threads_per_worker_is_recorded_and_checked(planbench, tmp_path):
    from llm_modulo.errors import InputError
    from llm_modulo.experiments.executors import make_executor

    sweep = load_sweep(write_sweep(tmp_path, models='["random"]', count=1))
    store = tmp_path / "t.sqlite"
    run_sweep(sweep, store, workers=1, threads=1, progress=False)
    (record,) = [v for k, v in meta(store).items() if k.startswith("sweep/t/run/")]
    assert record["threads"] == 1
    pool = make_executor("local", 2, threads=3)
    assert pool.threads == 3
    pool.shutdown()
    with pytest.raises(InputError, match="threads"):
        make_executor("local", 1, threads=0)


def test_dry_run_plan_on_an_empty_store_file(planbench, tmp_path):
    from llm_modulo.experiments.runner import plan_table

    sweep = load_sweep(write_sweep(tmp_path, models='["random"]', count=1))
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    table = plan_table(sweep, empty)  # an empty file is not a store yet: nothing stored, no traceback
    assert table.row_count == 3 + 1


def test_trials_another_process_stored_meanwhile_are_not_reported_left(planbench, tmp_path, monkeypatch):
    from llm_modulo.experiments.store import TrialStore

    sweep = load_sweep(write_sweep(tmp_path, count=2))
    original = TrialStore.insert

    def raced(self, row, replace_error=False):  # a second sweep on the same store committed it first
        original(self, row, replace_error)
        return original(self, row, replace_error)

    monkeypatch.setattr(TrialStore, "insert", raced)
    outcome = run_sweep(sweep, tmp_path / "s.sqlite", workers=1, progress=False)
    assert outcome.ran == 0 and outcome.stored == len(sweep.trials) and outcome.remaining == 0
    assert outcome.status == "finished"
