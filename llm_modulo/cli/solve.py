"""``solve``, ``domains`` and ``demo``: one task at a time, and what the registry holds."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from llm_modulo.cli._common import (
    EXIT_NO_SOLUTION,
    EXIT_NOT_VERIFIED,
    Constrain,
    StrategyName,
    Style,
    out,
    parse_budget,
    setup_logging,
)
from llm_modulo.cli._progress import live_progress, wants_progress
from llm_modulo.cli._render import print_result
from llm_modulo.errors import InputError
from llm_modulo.experiments.prices import add_cost, load_prices
from llm_modulo.strategies.options import ModuloOptions, SearchOptions, StrategyOptions
from llm_modulo.types import Budget, FeedbackLevel, ResultStatus

log = logging.getLogger(__name__)

# the options' defaults are the options models' (written once, in llm_modulo.strategies.options); shown in --help
_DEFAULTS = {k: f.default for k, f in StrategyOptions.model_fields.items()}
_MODULO = {k: f.default for k, f in ModuloOptions.model_fields.items()}
_SEARCH = {k: f.default for k, f in SearchOptions.model_fields.items()}
_MODULO_STRATEGY = StrategyName("modulo")
_CONSTRAINED = Constrain(_DEFAULTS["constrained"])


def strategy_kwargs(name: str, given: dict[str, Any], typed: Collection[str] = ()) -> dict[str, Any]:
    """solve's strategy options -> the overrides of strategy ``name``'s options model: the one place the
    two meet. ``given`` holds every option's value, ``typed`` names those given on the command line. Only
    those are passed (the options model holds the defaults); one the strategy does not have is an error
    naming the strategies that do, rather than silently ignored."""
    from llm_modulo.strategies.options import OPTIONS

    fields = OPTIONS[name].model_fields if name in OPTIONS else None
    for option in sorted(typed):
        if fields is not None and option not in fields:
            owners = [s for s, cls in OPTIONS.items() if option in cls.model_fields] or ["no strategy's"]
            raise InputError(f"{_flag(option, given[option])} is a {' / '.join(owners)} option, not one of {name}")
    return {k: given[k] for k in typed}


def _flag(option: str, value: Any) -> str:
    """The flag as it was typed: ``--no-backprompt`` for a switch turned off."""
    flag = option.replace("_", "-")
    return f"--no-{flag}" if value is False else f"--{flag}"


def _typed(ctx: typer.Context, names: Collection[str]) -> set[str]:
    """The options among ``names`` given on the command line rather than left at their defaults."""
    sources = {n: ctx.get_parameter_source(n) for n in names}
    return {n for n, source in sources.items() if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")}


def task_from_args(
    instance: str | None,
    domain_file: Path | None,
    problem_file: Path | None,
    domain_name: str | None,
    style: Style,
    **options: Any,
) -> tuple[Any, Any]:
    """The (domain, task) that solve's --instance, or its --domain and --problem files, name."""
    from llm_modulo.files import input_file
    from llm_modulo.registry import load_planning_task, load_task

    if instance is not None and (domain_file is not None or problem_file is not None):
        given = " and ".join(f for f, v in (("--domain", domain_file), ("--problem", problem_file)) if v is not None)
        raise InputError(f"give --instance, or --domain with --problem, not both (--instance and {given} were given)")
    if instance is not None:
        if not instance.strip():
            raise InputError("--instance is empty")
        return load_task(instance, domain_name, style.value, **options)
    if domain_file is None or problem_file is None:
        raise InputError("give --instance NAME, or both --domain D.pddl and --problem P.pddl")
    # checked before the PDDL reader opens them: a named pipe would block it, /dev/zero never end
    domain_path, problem_path = input_file(domain_file, "domain file"), input_file(problem_file, "problem file")
    return load_planning_task(str(domain_path), str(problem_path), domain_name, style.value, **options)


