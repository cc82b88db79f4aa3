"""Checks of a strategy entry's options and ``domain_options`` against the constructors they go to.

A strategy's options are read off its constructor's signature (:func:`strategy_parameters`),
checked by name and simple type, then tried in a dry construction with no model and no domain,
so that a bad value fails when the sweep loads rather than in every trial.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from llm_modulo.errors import InputError, LLMModuloError
from llm_modulo.experiments.schema import ConfigError, StrategySpec
from llm_modulo.types import Budget

log = logging.getLogger(__name__)

# Constructor parameters the runner sets from the grid; a strategy entry may not pass them as options.
RESERVED_OPTIONS = {
    "model": "the grid's `models`",
    "domain": "the instance set's `domain`",
    "budget": "`budgets`",
    "params": "`[sampling]` (temperature, top_p, max_tokens) and `seeds`",
    "feedback": "`feedback` (a list)",
    "seed": "`seeds`",
}


def strategy_parameters(name: str) -> dict[str, inspect.Parameter] | None:
    """Keyword parameters of a strategy's constructor (its own and, through ``**kwargs``, its
    bases'), or None when the strategy's module does not import (yet)."""
    from llm_modulo.registry import get_strategy

    try:
        cls = get_strategy(name)
    except (ImportError, AttributeError, SyntaxError) as exc:
        log.warning("strategy %r does not import (%s); its options are not checked", name, exc)
        return None
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        sig = inspect.signature(init)
        for p in list(sig.parameters.values())[1:]:
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                params.setdefault(p.name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            break
    return params


_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "None": (type(None),),
}


def _type_ok(value: Any, annotation: Any) -> bool:
    """Checks a value against a simple annotation (``int``, ``bool | str``, ``float | None``);
    anything fancier is accepted here and left to the constructor."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    if not text:
        return True
    parts = [p.strip() for p in text.split("|")]
    if not all(p in _SIMPLE_TYPES for p in parts):
        return True
    if isinstance(value, bool) and "bool" not in parts:
        return False
    return any(isinstance(value, _SIMPLE_TYPES[p]) for p in parts)


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
        raise ConfigError(source, where, f"unknown option(s) {', '.join(unknown)} for domain {domain!r}; known: {known}")


def check_options(st: StrategySpec, params: dict[str, inspect.Parameter] | None, source: str, where: str) -> None:
    options = st.options
    for name in options:
        if name in RESERVED_OPTIONS:
            raise ConfigError(source, f"{where}.{name}", f"set by the grid: use {RESERVED_OPTIONS[name]}")
    if params is None:
        return
    allowed = sorted(p for p in params if p not in RESERVED_OPTIONS)
    for name, value in options.items():
        if name not in params:
            raise ConfigError(
                source, f"{where}.{name}", f"unknown option for strategy {st.name!r}; known: {', '.join(allowed)}"
            )
        annotation = params[name].annotation
        if annotation is not inspect.Parameter.empty and not _type_ok(value, annotation):
            raise ConfigError(source, f"{where}.{name}", f"expected {annotation}, got {value!r}")
    # a dry construction catches bad values the constructor itself rejects (n < 1, unknown modes)
    from llm_modulo.protocols import SamplingParams
    from llm_modulo.registry import get_strategy

    try:
        get_strategy(st.name)(None, None, budget=Budget(), params=SamplingParams(), seed=0, **options)
    except (ValueError, InputError) as exc:
        text = exc.format_message() if isinstance(exc, InputError) else str(exc)
        raise ConfigError(source, where, text) from None
    except Exception as exc:  # noqa: BLE001 - a constructor may need a real model/domain; not the config's fault
        log.debug("dry construction of %r skipped: %s", st.name, exc)


__all__ = ["RESERVED_OPTIONS", "check_domain_options", "check_options", "strategy_parameters"]
