"""Reading plans back from model text: PDDL lines ``(unstack a b)`` or vocabulary sentences.

This is the lenient mode of :mod:`llm_modulo.verifiers.planning.plan_text` (markers, what is
skipped) with this domain's words on top. Parsing is lenient about form (case, numbering, "the",
punctuation, PlanBench's object names such as "blue" in ``(unstack blue orange)``) and strict
about content: a line inside the plan that is not an action becomes a step with an unknown
action, so the critic reports it instead of the parser silently dropping it. The one exception
is a chain-of-thought answer (``parse(text, reasoning=True)``): there the plan is interleaved with
reasoning lines, so a line that cannot be read as an action is reasoning and is skipped; the
answer is the action lines alone, and that is what the critics check. Lines outside the
``[PLAN]`` ... ``[PLAN END]`` markers and skipped reasoning lines are reported by :meth:`PlanParser.read`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from llm_modulo.domains.planning.vocabulary import Vocabulary
from llm_modulo.verifiers.planning.plan_text import LenientPlan, clean_line, pddl_step, read_lenient


class Step(NamedTuple):
    """One plan step as written: an action name and its arguments (PDDL names where known)."""

    name: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return "(" + " ".join([self.name, *self.args]) + ")"


class PlanParser:
    """Turns text into steps, for one vocabulary (or PDDL only) and one set of objects."""

    def __init__(
        self,
        vocabulary: Vocabulary | None,
        objects: Iterable[str],
        action_names: dict[str, str] | None = None,
        possible: Callable[[Step], bool] | None = None,
    ) -> None:
        """``action_names``: shown action name -> PDDL name, for PDDL lines of a renamed domain.
        ``possible``: where a sentence reads as several actions (PlanBench's Logistics says
        "load {} into {} at {}" for both trucks and airplanes), the first reading it accepts wins
        (a domain passes "its static preconditions hold"); otherwise the first reading."""
        objects = [o.lower() for o in objects]
        self.vocabulary = vocabulary
        self.action_names = {k.lower(): v.lower() for k, v in (action_names or {}).items()}
        self.possible = possible
        self.aliases = vocabulary.object_aliases(objects) if vocabulary else {o: o for o in objects}
        self.patterns = vocabulary.action_patterns() if vocabulary else []

    def _object(self, text: str) -> str:
        text = re.sub(r"\s+", " ", text.strip().lower())
        return self.aliases.get(text, text)

    def parse_line(self, line: str) -> Step | None:
        """A step for an action line, ``None`` for a blank or ``;`` comment line."""
        text = clean_line(line)
        if not text or text.startswith(";"):
            return None
        step = self._action(text)
        # not an action: the critic reports an unknown action at this step
        return step if step is not None else Step(re.sub(r"\s+", " ", text.lower()), ())

    def _action(self, text: str) -> Step | None:
        """The step ``text`` names if it reads as an action (a PDDL line or a vocabulary sentence)."""
        pddl = pddl_step(text)
        if pddl is not None:
            name = pddl[0].lower()
            return Step(self.action_names.get(name, name), tuple(self._object(a) for a in pddl[1]))
        low = re.sub(r"\s+", " ", text.lower())
        first: Step | None = None
        for name, pattern, _arity in self.patterns:
            pm = pattern.match(low)
            if pm:
                step = Step(name, tuple(self._object(g) for g in pm.groups()))
                if self.possible is None or self.possible(step):
                    return step
                first = first or step
        return first

    def reasoning_line_step(self, line: str) -> Step | None:
        """The step an action line of a chain-of-thought answer names; ``None`` for reasoning or blank lines."""
        text = clean_line(line, label=True)
        return self._action(text) if text else None

    def read(self, text: str, reasoning: bool = False) -> LenientPlan[Step]:
        """Steps from after ``[PLAN]`` (if present) up to an ``[PLAN END]`` line or the end of the
        text, and the lines skipped: outside the markers, and with ``reasoning`` the lines that are
        not actions (without it, such a line is an unknown-action step)."""
        return read_lenient(text, self.reasoning_line_step if reasoning else self.parse_line)

    def parse(self, text: str, reasoning: bool = False) -> list[Step]:
        """The steps of :meth:`read`."""
        return self.read(text, reasoning).steps
