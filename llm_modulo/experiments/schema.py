"""The sweep config's schema: the pydantic models a TOML or YAML sweep file is validated against.

What each field means is in :mod:`llm_modulo.experiments.config`; how the grid becomes trials is
in :mod:`llm_modulo.experiments.grid`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from llm_modulo.errors import InputError
from llm_modulo.strategies.options import StrategyOptions
from llm_modulo.types import Budget, FeedbackLevel

STYLES = ("nl", "pddl")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a sweep's name names its store file
NAME_RULE = "use letters, digits, '.', '_' and '-' only (it names the store file)"
_UNLIMITED = ("none", "unlimited", "inf")


class ConfigError(InputError):
    """A bad config field: prints as ``file:field: message``."""

    def __init__(self, source: str, loc: str, message: str) -> None:
        self.source, self.loc, self.message = source, loc, message
        where = f"{source}:{loc}" if loc else source
        super().__init__(f"{where}: {message}")


# -- the config models -----------------------------------------------------------------------


class BudgetSpec(Budget):
    """A :class:`~llm_modulo.types.Budget` that rejects unknown fields; ``"none"`` = unlimited."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unlimited(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: None if isinstance(v, str) and v.strip().lower() in _UNLIMITED else v for k, v in data.items()}
        return data

    def budget(self) -> Budget:
        return Budget(**self.model_dump())


_DEFAULTS = StrategyOptions.model_fields


class SamplingSpec(BaseModel):
    """The sweep's ``[sampling]`` table; its defaults are the strategies' own (one set, in
    :mod:`llm_modulo.strategies.options`)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=_DEFAULTS["temperature"].default, ge=0.0)
    top_p: float = Field(default=_DEFAULTS["top_p"].default, gt=0.0, le=1.0)
    # None ("auto", as a config writes it): each trial's domain bounds the answer (strategies.options)
    max_tokens: int | None = Field(default=_DEFAULTS["max_tokens"].default, ge=1)

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _auto(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() == "auto" else value

    @field_serializer("max_tokens")
    def _auto_text(self, value: int | None) -> int | str:
        """ "auto" in a trial's config (its key) and the store, rather than a null nobody can read."""
        return "auto" if value is None else value


class InstanceSetSpec(BaseModel):
    """A PlanBench set (``blocksworld/generated_basic_3``) or a folder of PDDL files, with
    either ``count`` (the first N in natural order, from instance ``start``) or explicit ``ids``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    domain: str
    set_name: str = Field(alias="set", min_length=1)
    count: int | None = Field(default=None, ge=1)
    ids: list[str | int] | None = None
    start: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _count_or_ids(self) -> InstanceSetSpec:
        if (self.count is None) == (self.ids is None):
            raise ValueError("give exactly one of `count` (first N instances) or `ids` (a list)")
        if self.ids is not None and not self.ids:
            raise ValueError("`ids` is empty")
        return self


class StrategySpec(BaseModel):
    """One strategy entry. Fields not listed here are options for the strategy's constructor."""

    model_config = ConfigDict(extra="allow")

    name: str
    label: str | None = None
    # options of the domain factory for this strategy's trials, e.g. {one_shot = false} for
    # zero-shot prompts or {cot = true} for chain of thought (part of the trial key)
    domain_options: dict[str, Any] = Field(default_factory=dict)
    feedback: list[FeedbackLevel] | None = None
    budgets: list[BudgetSpec] | None = None
    models: list[str] | None = None
    seeds: list[int] | None = None
    # this strategy's own sampling (e.g. greedy `direct` beside sampled best-of-n); default: the sweep's
    sampling: SamplingSpec | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(sorted((self.model_extra or {}).items()))


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # default: the config file's stem
    description: str = ""
    style: Literal["nl", "pddl"] = "nl"
    instance_sets: list[InstanceSetSpec] = Field(min_length=1)
    strategies: list[StrategySpec] = Field(min_length=1)
    models: list[str] = Field(default_factory=lambda: ["default"], min_length=1)
    budgets: list[BudgetSpec] = Field(default_factory=lambda: [BudgetSpec()], min_length=1)
    feedback: list[FeedbackLevel] = Field(default_factory=lambda: [FeedbackLevel.FIRST], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    sampling: SamplingSpec = Field(default_factory=SamplingSpec)
    # USD per million tokens per model, for report's money columns (not a setting: never in a trial's key)
    prices: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from llm_modulo.experiments.prices import parse_prices

        try:
            parse_prices(value, "[prices]")
        except InputError as exc:
            raise ValueError(exc.format_message().removeprefix("[prices]: ")) from None
        return value

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_RE.match(value):
            raise ValueError(NAME_RULE)
        return value


__all__ = [
    "NAME_RE",
    "NAME_RULE",
    "STYLES",
    "BudgetSpec",
    "ConfigError",
    "InstanceSetSpec",
    "SamplingSpec",
    "StrategySpec",
    "SweepConfig",
]