def compact_prompts(prompt_format: str, model: str | None) -> bool:
    """Whether ``solve`` runs the domain with compact prompts (see its ``--prompt-format``)."""
    from llm_modulo.models.adapters import trained_prompt_formats
    from llm_modulo.models.prompts import PROMPT_FORMATS

    if prompt_format not in ("auto", *PROMPT_FORMATS):
        raise InputError(f"unknown prompt format {prompt_format!r}; known: {', '.join(('auto', *PROMPT_FORMATS))}")
    if prompt_format != "auto":
        return prompt_format == "compact"
    from llm_modulo.models._ort_adapter import adapter_spec

    return trained_prompt_formats(adapter_spec(model)) == ("compact",)


def with_compact_prompts(domain: Any, required: bool) -> Any:
    """The domain with compact prompts; where it has none, an error if they were asked for, else itself."""
    from llm_modulo.models.prompts import CompactPrompts

    try:
        return CompactPrompts(domain)
    except InputError as exc:
        if required:
            raise
        log.warning("the domain's own prompt, not the compact one the model was trained on: %s", exc)
        return domain


def _load_model(model: str | None, seed: int) -> tuple[Any, float]:
    """The model, loaded now (so that solving time excludes it), and the seconds that took."""
    from llm_modulo.models import load_model

    start = time.perf_counter()
    lm = load_model(model, seed=seed)
    if hasattr(lm, "load"):
        lm.load()
    return lm, time.perf_counter() - start


