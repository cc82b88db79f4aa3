"""Reading plans back from model text: PDDL lines ``(unstack a b)`` or vocabulary sentences.

Parsing is lenient about form (case, numbering, "the", punctuation) and strict about
content: a line inside the plan that is not an action becomes a step with an unknown action,
so the critic reports it instead of the parser silently dropping it. The one exception is a
chain-of-thought answer (``parse(text, reasoning=True)``): there the plan is interleaved with
reasoning lines, so a line that cannot be read as an action is reasoning and is skipped; the
answer is the action lines alone, and that is what the critics check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from llm_modulo.domains.planning.vocabulary import Vocabulary

END_MARKERS = ("[plan end]", "[end plan]", "plan end")
START_MARKERS = ("[plan]",)
_PDDL_LINE = re.compile(r"^\(\s*([^\s()]+)((?:\s+[^\s()]+)*)\s*\)$")
_NUMBERING = re.compile(r"^(?:step\s*)?\d+\s*[.):]\s*|^[-*•]\s*")
_ACTION_LABEL = re.compile(r"^action\s*:\s*", re.IGNORECASE)  # "Action: pick up ..." in reasoning answers


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
        """A step for an action line, ``None`` for a blank line."""
        text = _NUMBERING.sub("", line.strip()).strip().rstrip(".;,").strip()
        if not text:
            return None
        step = self._action(text)
        # not an action: the critic reports an unknown action at this step
        return step if step is not None else Step(re.sub(r"\s+", " ", text.lower()), ())

    def _action(self, text: str) -> Step | None:
        """The step ``text`` names if it reads as an action (a PDDL line or a vocabulary sentence)."""
        m = _PDDL_LINE.match(text)
        if m:
            args = m.group(2).split()
            name = m.group(1).lower()
            return Step(self.action_names.get(name, name), tuple(self._object(a) for a in args))
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
        text = _NUMBERING.sub("", line.strip()).strip()
        text = _ACTION_LABEL.sub("", text).strip().rstrip(".;,").strip()
        return self._action(text) if text else None

    def parse(self, text: str, reasoning: bool = False) -> list[Step]:
        """Steps from ``[PLAN]`` (if present) up to ``[PLAN END]`` or the end of the text.

        With ``reasoning`` (chain-of-thought answers), lines that are not actions are skipped
        instead of becoming unknown-action steps.
        """
        lines = text.splitlines()
        lowered = [ln.strip().lower() for ln in lines]
        start = 0
        for i, ln in enumerate(lowered):
            if ln in START_MARKERS:
                start = i + 1
                break
        steps: list[Step] = []
        for line, low in zip(lines[start:], lowered[start:], strict=False):
            if any(low.startswith(m) for m in END_MARKERS):
                break
            if low in START_MARKERS:
                continue
            step = self.reasoning_line_step(line) if reasoning else self.parse_line(line)
            if step is not None:
                steps.append(step)
        return steps
