"""Sweep configs: a validated grid read from TOML or YAML, expanded into trials.

A config is a grid: instance sets x strategies x models x budgets x feedback levels x seeds,
plus sampling settings and the prompt style. A strategy entry carries the keyword options of
its class's constructor (``n``, ``constrained``, ``reuse_prefix``, ``history``, ``k``, ...)
and may override the grid's ``feedback``, ``budgets``, ``models``, ``seeds`` and ``sampling``::

    name = "tiny"
    models = ["random"]
    feedback = ["first"]
    seeds = [0]
    [[instance_sets]]
    domain = "blocksworld"
    set = "blocksworld/generated_basic_3"
    count = 10
    [[budgets]]
    samples = 16
    rounds = "none"            # TOML has no null: "none" means unlimited
    [[strategies]]
    name = "best-of-n"
    n = 8
    constrained = "well-formed"

Every bad field fails with one line, ``file:field: message``, raised as
:class:`~llm_modulo.errors.InputError`. Each trial's key is the sha256 of the canonical JSON of
its full config, sweep name and label excluded, so any change of setting gives a new key and
two sweeps share identical trials.

This module reads and validates the file; the pieces live beside it: the schema
(:mod:`~llm_modulo.experiments.schema`), trials and their keys
(:mod:`~llm_modulo.experiments.trials`), the expansion of the grid
(:mod:`~llm_modulo.experiments.grid`), the checks of instance sets and models
(:mod:`~llm_modulo.experiments.resolve`) and of strategy options
(:mod:`~llm_modulo.experiments.checks`). Their public names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomllib
import yaml
from pydantic import ValidationError

from llm_modulo.errors import InputError
from llm_modulo.experiments.checks import RESERVED_OPTIONS, strategy_parameters
from llm_modulo.experiments.grid import expand
from llm_modulo.experiments.schema import (
    STYLES,
    BudgetSpec,
    ConfigError,
    InstanceSetSpec,
    SamplingSpec,
    StrategySpec,
    SweepConfig,
)
from llm_modulo.experiments.trials import Sweep, TrialSpec, budget_text, canonical_json, trial_key
from llm_modulo.files import input_file


def load_sweep(path: str | Path, device: str = "cpu") -> Sweep:
    """Read, validate and expand a sweep config for local models on ``device`` (which engine runs the
    default model is part of its trials' keys); any problem is one ``file:field: message`` line."""
    path = Path(path)
    source = str(path)
    input_file(path, "config")  # a folder, a pipe, /dev/null, an empty or huge file: one line, before reading
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    fmt = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "toml"
    data = _parse(text, fmt, source)
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(source, exc) from None
    return expand(config, path, text=text, fmt=fmt, device=device)


def _parse(text: str, fmt: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if fmt == "yaml" else tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: TOML syntax error: {exc}") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise InputError(f"{source}: YAML syntax error: {first}") from None
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a table/mapping at the top level")
    return data


def _loc_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _from_validation(source: str, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p in ("function-after", "function-before"))]
    # union members show up in the loc (e.g. "str", "int"); they only confuse a user
    loc = [p for p in loc if p not in ("str", "int", "float", "bool", "list[str]", "list[int]")]
    kind = first["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = first["msg"].removeprefix("Value error, ")
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(source, _loc_text(loc), message)


__all__ = [
    "RESERVED_OPTIONS",
    "STYLES",
    "BudgetSpec",
    "ConfigError",
    "InstanceSetSpec",
    "SamplingSpec",
    "StrategySpec",
    "Sweep",
    "SweepConfig",
    "TrialSpec",
    "budget_text",
    "canonical_json",
    "expand",
    "load_sweep",
    "strategy_parameters",
    "trial_key",
]
