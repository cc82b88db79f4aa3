"""``llm-modulo rl``: reinforce a planner adapter with the verifier's reward (GRPO), in resumable rounds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from llm_modulo.cli._common import setup_logging
from llm_modulo.errors import InputError


def rl(
    config: Annotated[
        Path | None, typer.Option(help="a TOML file of RLConfig settings (top level or an [rl] table)")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="run folder: checkpoints/, round-<r>/adapter, log.json, reward.png, rounds.md")
    ] = Path("runs/rl"),
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out from its last update")] = False,
    rounds: Annotated[int | None, typer.Option(help="rounds of updates, each evaluated")] = None,
    updates_per_round: Annotated[int | None, typer.Option(help="updates per round")] = None,
    problems_per_update: Annotated[int | None, typer.Option(help="generated problems per update")] = None,
    group: Annotated[int | None, typer.Option(help="samples per problem (the GRPO group)")] = None,
    start: Annotated[str | None, typer.Option(help="the adapter to reinforce (default smollm2-135m-planner)")] = None,
    eval_count: Annotated[int | None, typer.Option(help="instances per held-out set")] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="train only: no held-out evaluation")] = False,
    seed: Annotated[int | None, typer.Option(help="random seed (problems, samples)")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda")] = None,
    threads: Annotated[int | None, typer.Option(help="torch threads")] = None,
    max_updates: Annotated[
        int | None, typer.Option(help="stop after this many updates in this call (resume later with --resume)")
    ] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log each update")] = False,
) -> None:
    """GRPO on generated Blocksworld problems: groups of samples scored by the critics (certified = 1,
    else a partial reward from the valid prefix), a group-relative policy-gradient update of the LoRA
    weights with a KL guard against the start adapter.

    A checkpoint after every update: a stopped run loses at most one; --resume continues it. Each
    round's adapter is evaluated as an improve round is; writes <out>/rounds.md, log.json, reward.png.
    """
    from pydantic import ValidationError

    from llm_modulo.training.rl import load_config
    from llm_modulo.training.rl.rounds import run_rl

    setup_logging(verbose)
    try:
        cfg = load_config(
            config, rounds=rounds, updates_per_round=updates_per_round, problems_per_update=problems_per_update,
            group=group, start=start, eval_count=eval_count, eval=False if no_eval else None, seed=seed,
            device=device, threads=threads,
        )  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f"{str(first['loc'][0]).replace('_', '-')}: " if first["loc"] else ""
        raise InputError(where + str(first["msg"]).removeprefix("Value error, ")) from None
    run_rl(cfg, out, resume=resume, stop_after=max_updates)
    sys.stdout.write((out / "rounds.md").read_text() + f"\n(written to {out / 'rounds.md'})\n")
