"""The settings a strategy really reads, so that a sweep never runs two identical trials.

A trial's key hashes its whole config, so two trials that differ only in a setting their strategy
never reads (best-of-n's feedback level, say) have two keys yet compute the same thing: a
feedback grid of four levels would run every best-of-n arm four times. :func:`effective_config`
is a trial's config without the settings its strategy ignores; :func:`unique_trials` keeps the
first trial (in run order) of each effective config and drops the rest. A kept trial is not
changed, key included, so a store made before resumes.

What each strategy ignores (:data:`IGNORED`) comes from its options model
(``llm_modulo.strategies.options``): the modulo options it does not take, plus the few settings
its model has but its ``run`` never reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_modulo.experiments.trials import TrialSpec, trial_key
from llm_modulo.strategies.options import OPTIONS, ModuloOptions

# modulo reads every setting; another strategy never reads a modulo option its own options model
# lacks (best-of-n's feedback level, say), nor these, which its model has but its run does not use
_UNREAD: dict[str, frozenset[str]] = {
    "direct": frozenset({"budget", "n"}),  # one call of one sample, whatever the budget
    "self-critique": frozenset({"n"}),  # its critique is its own judgement, drawn one sample at a time
    "search": frozenset({"constrained"}),  # always executable: the simulator offers the steps
}
IGNORED: dict[str, frozenset[str]] = {
    name: frozenset(ModuloOptions.model_fields) - frozenset(cls.model_fields) | _UNREAD.get(name, frozenset())
    for name, cls in OPTIONS.items()
    if cls is not ModuloOptions
}

# modulo options that, when set to this value, switch off what reads other settings
_MODULO_SWITCHES: dict[tuple[str, Any], frozenset[str]] = {
    ("backprompt", False): frozenset({"feedback", "history"}),  # the critique never reaches the prompt
    ("reuse_prefix", False): frozenset({"retry_excluded"}),  # only the prefix policy reads it
    ("exclude_rejected", False): frozenset({"remember_rejected"}),
    ("constrained", False): frozenset({"exclude_rejected", "remember_rejected"}),  # no grammar to exclude from
    ("constrained", "none"): frozenset({"exclude_rejected", "remember_rejected"}),
}


def ignored_settings(strategy: str, options: Mapping[str, Any]) -> frozenset[str]:
    """The settings ``strategy`` with ``options`` never reads (only an option set explicitly
    switches a modulo setting off: defaults may change)."""
    ignored = set(IGNORED.get(strategy, frozenset()))
    if strategy == "modulo":
        for (name, value), off in _MODULO_SWITCHES.items():
            if name in options and options[name] == value and type(options[name]) is type(value):
                ignored |= off
    return frozenset(ignored)


def effective_config(trial: TrialSpec) -> dict[str, Any]:
    """The trial's config (the key's preimage) without the settings its strategy ignores."""
    ignored = ignored_settings(trial.strategy, trial.options)
    config = {k: v for k, v in trial.config().items() if k not in ignored}
    config["options"] = {k: v for k, v in trial.options.items() if k not in ignored}
    return config


@dataclass
class UniqueTrials:
    trials: list[TrialSpec]
    repeated: int = 0  # same key as an earlier trial: a strategy entry repeated
    # (strategy, the ignored settings it differed in) -> trials dropped as the same run as an earlier one
    redundant: Counter[tuple[str, str]] = field(default_factory=Counter)


def unique_trials(trials: Iterable[TrialSpec]) -> UniqueTrials:
    """The first trial of each effective config, in order; what was dropped, and why."""
    out = UniqueTrials(trials=[])
    keys: set[str] = set()
    kept: dict[str, TrialSpec] = {}
    for trial in trials:
        key = trial.key
        if key in keys:
            out.repeated += 1
            continue
        keys.add(key)
        effect = trial_key(effective_config(trial))
        first = kept.get(effect)
        if first is None:
            kept[effect] = trial
            out.trials.append(trial)
            continue
        mine, theirs = trial.config(), first.config()
        differ = sorted(
            name
            for name in ignored_settings(trial.strategy, trial.options)
            if mine.get(name, trial.options.get(name)) != theirs.get(name, first.options.get(name))
        )
        out.redundant[(trial.strategy, ", ".join(differ))] += 1
    return out


__all__ = ["IGNORED", "UniqueTrials", "effective_config", "ignored_settings", "unique_trials"]
