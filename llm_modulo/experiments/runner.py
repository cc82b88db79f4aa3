"""The sweep runner behind ``llm-modulo bench``: resumable, one committed transaction per trial.

:func:`run_sweep` skips every key the store already holds (from this sweep or any other with
identical trials), submits the rest in interleaved order (instance by instance, every arm on
each) to an executor, and commits each finished trial as it arrives. It records the config
(``sweep/<name>/config``), one record per run (``sweep/<name>/run/<time>``: commit, hardware,
versions, executor, timing) and the models used (``models``) in the store's meta table.

Ctrl-C stops at once: finished trials are already committed; the ones in flight are given up
and rerun on resume. A fatal error (bad model spec, unreachable server) stops the sweep the
same way and is raised as :class:`~llm_modulo.experiments.executors.FatalTrialError`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from llm_modulo.experiments.cache import default_cache_path
from llm_modulo.experiments.config import Sweep, TrialSpec
from llm_modulo.experiments.executors import FatalTrialError, fresh_per_trial, make_executor
from llm_modulo.experiments.stats import succeeded
from llm_modulo.experiments.store import TrialStore

log = logging.getLogger(__name__)


def default_store_path(sweep: Sweep) -> Path:
    return Path("runs") / f"{sweep.name}.sqlite"


@dataclass
class SweepOutcome:
    sweep: str
    store: Path
    total: int  # trials in the sweep
    done_before: int  # already in the store when this run started
    ran: int  # committed by this run
    verified: int  # verified among all the sweep's stored trials
    solved: int  # verified or proved to have no solution: counted as `llm-modulo report` counts (stats.succeeded)
    errors: int  # status "error" among all the sweep's stored trials
    seconds: float
    status: str  # "finished" | "partial" (--limit, or trials missing) | "interrupted" | "aborted"
    in_flight: int = 0  # given up at an interruption; rerun on resume
    stored: int | None = None  # the sweep's trials in the store at the end (another process may have added some)

    @property
    def remaining(self) -> int:
        done = self.stored if self.stored is not None else self.done_before + self.ran
        return self.total - done


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep; carries what was committed."""

    def __init__(self, outcome: SweepOutcome) -> None:
        super().__init__(f"interrupted after {outcome.ran} trials")
        self.outcome = outcome


# -- the plan (dry run) ----------------------------------------------------------------------


def plan_table(sweep: Sweep, store_path: Path | None = None) -> Table:
    """Trials per arm (label, model, feedback, budget), with how many the store already holds."""
    done: set[str] = set()
    if store_path is not None and store_path.is_file():
        with TrialStore(store_path, readonly=True) as store:
            try:
                done = store.done_keys()
            except sqlite3.OperationalError:  # an empty file, not a store yet: nothing is stored
                done = set()
    counts: dict[tuple[str, str, str, str], list[int]] = {}
    for trial in sweep.trials:
        cell = counts.setdefault(trial.arm, [0, 0])
        cell[0] += 1
        cell[1] += trial.key in done
    table = Table(title=f"sweep {sweep.name}: {len(sweep.trials)} trials", title_justify="left")
    for column in ("label", "model", "feedback", "budget", "trials", "stored"):
        # names are folded, never cut with an ellipsis: a reader copies them into commands
        table.add_column(column, justify="right" if column in ("trials", "stored") else "left", overflow="fold")
    for (label, model, feedback, budget), (n, stored) in counts.items():
        table.add_row(label, model, feedback, budget, str(n), str(stored))
    total_done = sum(t.key in done for t in sweep.trials)
    table.add_section()
    table.add_row("total", "", "", "", str(len(sweep.trials)), str(total_done))
    return table


# -- the summary -----------------------------------------------------------------------------


def summary_table(sweep: Sweep, rows: dict[str, dict[str, Any]]) -> Table:
    """Solved / stored / expected per (label, model) x domain, over the sweep's trials; solved is
    :func:`~llm_modulo.experiments.stats.succeeded`, as ``llm-modulo report`` counts."""
    domains = list(dict.fromkeys(t.domain for t in sweep.trials))
    cells: dict[tuple[str, str], dict[str, list[int]]] = {}
    errors: dict[tuple[str, str], int] = {}
    for trial in sweep.trials:
        arm = (trial.label, trial.model)
        cell = cells.setdefault(arm, {}).setdefault(trial.domain, [0, 0, 0])  # solved, stored, expected
        cell[2] += 1
        row = rows.get(trial.key)
        if row is not None:
            cell[1] += 1
            cell[0] += succeeded(row)
            errors[arm] = errors.get(arm, 0) + (row["status"] == "error")
    table = Table(title=f"sweep {sweep.name}: solved / trials", title_justify="left")
    table.add_column("label", overflow="fold")
    table.add_column("model", overflow="fold")
    for domain in domains:
        table.add_column(domain, justify="right", overflow="fold")
    table.add_column("errors", justify="right", overflow="fold")
    for (label, model), by_domain in cells.items():
        texts = []
        for domain in domains:
            solved, stored, expected = by_domain.get(domain, [0, 0, 0])
            if expected == 0:
                texts.append("")
                continue
            pct = f" ({100 * solved / stored:.0f}%)" if stored else ""
            missing = f" [dim]of {expected}[/]" if stored < expected else ""
            texts.append(f"{solved}/{stored}{pct}{missing}")
        table.add_row(label, model, *texts, str(errors.get((label, model), 0)))
    return table


