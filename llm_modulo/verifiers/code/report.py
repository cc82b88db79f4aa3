"""What a sandboxed run did, as data: the limits and calls sent in, and the nonce-tagged records
the harness sent back read into a :class:`RunReport` (with a plain message for a crash)."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from llm_modulo.verifiers.code.codec import CodecError, decode


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits. ``wall_seconds`` counts from the moment the harness is ready."""

    wall_seconds: float = 5.0
    cpu_seconds: float = 4.0
    memory_mb: int = 512
    file_mb: float = 4.0
    open_files: int = 64
    processes: int = 1  # RLIMIT_NPROC: no new processes or threads
    output_bytes: int = 4_000_000  # result-channel bytes the parent accepts


@dataclass(frozen=True)
class Call:
    """One call of the entry function."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CallRecord:
    """What one call did: returned ``value``, or raised ``error`` (type, builtin, message, line)."""

    index: int
    returned: bool
    value: Any = None
    error: dict[str, Any] | None = None
    unencodable: str | None = None  # it returned something that cannot cross the boundary


@dataclass
class RunReport:
    """The outcome of one sandboxed run, as data.

    ``status``: ``completed`` (every call made), ``syntax_error``, ``load_error`` (the
    definitions raised), ``missing_entry``, ``timeout``, ``crashed`` (the process ended before
    the harness finished: early exit, signal, CPU or memory limit) or ``output_limit``.
    """

    status: str
    calls: list[CallRecord] = field(default_factory=list)
    loaded: bool = False  # the definitions loaded and the entry function was found
    message: str = ""
    error: dict[str, Any] | None = None
    returncode: int | None = None
    seconds: float = 0.0
    stderr: str = ""
    isolation: dict[str, str] = field(default_factory=dict)
    forged_lines: int = 0
    pid: int | None = None  # the child's process id (its process group is killed at the end)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["calls"] = [
            {k: v for k, v in c.items() if k != "value"} | {"value": repr(c["value"])[:200]} for c in data["calls"]
        ]
        return data


def report_from_records(
    records: list[dict[str, Any]], forged: int, timed_out: bool, overflow: bool, limits: SandboxLimits
) -> RunReport:
    """The run's outcome from the harness's records (in order; ``forged``: lines without the nonce).

    No ``hello`` first means the sandbox never started (``no_start``); a tampered record makes
    the run ``crashed``, never passed.
    """
    if not records or records[0].get("event") != "hello":
        if timed_out:
            return RunReport(status="no_start", message="the sandbox did not report within its startup time")
        return RunReport(status="no_start")
    hello = records[0]
    report = RunReport(status="crashed", forged_lines=forged, pid=hello.get("pid"))
    report.isolation = {"seccomp": str(hello.get("seccomp"))}
    if hello.get("rlimits") != "on":
        report.isolation["rlimits"] = str(hello.get("rlimits"))
    try:
        for record in records[1:]:
            event = record.get("event")
            if event == "call":
                error = record.get("error")
                report.calls.append(
                    CallRecord(
                        index=int(record["index"]),
                        returned=error is None and "unencodable" not in record,
                        value=decode(record.get("value")),
                        error=error,
                        unencodable=record.get("unencodable"),
                    )
                )
            elif event == "loaded":
                report.loaded = True
            elif event == "done":
                report.status = "completed"
            elif event == "syntax_error":
                report.status = "syntax_error"
                report.error = {"message": record.get("message"), "line": record.get("line")}
            elif event == "load_error":
                report.status = "load_error"
                report.error = record.get("error")
            elif event == "missing_entry":
                report.status = "missing_entry"
                report.error = {"found": record.get("found")}
    except (CodecError, KeyError, TypeError, ValueError) as exc:
        return RunReport(status="crashed", message=f"the result channel was tampered with ({exc})", forged_lines=forged)
    if report.status in ("crashed", "completed") and timed_out:
        report.status = "timeout"
        report.message = f"timed out after {limits.wall_seconds:g} s"
    elif overflow:
        report.status = "output_limit"
        report.message = f"produced more than {limits.output_bytes} bytes of results"
    return report


def crash_message(report: RunReport, limits: SandboxLimits) -> str:
    """Why a run ended before the harness finished, from its exit code and stderr tail."""
    rc = report.returncode
    if "MemoryError" in report.stderr:
        return f"ran out of memory (limit {limits.memory_mb} MB)"
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and "SIGXCPU" in report.stderr):
            return f"exceeded the CPU time limit of {limits.cpu_seconds:g} s"
        if sig == signal.SIGKILL:
            return "was killed (SIGKILL): CPU or memory limit"
        if sig == signal.SIGSYS:
            return "was killed for a forbidden system call"
        return f"was killed by {_signal_name(sig)}"
    tail = report.stderr.strip().splitlines()[-1:] or [""]
    detail = f": {tail[0][:200]}" if tail[0] else ""
    return f"exited before the tests finished (exit code {rc}){detail}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


__all__ = ["Call", "CallRecord", "RunReport", "SandboxLimits", "crash_message", "report_from_records"]
