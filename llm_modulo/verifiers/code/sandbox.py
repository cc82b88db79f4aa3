"""Run untrusted Python in a separate, limited process and report what it did, as data.

Layers, strongest first; each is used where this machine allows it and the rest still hold
where it does not (:meth:`Sandbox.isolation` says which are on):

- **process**: a fresh ``python -I -S -B`` in its own session (``start_new_session``), in a
  throw-away working directory, with a minimal environment; the whole process group is killed
  (``os.killpg``) at the end, whatever happened.
- **network namespace**: ``unshare --user --net --map-root-user`` where unprivileged user
  namespaces are allowed; the child then has no network interface but loopback-down.
- **resource limits** (set by the harness before any candidate code): RLIMIT_CPU, RLIMIT_AS,
  RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, no core files. RLIMIT_NPROC is not enforced for
  the real root user, which is why the next layer exists.
- **seccomp** (x86_64, aarch64; via ctypes in the harness, no root needed): fork/clone, exec,
  kill, sockets, ptrace and namespace syscalls fail with EPERM.
- **audit hook** (``sys.addaudithook`` in the child): refuses sockets, subprocesses, signals,
  ctypes, gc and tracing, writes outside the working directory and reads outside it and the
  standard library, with a clear ``PermissionError("sandbox: ...")``.
- **wall clock**: the parent kills the group when the run outlives ``wall_seconds``.

Results come back on a dedicated pipe, every line prefixed with a per-run nonce that is never
on the child's command line or environment. The child only reports what the function
*returned*; the caller compares with expected values the child never sees, so a candidate
cannot forge a pass without computing the right answers. A run that ends without the
harness's final ``done`` record (``os._exit(0)``, a signal, a crash) did not pass.

A sandbox that cannot start at all raises :class:`SandboxError` (a :class:`CriticError`).

What it does not do: file-system isolation at the kernel level (no mount namespace, no
chroot); writes and reads outside the working directory are stopped by the audit hook, which
CPython documents as no security boundary. Processes, signals and sockets are also stopped
by seccomp in the kernel; run the framework as an unprivileged user (or pass ``user=``) so that
file permissions and RLIMIT_NPROC add a kernel-level layer as well.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from llm_modulo.errors import CriticError
from llm_modulo.verifiers.code.codec import CodecError, encode
from llm_modulo.verifiers.code.report import (
    Call,
    CallRecord,
    RunReport,
    SandboxLimits,
    crash_message,
    report_from_records,
)

log = logging.getLogger(__name__)

HARNESS = Path(__file__).with_name("_harness.py")
STARTUP_SECONDS = 15.0  # for the interpreter to start and report (a loaded machine is slow)


class SandboxError(CriticError):
    """The sandbox itself could not start or report: terminal, not the candidate's fault."""


