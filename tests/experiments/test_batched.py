"""``--batch K``: trials run in threads of one process and their local-model calls are decoded
together; the rows equal a one-at-a-time run (tiny random Llama, fast)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from llm_modulo.cli import app  # noqa: E402
from llm_modulo.errors import InputError  # noqa: E402
from llm_modulo.experiments import executors, worker  # noqa: E402
from llm_modulo.experiments.config import load_sweep  # noqa: E402
from llm_modulo.experiments.runner import run_sweep  # noqa: E402

COLUMNS = "key, status, verified, samples, llm_calls, generated_tokens, answer_len"


def write_sweep(folder: Path, model: Path, count: int = 3) -> Path:
    path = folder / "b.toml"
    path.write_text(
        f'name = "b"\nmodels = ["{model}", "random"]\nseeds = [0]\nfeedback = ["first"]\n'
        "[sampling]\ntemperature = 1.0\ntop_p = 1.0\nmax_tokens = 24\n"
        '[[budgets]]\nsamples = 4\nrounds = "none"\n'
        f'[[instance_sets]]\ndomain = "blocksworld"\nset = "blocksworld/generated_basic_3"\ncount = {count}\n'
        '[[strategies]]\nname = "modulo"\nn = 2\nconstrained = "executable"\n'
        '[[strategies]]\nname = "direct"\nconstrained = "well-formed"\nbudgets = [{ samples = 1, rounds = 1 }]\n'
        "sampling = { temperature = 0.0, top_p = 1.0, max_tokens = 24 }\n"
    )
    return path


def stored(path: Path) -> list[tuple]:
    return list(sqlite3.connect(path).execute(f"SELECT {COLUMNS} FROM trials ORDER BY key"))


def run_record(path: Path) -> dict:
    rows = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key LIKE 'sweep/b/run/%'").fetchall()
    return json.loads(rows[-1][0])


def test_batched_rows_equal_one_at_a_time(planbench, tiny_model_dir, tmp_path, monkeypatch):
    sweep = load_sweep(write_sweep(tmp_path, tiny_model_dir))
    one = run_sweep(sweep, tmp_path / "one.sqlite", workers=1, progress=False, cache=False)
    used = []  # the models the batched trials ran on (released from the cache when the sweep is done with them)
    real = executors.model_for
    monkeypatch.setattr(executors, "model_for", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
    many = run_sweep(sweep, tmp_path / "many.sqlite", batch=6, threads=1, progress=False, cache=False)
    assert one.ran == many.ran == len(sweep.trials) == 12 and many.errors == 0
    assert stored(tmp_path / "one.sqlite") == stored(tmp_path / "many.sqlite")
    record = run_record(tmp_path / "many.sqlite")
    assert record["batch"] == 6 and record["workers"] == 6 and record["threads"] == 1
    assert record["status"] == "finished"
    # the local model's calls really met: some batch held more than one trial's request
    batchers = [b for b in {id(m): executors.batcher_of(m) for m in used}.values() if b is not None]
    assert batchers and max(b.requests - b.batches for b in batchers) > 0


def test_a_batched_sweep_releases_each_model_once_no_trial_left_uses_it(
    planbench, tiny_model_dir, tmp_path, monkeypatch
):
    """A sweep over several local models does not keep them all: each is loaded once and dropped
    (its batcher closed) as soon as its last trial is stored, and none is held after the sweep."""
    import shutil

    from llm_modulo import models

    second = tmp_path / "second-model"
    shutil.copytree(tiny_model_dir, second)
    config = write_sweep(tmp_path, tiny_model_dir, count=2)
    config.write_text(config.read_text().replace('"random"]', f'"{second}", "random"]'))
    sweep = load_sweep(config)
    per_model = {}
    for t in sweep.trials:
        per_model.setdefault(t.model_resolved, []).append(t.key)
    local = [m for m in per_model if m != "random"]
    assert len(local) == 2
    store = tmp_path / "r.sqlite"
    loads, released = [], []
    real_loader = models.load_model
    monkeypatch.setattr(models, "load_model", lambda spec, **k: loads.append(spec) or real_loader(spec, **k))
    real_release = executors.BatchedExecutor.release

    def release(self, model):
        batchers = [executors.batcher_of(m) for k, m in worker._MODELS.items() if k[0] == model and k[2]]
        real_release(self, model)
        stored_keys = {r[0] for r in sqlite3.connect(store).execute("SELECT key FROM trials")}
        released.append(
            (
                model,
                set(per_model[model]) <= stored_keys,
                [b._closed for b in batchers if b is not None],
                any(k[0] == model and k[2] for k in worker._MODELS),
            )
        )

    monkeypatch.setattr(executors.BatchedExecutor, "release", release)
    outcome = run_sweep(sweep, store, batch=3, threads=1, progress=False, cache=False)
    assert outcome.ran == len(sweep.trials) and outcome.errors == 0
    assert sorted(m for m in loads if m in local) == sorted(local)  # each loaded once
    assert sorted(r[0] for r in released if r[0] in local) == sorted(local)  # each released once
    for model, all_stored, closed, still_held in released:
        if model in local:
            assert all_stored and closed == [True] and not still_held  # after its last trial; batcher stopped
    assert not [k for k in worker._MODELS if k[2] and k[0] in local]


def test_batched_trials_run_grouped_by_model(planbench, tiny_model_dir, tmp_path, monkeypatch):
    """The sweep cycles through its two models; batched, each model's trials are submitted side by
    side (so one model's requests fill its batches), in sweep order within the model."""
    from llm_modulo.experiments import runner

    sweep = load_sweep(write_sweep(tmp_path, tiny_model_dir))
    in_sweep = [t.model for t in sweep.trials]
    assert any(a != b for a, b in zip(in_sweep, in_sweep[1:], strict=False)) and in_sweep != sorted(
        in_sweep, key=in_sweep.index
    )
    grouped = runner.grouped_by_model(list(sweep.trials))
    models = [t.model for t in grouped]
    assert models == sorted(models, key=models.index)  # each model's trials contiguous
    assert [t.key for t in grouped if t.model == "random"] == [t.key for t in sweep.trials if t.model == "random"]

    submitted: list[str] = []
    real = runner.make_executor

    def recording(*args, **kwargs):
        executor = real(*args, **kwargs)
        submit = executor.submit
        executor.submit = lambda spec: (submitted.append(spec.model), submit(spec))[1]
        return executor

    monkeypatch.setattr(runner, "make_executor", recording)
    run_sweep(sweep, tmp_path / "g.sqlite", batch=4, threads=1, progress=False, cache=False)
    assert submitted == models


def test_batch_needs_one_local_worker(planbench, tiny_model_dir, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, tiny_model_dir, count=1))
    with pytest.raises(InputError, match="--batch"):
        run_sweep(sweep, tmp_path / "x.sqlite", workers=2, batch=4, progress=False)
    with pytest.raises(InputError, match="--batch must be"):
        run_sweep(sweep, tmp_path / "x.sqlite", batch=0, progress=False)
    result = CliRunner().invoke(
        app,
        ["bench", str(tmp_path / "b.toml"), "--store", str(tmp_path / "y.sqlite"), "--batch", "3", "--workers", "2"],
    )
    assert result.exit_code == 2 and "--batch" in result.output


