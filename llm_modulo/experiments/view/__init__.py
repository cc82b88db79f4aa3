"""``llm-modulo view``: static HTML pages of what the loop did, from a trial store or a ``solve --json`` file.

One trial (``trial=KEY`` or a result file) is one self-contained HTML file. An arm, a sweep or a
whole store is a folder: ``index.html``, a light table of the trials with filters by status, arm
and text, linking to one page per trial under ``trials/``. Every page inlines its CSS and JS and
loads nothing (its Content-Security-Policy forbids it); every text from a store or a model is
escaped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from llm_modulo.errors import InputError
from llm_modulo.experiments.view.index import index_page
from llm_modulo.experiments.view.source import Trial, is_store, load_result_file, load_store, recheck
from llm_modulo.experiments.view.trial import trial_page
from llm_modulo.files import input_file

log = logging.getLogger(__name__)

TRIALS_DIR = "trials"


@dataclass
class ViewFiles:
    """What was written: the page to open first, and how many trial pages."""

    main: Path
    trials: int
    verified: int


def write_view(
    source: str | Path,
    out: str | Path | None = None,
    *,
    trial: str | None = None,
    sweep: str | None = None,
    arm: str | None = None,
    with_recheck: bool = True,
) -> ViewFiles:
    """Write the pages for ``source`` (a trial store or a result file) under ``out``.

    With a result file or ``trial``, ``out`` is the HTML file (default: next to the source); else
    ``out`` is a folder (default: ``<store stem>-view/`` next to the store).
    """
    path = input_file(source, "store or result file", max_bytes=None)
    if not is_store(path):
        if trial or sweep or arm:
            raise InputError(f"{path} is a result file, not a trial store: --trial, --sweep and --arm need a store")
        return _one(load_result_file(path), out, path.with_suffix(".html"), with_recheck)
    if trial is not None:
        if sweep or arm:
            raise InputError("--trial names one trial: give it without --sweep or --arm")
        found = load_store(path, trial=trial)[0]
        return _one(found, out, path.with_name(f"{path.stem}-{found.page}"), with_recheck)
    trials = load_store(path, sweep=sweep, arm=arm)
    if with_recheck:
        recheck(trials)
    folder = Path(out) if out is not None else path.with_name(f"{path.stem}-view")
    pages = folder / TRIALS_DIR
    _mkdir(pages)
    for t in trials:
        (pages / t.page).write_text(trial_page(t, index="../index.html"), encoding="utf-8")
    what = " · ".join(x for x in (sweep and f"sweep {sweep}", arm and f"arm {arm}") if x) or "all trials"
    main = folder / "index.html"
    main.write_text(index_page(trials, f"{path.name}: {what}", TRIALS_DIR), encoding="utf-8")
    log.info("wrote %s and %d trial pages", main, len(trials))
    return ViewFiles(main=main, trials=len(trials), verified=sum(t.status == "verified" for t in trials))


def _one(found: Trial, out: str | Path | None, default: Path, with_recheck: bool) -> ViewFiles:
    if with_recheck:
        recheck([found])
    target = Path(out) if out is not None else default
    if target.is_dir():
        target = target / found.page
    _mkdir(target.parent)
    target.write_text(trial_page(found), encoding="utf-8")
    return ViewFiles(main=target, trials=1, verified=int(found.status == "verified"))


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write to {folder}: {exc.strerror or exc}") from None


__all__ = ["TRIALS_DIR", "Trial", "ViewFiles", "write_view"]
