"""Prompt formats a model is run with: a trained adapter must see the prompts it was trained on.

- ``"full"``: the domain's own zero-shot prompt (``one_shot=False``): the rules or instructions,
  then the problem. ~445 tokens for a PlanBench Blocksworld problem, ~150 for Game of 24.
- ``"compact"``: the problem statement alone (the rules and instructions dropped): PlanBench's
  ``[STATEMENT]`` block, or Game of 24's ``Input: ...`` line; ~100-200 and ~40 tokens. A
  model trained on it must be run through :class:`CompactPrompts` (the same domain with the
  shorter prompt).

Training (:mod:`llm_modulo.training.chat`) writes its data with these prompts; experiments and the
CLI run trained models with them; both import them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.protocols import Feedback, Prompt
from llm_modulo.types import Task

PROMPT_FORMATS = ("compact", "full")
# Where the problem statement starts in the first user message, by domain kind.
_STATEMENT_MARKERS = {"planning": "[STATEMENT]", "game24": "Input: "}

NO_COT = (
    "compact prompts are the problem statement alone, with no chain-of-thought instruction; "
    "use prompt_format='full' with cot"
)


def _marker(domain: Any) -> str:
    from llm_modulo.registry import is_planning

    if is_planning(domain):
        return _STATEMENT_MARKERS["planning"]
    if getattr(domain, "name", "") == "game24":
        return _STATEMENT_MARKERS["game24"]
    raise InputError(f"no compact prompt for domain {getattr(domain, 'name', domain)!r}; use prompt_format='full'")


class CompactPrompts:
    """A domain whose first prompt message is the problem statement alone; all else is the inner domain's."""

    def __init__(self, domain: Any) -> None:
        if getattr(domain, "cot", False):  # the reasoning instruction precedes the statement: it would be cut
            raise InputError(NO_COT)
        self.inner = domain
        self.name = domain.name
        self.marker = _marker(domain)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def __repr__(self) -> str:
        return f"CompactPrompts({self.inner!r})"

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        full = self.inner.prompt(task, feedback, prefill)
        first = dict(full.messages[0])
        content = first["content"]
        at = content.rfind(self.marker)
        first["content"] = content[at:] if at >= 0 else content
        return Prompt(messages=(first, *full.messages[1:]), prefill=full.prefill)


__all__ = ["NO_COT", "PROMPT_FORMATS", "CompactPrompts"]