@lru_cache(maxsize=8)
def network_namespace_works(python: str) -> bool:
    """Whether ``unshare --user --net --map-root-user`` can start ``python`` on this machine."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return False
    try:
        done = subprocess.run(
            [unshare, "--user", "--net", "--map-root-user", python, "-I", "-S", "-c", "pass"],
            capture_output=True,
            timeout=STARTUP_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if done.returncode != 0:
        log.info("no network namespace for the sandbox: %s", done.stderr.decode(errors="replace").strip()[:200])
    return done.returncode == 0


class Sandbox:
    """Runs a candidate's source, then calls its entry function on given inputs, in a child process.

    ``network_namespace``: ``None`` uses one where available. ``seccomp`` and ``audit`` switch
    those layers (on by default; off only to test the other layers). ``user``: run the child
    as this user (needs root, and an interpreter that user can execute).
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        python: str | None = None,
        network_namespace: bool | None = None,
        seccomp: bool = True,
        audit: bool = True,
        user: int | str | None = None,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.python = python or sys.executable
        self.network_namespace = network_namespace
        self.seccomp = seccomp
        self.audit = audit
        self.user = user

    def _use_namespace(self) -> bool:
        if self.network_namespace is False:
            return False
        works = network_namespace_works(self.python)
        if self.network_namespace and not works:
            raise SandboxError("a network namespace was required but `unshare --user --net` does not work here")
        return works

    def isolation(self) -> dict[str, str]:
        """Which layers a run uses here (seccomp's actual state is reported per run)."""
        return {
            "process": "own session, killed as a group",
            "network": "namespace" if self._use_namespace() else ("audit hook" if self.audit else "none"),
            "seccomp": "requested" if self.seccomp else "off",
            "audit": "on" if self.audit else "off",
            "rlimits": "cpu, as, nproc, fsize, nofile" + (" (nproc not enforced for root)" if self._root() else ""),
        }

    def _root(self) -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0 and self.user is None

    def run(
        self,
        source: str,
        entry: str,
        calls: Sequence[Call] = (),
        mode: str = "exec",
        limits: SandboxLimits | None = None,
    ) -> RunReport:
        """Load ``source`` (``mode`` "exec": compiled from a string; "module": imported from a
        file), then call ``entry`` on each of ``calls``. Never raises for anything the candidate
        does; raises :class:`SandboxError` if the sandbox cannot start."""
        if mode not in ("exec", "module"):
            raise ValueError(f"unknown mode {mode!r}")
        limits = limits or self.limits
        try:
            encoded = [json.dumps(encode([list(c.args), dict(c.kwargs)])) for c in calls]
        except CodecError as exc:
            raise SandboxError(f"test inputs cannot be sent to the sandbox: {exc}") from exc
        nonce = secrets.token_hex(16)
        isolation = self.isolation()
        argv = [self.python, "-I", "-S", "-B", str(HARNESS)]
        if isolation["network"] == "namespace":
            argv = [shutil.which("unshare") or "unshare", "--user", "--net", "--map-root-user", *argv]
        workdir = tempfile.mkdtemp(prefix="llm-modulo-sandbox-")
        started = time.perf_counter()
        read_fd, write_fd = os.pipe()
        job = {
            "nonce": nonce,
            "fd": write_fd,
            "source": source,
            "entry": entry,
            "calls": encoded,
            "mode": mode,
            "limits": asdict(limits),
            "seccomp": self.seccomp,
            "audit": self.audit,
        }
        proc: subprocess.Popen[bytes] | None = None
        try:
            with tempfile.TemporaryFile() as log_file:
                extra: dict[str, Any] = {}
                if self.user is not None:
                    shutil.chown(workdir, user=self.user)
                    extra = {"user": self.user, "group": self.user, "extra_groups": []}
                try:
                    proc = subprocess.Popen(
                        argv,
                        stdin=subprocess.PIPE,
                        stdout=log_file,
                        stderr=log_file,
                        cwd=workdir,
                        env={"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir},
                        pass_fds=(write_fd,),
                        start_new_session=True,
                        **extra,
                    )
                except (OSError, subprocess.SubprocessError, ValueError) as exc:
                    raise SandboxError(f"the sandbox could not start {argv[0]}: {exc}") from exc
                finally:
                    os.close(write_fd)
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps(job).encode())
                    proc.stdin.close()
                except OSError:
                    pass  # the child died at once; the missing hello record says so below
                report = self._collect(proc, read_fd, nonce, limits)
                self._kill(proc)
                log_file.seek(0, os.SEEK_END)
                size = log_file.tell()
                log_file.seek(max(0, size - 4000))
                report.stderr = log_file.read().decode(errors="replace")
            report.returncode = proc.returncode
            report.seconds = time.perf_counter() - started
            report.isolation = {**isolation, **report.isolation}
            if report.status == "no_start":
                raise SandboxError(
                    f"the sandbox did not start (exit code {proc.returncode}): {report.stderr.strip()[-500:]}"
                )
            if report.status == "crashed" and not report.message:
                report.message = crash_message(report, limits)
            return report
        finally:
            if proc is not None and proc.poll() is None:
                self._kill(proc)
            os.close(read_fd)
            shutil.rmtree(workdir, ignore_errors=True)

    # -- pieces ----------------------------------------------------------------------------------
    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        """Kill the child's whole process group (its own session), then reap the child."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process SIGKILL cannot stop
            log.error("sandbox child %d survived SIGKILL", proc.pid)

    def _collect(self, proc: subprocess.Popen[bytes], fd: int, nonce: str, limits: SandboxLimits) -> RunReport:
        """Read nonce-tagged records until the pipe closes or a deadline passes."""
        prefix = (nonce + " ").encode()
        records: list[dict[str, Any]] = []
        forged = 0
        buffer = b""
        total = 0
        deadline = time.monotonic() + STARTUP_SECONDS
        timed_out = overflow = False
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                if not selector.select(timeout=left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > limits.output_bytes:
                    overflow = True
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if not line.startswith(prefix):
                        forged += 1
                        continue
                    try:
                        record = json.loads(line[len(prefix) :])
                    except ValueError:
                        forged += 1
                        continue
                    if not isinstance(record, dict):
                        forged += 1
                        continue
                    if record.get("event") == "hello" and not records:
                        deadline = time.monotonic() + limits.wall_seconds
                    records.append(record)
        if timed_out or overflow:
            self._kill(proc)
        else:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(proc)
        return report_from_records(records, forged, timed_out, overflow, limits)


__all__ = [
    "HARNESS",
    "STARTUP_SECONDS",
    "Call",
    "CallRecord",
    "RunReport",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "network_namespace_works",
]
