"""The feedback policy: what of the critics' findings goes back into the prompt, at each level.

This is the main axis of the LLM-Modulo ablations, so it lives here once, for every domain. A
domain only says how one violation reads in its own vocabulary (``describe_violation``) and,
optionally, the three fixed sentences of its :class:`Wording`. The policy decides which
violations are shown and in which order:

* ``none``: the retry sentence alone ("Please try again.");
* ``binary``: whether the hard critics accepted the answer, nothing more;
* ``first``: the rejection, then the first hard fault (the earliest step that failed; faults of
  the whole answer, such as an unmet goal, only when no step failed);
* ``all``: the rejection, then every hard fault, steps in order, whole-answer faults last.

At ``first`` and ``all`` the soft critics' findings follow as advice. A domain that defines its
own ``critique`` method replaces this policy (the contract of releases before it existed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llm_modulo.types import Candidate, FeedbackLevel, Task, Verdict, Violation, certified


@dataclass(frozen=True)
class Wording:
    """The fixed sentences of a domain's critiques."""

    retry: str = "Please try again."
    rejected: str = "The answer is not correct."
    accepted: str = "The answer is correct."


Describe = Callable[[Task, Candidate, Violation], str]


def _reading_order(violation: Violation) -> tuple[bool, int]:
    """Faults at a step first, in step order; faults of the whole answer after them."""
    return (violation.step is None, violation.step or 0)


def sentence(text: str) -> str:
    """``text`` as a sentence: capitalised, ending in a full stop."""
    text = text.strip()
    if not text:
        return ""
    return _full_stop(text[0].upper() + text[1:])


def _full_stop(text: str) -> str:
    text = text.strip()
    return text + ("" if text.endswith((".", "!", "?")) else ".")


def hard_faults(verdicts: Sequence[Verdict]) -> list[Violation]:
    """The hard critics' violations in reading order (stable for faults at the same step)."""
    found = [x for v in verdicts if v.hard and not v.valid for x in v.violations]
    return sorted(found, key=_reading_order)


def render_critique(
    task: Task,
    candidate: Candidate,
    verdicts: Sequence[Verdict],
    level: FeedbackLevel | str,
    describe: Describe,
    wording: Wording = Wording(),
) -> str:
    """The critique of ``candidate`` at ``level``, each violation worded by ``describe``."""
    level = FeedbackLevel(level)
    if level is FeedbackLevel.NONE:
        return wording.retry
    accepted = certified(list(verdicts))
    head = wording.accepted if accepted else wording.rejected
    if level is FeedbackLevel.BINARY:
        return head
    faults = hard_faults(verdicts)
    if level is FeedbackLevel.FIRST:
        faults = faults[:1]
    advice = [x for v in verdicts if not v.hard for x in v.violations]
    parts = [head, *(sentence(describe(task, candidate, x)) for x in faults)]
    parts += [f"Advice: {_full_stop(describe(task, candidate, x))}" for x in advice]
    return " ".join(p for p in parts if p)


def domain_critique(
    domain: Any, task: Task, candidate: Candidate, verdicts: Sequence[Verdict], level: FeedbackLevel | str
) -> str:
    """The critique for ``domain``: its own ``critique`` where it has one, else :func:`render_critique`
    with its ``describe_violation`` and ``wording`` (the message the critic wrote, without one)."""
    own = getattr(domain, "critique", None)
    if callable(own):
        return str(own(task, candidate, list(verdicts), FeedbackLevel(level)))
    describe = getattr(domain, "describe_violation", None)
    if not callable(describe):
        describe = default_describe
    wording = getattr(domain, "wording", None)
    return render_critique(
        task, candidate, verdicts, level, describe, wording if isinstance(wording, Wording) else Wording()
    )


def default_describe(task: Task, candidate: Candidate, violation: Violation) -> str:
    """A violation as its critic worded it (its message, else its kind in words, at its step)."""
    text = violation.message or violation.kind.replace("_", " ")
    return f"step {violation.step}: {text}" if violation.step is not None and not violation.message else text


__all__ = ["Describe", "Wording", "default_describe", "domain_critique", "hard_faults", "render_critique", "sentence"]
