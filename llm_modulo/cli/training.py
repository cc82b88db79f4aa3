"""Training commands: ``make-data``, ``expert-data``, ``repair-data`` (certified training records),
``train`` (a LoRA adapter), ``improve`` (expert iteration) and ``improve-table`` (its ablation table)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from llm_modulo.cli._common import setup_logging
from llm_modulo.errors import InputError


# The choices of improve's options, as typer choices: the values of ImproveConfig's Literal fields
# (tests/core/test_cli.py keeps them equal), so a bad value is a usage error naming the choices.
class ImproveDomain(str, Enum):
    blocksworld = "blocksworld"
    game24 = "game24"


class DataChoice(str, Enum):
    expert = "expert"
    imitation = "imitation"
    both = "both"


class SampleStrategyChoice(str, Enum):
    best_of_n = "best-of-n"
    modulo = "modulo"
    search = "search"


class ExpertSelectChoice(str, Enum):
    all = "all"
    shortest = "shortest"
    shortened = "shortened"


def _print_json(summary: Any) -> None:
    sys.stdout.write(json.dumps(summary, indent=1, default=str) + "\n")


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value is not None else None


def make_data(
    domain: Annotated[
        str | None,
        typer.Argument(help="blocksworld, game24, or pddl (generated domains and vocabularies; implied by --domains)"),
    ] = None,
    out: Annotated[Path, typer.Option(help="output folder (train.jsonl, data.json, the problems)")] = Path("runs/data"),
    count: Annotated[int, typer.Option(help="problems to generate")] = 200,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    min_blocks: Annotated[int, typer.Option(help="blocksworld: fewest blocks")] = 3,
    max_blocks: Annotated[int, typer.Option(help="blocksworld: most blocks")] = 8,
    prompt_format: Annotated[
        str | None,
        typer.Option(
            help="compact (the statement only) or full (the domain's zero-shot prompt); default compact, full with --domains"
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="planning targets: auto, bfs, astar or search")] = "auto",
    domains: Annotated[
        str | None,
        typer.Option(
            help="generated domain families, comma-separated: blocksworld,gripper,ferry,miconic,depots (default all)"
        ),
    ] = None,
    vocabularies: Annotated[
        str | None, typer.Option(help="vocabulary families, comma-separated: original,words,random (default all)")
    ] = None,
    styles: Annotated[
        str | None, typer.Option(help="with --domains: prompt styles, comma-separated: nl,pddl (default both)")
    ] = None,
) -> None:
    """Generate training problems (never a test instance: excluded by a renaming-invariant hash) with certified imitation targets.

    With --domains / --vocabularies: problems of several generated PDDL domains, each in a vocabulary drawn
    per example, for the generic planning domain (pddl) with the domain's description in the prompt.
    """
    from llm_modulo.training.commands import make_data as run

    _print_json(
        run(
            domain,
            out,
            count=count,
            seed=seed,
            min_blocks=min_blocks,
            max_blocks=max_blocks,
            prompt_format=prompt_format,
            method=method,
            domains=_names(domains),
            vocabularies=_names(vocabularies),
            styles=_names(styles),
        )
    )


def expert_data(
    store: Annotated[Path, typer.Argument(help="trial store of a sweep on generated training problems")],
    out: Annotated[Path, typer.Option(help="output JSONL")] = Path("runs/data/expert.jsonl"),
    prompt_format: Annotated[str, typer.Option(help="compact or full")] = "compact",
    allow_test: Annotated[
        bool, typer.Option("--allow-test", help="keep test instances (never for training a model you evaluate on them)")
    ] = False,
    include_random: Annotated[
        bool, typer.Option("--include-random", help="keep the random control's certified samples too")
    ] = False,
    select: Annotated[
        str,
        typer.Option(
            help="all (every distinct certified answer), shortest (a problem's fewest-step answers) or shortened (planning: redundant steps removed under the validator, then the shortest)"
        ),
    ] = "all",
) -> None:
    """Extract the certified samples of a language model's runs from a store (expert iteration), re-certified."""
    from llm_modulo.training.commands import make_expert_data

    _print_json(
        make_expert_data(
            store, out, prompt_format=prompt_format, allow_test=allow_test, include_random=include_random, select=select
        )
    )


