"""Each strategy's options, with their one set of defaults.

The constructor, ``llm-modulo solve`` and sweep configs all read these models, so a default is
written once, here. The defaults: 16 samples per call at temperature 1.0, as many tokens each as
the task's longest answer can need (:func:`answer_token_cap`), seed 0, decoding held to the
strongest grammar the domain offers, the first error fed back, and (for ``modulo``) the next
round continuing from the valid prefix where the domain can say what it is.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from llm_modulo.contract import has
from llm_modulo.errors import OptionError
from llm_modulo.types import FeedbackLevel, Task

Constrained = Literal["auto", "none", "well-formed", "executable"]
CONSTRAINT_MODES: tuple[str, ...] = ("none", "well-formed", "executable")
# the token cap of "auto" for a domain that cannot bound its answers (no max_answer_chars)
DEFAULT_MAX_TOKENS = 256
# tokens added to a domain's bound: an answer's leading blank or stray space, a tokenizer's odd split
MAX_TOKENS_MARGIN = 16


class StrategyOptions(BaseModel):
    """What every strategy takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(16, ge=1, strict=True, description="samples per LLM call")
    temperature: float = Field(1.0, ge=0, allow_inf_nan=False, strict=True, description="sampling temperature")
    top_p: float = Field(0.95, gt=0, le=1, strict=True, description="nucleus sampling mass")
    max_tokens: int | None = Field(
        None,
        ge=1,
        strict=True,
        description="generated tokens per completion (None: auto, the domain's bound for the task's longest "
        f"answer, else {DEFAULT_MAX_TOKENS})",
    )
    constrained: Constrained = Field(
        "auto",
        description="decoding grammar: none (free text), well-formed answers, executable ones (the "
        "domain's simulator checks each step), or auto: executable where the domain has a grammar, else none",
    )
    seed: int | None = Field(0, strict=True, description="random seed (None: not reproducible)")
    refute: bool = Field(True, strict=True, description="ask the hard critics for a proof of no answer before sampling")

    strategy_name: ClassVar[str] = ""

    @field_validator("constrained", mode="before")
    @classmethod
    def _bool_shorthand(cls, value: Any) -> Any:
        """``True``/``False`` are shorthands for "well-formed"/"none"."""
        if isinstance(value, bool):
            return "well-formed" if value else "none"
        return value


class DirectOptions(StrategyOptions):
    strategy_name: ClassVar[str] = "direct"


class BestOfNOptions(StrategyOptions):
    strategy_name: ClassVar[str] = "best-of-n"
    rank: Literal["sampled", "soft", "logprob", "random"] = Field(
        "sampled",
        description="the order the hard critics check each call's samples in, stopping at the first certified: "
        "sampled (as drawn, every sample judged), soft (the soft critics' score, e.g. a learned critic), "
        "logprob (the model's own log-probability; needs a model with score) or random (seeded)",
    )


class SelfConsistencyOptions(StrategyOptions):
    strategy_name: ClassVar[str] = "self-consistency"
    k: int | None = Field(
        None, ge=1, strict=True, description="samples to vote over (default: the budget's samples, else 8)"
    )


class SelfCritiqueOptions(StrategyOptions):
    strategy_name: ClassVar[str] = "self-critique"
    history: bool = Field(
        False, strict=True, description="keep every earlier answer and the model's critique in the prompt"
    )


class ModuloOptions(StrategyOptions):
    strategy_name: ClassVar[str] = "modulo"
    feedback: FeedbackLevel = Field(FeedbackLevel.FIRST, description="critique given back: none | binary | first | all")
    history: bool = Field(
        False, strict=True, description="keep every earlier round's answer and critique in the prompt"
    )
    reuse_prefix: bool | None = Field(
        None,
        strict=True,
        description="continue from the best candidate's valid prefix (None: where the domain has valid_prefix)",
    )
    exclude_rejected: bool = Field(
        True, strict=True, description="with a grammar, exclude the first choices the critics rejected at the prefix"
    )
    retry_excluded: bool = Field(
        False,
        strict=True,
        description="after a round without progress, decode the same prefix again before backtracking",
    )
    remember_rejected: bool = Field(
        False,
        strict=True,
        description="rule out each rejected step after the exact steps that led to it, in every later round",
    )
    backprompt: bool = Field(
        True, strict=True, description="put the critique in the next prompt (False: decoding only)"
    )