def test_a_trial_whose_model_was_loading_when_the_sweep_stopped_never_runs(
    planbench, tiny_model_dir, tmp_path, monkeypatch
):
    """Ctrl-C while the model loads: the trials waiting for it must not start once it is loaded
    (they used to run to their end, holding the process open after the interrupt)."""
    sweep = load_sweep(write_sweep(tmp_path, tiny_model_dir, count=1))
    specs = [t for t in sweep.trials if t.model == str(tiny_model_dir)]
    loading, release = threading.Event(), threading.Event()
    real = executors.model_for
    ran = []

    def slow_load(spec, cache_path=None):
        loading.set()
        assert release.wait(10)
        return real(spec, cache_path)

    monkeypatch.setattr(executors, "model_for", slow_load)
    monkeypatch.setattr(executors, "execute_trial", lambda *a, **k: ran.append(a) or {})
    runner = executors.BatchedExecutor(batch=len(specs), threads=1)
    futures = [runner.submit(spec) for spec in specs]
    assert loading.wait(10)
    runner.shutdown(kill=True)
    release.set()
    for future in futures:
        with pytest.raises(RuntimeError, match="abandoned"):
            future.result(10)
    assert ran == []
    with pytest.raises(RuntimeError, match="abandoned"):  # not even started
        executors._batched_trial(specs[0].model_dump(mode="json"), 1, None, runner._stopping)