def repair_data(
    store: Annotated[Path, typer.Argument(help="trial store of a planning sweep on generated training problems")],
    out: Annotated[Path, typer.Option(help="output JSONL")] = Path("runs/data/repair.jsonl"),
    prompt_format: Annotated[str, typer.Option(help="compact or full: the prompts modulo will run with")] = "compact",
    feedback: Annotated[str, typer.Option(help="feedback level of the critique: none, binary, first or all")] = "first",
    reuse_prefix: Annotated[
        bool,
        typer.Option(
            "--reuse-prefix/--no-reuse-prefix",
            help="open the answer at the rejected plan's valid prefix, as modulo's reuse_prefix does",
        ),
    ] = True,
    max_per_problem: Annotated[int | None, typer.Option(help="at most this many rejected answers per problem")] = None,
    allow_test: Annotated[
        bool, typer.Option("--allow-test", help="keep test instances (never for training a model you evaluate on them)")
    ] = False,
) -> None:
    """Critique-and-repair turns from rejected samples: modulo's back-prompt, answered by a shortest certified completion."""
    from llm_modulo.training.repair import make_repair_data
    from llm_modulo.types import FeedbackLevel

    if feedback not in {level.value for level in FeedbackLevel}:
        raise InputError(f"unknown feedback level {feedback!r}; known: none, binary, first, all")
    _print_json(
        make_repair_data(
            store,
            out,
            prompt_format=prompt_format,
            feedback=feedback,
            reuse_prefix=reuse_prefix,
            max_per_problem=max_per_problem,
            allow_test=allow_test,
        )
    )


def train(
    data: Annotated[
        Path, typer.Argument(help="training JSONL (make-data, expert-data or repair-data; concatenate to mix)")
    ],
    out: Annotated[Path, typer.Option(help="adapter folder (checkpoints, loss.png, log.json)")] = Path("runs/adapter"),
    name: Annotated[
        str | None, typer.Option(help="also install the adapter under this name (then --model NAME)")
    ] = None,
    epochs: Annotated[float, typer.Option(help="passes over the data")] = 1.0,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-4,
    rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    alpha: Annotated[int, typer.Option(help="LoRA alpha")] = 16,
    batch_size: Annotated[int, typer.Option(help="examples per step")] = 8,
    max_len: Annotated[int, typer.Option(help="longest sequence kept (longer examples are dropped, never cut)")] = 512,
    max_steps: Annotated[int | None, typer.Option(help="stop after this many steps")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    threads: Annotated[int | None, typer.Option(help="torch CPU threads (default: every core)")] = None,
    no_resume: Annotated[
        bool, typer.Option("--no-resume", help="start afresh instead of from the latest checkpoint")
    ] = False,
    init_adapter: Annotated[
        str | None,
        typer.Option(help="start from this trained adapter (name or folder; same rank and alpha) instead of from zero"),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v", "--verbose", help="log every 10th step's loss and time left (for logs, where no progress bar shows)"
        ),
    ] = False,
) -> None:
    """LoRA-train the embedded model on certified traces (completion tokens only), resumable, with a loss curve."""
    from llm_modulo.files import input_file
    from llm_modulo.training.commands import train_adapter

    setup_logging(verbose)
    input_file(data, "dataset file", max_bytes=None)  # a folder, a pipe, /dev/null, an empty file: one line
    _print_json(
        train_adapter(
            data,
            out,
            epochs=epochs,
            lr=lr,
            rank=rank,
            alpha=alpha,
            batch_size=batch_size,
            max_len=max_len,
            seed=seed,
            device=device,
            resume=not no_resume,
            max_steps=max_steps,
            name=name,
            threads=threads,
            init_adapter=init_adapter,
        )
    )