# -- the run record --------------------------------------------------------------------------


def _git(args: Sequence[str], cwd: Path) -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _gpu(import_torch: bool) -> str | None:
    """The GPU via torch.cuda (torch is imported only when the sweep runs a local model anyway)."""
    if import_torch or "torch" in sys.modules:
        try:
            import torch

            if torch.cuda.is_available():
                return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
            return None
        except Exception:  # noqa: BLE001 - no torch, or a broken CUDA install: no GPU to report
            return None
    if shutil.which("nvidia-smi"):
        try:
            done = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                  capture_output=True, text=True, timeout=10, check=False)
            names = [x.strip() for x in done.stdout.splitlines() if x.strip()]
            return ", ".join(names) or None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_record(executor: str, workers: int, command: str, uses_local_model: bool) -> dict[str, Any]:
    source = Path(__file__).resolve().parents[2]
    commit = _git(["rev-parse", "HEAD"], source)
    dirty = _git(["status", "--porcelain", "--untracked-files=no"], source)
    return {
        "commit": commit,
        "dirty": bool(dirty) if commit is not None else False,
        "hardware": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count() or 1,
            "memory_gib": _memory_gib(),
            "gpu": _gpu(uses_local_model),
            "platform": platform.platform(),
        },
        "python": platform.python_version(),
        "torch": _version("torch"),
        "executor": executor,
        "workers": workers,
        "seconds": 0.0,
        "trials_run": 0,
        "command": command,
        "status": "running",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _uses_local_model(trials: Iterable[TrialSpec]) -> bool:
    return any(not fresh_per_trial(t.model) and not t.model.startswith("openai:") for t in trials)


# -- the sweep -------------------------------------------------------------------------------


def grouped_by_model(trials: list[TrialSpec]) -> list[TrialSpec]:
    """The trials with each model's side by side (models in order of first appearance, each one's
    trials in sweep order). Batched trials share forward passes only with trials of the same model:
    a sweep that cycles through several models would leave each batch a trial or two of each."""
    first: dict[str, int] = {}
    for trial in trials:
        first.setdefault(trial.model_resolved, len(first))
    return sorted(trials, key=lambda trial: first[trial.model_resolved])  # stable: sweep order within a model


