"""The ``llm-modulo`` command: ``solve``, ``validate``, ``demo``, ``bench`` (sweeps) and ``report``.

Bad input gets one clear line on stderr and exit code 2; a run that certified nothing exits 1.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llm_modulo.errors import InputError, LLMModuloError
from llm_modulo.registry import STRATEGIES
from llm_modulo.strategies.base import CONSTRAINT_MODES
from llm_modulo.types import Budget, FeedbackLevel, Result, ResultStatus

app = typer.Typer(
    name="llm-modulo",
    help="An LLM proposes, sound critics certify: generate-test-critique planning with a local model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_NOT_VERIFIED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_SOLUTION = 3  # a hard critic proved that the task has no answer


StrategyName = Enum("StrategyName", {name: name for name in STRATEGIES}, type=str)  # type: ignore[misc]


Constrain = Enum("Constrain", {mode: mode for mode in CONSTRAINT_MODES}, type=str)  # type: ignore[misc]


class Style(str, Enum):
    nl = "nl"
    pddl = "pddl"


def _fail(exc: LLMModuloError) -> None:
    err.print(f"[bold red]error:[/] {escape(exc.format_message())}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def parse_budget(spec: str | None, **overrides: Any) -> Budget:
    """``rounds=10,samples=64,tokens=20000,seconds=60`` (any subset; ``none`` = unlimited)."""
    values: dict[str, Any] = {}
    if spec:
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in Budget.model_fields:
                raise InputError(f"bad --budget item {part!r}; use e.g. rounds=10,samples=64,tokens=20000,seconds=60")
            try:
                values[key] = None if value.strip().lower() == "none" else float(value) if key == "seconds" else int(value)
            except ValueError:
                raise InputError(f"bad --budget value {part!r}: not a number") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Budget(**values)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def _print_result(result: Result, domain: Any, task: Any, model_name: str, load_seconds: float) -> None:
    status = {"verified": "[bold green]VERIFIED[/]", "exhausted": "[yellow]NOT VERIFIED (budget spent)[/]",
              "failed": "[red]NOT VERIFIED[/]",
              "no_solution": "[bold cyan]NO SOLUTION EXISTS (proved; the model was not asked)[/]"}[result.status.value]
    out.rule(f"{task.id}  ·  {result.strategy}  ·  {model_name}")
    steps = result.answer or []
    is_plan = hasattr(domain, "render_action") and isinstance(steps, list)
    if result.status is ResultStatus.NO_SOLUTION:
        for v in result.certificate:
            for violation in v.violations:
                out.print(f"[bold]proof[/] ({v.critic}, {v.engine}): {violation.message}", highlight=False)
    elif steps and not is_plan:
        label = "certified answer" if result.verified else "best answer found (not certified)"
        out.print(f"[bold]{label}[/]:")
        out.print(result.answer_text.strip(), highlight=False, markup=False)
    elif steps:
        label = "certified plan" if result.verified else "best plan found (not certified)"
        out.print(f"[bold]{label}[/] ({len(steps)} steps):")
        for i, (name, args) in enumerate(steps, 1):
            out.print(f"  {i:>2}. {domain.render_action(name, args)}    [dim]({' '.join([name, *args])})[/]",
                      highlight=False)
    else:
        out.print("[bold]no plan[/]")
    verdicts = result.certificate or (result.trace[-1].samples and _best_verdicts(result)) or []
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("status", status)
    for v in verdicts:
        table.add_row(f"critic {v.critic}", f"{v.status.value} ({v.engine})")
    if not result.verified and result.trace:
        critique = _best_critique(result, domain, task)
        if critique:
            table.add_row("critique", critique)
    u = result.usage
    table.add_row("rounds", str(u.rounds))
    if u.nodes:
        table.add_row("search", f"{u.nodes} expansions, {u.scored_tokens} continuation tokens scored")
    table.add_row("samples", str(u.samples))
    table.add_row("tokens", f"{u.generated_tokens} generated, {u.prompt_tokens} prompt (over {u.llm_calls} calls)")
    table.add_row("time", f"{u.seconds:.1f} s solving + {load_seconds:.1f} s loading")
    out.print(table)


def _best_sample(result: Result) -> Any:
    """The sample the result's answer came from (the strategy's choice), else the best-scored one."""
    samples = [s for a in result.trace for s in a.samples]
    if not samples:
        return None
    chosen = [s for s in samples if result.answer_text and s.candidate.text == result.answer_text]
    if chosen:
        return chosen[-1]
    return max(samples, key=lambda s: min((v.score for v in s.verdicts if v.hard), default=0.0))


def _best_verdicts(result: Result) -> list[Any]:
    best = _best_sample(result)
    return best.verdicts if best else []


def _best_critique(result: Result, domain: Any, task: Any) -> str:
    best = _best_sample(result)
    if best is None:
        return ""
    return str(domain.critique(task, best.candidate, best.verdicts, FeedbackLevel.ALL))


def _load_task(instance: str | None, domain_file: Path | None, problem_file: Path | None,
               domain_name: str | None, style: Style, **options: Any) -> tuple[Any, Any]:
    from llm_modulo.registry import load_planning_task, load_task

    if instance:
        return load_task(instance, domain_name, style.value, **options)
    if domain_file is None or problem_file is None:
        raise InputError("give --instance NAME, or both --domain D.pddl and --problem P.pddl")
    return load_planning_task(str(domain_file), str(problem_file), domain_name, style.value, **options)


def _compact_prompts(prompt_format: str, model: str | None) -> bool:
    """Whether ``solve`` runs the domain with compact prompts (see its ``--prompt-format``)."""
    from llm_modulo.training.chat import PROMPT_FORMATS
    from llm_modulo.training.lora import trained_prompt_formats

    if prompt_format not in ("auto", *PROMPT_FORMATS):
        raise InputError(f"unknown prompt format {prompt_format!r}; known: {', '.join(('auto', *PROMPT_FORMATS))}")
    if prompt_format != "auto":
        return prompt_format == "compact"

    return trained_prompt_formats(model) == ("compact",)


def _with_compact_prompts(domain: Any, required: bool) -> Any:
    """The domain with compact prompts; where it has none, an error if they were asked for, else itself."""
    from llm_modulo.training.chat import CompactPrompts

    try:
        return CompactPrompts(domain)
    except InputError as exc:
        if required:
            raise
        logging.getLogger("llm_modulo.cli").warning("the domain's own prompt, not the compact one the model was trained on: %s", exc)
        return domain


@app.command()
def solve(
    instance: Annotated[Optional[str], typer.Option(help="PlanBench instance (blocksworld/generated_basic/instance-2), a problem file, or an instance of --domain-name (game24: a rank such as 901 or '4 4 4 4')")] = None,
    domain: Annotated[Optional[Path], typer.Option("--domain", help="PDDL domain file (with --problem)")] = None,
    problem: Annotated[Optional[Path], typer.Option("--problem", help="PDDL problem file (with --domain)")] = None,
    domain_name: Annotated[Optional[str], typer.Option(help="registered domain (see `llm-modulo domains`); default: detected from the PDDL")] = None,
    style: Annotated[Style, typer.Option(help="prompt style: PlanBench natural language or PDDL")] = Style.nl,
    zero_shot: Annotated[bool, typer.Option("--zero-shot", help="no worked example in the prompt (default: one-shot)")] = False,
    cot: Annotated[bool, typer.Option("--cot", help="chain of thought: reason about the state before each step (free text: use --constrained none)")] = False,
    prompt_format: Annotated[str, typer.Option(help="auto: compact when --model is an adapter trained on compact prompts (smollm2-135m-planner), else full; compact: the problem statement alone, as `llm-modulo train` trains; full: the domain's own prompt")] = "auto",
    strategy: Annotated[StrategyName, typer.Option(help="how the model and the critics work together")] = StrategyName("modulo"),
    feedback: Annotated[FeedbackLevel, typer.Option(help="critique given back: none | binary | first | all")] = FeedbackLevel.FIRST,
    history: Annotated[bool, typer.Option(help="keep every earlier round's answer and critique in the prompt")] = False,
    reuse_prefix: Annotated[bool, typer.Option(help="continue from the valid prefix of the best candidate (modulo)")] = True,
    retry_excluded: Annotated[bool, typer.Option(help="modulo: after a round without progress, decode the same prefix again without the first choices just rejected there, before backtracking")] = False,
    remember_rejected: Annotated[bool, typer.Option(help="modulo: in every later round, rule out each step the critics rejected right after the exact steps that led to it")] = False,
    backprompt: Annotated[bool, typer.Option(help="modulo: put the critique in the next prompt; --no-backprompt asks the task's own prompt again and lets the critics act only through decoding (with --remember-rejected)")] = True,
    constrained: Annotated[Constrain, typer.Option(help="decoding grammar: none (free text), well-formed ground actions, or executable ones (simulator-checked after each step)")] = Constrain("executable"),
    n: Annotated[int, typer.Option("-n", "--n", help="samples per LLM call")] = 16,
    budget: Annotated[Optional[str], typer.Option(help="e.g. rounds=10,samples=64,tokens=20000,seconds=60")] = None,
    rounds: Annotated[Optional[int], typer.Option(help="budget: rounds (LLM calls)")] = None,
    samples: Annotated[Optional[int], typer.Option(help="budget: completions")] = None,
    tokens: Annotated[Optional[int], typer.Option(help="budget: generated tokens")] = None,
    seconds: Annotated[Optional[float], typer.Option(help="budget: wall-clock seconds")] = None,
    nodes: Annotated[Optional[int], typer.Option(help="budget: search expansions (search)")] = None,
    heuristic: Annotated[str, typer.Option(help="search: relaxed-plan | goal-count | none (model alone)")] = "relaxed-plan",
    queues: Annotated[str, typer.Option(help="search: single open list, or dual (a second one for the domain's preferred steps, e.g. FF's helpful actions)")] = "single",
    model: Annotated[Optional[str], typer.Option(help="local model folder, openai:<base-url>/<model>, random, or the embedded default")] = None,
    temperature: Annotated[float, typer.Option(help="sampling temperature")] = 1.0,
    max_tokens: Annotated[int, typer.Option(help="generated tokens per completion")] = 128,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the Result (with its full trace) as JSON")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log progress")] = False,
) -> None:
    """Solve a task: the LLM proposes, the domain's sound critics certify (exit 0 verified, 1 not, 2 bad input, 3 proved unsolvable)."""
    _setup_logging(verbose)
    try:
        from llm_modulo.models import load_model
        from llm_modulo.protocols import SamplingParams
        from llm_modulo.registry import get_strategy

        the_budget = parse_budget(budget, rounds=rounds, samples=samples, tokens=tokens, seconds=seconds, nodes=nodes)
        for flag, on in (
            ("--retry-excluded", retry_excluded),
            ("--remember-rejected", remember_rejected),
            ("--no-backprompt", not backprompt),
        ):
            if on and strategy.value != "modulo":
                raise InputError(f"{flag} is a modulo option, not one of {strategy.value}")
        options: dict[str, Any] = {"cot": True} if cot else {}
        compact = _compact_prompts(prompt_format, model)
        if zero_shot or compact:
            options["one_shot"] = False
        the_domain, task = _load_task(instance, domain, problem, domain_name, style, **options)
        if compact:
            the_domain = _with_compact_prompts(the_domain, required=prompt_format == "compact")
        start = time.perf_counter()
        lm = load_model(model, seed=seed)
        if hasattr(lm, "load"):
            lm.load()
        load_seconds = time.perf_counter() - start
        runner = get_strategy(strategy.value)(
            lm, the_domain, budget=the_budget, n=n,
            params=SamplingParams(temperature=temperature, max_tokens=max_tokens, seed=seed),
            constrained=constrained.value, feedback=feedback, history=history, reuse_prefix=reuse_prefix, seed=seed,
            **({"heuristic": heuristic, "queues": queues} if strategy.value == "search" else {}),
            **({"retry_excluded": True} if retry_excluded else {}),
            **({"remember_rejected": True} if remember_rejected else {}),
            **({"backprompt": False} if not backprompt else {}),
        )
        result = runner.run(task)
    except LLMModuloError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        _print_result(result, the_domain, task, getattr(lm, "name", "model"), load_seconds)
    if result.status is ResultStatus.NO_SOLUTION:
        raise typer.Exit(EXIT_NO_SOLUTION)
    if not result.verified:
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command("make-data")
def make_data_cmd(
    domain: Annotated[str, typer.Argument(help="blocksworld or game24")],
    out: Annotated[Path, typer.Option(help="output folder (train.jsonl, data.json, the problems)")] = Path("runs/data"),
    count: Annotated[int, typer.Option(help="problems to generate")] = 200,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    min_blocks: Annotated[int, typer.Option(help="blocksworld: fewest blocks")] = 3,
    max_blocks: Annotated[int, typer.Option(help="blocksworld: most blocks")] = 8,
    prompt_format: Annotated[str, typer.Option(help="compact (the statement only) or full (the domain's zero-shot prompt)")] = "compact",
    method: Annotated[str, typer.Option(help="blocksworld plans: auto, bfs, astar or search")] = "auto",
) -> None:
    """Generate training problems (never a test instance: excluded by a renaming-invariant hash) with certified imitation targets."""
    try:
        from llm_modulo.training.commands import make_data

        summary = make_data(domain, out, count=count, seed=seed, min_blocks=min_blocks, max_blocks=max_blocks,
                            prompt_format=prompt_format, method=method)
    except LLMModuloError as exc:
        _fail(exc)
        return
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")