def solve(
    ctx: typer.Context,
    instance: Annotated[
        str | None,
        typer.Option(
            help="PlanBench instance (blocksworld/generated_basic/instance-2), a problem file (its domain: domain.pddl beside it, else the one *domain*.pddl named like it or alone there or above), or an instance of --domain-name (game24: a rank such as 901 or '4 4 4 4'); not with --domain/--problem"
        ),
    ] = None,
    domain: Annotated[Path | None, typer.Option("--domain", help="PDDL domain file (with --problem)")] = None,
    problem: Annotated[Path | None, typer.Option("--problem", help="PDDL problem file (with --domain)")] = None,
    domain_name: Annotated[
        str | None, typer.Option(help="registered domain (see `llm-modulo domains`); default: detected from the PDDL")
    ] = None,
    style: Annotated[Style, typer.Option(help="prompt style: PlanBench natural language or PDDL")] = Style.nl,
    zero_shot: Annotated[
        bool, typer.Option("--zero-shot", help="no worked example in the prompt (default: one-shot)")
    ] = False,
    cot: Annotated[
        bool,
        typer.Option(
            "--cot",
            help="chain of thought: reason about the state before each step (free text: use --constrained none)",
        ),
    ] = False,
    checked_cot: Annotated[
        bool,
        typer.Option(
            "--checked-cot",
            help="checked chain of thought: a State line after each step, every stated fact checked by a hard critic (free text: use --constrained none)",
        ),
    ] = False,
    prompt_format: Annotated[
        str,
        typer.Option(
            help="auto: compact when --model is an adapter trained on compact prompts (smollm2-135m-planner), else full; compact: the problem statement alone, as `llm-modulo train` trains; full: the domain's own prompt"
        ),
    ] = "auto",
    strategy: Annotated[
        StrategyName, typer.Option(help="how the model and the critics work together")
    ] = _MODULO_STRATEGY,
    feedback: Annotated[FeedbackLevel, typer.Option(help="critique given back: none | binary | first | all")] = _MODULO[
        "feedback"
    ],
    history: Annotated[bool, typer.Option(help="keep every earlier round's answer and critique in the prompt")] = False,
    reuse_prefix: Annotated[
        bool | None,
        typer.Option(
            "--reuse-prefix/--no-reuse-prefix",
            help="modulo: continue from the valid prefix of the best candidate  [default: where the domain has valid_prefix]",
            show_default=False,
        ),
    ] = None,
    retry_excluded: Annotated[
        bool,
        typer.Option(
            help="modulo: after a round without progress, decode the same prefix again without the first choices just rejected there, before backtracking"
        ),
    ] = False,
    remember_rejected: Annotated[
        bool,
        typer.Option(
            help="modulo: in every later round, rule out each step the critics rejected right after the exact steps that led to it"
        ),
    ] = False,
    backprompt: Annotated[
        bool,
        typer.Option(
            help="modulo: put the critique in the next prompt; --no-backprompt asks the task's own prompt again and lets the critics act only through decoding (with --remember-rejected)"
        ),
    ] = True,
    constrained: Annotated[
        Constrain,
        typer.Option(
            help="decoding grammar: none (free text), well-formed ground actions, executable ones (simulator-checked after each step), or auto: executable where the domain has a grammar"
        ),
    ] = _CONSTRAINED,
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="samples per LLM call")] = _DEFAULTS["n"],
    budget: Annotated[str | None, typer.Option(help="e.g. rounds=10,samples=64,tokens=20000,seconds=60")] = None,
    rounds: Annotated[int | None, typer.Option(min=1, help="budget: rounds (LLM calls)")] = None,
    samples: Annotated[int | None, typer.Option(min=1, help="budget: completions")] = None,
    tokens: Annotated[int | None, typer.Option(min=1, help="budget: generated tokens")] = None,
    seconds: Annotated[float | None, typer.Option(min=0, help="budget: wall-clock seconds")] = None,
    nodes: Annotated[int | None, typer.Option(min=1, help="budget: search expansions (search)")] = None,
    heuristic: Annotated[str, typer.Option(help="search: relaxed-plan | goal-count | none (model alone)")] = _SEARCH[
        "heuristic"
    ],
    queues: Annotated[
        str,
        typer.Option(
            help="search: single open list, or dual (a second one for the domain's preferred steps, e.g. FF's helpful actions)"
        ),
    ] = _SEARCH["queues"],
    model_share: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="search: the model's calls may take at most this multiple of the search's own time (inf: ask at every expansion; default: 2 with a heuristic, inf without)",
            show_default=False,
        ),
    ] = _SEARCH["model_share"],
    model: Annotated[
        str | None,
        typer.Option(
            help="the embedded SmolLM2-135M by default (onnxruntime int8 on a CPU; smollm2-ref: on transformers), a trained adapter (<name>[@ort]), a local model folder, openai:<base-url>/<model>, or random"
        ),
    ] = None,
    temperature: Annotated[float, typer.Option(min=0, help="sampling temperature")] = _DEFAULTS["temperature"],
    max_tokens: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="generated tokens per completion (default: auto, the domain's bound on the task's longest answer, else 256)",
            show_default=False,
        ),
    ] = _DEFAULTS["max_tokens"],
    seed: Annotated[int, typer.Option(help="random seed")] = _DEFAULTS["seed"],
    as_json: Annotated[bool, typer.Option("--json", help="print the Result (with its full trace) as JSON")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log progress")] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            help='price table (TOML: [prices."<model>"] input = USD, output = USD per million tokens): the run\'s cost in USD'
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="no live progress line (shown only on a terminal, never with --json)")
    ] = False,
) -> None:
    """Solve a task: the LLM proposes, the domain's sound critics certify (exit 0 verified, 1 not, 2 bad input, 3 proved unsolvable)."""
    from llm_modulo.registry import get_strategy

    setup_logging(verbose)
    the_budget = parse_budget(budget, rounds=rounds, samples=samples, tokens=tokens, seconds=seconds, nodes=nodes)
    given = {
        "n": n,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        "constrained": constrained.value,
        "feedback": feedback,
        "history": history,
        "reuse_prefix": reuse_prefix,
        "retry_excluded": retry_excluded,
        "remember_rejected": remember_rejected,
        "backprompt": backprompt,
        "heuristic": heuristic,
        "queues": queues,
        "model_share": model_share,
    }
    kwargs = strategy_kwargs(strategy.value, given, _typed(ctx, given))  # checked before anything loads
    options: dict[str, Any] = {"cot": "state"} if checked_cot else {"cot": True} if cot else {}
    compact = compact_prompts(prompt_format, model)
    if zero_shot or compact:
        options["one_shot"] = False
    the_domain, task = task_from_args(instance, domain, problem, domain_name, style, **options)
    if compact:
        the_domain = with_compact_prompts(the_domain, required=prompt_format == "compact")
    lm, load_seconds = _load_model(model, seed)
    table = load_prices(prices) if prices is not None else None  # a bad table fails before the run
    with live_progress(wants_progress(quiet, as_json)):
        result = get_strategy(strategy.value)(lm, the_domain, budget=the_budget, **kwargs).run(task)
    if table is not None:
        add_cost(result, str(model or getattr(lm, "name", "default")), table)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        if "truncated" in result.info:  # stdout stays one JSON document; the note is also in its info
            sys.stderr.write(f"note: {result.info['truncated']}\n")
    else:
        print_result(result, the_domain, task, getattr(lm, "name", "model"), load_seconds)
    if result.status is ResultStatus.NO_SOLUTION:
        raise typer.Exit(EXIT_NO_SOLUTION)
    if not result.verified:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def domains() -> None:
    """List the registered domains, what they are, and their named instance sets."""
    import inspect

    from llm_modulo.registry import domain_factory, domain_names, get_domain, is_planning

    table = Table("domain", "what", "instances")
    for name in domain_names():
        try:
            factory = domain_factory(name)
            domain = get_domain(name)
        except Exception as exc:  # a broken plugin must not hide the others
            table.add_row(name, f"[red]cannot load: {escape(str(exc).splitlines()[0])}[/]", "")
            continue
        doc = (inspect.getdoc(factory) or "").split("\n\n")[0].replace("\n", " ")
        if is_planning(domain):
            where = "PDDL files, PlanBench names"
        else:
            where = "sets: " + ", ".join(getattr(domain, "instance_sets", ()) or ("(see its docs)",))
        table.add_row(name, escape(doc), escape(where))
    out.print(table)


