"""llm-modulo: a language model proposes, sound critics certify.

The public API, as a table of contents. Only the errors load at once; everything else (the core
types, strategies, model backends, domains, critics) loads on first attribute access, so
``import llm_modulo`` imports neither pydantic nor torch, transformers, unified-planning or z3, and
a command such as ``llm-modulo validate`` pays only for what it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llm_modulo._lazy import load_lazy
from llm_modulo.errors import (
    CriticError,
    InputError,
    LLMModuloError,
    ModelError,
    ModelLoadError,
    OptionError,
    PDDLError,
    ServerResponseError,
    ServerUnreachableError,
    UnknownNameError,
    UnsupportedFeatureError,
)

if TYPE_CHECKING:  # at run time these load on first access (pydantic alone takes 0.2 s to start)
    from llm_modulo.contract import CAPABILITIES, DomainContractError, check_domain
    from llm_modulo.domain import BaseDomain
    from llm_modulo.feedback import Wording, render_critique
    from llm_modulo.protocols import (
        Batch,
        Completion,
        Critic,
        Domain,
        Feedback,
        LanguageModel,
        LineConstraint,
        Prompt,
        SamplingParams,
        Strategy,
    )
    from llm_modulo.types import (
        Attempt,
        Budget,
        Candidate,
        FeedbackLevel,
        Progress,
        Result,
        ResultStatus,
        Sample,
        Task,
        Usage,
        Verdict,
        VerdictStatus,
        Violation,
        ViolationKind,
        certified,
    )

__version__ = "0.1.0"

_LAZY = {
    **dict.fromkeys(("CAPABILITIES", "DomainContractError", "check_domain"), "llm_modulo.contract"),
    "BaseDomain": "llm_modulo.domain",
    **dict.fromkeys(("Wording", "render_critique"), "llm_modulo.feedback"),
    **dict.fromkeys(
        ("Batch", "Completion", "Critic", "Domain", "Feedback", "LanguageModel", "LineConstraint", "Prompt")
        + ("SamplingParams", "Strategy"),
        "llm_modulo.protocols",
    ),
    **dict.fromkeys(
        ("Attempt", "Budget", "Candidate", "FeedbackLevel", "Progress", "Result", "ResultStatus", "Sample", "Task")
        + ("Usage", "Verdict", "VerdictStatus", "Violation", "ViolationKind", "certified"),
        "llm_modulo.types",
    ),
    "Direct": "llm_modulo.strategies.direct",
    "BestOfN": "llm_modulo.strategies.best_of_n",
    "Modulo": "llm_modulo.strategies.modulo",
    "SelfConsistency": "llm_modulo.strategies.self_consistency",
    "SelfCritique": "llm_modulo.strategies.self_critique",
    "Search": "llm_modulo.strategies.search",
    "StrategyOptions": "llm_modulo.strategies.options",
    "DirectOptions": "llm_modulo.strategies.options",
    "BestOfNOptions": "llm_modulo.strategies.options",
    "ModuloOptions": "llm_modulo.strategies.options",
    "SearchOptions": "llm_modulo.strategies.options",
    "SelfConsistencyOptions": "llm_modulo.strategies.options",
    "SelfCritiqueOptions": "llm_modulo.strategies.options",
    "ScriptedModel": "llm_modulo.models.scripted",
    "RandomProposer": "llm_modulo.models.random_proposer",
    "LocalModel": "llm_modulo.models.local",
    "OpenAIModel": "llm_modulo.models.openai_http",
    "load_model": "llm_modulo.models",
    "get_domain": "llm_modulo.registry",
    "get_strategy": "llm_modulo.registry",
    "load_planning_instance": "llm_modulo.registry",
    "load_planning_task": "llm_modulo.registry",
}


def __getattr__(name: str) -> Any:
    return load_lazy(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Attempt",
    "BaseDomain",
    "Batch",
    "BestOfN",
    "BestOfNOptions",
    "Budget",
    "CAPABILITIES",
    "Candidate",
    "Completion",
    "Critic",
    "CriticError",
    "Direct",
    "DirectOptions",
    "Domain",
    "DomainContractError",
    "Feedback",
    "FeedbackLevel",
    "InputError",
    "LLMModuloError",
    "LanguageModel",
    "LineConstraint",
    "LocalModel",
    "ModelError",
    "ModelLoadError",
    "ModuleType",
    "Modulo",
    "ModuloOptions",
    "OpenAIModel",
    "OptionError",
    "PDDLError",
    "Progress",
    "Prompt",
    "RandomProposer",
    "Result",
    "ResultStatus",
    "Sample",
    "SamplingParams",
    "ScriptedModel",
    "Search",
    "SearchOptions",
    "SelfConsistency",
    "SelfConsistencyOptions",
    "SelfCritique",
    "SelfCritiqueOptions",
    "ServerResponseError",
    "ServerUnreachableError",
    "Strategy",
    "StrategyOptions",
    "Task",
    "UnknownNameError",
    "UnsupportedFeatureError",
    "Usage",
    "Verdict",
    "VerdictStatus",
    "Violation",
    "ViolationKind",
    "Wording",
    "certified",
    "check_domain",
    "get_domain",
    "get_strategy",
    "load_model",
    "load_planning_instance",
    "load_planning_task",
    "render_critique",
]
