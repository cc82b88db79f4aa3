"""``SMTCritic``: a generic, sound critic that checks a candidate against a domain's z3 encoding.

A domain supplies an :class:`SMTEncoding`: the named constraints a candidate must satisfy
(usually ground: the candidate's values substituted) and, optionally, the whole task as a
satisfiability problem over free answer variables. The critic then

* checks a candidate: a constraint is violated iff ``Not(formula)`` is satisfiable
  (``z3.simplify`` decides ground ones without a solver call);
* refutes a task: ``problem()`` unsatisfiable is a proof that no answer exists;
* constructs a reference answer from a model of ``problem()``.

z3's Python API works in one global context, which is not thread-safe: two threads building or
freeing terms at once fail with "context mismatch", "invalid dec_ref" or a crash. ``bench
--batch`` runs trials in threads, so every use of z3 here holds one process-wide lock
(:data:`Z3_LOCK`); the terms an encoding builds live only inside it. The checks take
milliseconds, so the trials wait little.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import z3

from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus, Violation

from ..base import BaseCritic

log = logging.getLogger(__name__)

Z3_LOCK = threading.RLock()  # every z3 call in this process (see the module's docstring)


@dataclass(frozen=True)
class Constraint:
    """One named requirement on a candidate, with what a critique says when it fails.

    ``detail`` goes into the Violation's detail (JSON values only); an integer ``detail["step"]``
    also becomes the Violation's ``step``.
    """

    name: str  # stable, human-readable id, e.g. "edge a-b" or "value is 24"
    formula: z3.BoolRef  # usually ground (the candidate's values substituted)
    kind: str  # Violation.kind when it fails, e.g. "conflict", "wrong_value", "division_by_zero"
    message: str  # what a critique says when it fails, in the domain's words
    detail: dict[str, Any] = field(default_factory=dict)


class SMTEncoding(Protocol):
    """A domain's z3 model of its tasks. An optional ``name`` attribute names it in the verdicts'
    ``info`` (the class name otherwise)."""

    def candidate_constraints(self, task: Task, answer: Any) -> list[Constraint]:
        """What the candidate ``answer`` must satisfy."""
        ...

    def problem(self, task: Task) -> list[z3.BoolRef] | None:
        """The task over free answer variables; ``None``: the encoding cannot decide solvability."""
        ...

    def decode(self, task: Task, model: z3.ModelRef) -> Any:
        """An answer from a model of :meth:`problem`."""
        ...

    def no_solution_message(self, task: Task) -> str:
        """Why there is no answer, in the domain's words (e.g. "no colouring with 3 colours exists")."""
        ...


def engine_name() -> str:
    """The engine string of every z3 verdict, e.g. ``"z3 4.13.0"``."""
    with Z3_LOCK:
        return "z3 " + str(z3.get_version_string())


class SMTCritic(BaseCritic):
    """Checks ``candidate.answer`` against ``encoding.candidate_constraints``.

    Verdict: VALID iff no constraint is violated and every one was decided; INVALID with one
    Violation per violated constraint (``detail["constraint"]`` = its name); UNKNOWN when the
    solver gave up (timeout) on some constraint and none was violated. An encoding that gives
    no constraints at all is UNKNOWN too: nothing was checked, so nothing is certified.
    ``score`` = satisfied / total (< 1 unless VALID).
    """

    def __init__(self, encoding: SMTEncoding, *, name: str = "z3", timeout_ms: int = 10_000, hard: bool = True) -> None:
        self.encoding = encoding
        self.name = name
        self.timeout_ms = timeout_ms
        self.hard = hard

    def _solver(self) -> z3.Solver:
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms)
        return solver

    def _violated(self, formula: z3.BoolRef) -> bool | None:
        """True if ``formula`` can be false, False if it cannot, None if z3 could not decide."""
        simple = z3.simplify(formula)
        if z3.is_true(simple):
            return False
        if z3.is_false(simple):
            return True
        solver = self._solver()
        solver.add(z3.Not(formula))
        result = solver.check()
        if result == z3.sat:
            return True
        if result == z3.unsat:
            return False
        log.info("z3 could not decide %s: %s", formula, solver.reason_unknown())
        return None

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        with Z3_LOCK:
            return self._check_locked(task, candidate)

    def _check_locked(self, task: Task, candidate: Candidate) -> Verdict:
        constraints = self.encoding.candidate_constraints(task, candidate.answer)
        violations: list[Violation] = []
        undecided: list[str] = []
        satisfied = 0
        for constraint in constraints:
            outcome = self._violated(constraint.formula)
            if outcome is None:
                undecided.append(constraint.name)
            elif outcome:
                violations.append(_violation(constraint))
            else:
                satisfied += 1
        info: dict[str, Any] = {
            "encoding": _encoding_name(self.encoding),
            "constraints": len(constraints),
            "violated": [v.detail["constraint"] for v in violations],
        }
        if undecided:
            info["undecided"] = undecided
        if violations:
            status = VerdictStatus.INVALID
        elif undecided or not constraints:
            status = VerdictStatus.UNKNOWN
            reason = "z3 could not decide: " + ", ".join(undecided) if undecided else "the encoding gave no constraints"
            violations = [Violation(kind="undecided", detail={"constraints": undecided}, message=reason)]
        else:
            status = VerdictStatus.VALID
        score = 1.0 if status is VerdictStatus.VALID else satisfied / len(constraints) if constraints else 0.0
        return Verdict(
            status=status, critic=self.name, violations=violations, score=score, engine=engine_name(), info=info
        )

    def _solve(self, task: Task) -> tuple[z3.CheckSatResult, z3.Solver] | None:
        problem = self.encoding.problem(task)
        if problem is None:
            return None
        solver = self._solver()
        solver.add(*problem)
        return solver.check(), solver

    def refute(self, task: Task) -> Verdict | None:
        """A proof that ``task`` has no answer (``problem()`` is unsatisfiable), else ``None``."""
        start = time.perf_counter()
        with Z3_LOCK:
            unsat = self._unsat_locked(task)
        if not unsat:
            return None
        return Verdict(
            status=VerdictStatus.INVALID,
            critic=self.name,
            hard=self.hard,
            violations=[Violation(kind="no_solution", message=self.encoding.no_solution_message(task))],
            engine=engine_name(),
            seconds=time.perf_counter() - start,
            info={"encoding": _encoding_name(self.encoding), "proof": "unsat"},
        )

    def reference(self, task: Task) -> Any:
        """An answer decoded from a model of ``problem()``, or ``None`` (unsat, unknown or no encoding)."""
        with Z3_LOCK:
            return self._reference_locked(task)

    # The *_locked methods run under Z3_LOCK; every z3 object they make is freed when they return.
    def _unsat_locked(self, task: Task) -> bool:
        solved = self._solve(task)
        return solved is not None and solved[0] == z3.unsat

    def _reference_locked(self, task: Task) -> Any:
        solved = self._solve(task)
        if solved is None or solved[0] != z3.sat:
            return None
        return self.encoding.decode(task, solved[1].model())


def _violation(constraint: Constraint) -> Violation:
    step = constraint.detail.get("step")
    return Violation(
        kind=constraint.kind,
        step=step if isinstance(step, int) and not isinstance(step, bool) else None,
        detail={**constraint.detail, "constraint": constraint.name},
        message=constraint.message,
    )


def _encoding_name(encoding: Any) -> str:
    """What the verdicts call the encoding: its ``name`` if it has one, else its class name."""
    return str(getattr(encoding, "name", None) or type(encoding).__name__)