def demo(
    instance: Annotated[
        list[str] | None,
        typer.Option(
            help="PlanBench instances to solve after the Sussman anomaly  [default: blocksworld/generated_basic_3/instance-3]"
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="model spec (default: the embedded SmolLM2-135M)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """The walking skeleton: the embedded model solves the Sussman anomaly and PlanBench instances."""
    from llm_modulo.domains.blocksworld import blocksworld, sussman_anomaly
    from llm_modulo.protocols import SamplingParams
    from llm_modulo.registry import load_planning_instance
    from llm_modulo.strategies.modulo import Modulo

    setup_logging(False)
    start = time.perf_counter()
    lm, load_seconds = _load_model(model, seed)
    out.print(f"loaded {getattr(lm, 'name', 'model')} in {load_seconds:.1f} s")
    bw = blocksworld()
    names = instance if instance is not None else ["blocksworld/generated_basic_3/instance-3"]
    jobs = [(bw, sussman_anomaly(bw))] + [load_planning_instance(i) for i in names]
    failures = 0
    for the_domain, task in jobs:
        runner = Modulo(
            lm,
            the_domain,
            budget=Budget(rounds=15, samples=240),
            n=16,
            params=SamplingParams(temperature=1.0, max_tokens=128, seed=seed),
            constrained="executable",
            feedback=FeedbackLevel.FIRST,
            reuse_prefix=True,
            seed=seed,
        )
        result = runner.run(task)
        print_result(result, the_domain, task, getattr(lm, "name", "model"), load_seconds)
        failures += not result.verified
    out.print(f"total {time.perf_counter() - start:.1f} s including model load")
    if failures:
        raise typer.Exit(EXIT_NOT_VERIFIED)
