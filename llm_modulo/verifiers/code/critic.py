"""The code-execution critic: run the candidate against a task's tests in the sandbox.

Sound by construction: VALID only when the sandboxed run completed (the harness sent its
final record) and every call returned a value equal, in this process, to the expected one.
Every failure is a :class:`Violation` with the test's number (``step``, 1-based), the call,
what came back and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus, Violation
from llm_modulo.verifiers.base import BaseCritic
from llm_modulo.verifiers.code.sandbox import CallRecord, RunReport, Sandbox, SandboxLimits
from llm_modulo.verifiers.code.suite import CodeCase, CodeSuite, matches, short_repr

FORBIDDEN_PREFIX = "sandbox: "


def _suite_of_payload(task: Task) -> CodeSuite:
    suite = getattr(task.payload, "suite", None)
    if not isinstance(suite, CodeSuite):
        raise TypeError(f"task {task.id!r} has no CodeSuite at payload.suite")
    return suite


def _error_violation(number: int, call: str, error: dict[str, Any], limits: SandboxLimits) -> Violation:
    kind_name, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    line = error.get("line")
    where = f" (line {line})" if line else ""
    detail = {"call": call, "error": kind_name, "message": message, "line": line}
    if message.startswith(FORBIDDEN_PREFIX):
        return Violation(
            kind="forbidden",
            step=number,
            detail=detail,
            message=f"test {number} failed: {call} tried a forbidden operation: {message[len(FORBIDDEN_PREFIX) :]}",
        )
    if kind_name == "MemoryError":
        return Violation(
            kind="memory",
            step=number,
            detail=detail,
            message=f"test {number} failed: {call} ran out of memory (limit {limits.memory_mb} MB)",
        )
    text = f"{kind_name}: {message}" if message else kind_name
    return Violation(
        kind="exception", step=number, detail=detail, message=f"test {number} failed: {call} raised {text}{where}"
    )


def _case_violation(
    number: int, case: CodeCase, record: CallRecord, entry: str, limits: SandboxLimits
) -> Violation | None:
    call = case.render(entry)
    if record.error is not None:
        if case.raises and record.error.get("type") == case.raises and record.error.get("builtin"):
            return None
        violation = _error_violation(number, call, record.error, limits)
        if case.raises and violation.kind == "exception":
            violation.kind = "wrong_answer"
            violation.message += f", expected {case.raises}"
        return violation
    if record.unencodable is not None:
        return Violation(
            kind="wrong_answer",
            step=number,
            detail={"call": call, "got_type": record.unencodable},
            message=f"test {number} failed: {call} returned {record.unencodable}, which is not a plain value",
        )
    got = short_repr(record.value)
    if case.raises:
        return Violation(
            kind="wrong_answer",
            step=number,
            detail={"call": call, "got": got, "raises": case.raises},
            message=f"test {number} failed: {call} returned {got}, expected it to raise {case.raises}",
        )
    if matches(record.value, case.expected, case.compare):
        return None
    expected = short_repr(case.expected)
    return Violation(
        kind="wrong_answer",
        step=number,
        detail={"call": call, "got": got, "expected": expected},
        message=f"test {number} failed: {call} returned {got}, expected {expected}",
    )


def violations_of_run(suite: CodeSuite, report: RunReport, limits: SandboxLimits) -> tuple[list[Violation], int]:
    """(violations, tests passed) for a sandboxed run of ``suite``."""
    if report.status == "syntax_error":
        error = report.error or {}
        line = error.get("line")
        where = f" on line {line}" if line else ""
        return [
            Violation(
                kind="syntax_error", step=None, detail=error, message=f"syntax error{where}: {error.get('message')}"
            )
        ], 0
    if report.status == "load_error":
        error = report.error or {}
        v = _error_violation(0, "", error, limits)
        line = f" (line {error.get('line')})" if error.get("line") else ""
        v.step = None
        v.kind = "load_error" if v.kind == "exception" else v.kind
        v.message = f"the code raised {error.get('type')}: {error.get('message')} while loading{line}"
        return [v], 0
    if report.status == "missing_entry":
        return [
            Violation(
                kind="missing_function",
                detail={"entry": suite.entry, **(report.error or {})},
                message=f"no function named {suite.entry!r} is defined",
            )
        ], 0
    violations: list[Violation] = []
    passed = 0
    by_index = {r.index: r for r in report.calls}
    for i, case in enumerate(suite.cases):
        record = by_index.get(i)
        if record is None:
            break
        found = _case_violation(i + 1, case, record, suite.entry, limits)
        if found is None:
            passed += 1
        else:
            violations.append(found)
    done = len(by_index)
    if report.status != "completed" or done < len(suite.cases):
        stuck = min(done, len(suite.cases) - 1) if suite.cases else 0
        number = stuck + 1
        call = suite.cases[stuck].render(suite.entry) if suite.cases else ""
        if report.status == "timeout":
            message = (
                f"test {number} ({call}) timed out after {limits.wall_seconds:g} s"
                if report.loaded
                else f"the code timed out after {limits.wall_seconds:g} s while loading"
            )
            kind = "timeout"
        else:
            reason = report.message or "did not finish"
            message = (
                f"test {number} ({call}) did not finish: the program {reason}"
                if report.loaded
                else (f"the code did not finish loading: the program {reason}")
            )
            kind = "memory" if "memory" in reason else "crashed"
        violations.append(
            Violation(
                kind=kind,
                step=number if report.loaded else None,
                detail={"run": report.status, "returncode": report.returncode},
                message=message,
            )
        )
        rest = len(suite.cases) - done - 1
        if rest > 0:
            violations.append(
                Violation(
                    kind="not_run",
                    detail={"tests": list(range(number + 1, len(suite.cases) + 1))},
                    message=f"tests {number + 1}-{len(suite.cases)} did not run"
                    if rest > 1
                    else f"test {len(suite.cases)} did not run",
                )
            )
    return violations, passed


class CodeExecutionCritic(BaseCritic):
    """Hard critic: the task's tests, run on the candidate's code in a :class:`Sandbox`.

    ``candidate.answer`` is the source code; ``suite_of(task)`` gives the tests (by default
    ``task.payload.suite``).
    """

    name = "code-tests"
    hard = True

    def __init__(self, sandbox: Sandbox | None = None, suite_of: Callable[[Task], CodeSuite] | None = None) -> None:
        self.sandbox = sandbox or Sandbox()
        self.suite_of = suite_of or _suite_of_payload

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        suite = self.suite_of(task)
        source = str(candidate.answer)
        report = self.sandbox.run(source, suite.entry, [c.call() for c in suite.cases])
        violations, passed = violations_of_run(suite, report, self.sandbox.limits)
        total = len(suite.cases)
        ok = report.status == "completed" and not violations and passed == total
        return Verdict(
            status=VerdictStatus.VALID if ok else VerdictStatus.INVALID,
            critic=self.name,
            violations=violations,
            score=1.0 if ok else (passed / total if total else 0.0),
            engine="sandbox: " + ", ".join(f"{k}={v}" for k, v in sorted(report.isolation.items()) if k != "process"),
            info={"passed": passed, "total": total, "run": report.status, "sandbox_seconds": round(report.seconds, 4)},
        )
