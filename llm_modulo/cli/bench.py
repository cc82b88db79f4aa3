"""``bench`` (a resumable sweep into a trial store) and ``report`` (the tables and figures from a store)."""

from __future__ import annotations

import logging
import os
import shlex
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from llm_modulo.cli._common import EXIT_INTERRUPTED, EXIT_NOT_VERIFIED, err, out, setup_logging


class ReportFormat(str, Enum):
    md = "md"


def report(
    store: Annotated[Path, typer.Argument(help="trial store (SQLite) written by `llm-modulo bench`")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: <store stem>-report/ next to the store)")
    ] = None,
    sweep: Annotated[str | None, typer.Option(help="report one sweep (default: every sweep in the store)")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="report format")] = ReportFormat.md,
    csv: Annotated[bool, typer.Option("--csv/--no-csv", help="write trials.csv, one row per trial")] = True,
    parquet: Annotated[bool, typer.Option("--parquet/--no-parquet", help="write trials.parquet (pyarrow)")] = True,
    recheck: Annotated[
        bool,
        typer.Option(
            "--recheck", help="re-check every verified answer with an independent validator (unified-planning for PDDL)"
        ),
    ] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            help='price table (TOML: [prices."<model>"] input = USD, output = USD per million tokens) for the money columns'
        ),
    ] = None,
) -> None:
    """Report from a trial store alone: report.md with tables and PNG figures, trials.csv, trials.parquet."""
    from llm_modulo.experiments.report import print_summary, write_report

    files = write_report(
        store, out_dir, sweep, fmt=fmt.value, csv_out=csv, parquet_out=parquet, recheck=recheck, prices=prices
    )
    print_summary(out, files)


def _exit_interrupted() -> NoReturn:
    """Exit 130 now. Threads nobody can stop (a trial thread inside a model call, a process pool's
    thread after its workers were killed) would hold a normal exit, which joins them, for as long
    as they run: with any left, flush what was written and leave without joining them."""
    if any(t is not threading.main_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(EXIT_INTERRUPTED)  # the store is closed and every finished trial committed
    raise typer.Exit(EXIT_INTERRUPTED)


def bench(
    config: Annotated[
        Path, typer.Argument(help="sweep config, TOML or YAML (see benchmarks/configs/planbench_50.toml)")
    ],
    store: Annotated[Path | None, typer.Option(help="trial store (SQLite); default: runs/<sweep name>.sqlite")] = None,
    executor: Annotated[str, typer.Option(help="local (worker processes) | ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (with --executor ray); default: start a local Ray")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="trials at once; default: CPU cores; 1 runs them in this process")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="torch threads per worker; default: the cores split between the workers (set 1 when sweeps share a machine: oversubscribed threads run many times slower)"
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            help="run N trials at once in this process and decode their local-model calls as shared batches (the fast way to run a local model, on CPU or GPU; with --workers 1)"
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="do not read or write the completion cache")] = False,
    cache: Annotated[
        Path | None, typer.Option(help="completion cache file; default: <store>.cache.sqlite beside the store")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the trials per arm (and how many are stored), then exit")
    ] = False,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors", help="run again the trials stored with status error")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(help="run at most N pending trials (a partial run; resume later)")
    ] = None,
    device: Annotated[str, typer.Option(help="where local models run: cpu or cuda")] = "cpu",
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log progress and trial errors")] = False,
) -> None:
    """Run a sweep (instance sets x strategies x models x budgets x feedback x seeds), resumably.

    Each finished trial is committed to the store at once; the same command again skips what is stored,
    so a killed or interrupted sweep resumes where it stopped. `llm-modulo report STORE` makes the tables.

    Exit codes: 0 done, 1 some trials ended in an error (see --retry-errors), 2 bad config or fatal error
    (model not loadable, server unreachable), 130 interrupted.
    """
    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import SweepInterrupted, default_store_path, run_sweep
    from llm_modulo.experiments.tables import plan_table

    setup_logging(verbose)
    command = shlex.join(["llm-modulo", *sys.argv[1:]])  # the same command resumes: stored trials are skipped
    try:
        sweep = load_sweep(config, device)
        store_path = store or default_store_path(sweep)
        if dry_run:
            out.print(plan_table(sweep, store_path))
            _print_warnings(sweep.warnings)
            return
        outcome = run_sweep(
            sweep,
            store_path,
            device=device,
            executor=executor,
            address=address,
            workers=workers,
            threads=threads,
            batch=batch,
            cache=not no_cache,
            cache_path=cache,
            retry_errors=retry_errors,
            limit=limit,
            console=out,
            command=command,
        )
    except SweepInterrupted as stop:
        o = stop.outcome
        err.print(
            f"interrupted: {o.stored if o.stored is not None else o.done_before + o.ran}/{o.total} trials are in {o.store} "
            f"({o.ran} this run, {o.in_flight} in flight given up); resume with: {command}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        _exit_interrupted()
    except KeyboardInterrupt:
        err.print("interrupted before any trial ran", highlight=False)
        _exit_interrupted()
    done = outcome.stored if outcome.stored is not None else outcome.done_before + outcome.ran
    out.print(
        f"{done}/{outcome.total} trials in {outcome.store} ({outcome.ran} this run, {outcome.seconds:.1f} s); "
        f"verified {outcome.verified}"
        + (f"; {outcome.errors} errors (rerun with --retry-errors)" if outcome.errors else "")
        + (f"; {outcome.remaining} left: rerun the same command to continue" if outcome.remaining else ""),
        highlight=False,
    )
    _print_warnings(sweep.warnings)
    if outcome.errors:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _print_warnings(warnings: list[str]) -> None:
    """The sweep's warnings, one line each, once its input has proved good: bad input is then the
    one ``error:`` line on stderr, and the warnings stand beside the summary rather than above a long run."""
    for warning in warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
