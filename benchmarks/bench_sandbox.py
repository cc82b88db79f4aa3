"""Per-candidate and per-test overhead of the code sandbox, against in-process exec and a bare subprocess.

    python benchmarks/bench_sandbox.py [--runs 30] [--tests 200]

Rows (median wall time over ``--runs``):
- ``sandbox``: CodeExecutionCritic.check on a trivial passing candidate with 1 test, and with
  ``--tests`` tests; per test = (many - one) / (tests - 1);
- ``sandbox, no netns``: the same without the ``unshare`` network namespace (where it is used);
- ``in-process exec``: the same check done by exec in a throw-away namespace in this process (the
  reference a sandbox is paid against; trusted fixture code only: a measurement, not the framework);
- ``bare subprocess``: ``subprocess.run([sys.executable, "-c", "pass"])``, and the same with
  ``-I -S`` (no site packages: how the sandbox starts its interpreter).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from llm_modulo.types import Candidate, Task
from llm_modulo.verifiers.code import CodeCase, CodeExecutionCritic, CodeSuite, Sandbox, matches
from llm_modulo.verifiers.code.sandbox import network_namespace_works

SOURCE = "def double(x):\n    return 2 * x\n"


def _suite(tests: int) -> CodeSuite:
    return CodeSuite(entry="double", cases=tuple(CodeCase(args=(i,), expected=2 * i) for i in range(tests)))


class _Payload:
    def __init__(self, suite: CodeSuite) -> None:
        self.suite = suite


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _sandboxed(sandbox: Sandbox, tests: int) -> Callable[[], object]:
    critic = CodeExecutionCritic(sandbox)
    task = Task(id="bench", domain="code", payload=_Payload(_suite(tests)))
    candidate = Candidate(text=SOURCE, answer=SOURCE)

    def run() -> object:
        verdict = critic.check(task, candidate)
        assert verdict.valid, verdict.violations
        return verdict

    return run


def _in_process(tests: int) -> Callable[[], object]:
    suite = _suite(tests)

    def run() -> object:
        namespace: dict[str, object] = {}
        exec(compile(SOURCE, "<fixture>", "exec"), namespace)  # trusted fixture code: the reference
        fn = namespace[suite.entry]
        assert all(matches(fn(*c.args), c.expected) for c in suite.cases)  # type: ignore[operator]
        return namespace

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tests", type=int, default=200)
    args = parser.parse_args()
    many = max(2, args.tests)
    rows: list[tuple[str, float, float | None]] = []  # (name, ms per candidate, ms per test)

    def measure(name: str, make: Callable[[int], Callable[[], object]]) -> None:
        one = _median_ms(make(1), args.runs)
        lots = _median_ms(make(many), args.runs)
        rows.append((name, one, (lots - one) / (many - 1)))

    measure("sandbox", lambda n: _sandboxed(Sandbox(), n))
    if network_namespace_works(sys.executable):
        measure("sandbox, no netns", lambda n: _sandboxed(Sandbox(network_namespace=False), n))
    measure("in-process exec", _in_process)
    bare = _median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.runs)
    rows.append(("bare subprocess", bare, None))
    isolated = _median_ms(lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True), args.runs)
    rows.append(("bare subprocess -I -S", isolated, None))

    ref_exec = next(ms for name, ms, _ in rows if name == "in-process exec")
    print(f"{args.runs} runs each, median; per test from 1 vs {many} tests; python {sys.version.split()[0]}")
    print(f"isolation: {Sandbox().isolation()}")
    print()
    print(
        f"| {'check':<22} | {'ms/candidate':>12} | {'ms/test':>8} | {'x in-process':>12} | {'x bare subprocess':>17} |"
    )
    print(f"|{'-' * 24}|{'-' * 14}|{'-' * 10}|{'-' * 14}|{'-' * 19}|")
    for name, ms, per_test in rows:
        per = f"{per_test:.3f}" if per_test is not None else "-"
        print(f"| {name:<22} | {ms:>12.2f} | {per:>8} | {ms / ref_exec:>12.0f} | {ms / bare:>17.2f} |")


if __name__ == "__main__":
    main()
