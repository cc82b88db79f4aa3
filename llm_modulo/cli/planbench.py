"""``import-planbench`` (PlanBench's per-instance results into a trial store, judged by our critics)
and ``export-planbench`` (an arm of a store in PlanBench's results format)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from llm_modulo.cli._common import out

_LISTED = 20


def import_planbench(
    results: Annotated[Path, typer.Argument(help="a PlanBench results JSON (results/<domain>/<engine>/task_1_*.json)")],
    store: Annotated[Path, typer.Option(help="trial store to add the arm to")] = Path("runs/published.sqlite"),
    label: Annotated[str | None, typer.Option(help='arm label; default "published: <model>, <protocol>"')] = None,
    model: Annotated[
        str | None, typer.Option(help="model name; default: the file's response_object.model, else its folder")
    ] = None,
    sweep: Annotated[str, typer.Option(help="sweep name the trials are stored under")] = "published",
    domain: Annotated[str | None, typer.Option(help="our domain (default: from the file's PlanBench domain)")] = None,
    instance_set: Annotated[
        str | None, typer.Option("--set", help="our instance folder, e.g. blocksworld/generated_basic_3")
    ] = None,
    cot: Annotated[
        bool,
        typer.Option("--cot", help="read each response as chain of thought: lines that are not actions are skipped"),
    ] = False,
) -> None:
    """Judge every response of a PlanBench results file with our critics and store them as an arm.

    An instance is verified only if our hard critics accept its response; PlanBench's own verdict
    (llm_correct) is kept beside it and the disagreements are listed. Exit 0 done, 2 bad input.
    """
    from llm_modulo.experiments.planbench_io import import_results

    done = import_results(
        results,
        store,
        label=label,
        model=model,
        sweep=sweep,
        domain=domain,
        instance_set=instance_set,
        cot=cot,
    )
    print_import(done, store)


def print_import(done: object, store: Path) -> None:
    from llm_modulo.experiments.planbench_io import Imported

    assert isinstance(done, Imported)
    out.print(
        f"{done.total} responses -> arm {done.label!r} of {store} ({done.domain} / {done.instance_set}; "
        f"{done.stored} stored, {done.already} already there)",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    out.print(f"our critics certify {len(done.verified)}/{done.total}", highlight=False)
    judged = len(done.agree) + len(done.disagree)
    if judged:
        out.print(
            f"PlanBench's llm_correct: {len(done.agree)} agree, {len(done.disagree)} disagree"
            + (f" ({len(done.no_verdict)} without a verdict)" if done.no_verdict else ""),
            highlight=False,
        )
    for name, theirs, ours, why in done.disagree[:_LISTED]:
        verdict = "PlanBench correct, ours rejected" if theirs and not ours else "PlanBench incorrect, ours certified"
        out.print(f"  {name}: {verdict}" + (f": {why}" if why else ""), highlight=False, soft_wrap=True, markup=False)
    if len(done.disagree) > _LISTED:
        out.print(f"  ... and {len(done.disagree) - _LISTED} more (see `llm-modulo report`)", highlight=False)


def export_planbench(
    store: Annotated[Path, typer.Argument(help="trial store")],
    arm: Annotated[str, typer.Option(help="the arm's label")],
    sweep: Annotated[str | None, typer.Option(help="one sweep of the store")] = None,
    seed: Annotated[int | None, typer.Option(help="the seed to export, where the arm ran several")] = None,
) -> None:
    """Write one arm of a store as a PlanBench results JSON on stdout (llm_correct = our certificate)."""
    from llm_modulo.experiments.planbench_export import export_arm
    from llm_modulo.experiments.report.store_rows import open_store

    open_store(store).close()  # "not a trial store" before anything else
    doc = export_arm(str(store), arm, sweep, seed)
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


__all__ = ["export_planbench", "import_planbench"]
