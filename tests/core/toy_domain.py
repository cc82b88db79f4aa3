"""A toy domain for core tests: "write two digits that add up to N".

Instances are named "sum-N"; sets "small" (N = 3..5) and "mixed" (adds "sum-19", which no two
digits reach and whose hard critic proves it). A soft critic prefers answers with a smaller
first digit. Registered in tests with ``monkeypatch.setitem(registry.DOMAINS, "toy", ...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.protocols import Feedback, LineConstraint, Prompt
from llm_modulo.types import Candidate, FeedbackLevel, Task, Verdict, VerdictStatus, Violation
from llm_modulo.verifiers.base import BaseCritic

SETS = {"small": ["sum-3", "sum-4", "sum-5"], "mixed": ["sum-3", "sum-19", "sum-5"]}
END = "[END]"


class SumCritic(BaseCritic):
    name = "sum"

    def __init__(self, refutations: list[str] | None = None) -> None:
        self.refutations = refutations if refutations is not None else []

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        total = sum(candidate.answer)
        if len(candidate.answer) == 2 and total == task.payload:
            return Verdict(status=VerdictStatus.VALID, critic=self.name, score=1.0)
        return Verdict(
            status=VerdictStatus.INVALID,
            critic=self.name,
            violations=[Violation(kind="wrong_sum", message=f"adds up to {total}, not {task.payload}")],
            score=0.5 if len(candidate.answer) == 2 else 0.0,
        )

    def refute(self, task: Task) -> Verdict | None:
        self.refutations.append(task.id)
        if task.payload <= 18:
            return None
        return Verdict(
            status=VerdictStatus.INVALID,
            critic=self.name,
            violations=[Violation(kind="no_solution", message=f"two digits add up to at most 18, not {task.payload}")],
            engine="arithmetic",
        )


class SmallFirstDigit(BaseCritic):
    """Soft: prefers a small first digit. Never certifies."""

    name = "small-first"
    hard = False

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        first = candidate.answer[0] if candidate.answer else 9
        return Verdict(
            status=VerdictStatus.VALID if first == 0 else VerdictStatus.INVALID,
            critic=self.name,
            score=1.0 - first / 10,
        )


class ToyDomain:
    name = "toy"

    def __init__(self, soft: bool = True) -> None:
        self.soft = soft
        self.refutations: list[str] = []

    def load(self, instance: str) -> Task:
        if not instance.startswith("sum-") or not instance[4:].isdigit():
            raise InputError(f"no toy instance {instance!r}; use sum-N")
        return Task(id=instance, domain=self.name, payload=int(instance[4:]))

    def instances(self, set_name: str) -> list[str]:
        if set_name not in SETS:
            raise InputError(f"no toy set {set_name!r}; known: {', '.join(SETS)}")
        return list(SETS[set_name])

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        return Prompt(
            messages=({"role": "user", "content": f"Two digits that add up to {task.payload}?"},), prefill=prefill
        )

    def parse(self, task: Task, text: str) -> Candidate:
        digits = [int(t) for t in text.split() if t.isdigit()]
        return Candidate(text=text, answer=digits or None)

    def critics(self, task: Task) -> list[Any]:
        return [SumCritic(self.refutations), *([SmallFirstDigit()] if self.soft else [])]

    def critique(self, task: Task, candidate: Candidate, verdicts: list[Verdict], level: FeedbackLevel) -> str:
        return "; ".join(v.message for verdict in verdicts for v in verdict.violations)

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        return LineConstraint(lines=tuple(str(d) for d in range(10)), end=END, max_lines=2)

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True) -> str:
        return ""

    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        return bool(answer) and len(answer) == 2 and sum(answer) == task.payload, "python sum"


def toy(soft: bool = True) -> ToyDomain:
    """A toy domain: two digits that add up to N."""
    return ToyDomain(soft=soft)