def improve(
    domain: Annotated[ImproveDomain, typer.Argument(help="blocksworld or game24")] = ImproveDomain.blocksworld,
    out: Annotated[
        Path, typer.Option(help="run folder: round-<r>/ (data, samples, adapter), eval.sqlite, rounds.md")
    ] = Path("runs/improve"),
    rounds: Annotated[
        int, typer.Option(help="rounds of sample -> train -> evaluate (a rerun with more resumes and adds)")
    ] = 2,
    data: Annotated[
        DataChoice,
        typer.Option(
            help="training data: expert (the model's certified samples), imitation (planner / exact solutions) or both"
        ),
    ] = DataChoice.expert,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="blocksworld: also train on critique-and-repair turns from the rejected samples (so modulo's feedback helps)",
        ),
    ] = False,
    start: Annotated[
        str | None,
        typer.Option(
            help="continue from this trained adapter (name or folder): round 0 beside the base; each round trains on from the last"
        ),
    ] = None,
    problems: Annotated[int, typer.Option(help="new training problems per round")] = 200,
    min_blocks: Annotated[int, typer.Option(help="blocksworld: fewest blocks in a training problem")] = 3,
    max_blocks: Annotated[int, typer.Option(help="blocksworld: most blocks in a training problem")] = 8,
    sample_strategy: Annotated[
        SampleStrategyChoice, typer.Option(help="how the model samples with critics: search, best-of-n or modulo")
    ] = SampleStrategyChoice.search,
    sample_n: Annotated[int, typer.Option(help="samples per call (per node for search)")] = 8,
    sample_nodes: Annotated[int, typer.Option(help="search: expansions per training problem")] = 64,
    sample_heuristic: Annotated[
        str, typer.Option(help="search: none (the model's own best-first search), goal-count or relaxed-plan")
    ] = "none",
    eval_count: Annotated[
        int | None, typer.Option(help="instances per held-out set (default: all; e.g. 600 PlanBench + 600 Mystery)")
    ] = None,
    eval_strategies: Annotated[
        str, typer.Option(help="comma-separated: direct, best-of-n, modulo, search")
    ] = "direct,best-of-n,modulo,search",
    eval_heuristic: Annotated[
        str | None,
        typer.Option(
            help="search at evaluation: none (the model's own best-first search), goal-count or relaxed-plan (default: relaxed-plan; for game24 that estimate is exact, a solver)"
        ),
    ] = None,
    no_random: Annotated[bool, typer.Option("--no-random", help="leave out the random control")] = False,
    base: Annotated[
        str, typer.Option(help="base model: default (the embedded SmolLM2-135M) or a model folder")
    ] = "default",
    epochs: Annotated[float, typer.Option(help="passes over each round's data")] = 2.0,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-4,
    rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    batch_size: Annotated[int, typer.Option(help="examples per step")] = 8,
    max_len: Annotated[int, typer.Option(help="longest training sequence kept")] = 512,
    max_steps: Annotated[int | None, typer.Option(help="cap on optimizer steps per round")] = None,
    train_tokens: Annotated[
        int | None, typer.Option(help="cap on completion tokens per round (the data-source ablation at equal tokens)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed (problems, sampling, training)")] = 0,
    expert_select: Annotated[
        ExpertSelectChoice,
        typer.Option(
            help="which certified samples become expert data: all, shortest (a problem's fewest-step answers) or shortened (planning: redundant steps removed under the validator, then the shortest)"
        ),
    ] = ExpertSelectChoice.all,
    train_seed: Annotated[
        int | None,
        typer.Option(
            help="another seed for the --train-tokens subset and training alone (default: --seed): with a shared --store, repeats of one data source on the same problems and samples"
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            help="one trial store for all sweeps, shareable by several runs (an ablation): the base model's evaluation and identical samples run once"
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda (training and sampling)")] = "cpu",
    workers: Annotated[int, typer.Option(help="sweep workers")] = 1,
    threads: Annotated[
        int | None, typer.Option(help="torch threads per sweep worker and while training (default: every core)")
    ] = None,
    batch_trials: Annotated[
        int | None,
        typer.Option(
            help="run N trials at once in the sampling and evaluation sweeps, their model calls decoded together (bench --batch; with --workers 1)"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log each step")] = False,
) -> None:
    """Expert iteration: sample with critics -> keep certified traces -> train -> evaluate, for N rounds.

    Round 0 evaluates the base model and the random control; every round's adapter is kept in <out>/round-<r>/adapter and evaluated on the same held-out sets (never trained on).

    Resumable: the same command again skips every finished step. Writes <out>/rounds.md and rounds.csv.
    """
    from pydantic import ValidationError

    from llm_modulo.training.improve import ImproveConfig, markdown_table, run_improve

    setup_logging(verbose)
    try:
        cfg = ImproveConfig(
            domain=domain.value, rounds=rounds, data=data.value, repair=repair, start=start, problems=problems, min_blocks=min_blocks, max_blocks=max_blocks,
            sample_strategy=sample_strategy.value,
            sample_n=sample_n, sample_nodes=sample_nodes, sample_heuristic=sample_heuristic, eval_count=eval_count,
            eval_strategies=[s.strip() for s in eval_strategies.split(",") if s.strip()], eval_random=not no_random,
            eval_heuristic=eval_heuristic,
            base=base, epochs=epochs, lr=lr, rank=rank, batch_size=batch_size, max_len=max_len, max_steps=max_steps,
            train_tokens=train_tokens, seed=seed, train_seed=train_seed, expert_select=expert_select.value, store=str(store) if store else None, device=device,
            workers=workers, threads=threads, batch_trials=batch_trials,
        )  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        where = (
            f"--{str(first['loc'][0]).replace('_', '-')}: " if first["loc"] else ""
        )  # a check across options has none
        raise InputError(where + str(first["msg"]).removeprefix("Value error, ")) from None
    rows = run_improve(cfg, out)
    sys.stdout.write(markdown_table(rows) + f"\n(written to {out / 'rounds.md'})\n")


def improve_table(
    runs: Annotated[list[Path], typer.Argument(help="improve run folders (e.g. one per --data source)")],
) -> None:
    """Compare improve runs: each run's latest round beside the base model and the random control (the data-source ablation)."""
    from llm_modulo.training.improve import compare_runs

    sys.stdout.write(compare_runs(runs))