@app.command("expert-data")
def expert_data_cmd(
    store: Annotated[Path, typer.Argument(help="trial store of a sweep on generated training problems")],
    out: Annotated[Path, typer.Option(help="output JSONL")] = Path("runs/data/expert.jsonl"),
    prompt_format: Annotated[str, typer.Option(help="compact or full")] = "compact",
    allow_test: Annotated[bool, typer.Option("--allow-test", help="keep test instances (never for training a model you evaluate on them)")] = False,
    include_random: Annotated[bool, typer.Option("--include-random", help="keep the random control's certified samples too")] = False,
    select: Annotated[str, typer.Option(help="all (every distinct certified answer), shortest (a problem's fewest-step answers) or shortened (planning: redundant steps removed under the validator, then the shortest)")] = "all",
) -> None:
    """Extract the certified samples of a language model's runs from a store (expert iteration), re-certified."""
    try:
        from llm_modulo.training.commands import make_expert_data

        summary = make_expert_data(store, out, prompt_format=prompt_format, allow_test=allow_test,
                                   include_random=include_random, select=select)
    except LLMModuloError as exc:
        _fail(exc)
        return
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")


@app.command("repair-data")
def repair_data_cmd(
    store: Annotated[Path, typer.Argument(help="trial store of a planning sweep on generated training problems")],
    out: Annotated[Path, typer.Option(help="output JSONL")] = Path("runs/data/repair.jsonl"),
    prompt_format: Annotated[str, typer.Option(help="compact or full: the prompts modulo will run with")] = "compact",
    feedback: Annotated[str, typer.Option(help="feedback level of the critique: none, binary, first or all")] = "first",
    reuse_prefix: Annotated[bool, typer.Option("--reuse-prefix/--no-reuse-prefix", help="open the answer at the rejected plan's valid prefix, as modulo's reuse_prefix does")] = True,
    max_per_problem: Annotated[Optional[int], typer.Option(help="at most this many rejected answers per problem")] = None,
    allow_test: Annotated[bool, typer.Option("--allow-test", help="keep test instances (never for training a model you evaluate on them)")] = False,
) -> None:
    """Critique-and-repair turns from rejected samples: modulo's back-prompt, answered by a shortest certified completion."""
    try:
        from llm_modulo.training.repair import make_repair_data
        from llm_modulo.types import FeedbackLevel

        if feedback not in {level.value for level in FeedbackLevel}:
            raise InputError(f"unknown feedback level {feedback!r}; known: none, binary, first, all")
        summary = make_repair_data(store, out, prompt_format=prompt_format, feedback=feedback, reuse_prefix=reuse_prefix,
                                   max_per_problem=max_per_problem, allow_test=allow_test)
    except LLMModuloError as exc:
        _fail(exc)
        return
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="training JSONL (make-data, expert-data or repair-data; concatenate to mix)")],
    out: Annotated[Path, typer.Option(help="adapter folder (checkpoints, loss.png, log.json)")] = Path("runs/adapter"),
    name: Annotated[Optional[str], typer.Option(help="also install the adapter under this name (then --model NAME)")] = None,
    epochs: Annotated[float, typer.Option(help="passes over the data")] = 1.0,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-4,
    rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    alpha: Annotated[int, typer.Option(help="LoRA alpha")] = 16,
    batch_size: Annotated[int, typer.Option(help="examples per step")] = 8,
    max_len: Annotated[int, typer.Option(help="longest sequence kept (longer examples are dropped, never cut)")] = 512,
    max_steps: Annotated[Optional[int], typer.Option(help="stop after this many steps")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    threads: Annotated[Optional[int], typer.Option(help="torch CPU threads (default: every core)")] = None,
    no_resume: Annotated[bool, typer.Option("--no-resume", help="start afresh instead of from the latest checkpoint")] = False,
    init_adapter: Annotated[Optional[str], typer.Option(help="start from this trained adapter (name or folder; same rank and alpha) instead of from zero")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log every 10th step's loss and time left (for logs, where no progress bar shows)")] = False,
) -> None:
    """LoRA-train the embedded model on certified traces (completion tokens only), resumable, with a loss curve."""
    _setup_logging(verbose)
    try:
        from llm_modulo.training.commands import train_adapter

        summary = train_adapter(data, out, epochs=epochs, lr=lr, rank=rank, alpha=alpha, batch_size=batch_size,
                                max_len=max_len, seed=seed, device=device, resume=not no_resume,
                                max_steps=max_steps, name=name, threads=threads, init_adapter=init_adapter)
    except LLMModuloError as exc:
        _fail(exc)
        return
    sys.stdout.write(json.dumps(summary, indent=1, default=str) + "\n")


@app.command()
def improve(
    domain: Annotated[str, typer.Argument(help="blocksworld or game24")] = "blocksworld",
    out: Annotated[Path, typer.Option(help="run folder: round-<r>/ (data, samples, adapter), eval.sqlite, rounds.md")] = Path("runs/improve"),
    rounds: Annotated[int, typer.Option(help="rounds of sample -> train -> evaluate (a rerun with more resumes and adds)")] = 2,
    data: Annotated[str, typer.Option(help="training data: expert (the model's certified samples), imitation (planner / exact solutions) or both")] = "expert",
    repair: Annotated[bool, typer.Option("--repair", help="blocksworld: also train on critique-and-repair turns from the rejected samples (so modulo's feedback helps)")] = False,
    start: Annotated[Optional[str], typer.Option(help="continue from this trained adapter (name or folder): round 0 beside the base; each round trains on from the last")] = None,
    problems: Annotated[int, typer.Option(help="new training problems per round")] = 200,
    min_blocks: Annotated[int, typer.Option(help="blocksworld: fewest blocks in a training problem")] = 3,
    max_blocks: Annotated[int, typer.Option(help="blocksworld: most blocks in a training problem")] = 8,
    sample_strategy: Annotated[str, typer.Option(help="how the model samples with critics: search, best-of-n or modulo")] = "search",
    sample_n: Annotated[int, typer.Option(help="samples per call (per node for search)")] = 8,
    sample_nodes: Annotated[int, typer.Option(help="search: expansions per training problem")] = 64,
    sample_heuristic: Annotated[str, typer.Option(help="search: none (the model's own best-first search), goal-count or relaxed-plan")] = "none",
    eval_count: Annotated[Optional[int], typer.Option(help="instances per held-out set (default: all; e.g. 600 PlanBench + 600 Mystery)")] = None,
    eval_strategies: Annotated[str, typer.Option(help="comma-separated: direct, best-of-n, modulo, search")] = "direct,best-of-n,modulo,search",
    eval_heuristic: Annotated[Optional[str], typer.Option(help="search at evaluation: none (the model's own best-first search), goal-count or relaxed-plan (default: relaxed-plan; for game24 that estimate is exact, a solver)")] = None,
    no_random: Annotated[bool, typer.Option("--no-random", help="leave out the random control")] = False,
    base: Annotated[str, typer.Option(help="base model: default (the embedded SmolLM2-135M) or a model folder")] = "default",
    epochs: Annotated[float, typer.Option(help="passes over each round's data")] = 2.0,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-4,
    rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    batch_size: Annotated[int, typer.Option(help="examples per step")] = 8,
    max_len: Annotated[int, typer.Option(help="longest training sequence kept")] = 512,
    max_steps: Annotated[Optional[int], typer.Option(help="cap on optimizer steps per round")] = None,
    train_tokens: Annotated[Optional[int], typer.Option(help="cap on completion tokens per round (the data-source ablation at equal tokens)")] = None,
    seed: Annotated[int, typer.Option(help="random seed (problems, sampling, training)")] = 0,
    expert_select: Annotated[str, typer.Option(help="which certified samples become expert data: all, shortest (a problem's fewest-step answers) or shortened (planning: redundant steps removed under the validator, then the shortest)")] = "all",
    train_seed: Annotated[Optional[int], typer.Option(help="another seed for the --train-tokens subset and training alone (default: --seed): with a shared --store, repeats of one data source on the same problems and samples")] = None,
    store: Annotated[Optional[Path], typer.Option(help="one trial store for all sweeps, shareable by several runs (an ablation): the base model's evaluation and identical samples run once")] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda (training and sampling)")] = "cpu",
    workers: Annotated[int, typer.Option(help="sweep workers")] = 1,
    threads: Annotated[Optional[int], typer.Option(help="torch threads per sweep worker and while training (default: every core)")] = None,
    batch_trials: Annotated[Optional[int], typer.Option(help="run N trials at once in the sampling and evaluation sweeps, their model calls decoded together (bench --batch; with --workers 1)")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log each step")] = False,
) -> None:
    """Expert iteration: sample with critics -> keep certified traces -> train -> evaluate, for N rounds.

    Round 0 evaluates the base model and the random control; every round's adapter is kept in <out>/round-<r>/adapter and evaluated on the same held-out sets (never trained on).

    Resumable: the same command again skips every finished step. Writes <out>/rounds.md and rounds.csv.
    """
    _setup_logging(verbose)
    try:
        from pydantic import ValidationError

        from llm_modulo.training.improve import ImproveConfig, markdown_table, run_improve

        try:
            cfg = ImproveConfig(
                domain=domain, rounds=rounds, data=data, repair=repair, start=start, problems=problems, min_blocks=min_blocks, max_blocks=max_blocks,
                sample_strategy=sample_strategy,
                sample_n=sample_n, sample_nodes=sample_nodes, sample_heuristic=sample_heuristic, eval_count=eval_count,
                eval_strategies=[s.strip() for s in eval_strategies.split(",") if s.strip()], eval_random=not no_random,
                eval_heuristic=eval_heuristic,
                base=base, epochs=epochs, lr=lr, rank=rank, batch_size=batch_size, max_len=max_len, max_steps=max_steps,
                train_tokens=train_tokens, seed=seed, train_seed=train_seed, expert_select=expert_select, store=str(store) if store else None, device=device,
                workers=workers, threads=threads, batch_trials=batch_trials,
            )  # fmt: skip
        except ValidationError as exc:
            first = exc.errors()[0]
            where = f"--{str(first['loc'][0]).replace('_', '-')}: " if first["loc"] else ""  # a check across options has none
            raise InputError(where + str(first["msg"]).removeprefix("Value error, ")) from None
        rows = run_improve(cfg, out)
    except LLMModuloError as exc:
        _fail(exc)
        return
    sys.stdout.write(markdown_table(rows) + f"\n(written to {out / 'rounds.md'})\n")


@app.command("improve-table")
def improve_table(
    runs: Annotated[list[Path], typer.Argument(help="improve run folders (e.g. one per --data source)")],
) -> None:
    """Compare improve runs: each run's latest round beside the base model and the random control (the data-source ablation)."""
    try:
        from llm_modulo.training.improve import compare_runs

        text = compare_runs(runs)
    except LLMModuloError as exc:
        _fail(exc)
        return
    sys.stdout.write(text)


@app.command()
def domains() -> None:
    """List the registered domains, what they are, and their named instance sets."""
    import inspect as _inspect

    from llm_modulo.registry import domain_factory, domain_names, get_domain, is_planning

    table = Table("domain", "what", "instances")
    for name in domain_names():
        try:
            factory = domain_factory(name)
            domain = get_domain(name)
        except Exception as exc:  # a broken plugin must not hide the others
            table.add_row(name, f"[red]cannot load: {escape(str(exc).splitlines()[0])}[/]", "")
            continue
        doc = (_inspect.getdoc(factory) or "").split("\n\n")[0].replace("\n", " ")
        if is_planning(domain):
            where = "PDDL files, PlanBench names"
        else:
            where = "sets: " + ", ".join(getattr(domain, "instance_sets", ()) or ("(see its docs)",))
        table.add_row(name, escape(doc), escape(where))
    out.print(table)


@app.command()
def validate(
    domain: Annotated[Path, typer.Argument(help="PDDL domain file")],
    problem: Annotated[Path, typer.Argument(help="PDDL problem file")],
    plan: Annotated[Path, typer.Argument(help="plan file: one (action args) per line, or the domain's sentences")],
    domain_name: Annotated[Optional[str], typer.Option(help="vocabulary for natural-language plans; default: detected")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
) -> None:
    """Validate a plan (a VAL stand-in): exit 0 if valid, 1 if invalid, 2 for bad input."""
    try:
        from llm_modulo.registry import load_planning_task

        if not plan.is_file():
            raise InputError(f"plan file not found: {plan}")
        the_domain, task = load_planning_task(str(domain), str(problem), domain_name)
        candidate = the_domain.parse(task, plan.read_text())
        verdicts = [c.check(task, candidate) for c in the_domain.critics(task)]
    except LLMModuloError as exc:
        _fail(exc)
        return
    ok = all(v.valid for v in verdicts if v.hard)
    if as_json:
        sys.stdout.write(json.dumps({"valid": ok, "steps": len(candidate.answer or []),
                                     "verdicts": [v.model_dump(mode="json") for v in verdicts]}, indent=2) + "\n")
    else:
        out.print(f"[bold green]Plan valid[/] ({len(candidate.answer or [])} steps)" if ok
                  else "[bold red]Plan invalid[/]")
        for v in verdicts:
            for viol in v.violations:
                out.print(f"  - {viol.message or the_domain.describe(viol, candidate)}", highlight=False)
    if not ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command()
def demo(
    instance: Annotated[list[str], typer.Option(help="PlanBench instances to solve after the Sussman anomaly")] = ["blocksworld/generated_basic_3/instance-3"],  # noqa: B006
    model: Annotated[Optional[str], typer.Option(help="model spec (default: the embedded SmolLM2-135M)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """The walking skeleton: the embedded model solves the Sussman anomaly and PlanBench instances."""
    _setup_logging(False)
    try:
        from llm_modulo.domains.blocksworld import blocksworld, sussman_anomaly
        from llm_modulo.models import load_model
        from llm_modulo.protocols import SamplingParams
        from llm_modulo.registry import load_planning_instance
        from llm_modulo.strategies.modulo import Modulo

        start = time.perf_counter()
        lm = load_model(model, seed=seed)
        if hasattr(lm, "load"):
            lm.load()
        load_seconds = time.perf_counter() - start
        out.print(f"loaded {getattr(lm, 'name', 'model')} in {load_seconds:.1f} s")
        bw = blocksworld()
        jobs = [(bw, sussman_anomaly(bw))] + [load_planning_instance(i) for i in instance]
        failures = 0
        for the_domain, task in jobs:
            runner = Modulo(lm, the_domain, budget=Budget(rounds=15, samples=240), n=16,
                            params=SamplingParams(temperature=1.0, max_tokens=128, seed=seed),
                            constrained="executable", feedback=FeedbackLevel.FIRST, reuse_prefix=True, seed=seed)
            result = runner.run(task)
            _print_result(result, the_domain, task, getattr(lm, "name", "model"), load_seconds)
            failures += not result.verified
        out.print(f"total {time.perf_counter() - start:.1f} s including model load")
    except LLMModuloError as exc:
        _fail(exc)
        return
    if failures:
        raise typer.Exit(EXIT_NOT_VERIFIED)


class ReportFormat(str, Enum):
    md = "md"


@app.command()
def report(
    store: Annotated[Path, typer.Argument(help="trial store (SQLite) written by `llm-modulo bench`")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="output folder (default: <store stem>-report/ next to the store)")] = None,
    sweep: Annotated[Optional[str], typer.Option(help="report one sweep (default: every sweep in the store)")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="report format")] = ReportFormat.md,
    csv: Annotated[bool, typer.Option("--csv/--no-csv", help="write trials.csv, one row per trial")] = True,
    parquet: Annotated[bool, typer.Option("--parquet/--no-parquet", help="write trials.parquet (pyarrow)")] = True,
    recheck: Annotated[bool, typer.Option("--recheck", help="re-check every verified answer with an independent validator (unified-planning for PDDL)")] = False,
) -> None:
    """Report from a trial store alone: report.md with tables and PNG figures, trials.csv, trials.parquet."""
    try:
        from llm_modulo.experiments.report import print_summary, write_report

        files = write_report(store, out_dir, sweep, fmt=fmt.value, csv_out=csv, parquet_out=parquet, recheck=recheck)
    except LLMModuloError as exc:
        _fail(exc)
        return
    print_summary(out, files)


@app.command()
def bench(
    config: Annotated[Path, typer.Argument(help="sweep config, TOML or YAML (see benchmarks/configs/planbench_50.toml)")],
    store: Annotated[Optional[Path], typer.Option(help="trial store (SQLite); default: runs/<sweep name>.sqlite")] = None,
    executor: Annotated[str, typer.Option(help="local (worker processes) | ray")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Ray cluster to join (with --executor ray); default: start a local Ray")] = None,
    workers: Annotated[Optional[int], typer.Option(help="trials at once; default: CPU cores; 1 runs them in this process")] = None,
    threads: Annotated[Optional[int], typer.Option(help="torch threads per worker; default: the cores split between the workers (set 1 when sweeps share a machine: oversubscribed threads run many times slower)")] = None,
    batch: Annotated[Optional[int], typer.Option(help="run N trials at once in this process and decode their local-model calls as shared batches (the fast way to run a local model, on CPU or GPU; with --workers 1)")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="do not read or write the completion cache")] = False,
    cache: Annotated[Optional[Path], typer.Option(help="completion cache file; default: <store>.cache.sqlite beside the store")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the trials per arm (and how many are stored), then exit")] = False,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="run again the trials stored with status error")] = False,
    limit: Annotated[Optional[int], typer.Option(help="run at most N pending trials (a partial run; resume later)")] = None,
    device: Annotated[str, typer.Option(help="where local models run: cpu or cuda")] = "cpu",
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log progress and trial errors")] = False,
) -> None:
    """Run a sweep (instance sets x strategies x models x budgets x feedback x seeds), resumably.

    Each finished trial is committed to the store at once; the same command again skips what is stored,
    so a killed or interrupted sweep resumes where it stopped. `llm-modulo report STORE` makes the tables.

    Exit codes: 0 done, 1 some trials ended in an error (see --retry-errors), 2 bad config or fatal error
    (model not loadable, server unreachable), 130 interrupted.
    """
    import shlex

    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import SweepInterrupted, default_store_path, plan_table, run_sweep

    _setup_logging(verbose)
    if device != "cpu":
        from llm_modulo.experiments.executors import DEVICE_ENV

        os.environ[DEVICE_ENV] = device  # the worker processes inherit it
    try:
        sweep = load_sweep(config)
        store_path = store or default_store_path(sweep)
        for warning in sweep.warnings:
            err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        if dry_run:
            out.print(plan_table(sweep, store_path))
            return
        outcome = run_sweep(sweep, store_path, executor=executor, address=address, workers=workers, threads=threads,
                            batch=batch, cache=not no_cache, cache_path=cache, retry_errors=retry_errors, limit=limit,
                            console=out, command=shlex.join(["llm-modulo", *sys.argv[1:]]))
    except SweepInterrupted as stop:
        o = stop.outcome
        resume = shlex.join(["llm-modulo", *sys.argv[1:]])  # the same command: stored trials are skipped
        err.print(f"interrupted: {o.stored if o.stored is not None else o.done_before + o.ran}/{o.total} trials are in {o.store} "
                  f"({o.ran} this run, {o.in_flight} in flight given up); resume with: {resume}",
                  highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        err.print("interrupted before any trial ran", highlight=False)
        raise typer.Exit(130) from None
    except LLMModuloError as exc:  # bad config, or a fatal trial error (FatalTrialError)
        _fail(exc)
        return
    done = outcome.stored if outcome.stored is not None else outcome.done_before + outcome.ran
    out.print(f"{done}/{outcome.total} trials in {outcome.store} ({outcome.ran} this run, {outcome.seconds:.1f} s); "
              f"verified {outcome.verified}" + (f"; {outcome.errors} errors (rerun with --retry-errors)" if outcome.errors else "")
              + (f"; {outcome.remaining} left: rerun the same command to continue" if outcome.remaining else ""),
              highlight=False)
    if outcome.errors:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