class SearchOptions(StrategyOptions):
    strategy_name: ClassVar[str] = "search"
    constrained: Constrained = Field("executable", description="always executable: the simulator offers the steps")
    heuristic: Literal["relaxed-plan", "goal-count", "none"] = Field(
        "relaxed-plan", description="distance-to-goal estimate ordering the open list (none: the model alone)"
    )
    queues: Literal["single", "dual"] = Field(
        "single", description="dual: a second open list for the domain's preferred steps (FF's helpful actions)"
    )
    model_share: float | None = Field(
        None,
        ge=0,
        description=(
            "the model's calls may take at most this multiple of the search's own time, so a search is at most "
            "1+share times slower than without the model (steps it is not asked about are ordered at random, "
            "as the control does); inf: ask at every expansion; default: 2 with a heuristic, inf without one"
        ),
    )
    max_nodes: int = Field(500, ge=1, strict=True, description="expansions when the budget sets no nodes")

    @field_serializer("model_share")
    def _share_text(self, share: float | None) -> float | str | None:
        return share_text(share)

    trace_nodes: bool = Field(True, strict=True, description="keep each expansion's scored children in the trace")


def share_text(share: float | None) -> float | str | None:
    """A search's ``model_share`` as stored: infinity as "inf" (JSON has no infinity, and pydantic would
    write null, which reads back as the default; "inf" reads back as the float)."""
    return "inf" if share is not None and math.isinf(share) else share


OPTIONS: dict[str, type[StrategyOptions]] = {
    cls.strategy_name: cls
    for cls in (
        DirectOptions,
        BestOfNOptions,
        SelfConsistencyOptions,
        SelfCritiqueOptions,
        ModuloOptions,
        SearchOptions,
    )
}


def answer_token_cap(max_tokens: int | None, domain: Any, task: Task) -> int:
    """The token cap of one completion for ``task``: ``max_tokens`` when set, else ("auto") the
    domain's ``max_answer_chars(task)`` as tokens plus :data:`MAX_TOKENS_MARGIN`, else
    :data:`DEFAULT_MAX_TOKENS`.

    The domain bounds its answer in characters, since it knows its own text and no model's
    tokenizer (the core and the domains import no backend). One character is counted as one
    token: every token of a byte-level BPE covers at least one byte, so no ASCII answer of ``c``
    characters needs more than ``c`` tokens. That is exact for digits (SmolLM2 splits them one
    by one, ~1.2 characters a token in Game of 24 steps), close for PDDL (~1.6) and about 4x
    generous for words; a generous cap costs only when a model runs on without the end marker.
    """
    if max_tokens is not None:
        return max_tokens
    chars = domain.max_answer_chars(task) if has(domain, "max_answer_chars") else None
    if chars is None:
        return DEFAULT_MAX_TOKENS
    return max(1, math.ceil(float(chars))) + MAX_TOKENS_MARGIN


def build_options(cls: type[StrategyOptions], base: StrategyOptions | None = None, **updates: Any) -> StrategyOptions:
    """``cls``'s options from ``base`` (or the defaults) with ``updates``; a bad value or an option the
    strategy does not have is one :class:`~llm_modulo.errors.OptionError` line."""
    if base is not None and not isinstance(base, cls):
        raise OptionError(f"{cls.strategy_name or cls.__name__} takes {cls.__name__}, not {type(base).__name__}")
    data = {**(base.model_dump(exclude_unset=True) if base is not None else {}), **updates}
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise OptionError(options_error(cls, exc)) from None


def options_error(cls: type[StrategyOptions], exc: ValidationError) -> str:
    """One line for the first problem pydantic found."""
    field, message = options_problem(cls, exc)
    return f"{cls.strategy_name or cls.__name__} option {field}: {message}" if field else message


def options_problem(cls: type[StrategyOptions], exc: ValidationError) -> tuple[str, str]:
    """(the option, what is wrong with it) for the first problem pydantic found."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    name = cls.strategy_name or cls.__name__
    if first["type"] == "extra_forbidden":
        return field, f"{name} has no option {field!r}; its options: {', '.join(cls.model_fields)}"
    return field, f"{first['msg']} (got {first.get('input')!r})"


__all__ = [
    "CONSTRAINT_MODES",
    "DEFAULT_MAX_TOKENS",
    "MAX_TOKENS_MARGIN",
    "OPTIONS",
    "BestOfNOptions",
    "Constrained",
    "DirectOptions",
    "ModuloOptions",
    "SearchOptions",
    "SelfConsistencyOptions",
    "SelfCritiqueOptions",
    "StrategyOptions",
    "answer_token_cap",
    "build_options",
    "options_error",
    "options_problem",
]
