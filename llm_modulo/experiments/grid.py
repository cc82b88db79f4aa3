"""Expanding a validated sweep config into its trials, in run order.

Names and files are checked against the registries and the disk first; then every instance set
x strategy x model x budget x feedback level x seed becomes a
:class:`~llm_modulo.experiments.trials.TrialSpec`, interleaved so that every arm runs on an
instance before any arm runs on the next one. A trial that would compute the same thing as an
earlier one (it differs only in settings its strategy does not read) is dropped
(:mod:`llm_modulo.experiments.effective`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llm_modulo.experiments.checks import check_domain_options, check_options, strategy_parameters
from llm_modulo.experiments.effective import unique_trials
from llm_modulo.experiments.resolve import check_model, named_instances, resolve_instances
from llm_modulo.experiments.schema import NAME_RE, NAME_RULE, ConfigError, StrategySpec, SweepConfig
from llm_modulo.experiments.trials import Sweep, TrialSpec, budget_text, canonical_json
from llm_modulo.types import Budget

log = logging.getLogger(__name__)


MAX_TRIALS = 1_000_000  # before duplicates are dropped


def expand(config: SweepConfig, path: Path, text: str = "", fmt: str = "toml", device: str = "cpu") -> Sweep:
    """Check names and files against the registries and the disk, then expand the grid."""
    source = str(path)
    base = path.resolve().parent
    name = config.name or path.stem
    if not NAME_RE.match(name):
        raise ConfigError(source, "name", NAME_RULE)

    from llm_modulo.registry import STRATEGIES, domain_names

    known_domains = domain_names()
    sets: list[list[tuple[str, str, str]]] = []
    for i, iset in enumerate(config.instance_sets):
        if iset.domain not in known_domains:
            raise ConfigError(
                source,
                f"instance_sets[{i}].domain",
                f"unknown domain {iset.domain!r}; known: {', '.join(known_domains)}",
            )
        named = named_instances(iset, source, f"instance_sets[{i}]")
        sets.append(named if named is not None else resolve_instances(iset, base, source, f"instance_sets[{i}]"))

    models: dict[str, tuple[str, str | None]] = {}

    def check_models(specs: Iterable[str], where: str) -> None:
        for j, spec in enumerate(specs):
            if spec not in models:
                models[spec] = check_model(spec, base, source, f"{where}[{j}]", device)

    check_models(config.models, "models")
    for i, st in enumerate(config.strategies):
        where = f"strategies[{i}]"
        if st.name not in STRATEGIES:
            raise ConfigError(
                source, f"{where}.name", f"unknown strategy {st.name!r}; known: {', '.join(sorted(STRATEGIES))}"
            )
        params = strategy_parameters(st.name)  # None: the strategy's module does not import yet
        check_options(st, params, source, where)
        for iset in config.instance_sets:
            check_domain_options(iset.domain, st.domain_options, source, f"{where}.domain_options")
        if st.models is not None:
            if not st.models:
                raise ConfigError(source, f"{where}.models", "empty list")
            check_models(st.models, f"{where}.models")
        for attr in ("feedback", "budgets", "seeds"):
            if getattr(st, attr) is not None and not getattr(st, attr):
                raise ConfigError(source, f"{where}.{attr}", "empty list")
        default = params["constrained"].default if params and "constrained" in params else None
        constrained = st.options.get("constrained", default)
        if "random" in (st.models or config.models) and constrained in (False, "none"):
            raise ConfigError(
                source,
                f"{where}.constrained",
                "the random proposer draws from the answer grammar: set constrained to "
                "'well-formed' or 'executable' for this strategy, or drop 'random' from its models",
            )

    arm_count = sum(
        len(st.models or config.models)
        * len(st.budgets or config.budgets)
        * len(st.feedback or config.feedback)
        * len(st.seeds or config.seeds)
        for st in config.strategies
    )
    planned = sum(len(instances) for instances in sets) * arm_count
    if planned > MAX_TRIALS:  # each trial is built and hashed: 10^8 would take hours, not fail
        raise ConfigError(source, "", f"the grid has {planned:,} trials, over {MAX_TRIALS:,}: split it into sweeps")
    labels = _labels(config.strategies)
    trials: list[tuple[tuple[int, ...], TrialSpec]] = []
    for s_idx, instances in enumerate(sets):
        iset = config.instance_sets[s_idx]
        for pos, (instance, domain_file, problem_file) in enumerate(instances):
            for st_idx, st in enumerate(config.strategies):
                arms = _product(
                    st.models or config.models,
                    [b.budget() for b in (st.budgets or config.budgets)],
                    [f.value for f in (st.feedback or config.feedback)],
                    st.seeds or config.seeds,
                )
                for a_idx, (model, budget, feedback, seed) in enumerate(arms):
                    resolved, digest = models[model]
                    spec = TrialSpec(
                        domain=iset.domain,
                        instance_set=iset.set_name,
                        instance=instance,
                        style=config.style,
                        strategy=st.name,
                        options=st.options,
                        domain_options=st.domain_options,
                        model=model,
                        model_digest=digest,
                        budget=budget,
                        feedback=feedback,
                        seed=seed,
                        sampling=st.sampling or config.sampling,
                        sweep=name,
                        label=labels[st_idx],
                        model_resolved=resolved,
                        domain_file=domain_file,
                        problem_file=problem_file,
                    )
                    # interleave: instance position first, then instance set, then arm
                    trials.append(((pos, s_idx, st_idx, a_idx), spec))
    trials.sort(key=lambda item: item[0])
    unique = unique_trials(spec for _, spec in trials)
    warnings = []
    if unique.repeated:
        warnings.append(
            f"{unique.repeated} trial(s) repeat an earlier strategy entry exactly (same key); each is run once, "
            "under the first entry's label"
        )
        log.info("%s: %s", source, warnings[-1])  # sweep.warnings carries it: bench prints it once
    for (strategy, settings), count in unique.redundant.items():
        warnings.append(
            f"{count} {strategy} trial(s) differ from an earlier one only in {settings}, which {strategy} does not "
            "read: each such run is done once, under the earlier trial's settings"
        )
        log.info("%s: %s", source, warnings[-1])
    return Sweep(
        config=config,
        path=path,
        text=text,
        format=fmt,
        trials=unique.trials,
        duplicates=unique.repeated,
        redundant=sum(unique.redundant.values()),
        warnings=warnings,
    )


def _product(
    models: list[str], budgets: list[Budget], feedback: list[str], seeds: list[int]
) -> list[tuple[str, Budget, str, int]]:
    return [(m, b, f, s) for m in models for b in budgets for f in feedback for s in seeds]


def _labels(strategies: list[StrategySpec]) -> list[str]:
    """Explicit labels, else the strategy name plus the settings that differ among its entries."""
    settings = []
    for st in strategies:
        d = dict(st.options)
        for attr in ("feedback", "budgets", "models", "seeds"):
            value = getattr(st, attr)
            if value is not None:
                d[attr] = [budget_text(v) if isinstance(v, Budget) else getattr(v, "value", v) for v in value]
        settings.append(d)
    labels = []
    for i, st in enumerate(strategies):
        if st.label:
            labels.append(st.label)
            continue
        group = [settings[j] for j, other in enumerate(strategies) if other.name == st.name]
        if len(group) == 1:
            labels.append(st.name)
            continue
        keys = sorted({k for g in group for k in g})
        differ = [k for k in keys if len({canonical_json(g[k]) if k in g else "\0" for g in group}) > 1]
        parts = [f"{k}={_fmt(settings[i][k])}" for k in differ if k in settings[i]]
        labels.append(" ".join([st.name, *parts]))
    return labels


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "/".join(_fmt(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


__all__ = ["expand"]
