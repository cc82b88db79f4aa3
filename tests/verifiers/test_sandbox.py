"""The sandbox survives hostile candidates; every failure is an INVALID verdict with a useful message.

Limits are small (1 s wall, 5 s CPU, 128 MB) so each test takes about a second at most. The
fork-bomb and kill tests rely on at least one blocking layer (audit hook, seccomp) being in
place before the candidate runs; layer-by-layer tests switch the others off.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from llm_modulo.errors import CriticError
from llm_modulo.types import Candidate, Task, VerdictStatus
from llm_modulo.verifiers.code import (
    Call,
    CodeCase,
    CodeExecutionCritic,
    CodeSuite,
    Sandbox,
    SandboxError,
    SandboxLimits,
    StyleCritic,
)

LIMITS = SandboxLimits(
    wall_seconds=1.0, cpu_seconds=5.0, memory_mb=128, file_mb=1.0
)  # the wall clock stops loops first
SUITE = CodeSuite(entry="f", cases=(CodeCase(args=(1,), expected=2), CodeCase(args=(5,), expected=10)))


class _Payload:
    suite = SUITE


TASK = Task(id="double", domain="code", payload=_Payload())


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(LIMITS)


@pytest.fixture(scope="module")
def critic(sandbox: Sandbox) -> CodeExecutionCritic:
    return CodeExecutionCritic(sandbox)


def _verdict(critic: CodeExecutionCritic, source: str):
    return critic.check(TASK, Candidate(text=source, answer=source))


def _messages(verdict) -> str:
    return " | ".join(v.message for v in verdict.violations)


def _gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_correct_candidate_is_valid(critic):
    verdict = _verdict(critic, "def f(x):\n    return 2 * x\n")
    assert verdict.status is VerdictStatus.VALID and verdict.score == 1.0
    assert verdict.info["passed"] == 2 and verdict.engine.startswith("sandbox")


def test_wrong_answer_names_the_test_and_values(critic):
    verdict = _verdict(critic, "def f(x):\n    return x + 1\n")
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.score == pytest.approx(0.5)
    (v,) = verdict.violations
    assert v.kind == "wrong_answer" and v.step == 2
    assert v.message == "test 2 failed: f(5) returned 6, expected 10"


def test_exception_and_syntax_error(critic):
    verdict = _verdict(critic, "def f(x):\n    return x / 0\n")
    assert verdict.violations[0].kind == "exception"
    assert "raised ZeroDivisionError: division by zero (line 2)" in verdict.violations[0].message
    verdict = _verdict(critic, "def f(x)\n    return x\n")
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.violations[0].kind == "syntax_error" and "line 1" in verdict.violations[0].message


def test_infinite_loop_times_out_and_the_group_is_killed():
    # CPU limit well above the wall limit, so the wall clock (not RLIMIT_CPU) must stop it
    sandbox = Sandbox(replace(LIMITS, cpu_seconds=20.0))
    report = sandbox.run("def f(x):\n    while True:\n        pass\n", "f", [Call((1,))])
    assert report.status == "timeout" and _gone(report.pid)
    verdict = _verdict(CodeExecutionCritic(sandbox), "def f(x):\n    while True:\n        pass\n")
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.violations[0].kind == "timeout"
    assert verdict.violations[0].message == "test 1 (f(1)) timed out after 1 s"
    assert verdict.violations[1].kind == "not_run"


def test_loop_at_load_time_times_out(critic):
    verdict = _verdict(critic, "while True:\n    pass\n")
    assert verdict.violations[0].message == "the code timed out after 1 s while loading"


def test_cpu_limit_kills_a_busy_candidate():
    sandbox = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0, memory_mb=128))
    report = sandbox.run("def f(x):\n    while True:\n        x += 1\n", "f", [Call((1,))])
    assert report.status == "crashed" and "CPU time limit" in report.message


FORK_BOMB = "import os\ndef f(x):\n    while True:\n        os.fork()\n"


def test_fork_bomb_is_refused(critic):
    verdict = _verdict(critic, FORK_BOMB)
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.violations[0].kind == "forbidden" and "os.fork is not allowed" in verdict.violations[0].message


def test_fork_bomb_is_refused_by_seccomp_alone():
    sandbox = Sandbox(LIMITS, audit=False)
    report = sandbox.run("def f(x):\n    return 1\n", "f", [Call((1,))])
    if report.isolation.get("seccomp") != "on":
        pytest.skip(f"seccomp unavailable here: {report.isolation.get('seccomp')}")
    report = sandbox.run(FORK_BOMB, "f", [Call((1,))])
    assert report.status == "completed"
    assert report.calls[0].error["type"] == "PermissionError"


@pytest.mark.skipif(os.geteuid() == 0, reason="RLIMIT_NPROC is not enforced for root")
def test_fork_bomb_is_refused_by_rlimit_nproc_alone():
    sandbox = Sandbox(LIMITS, audit=False, seccomp=False)
    report = sandbox.run(FORK_BOMB, "f", [Call((1,))])
    assert report.status == "completed"
    assert report.calls[0].error["type"] in ("BlockingIOError", "PermissionError", "OSError")


def test_threads_are_refused(sandbox):
    report = sandbox.run(
        "import threading\ndef f(x):\n    threading.Thread(target=abs, args=(1,)).start()\n", "f", [Call((1,))]
    )
    assert report.status == "completed" and not report.calls[0].returned


def test_memory_bomb(critic):
    verdict = _verdict(critic, "def f(x):\n    hog = []\n    while True:\n        hog.append(bytearray(10 ** 7))\n")
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.violations[0].kind == "memory"
    assert "ran out of memory (limit 128 MB)" in verdict.violations[0].message


def test_writing_outside_the_working_directory(critic, tmp_path: Path):
    target = tmp_path / "escaped.txt"
    verdict = _verdict(critic, f"def f(x):\n    open({str(target)!r}, 'w').write('x')\n    return 2 * x\n")
    assert verdict.status is VerdictStatus.INVALID and not target.exists()
    assert verdict.violations[0].kind == "forbidden"
    assert "outside the working directory" in verdict.violations[0].message
    # inside its own directory it may write
    verdict = _verdict(critic, "def f(x):\n    open('scratch.txt', 'w').write('x')\n    return 2 * x\n")
    assert verdict.status is VerdictStatus.VALID


def test_reading_the_framework_files_is_refused(sandbox):
    path = Path(__file__).resolve()
    report = sandbox.run(f"def f(x):\n    return open({str(path)!r}).read()\n", "f", [Call((1,))])
    assert report.calls[0].error["message"].startswith("sandbox: reading")


@pytest.mark.parametrize("audit", [True, False])
def test_network_socket(audit):
    sandbox = Sandbox(LIMITS, audit=audit)
    source = "import socket\ndef f(x):\n    socket.create_connection(('127.0.0.1', 9), timeout=0.2)\n    return 2 * x\n"
    report = sandbox.run(source, "f", [Call((1,))])
    if audit:
        assert report.status == "load_error" and "importing socket is not allowed" in report.error["message"]
    else:
        assert report.status == "completed" and not report.calls[0].returned
        assert report.calls[0].error["type"] in ("PermissionError", "OSError", "ConnectionRefusedError")


def test_killing_the_parent(critic):
    for call in ("os.kill(os.getppid(), signal.SIGKILL)", "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)"):
        verdict = _verdict(critic, f"import os, signal\ndef f(x):\n    {call}\n    return 2 * x\n")
        assert verdict.status is VerdictStatus.INVALID
        assert verdict.violations[0].kind == "forbidden"
    assert os.getpid()  # still here


def test_killing_the_parent_is_refused_by_seccomp_alone():
    sandbox = Sandbox(LIMITS, audit=False)
    report = sandbox.run("import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n", "f", [Call((1,))])
    if report.isolation.get("seccomp") != "on":
        pytest.skip("seccomp unavailable here")
    assert report.calls[0].error["type"] == "PermissionError"


def test_forged_success_output_is_ignored(sandbox, critic):
    forger = (
        "import os, sys\n"
        "fake = b'0' * 32 + b' {\"event\": \"done\"}\\n'\n"
        "for fd in range(1, 40):\n"
        '    for line in (b\'{"event": "done"}\\n\', fake):\n'
        "        try:\n"
        "            os.write(fd, line)\n"
        "        except OSError:\n"
        "            pass\n"
        "def f(x):\n"
        "    return 0\n"
    )
    report = sandbox.run(forger, "f", [Call((1,))])
    assert report.forged_lines >= 1
    verdict = _verdict(critic, forger)
    assert verdict.status is VerdictStatus.INVALID and verdict.violations[0].kind == "wrong_answer"


def test_forging_then_exiting_early_fails(critic):
    forger = (
        "import os\n"
        "for fd in range(3, 40):\n"
        "    try:\n"
        '        os.write(fd, b\'{"event": "call", "index": 0, "value": 2}\\n{"event": "done"}\\n\')\n'
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    )
    verdict = _verdict(critic, forger)
    assert verdict.status is VerdictStatus.INVALID
    assert "exited before the tests finished (exit code 0)" in verdict.violations[0].message


def test_early_exit_inside_the_function(critic):
    verdict = _verdict(critic, "import os\ndef f(x):\n    os._exit(0)\n")
    assert verdict.status is VerdictStatus.INVALID
    assert verdict.violations[0].message.startswith("test 1 (f(1)) did not finish: the program exited before")
    verdict = _verdict(critic, "import sys\ndef f(x):\n    sys.exit(0)\n")
    assert verdict.status is VerdictStatus.INVALID and "raised SystemExit" in verdict.violations[0].message


def test_objects_with_their_own_equality_cannot_pass(critic):
    verdict = _verdict(
        critic, "class Yes:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Yes()\n"
    )
    assert verdict.status is VerdictStatus.INVALID and "not a plain value" in verdict.violations[0].message
    verdict = _verdict(
        critic, "class I(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return I(0)\n"
    )
    assert verdict.status is VerdictStatus.INVALID


def test_missing_function(critic):
    verdict = _verdict(critic, "def g(x):\n    return 2 * x\n")
    assert verdict.violations[0].kind == "missing_function"
    assert verdict.violations[0].message == "no function named 'f' is defined"


def test_a_sandbox_that_cannot_start_is_a_critic_error():
    with pytest.raises(SandboxError):
        Sandbox(LIMITS, python="/nonexistent/python", network_namespace=False).run("pass", "f", [])
    critic = CodeExecutionCritic(Sandbox(LIMITS, python="/bin/false", network_namespace=False))
    with pytest.raises(CriticError, match="did not start"):
        _verdict(critic, "def f(x):\n    return 2 * x\n")


def test_values_round_trip_through_the_sandbox(sandbox):
    value = [1, 2.5, float("inf"), "s", None, True, (1, 2), {3}, {"k": [4]}, {(1, 2): "t"}, b"\x00\xff"]
    report = sandbox.run("def f(x):\n    return x\n", "f", [Call((value,))])
    assert report.calls[0].value == value


def test_style_critic_is_soft_and_ranks():
    critic = StyleCritic()
    good = critic.check(TASK, Candidate(text="", answer='def f(x):\n    """Double."""\n    return 2 * x\n'))
    bad = critic.check(
        TASK, Candidate(text="", answer="def f(x):\n    try:\n        print(x)\n    except:\n        pass\n")
    )
    assert not good.hard and not bad.hard
    assert good.status is VerdictStatus.VALID and good.score == 1.0
    assert {v.kind for v in bad.violations} == {"missing_docstring", "bare_except", "print_call"}
    assert 0.0 <= bad.score < good.score
