"""The console tables of a sweep: its plan (trials per arm, and how many are stored) before a
run, and what it solved after one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from rich.table import Table

from llm_modulo.experiments.stats import succeeded
from llm_modulo.experiments.store import TrialStore
from llm_modulo.experiments.trials import Sweep

# -- the plan (dry run) ----------------------------------------------------------------------


def plan_table(sweep: Sweep, store_path: Path | None = None) -> Table:
    """Trials per arm (label, model, feedback, budget), with how many the store already holds."""
    done: set[str] = set()
    try:
        present = store_path is not None and (store_path.exists() or store_path.is_symlink())
    except OSError:  # a name too long: TrialStore says so in one line
        present = True
    if store_path is not None and present:  # TrialStore refuses a folder, a pipe, a file that is not SQLite
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


__all__ = ["plan_table", "summary_table"]
