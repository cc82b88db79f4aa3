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

import logging
import os
import sys
import time
from collections import Counter
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

from llm_modulo.experiments.cache import default_cache_path
from llm_modulo.experiments.executors import FatalTrialError, make_executor
from llm_modulo.experiments.provenance import run_record, uses_local_model
from llm_modulo.experiments.stats import succeeded
from llm_modulo.experiments.store import TrialStore
from llm_modulo.experiments.tables import plan_table, summary_table
from llm_modulo.experiments.trials import Sweep, TrialSpec
from llm_modulo.experiments.worker import ctrl_c_deferred

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
    device: str = "cpu",
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
        pending = [
            t if t.device == device else t.model_copy(update={"device": device})
            for t in sweep.trials
            if t.key not in done
        ]
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
            record = run_record(executor, workers, command, uses_local_model(pending))
            # no more local workers than trials to run (each worker loads its own model)
            runner = make_executor(
                executor,
                workers if executor == "ray" else min(workers, len(pending)),
                address,
                cache_file,
                threads,
                batch=min(batch, len(pending)) if batch is not None else None,
            )
            record["workers"] = runner.workers
            record["threads"] = getattr(runner, "threads", None)
            record["batch"] = getattr(runner, "batch", None)
            store.set_meta(record_key, record)
            models = dict(store.get_meta("models", {}) or {})
            solved = sum(succeeded(r) for r in store.rows(keys=expected & done))
            finished = done_before
            try:
                with _progress(console, progress) as bar:
                    task = bar.add_task(
                        sweep.name,
                        total=done_before + len(pending),
                        completed=done_before,
                        ok=_ok_text(solved, finished),
                    )
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
                            with ctrl_c_deferred():  # a committed trial is always counted in the run record
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
                            record.update(
                                seconds=round(time.perf_counter() - started, 3), trials_run=ran, status="running"
                            )
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
                record.update(
                    seconds=round(time.perf_counter() - started, 3),
                    trials_run=ran,
                    status="partial" if status == "finished" and truncated else status,
                    in_flight_abandoned=abandoned,
                )
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
