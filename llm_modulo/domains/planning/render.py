"""Plans and facts in the prompt's words: a :class:`Vocabulary`'s natural language, or PDDL.

:class:`PlanRendering` is the base of the planning domain's mixins (prompts, answer grammar,
critiques): each of them speaks through ``render_action`` and ``render_fact``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llm_modulo.domains.planning.vocabulary import Vocabulary, join_facts
from llm_modulo.types import Task

# the answer's markers: the model writes its plan between them
PLAN_START = "[PLAN]"
PLAN_END = "[PLAN END]"
_SYMBOL = re.compile(r"[^\s()]+")


def rename_symbols(pddl_text: str, names: dict[str, str]) -> str:
    """PDDL text with each symbol in ``names`` (lowercase keys) replaced, case-insensitively."""
    return _SYMBOL.sub(lambda m: names.get(m.group(0).lower(), m.group(0)), pddl_text)


class PlanRendering:
    """Rendering of actions, facts and plans; the host class sets the attributes below."""

    style: str  # "nl" (the vocabulary's words) or "pddl"
    vocabulary: Vocabulary | None
    pddl_names: dict[str, str]  # PDDL symbol (lowercase) -> the symbol shown in "pddl"-style prompts

    def _vocab(self, task: Task | None) -> Vocabulary | None:
        """The vocabulary prompts use for ``task`` ("nl" style), else None (PDDL)."""
        if self.style != "nl":
            return None
        payload = task.payload if task is not None else None
        return getattr(payload, "vocabulary", None) or self.vocabulary

    def _pddl(self, symbols: Sequence[str]) -> str:
        names = self.pddl_names
        return "(" + " ".join([names.get(symbols[0].lower(), symbols[0]), *symbols[1:]]) + ")"

    def render_action(self, name: str, args: Sequence[str], task: Task | None = None) -> str:
        vocab = self._vocab(task)
        if vocab is not None:
            return vocab.action(name, args)
        return self._pddl([name, *args])

    def render_fact(
        self, fact: Sequence[str], positive: bool = True, task: Task | None = None, required: bool = False
    ) -> str:
        """The fact in the prompt's words; "" for a fact the vocabulary leaves silent (PlanBench's
        type predicates), unless ``required`` (critiques must name every unmet condition)."""
        pred, args = fact[0], list(fact[1:])
        vocab = self._vocab(task)
        if vocab is not None:
            return vocab.fact(pred, args, required=required) if positive else vocab.negated_fact(pred, args)
        text = self._pddl(fact)
        return text if positive else f"(not {text})"

    def _facts(self, facts: Sequence[Sequence[str]], task: Task | None = None) -> str:
        vocab = self._vocab(task)
        order = {p: i for i, p in enumerate(vocab.predicates)} if vocab else {}
        ranked = sorted(facts, key=lambda f: (order.get(f[0], len(order)), tuple(f)))
        return join_facts([self.render_fact(f, task=task) for f in ranked])

    def _goal_text(self, problem: Any, task: Task | None = None) -> str:
        goal_pos = [f for positive, f in problem.goal if positive]
        goal_neg = [self.render_fact(f, positive=False, task=task) for positive, f in problem.goal if not positive]
        return join_facts([self._facts(goal_pos, task), *goal_neg]) if goal_neg else self._facts(goal_pos, task)

    def plan_text(self, steps: Sequence[Sequence[Any]], task: Task | None = None) -> str:
        return "".join(self.render_action(s[0], s[1], task) + "\n" for s in steps)


__all__ = ["PLAN_END", "PLAN_START", "PlanRendering", "rename_symbols"]
