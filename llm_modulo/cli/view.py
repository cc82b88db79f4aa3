"""``view``: static HTML pages of a trial, an arm or a sweep (no server, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llm_modulo.cli._common import out


def view(
    source: Annotated[Path, typer.Argument(help="trial store (SQLite) or a `solve --json` result file")],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="the HTML file (one trial) or folder (arm, sweep, store); default: next to the source",
        ),
    ] = None,
    trial: Annotated[str | None, typer.Option(help="one trial: its key, or a unique start of it")] = None,
    sweep: Annotated[str | None, typer.Option(help="the trials of one sweep")] = None,
    arm: Annotated[
        str | None, typer.Option(help="the trials of one arm: its label, or the arm name the index shows")
    ] = None,
    recheck: Annotated[
        bool,
        typer.Option("--recheck/--no-recheck", help="re-check each verified answer with the domain's reference check"),
    ] = True,
) -> None:
    """HTML pages of what the loop did: prompts, samples, verdicts, critiques, back-prompts, the search tree."""
    from llm_modulo.experiments.view import write_view

    files = write_view(source, out_path, trial=trial, sweep=sweep, arm=arm, with_recheck=recheck)
    pages = f"{files.trials} trial page{'s' if files.trials != 1 else ''}" if files.trials > 1 else "1 trial"
    out.print(f"{files.main}  ({pages}, {files.verified} verified)", markup=False, highlight=False)
