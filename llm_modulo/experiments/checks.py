"""Checks of a strategy entry's options and ``domain_options`` against the constructors they go to.

A strategy's options are its options model's fields (:mod:`llm_modulo.strategies.options`, the
same model its constructor and ``solve`` use), so a bad value fails when the sweep loads rather
than in every trial.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from llm_modulo.errors import LLMModuloError
from llm_modulo.experiments.schema import ConfigError, StrategySpec

log = logging.getLogger(__name__)

# Options the runner sets from the grid; a strategy entry may not pass them as options.
GRID_SAMPLING = {"temperature", "top_p", "max_tokens"}  # the sweep's `[sampling]` table
RESERVED_OPTIONS = {
    "model": "the grid's `models`",
    "domain": "the instance set's `domain`",
    "budget": "`budgets`",
    "params": "`[sampling]` (temperature, top_p, max_tokens) and `seeds`",
    "feedback": "`feedback` (a list)",
    "seed": "`seeds`",
}


def strategy_parameters(name: str) -> dict[str, Any] | None:
    """The options a strategy takes (its options model's fields, name -> pydantic FieldInfo), or
    None for a strategy without an options model, or one whose module does not import (yet)."""
    from llm_modulo.registry import get_strategy

    try:
        cls = get_strategy(name)
    except (ImportError, AttributeError, SyntaxError) as exc:
        log.warning("strategy %r does not import (%s); its options are not checked", name, exc)
        return None
    options = getattr(cls, "Options", None)
    return dict(options.model_fields) if options is not None else None


def check_domain_options(domain: str, options: dict[str, Any], source: str, where: str) -> None:
    """Unknown domain-factory options fail at load time, naming the known ones."""
    if not options:
        return
    if "prompt_format" in options:
        from llm_modulo.models.prompts import NO_COT, PROMPT_FORMATS, CompactPrompts

        fmt = options["prompt_format"]
        if fmt not in PROMPT_FORMATS:
            raise ConfigError(source, f"{where}.prompt_format", f"expected 'compact' or 'full', got {fmt!r}")
        if fmt == "compact":
            from llm_modulo.registry import get_domain

            if options.get("cot"):  # the factory's option, which CompactPrompts checks on the built domain
                raise ConfigError(source, f"{where}.prompt_format", NO_COT)
            try:
                CompactPrompts(get_domain(domain))
            except LLMModuloError as exc:
                raise ConfigError(source, f"{where}.prompt_format", exc.format_message()) from None
        options = {k: v for k, v in options.items() if k != "prompt_format"}
    from llm_modulo.registry import domain_factory

    try:
        params = inspect.signature(domain_factory(domain)).parameters
    except (LLMModuloError, TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params) - {"style"})
    if unknown:
        known = ", ".join(sorted(set(params) - {"style"})) or "(none)"
        raise ConfigError(
            source, where, f"unknown option(s) {', '.join(unknown)} for domain {domain!r}; known: {known}"
        )


def check_options(st: StrategySpec, params: dict[str, Any] | None, source: str, where: str) -> None:
    """A strategy entry's options: none of those the grid sets, each one the strategy has, each
    value one its options model accepts (so a bad value fails when the sweep loads, not in every trial)."""
    options = st.options
    for name in options:
        if name in RESERVED_OPTIONS:
            raise ConfigError(source, f"{where}.{name}", f"set by the grid: use {RESERVED_OPTIONS[name]}")
    if params is None:
        return
    from pydantic import ValidationError

    from llm_modulo.registry import get_strategy
    from llm_modulo.strategies.options import options_problem

    allowed = sorted(p for p in params if p not in RESERVED_OPTIONS and p not in GRID_SAMPLING)
    for name in options:
        if name not in params or name in GRID_SAMPLING:
            raise ConfigError(
                source, f"{where}.{name}", f"unknown option for strategy {st.name!r}; known: {', '.join(allowed)}"
            )
    model = get_strategy(st.name).Options
    try:
        model.model_validate(options)
    except ValidationError as exc:
        field, message = options_problem(model, exc)
        raise ConfigError(source, f"{where}.{field}", message) from None