def run_sweep(
    sweep: Sweep,
    store_path: str | Path | None = None,
    *,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    batch: int | None = None,
    cache: bool = True,
    cache_path: str | Path | None = None,
    retry_errors: bool = False,
    limit: int | None = None,
    console: Console | None = None,
    command: str | None = None,
    progress: bool = True,
) -> SweepOutcome:
    """Run the sweep's pending trials and commit each one as it finishes.

    Raises :class:`SweepInterrupted` on Ctrl-C and :class:`FatalTrialError` when a trial fails in
    a way every trial would (both after committing what finished); bad arguments raise
    :class:`~llm_modulo.errors.InputError`.
    """
    from llm_modulo.errors import InputError

    console = console or Console()
    store_file = Path(store_path) if store_path is not None else default_store_path(sweep)
    workers = workers if workers is not None else (1 if batch is not None and batch > 1 else (os.cpu_count() or 1))
    if executor not in ("local", "ray"):
        raise InputError(f"unknown executor {executor!r}; known: local, ray")
    if workers < 1:
        raise InputError("--workers must be at least 1")
    if address and executor != "ray":
        raise InputError("--address joins a Ray cluster: use it with --executor ray")
    if limit is not None and limit < 0:
        raise InputError("--limit must be 0 or more")
    if batch is not None and batch < 1:
        raise InputError("--batch must be at least 1")
    cache_file = None
    if cache:
        # absolute: workers (Ray's especially) may run in another folder
        cache_file = str((Path(cache_path) if cache_path is not None else default_cache_path(store_file)).resolve())
    command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    started = time.perf_counter()

    store = TrialStore(store_file)
    try:
        store.set_meta(f"sweep/{sweep.name}/config", sweep.meta())
        # the sweep's trials by key, with its labels: a report of this sweep then also shows the
        # trials found stored by another sweep, which are not run again
        store.set_meta(f"sweep/{sweep.name}/trials", {t.key: t.label for t in sweep.trials})
        done = store.done_keys(include_errors=not retry_errors)  # with --retry-errors, error rows are pending
        expected = {t.key for t in sweep.trials}
        pending = [t for t in sweep.trials if t.key not in done]
        truncated = limit is not None and len(pending) > limit
        if limit is not None:
            pending = pending[:limit]
        if batch is not None and batch > 1:
            pending = grouped_by_model(pending)
        done_before = len(expected & done)
        ran = 0
        status = "finished"
        in_flight: dict[Any, TrialSpec] = {}
        if pending:
            record_key = f"sweep/{sweep.name}/run/{datetime.now(timezone.utc).isoformat(timespec='milliseconds')}"
            record = run_record(executor, workers, command, _uses_local_model(pending))
            # no more local workers than trials to run (each worker loads its own model)
            runner = make_executor(executor, workers if executor == "ray" else min(workers, len(pending)),
                                   address, cache_file, threads,
                                   batch=min(batch, len(pending)) if batch is not None else None)
            record["workers"] = runner.workers
            record["threads"] = getattr(runner, "threads", None)
            record["batch"] = getattr(runner, "batch", None)
            store.set_meta(record_key, record)
            models = dict(store.get_meta("models", {}) or {})
            solved = sum(succeeded(r) for r in store.rows(keys=expected & done))
            finished = done_before
            try:
                with _progress(console, progress) as bar:
                    task = bar.add_task(sweep.name, total=done_before + len(pending), completed=done_before,
                                        ok=_ok_text(solved, finished))
                    queue = list(reversed(pending))
                    capacity = max(1, runner.workers * 2)
                    release = getattr(runner, "release", None)  # drops a model no trial left uses
                    left = Counter(t.model_resolved for t in pending)
                    while queue or in_flight:
                        while queue and len(in_flight) < capacity:
                            spec = queue.pop()
                            in_flight[runner.submit(spec)] = spec
                        for handle in runner.wait(list(in_flight)):
                            spec = in_flight.pop(handle)
                            outcome = runner.outcome(handle)
                            if "fatal" in outcome:
                                raise FatalTrialError(outcome["fatal"])
                            row = outcome["row"]
                            with _ctrl_c_deferred():  # a committed trial is always counted in the run record
                                if store.insert(row, replace_error=retry_errors):
                                    ran += 1
                            finished += 1
                            solved += succeeded(row)
                            info = outcome.get("model")
                            if info and models.get(spec.model) != info:
                                models[spec.model] = info
                                store.set_meta("models", models)
                            bar.update(task, advance=1, ok=_ok_text(solved, finished))
                            left[spec.model_resolved] -= 1
                            if release is not None and not left[spec.model_resolved]:
                                release(spec.model_resolved)
                            # kept current, so a run killed with SIGKILL still shows what it did
                            record.update(seconds=round(time.perf_counter() - started, 3), trials_run=ran,
                                          status="running")
                            store.set_meta(record_key, record)
            except KeyboardInterrupt:
                status = "interrupted"
            except FatalTrialError:
                status = "aborted"
                # trials that finished beside the fatal one are kept
                for handle in runner.ready(list(in_flight)):
                    spec = in_flight.pop(handle)
                    try:
                        outcome = runner.outcome(handle)
                    except Exception:  # noqa: BLE001 - already failing; keep what can be kept
                        continue
                    if "row" in outcome and store.insert(outcome["row"], replace_error=retry_errors):
                        ran += 1
                raise
            except BaseException:
                status = "crashed"  # a bug or a broken store: stop the workers, keep the record honest
                raise
            finally:
                abandoned = len(in_flight)
                runner.shutdown(kill=status != "finished", handles=list(in_flight))
                record.update(seconds=round(time.perf_counter() - started, 3), trials_run=ran,
                              status="partial" if status == "finished" and truncated else status,
                              in_flight_abandoned=abandoned)
                store.set_meta(record_key, record)
        elif progress:
            console.print(f"sweep {sweep.name}: nothing to run ({len(expected)} trials already in {store_file})")
        rows = {r["key"]: r for r in store.rows(keys=expected)}
        outcome = SweepOutcome(
            sweep=sweep.name,
            store=store_file,
            total=len(sweep.trials),
            done_before=done_before,
            ran=ran,
            verified=sum(int(r["verified"]) for r in rows.values()),
            solved=sum(succeeded(r) for r in rows.values()),
            errors=sum(r["status"] == "error" for r in rows.values()),
            seconds=time.perf_counter() - started,
            status=status if status != "finished" or len(rows) == len(expected) else "partial",
            in_flight=len(in_flight),
            stored=len(rows),
        )
        if progress:
            console.print(summary_table(sweep, rows))
        if status == "interrupted":
            raise SweepInterrupted(outcome)
        return outcome
    finally:
        store.close()


@contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Hold SIGINT until the block ends (a Ctrl-C arriving inside it is raised right after)."""
    blocked = {signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


def _ok_text(solved: int, finished: int) -> str:
    pct = f"{100 * solved / finished:.1f}%" if finished else "-"
    return f"solved {solved} ({pct})"


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[ok]}"),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
    )


__all__ = ["SweepInterrupted", "SweepOutcome", "default_store_path", "plan_table", "run_sweep", "summary_table"]
