"""The code-tasks domain: write a Python function; the sandboxed hidden tests certify it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from llm_modulo.domains.code.extract import extract_code
from llm_modulo.domains.code.grammar import return_lines
from llm_modulo.domains.code.tasks import DIFFICULTIES, TASKS_FILE, CodeTask, load_tasks
from llm_modulo.errors import CriticError, UnknownNameError
from llm_modulo.feedback import Wording
from llm_modulo.protocols import Critic, Feedback, LineConstraint, Prompt
from llm_modulo.types import Candidate, Task, Verdict, Violation
from llm_modulo.verifiers.code.sandbox import CallRecord, Sandbox, SandboxLimits
from llm_modulo.verifiers.code.suite import CodeCase, short_repr

FENCE_OPEN = "```python\n"
FENCE_END = "```"
INSTRUCTIONS = (
    "Write the Python function specified below. Use only the standard library.\n"
    "Answer with the complete function (its def line and body) in one ```python code block."
)
REFERENCE_ENGINE = "sandbox re-run (module import) against the reference solution"


def _docstring_block(task: CodeTask) -> str:
    lines = task.docstring.splitlines()
    for case in task.examples:
        lines += ["", f">>> {case.render(task.name, limit=10_000)}", repr(case.expected)]
    body = "\n".join("    " + line if line else "" for line in lines)
    return f'{task.signature}\n    """{body.lstrip()}\n    """'


def _canonical(value: Any, compare: str) -> Any:
    """A comparison key written independently of ``suite.matches``: type-tagged, floats to 9 digits."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int):
        return ("number", float(value)) if compare == "approx" else ("int", value)
    if isinstance(value, float):
        return (
            "number" if compare == "approx" else "float",
            float(f"{value:.9g}") if compare == "approx" else repr(value),
        )
    if isinstance(value, (list, tuple)):
        items = [_canonical(v, "exact" if compare == "unordered" else compare) for v in value]
        if compare == "unordered":
            items.sort(key=repr)
        return (type(value).__name__, tuple(items))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_canonical(v, compare) for v in value), key=repr)))
    if isinstance(value, dict):
        return (
            "dict",
            tuple(sorted(((_canonical(k, "exact"), _canonical(v, compare)) for k, v in value.items()), key=repr)),
        )
    return ("other", repr(value))


def _same_outcome(got: CallRecord, want: CallRecord, case: CodeCase) -> bool:
    if want.error is not None:  # the reference raises: the candidate must raise the same built-in type
        return (
            got.error is not None and got.error.get("type") == want.error.get("type") and bool(got.error.get("builtin"))
        )
    if not got.returned:
        return False
    return bool(_canonical(got.value, case.compare) == _canonical(want.value, case.compare))


class CodeDomain:
    """A :class:`~llm_modulo.protocols.Domain` of Python function-writing tasks.

    Answers are source code. The hard critic runs the hidden tests in a :class:`Sandbox`; a
    soft critic comments on style. Implements the optional hooks ``load``, ``instances``,
    ``normalize``, ``reference_check`` and ``search_guide``.
    """

    name = "code"
    wording = Wording(rejected="The code does not pass the tests.", accepted="The code passes the tests.")
    instance_sets = ("all", *DIFFICULTIES)

    def __init__(
        self,
        tasks_file: str | Path = TASKS_FILE,
        limits: SandboxLimits | None = None,
        style_critic: bool = True,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.tasks_file = Path(tasks_file)
        self.sandbox = sandbox or Sandbox(limits or SandboxLimits())
        self.style_critic = style_critic
        self._tasks = {t.name: t for t in load_tasks(str(self.tasks_file))}

    # -- instances -------------------------------------------------------------------------------
    def instances(self, set_name: str = "all") -> list[str]:
        """Task names of a set: "all", "easy" or "hard", in file order."""
        if set_name == "all":
            return list(self._tasks)
        if set_name in DIFFICULTIES:
            return [n for n, t in self._tasks.items() if t.difficulty == set_name]
        raise UnknownNameError("code task set", set_name, ["all", *DIFFICULTIES])

    def load(self, instance: str) -> Task:
        task = self._tasks.get(instance)
        if task is None:
            raise UnknownNameError("code task", instance, list(self._tasks))
        return Task(id=task.name, domain=self.name, payload=task, meta={"difficulty": task.difficulty})

    # -- prompts and answers ---------------------------------------------------------------------
    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        spec: CodeTask = task.payload
        text = f"{INSTRUCTIONS}\n\n{FENCE_OPEN}{_docstring_block(spec)}\n{FENCE_END}"
        messages: list[dict[str, str]] = [{"role": "user", "content": text}]
        for item in feedback:
            messages.append({"role": "assistant", "content": item.answer})
            messages.append({"role": "user", "content": f"{item.critique}\nPlease write the corrected function."})
        return Prompt(messages=tuple(messages), prefill=FENCE_OPEN + prefill)

    def max_answer_chars(self, task: Task) -> int:
        """The answer's characters at most (``max_tokens="auto"``): the signature and docstring as the
        prompt shows them (models copy them), four times the reference solution's length for the
        body (a working function may be longer than ours), and the closing fence."""
        spec: CodeTask = task.payload
        return len(_docstring_block(spec)) + 4 * len(spec.reference) + len(FENCE_END) + 2

    def parse(self, task: Task, text: str) -> Candidate:
        code = extract_code(text, task.payload.name)
        if code is None:
            return Candidate(text=text, answer=None, parse_errors=["no Python code found in the answer"])
        return Candidate(text=text, answer=code)

    def normalize(self, task: Task, candidate: Candidate) -> Hashable | None:
        """Self-consistency's vote key: the code's syntax tree (formatting and comments ignored)."""
        if not candidate.answer:
            return None
        try:
            return ast.dump(ast.parse(str(candidate.answer)))
        except (SyntaxError, ValueError):
            return None

    # -- critics ---------------------------------------------------------------------------------
    def critics(self, task: Task) -> list[Critic]:
        from llm_modulo.verifiers.code.critic import CodeExecutionCritic
        from llm_modulo.verifiers.code.style import StyleCritic

        critics: list[Critic] = [CodeExecutionCritic(self.sandbox)]
        if self.style_critic:
            critics.append(StyleCritic())
        return critics

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        return violation.message or violation.kind.replace("_", " ")

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True) -> str:
        """Code has no certified partial answer: nothing is kept."""
        return ""

    # -- grammar for constrained decoding and the random control ------------------------------
    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        """The ``def`` line, then one line from a finite pool of ``return`` lines (see
        :mod:`~llm_modulo.domains.code.grammar`), then the closing fence. The same grammar with or
        without ``executable``: every answer in it runs; only the tests tell right from wrong."""
        spec: CodeTask = task.payload
        returns = return_lines(spec.signature)
        kept = tuple(line for line in prefix.splitlines() if line.strip())
        if kept and kept[0] != spec.signature:
            kept = ()

        def next_lines(generated: tuple[str, ...]) -> tuple[list[str], bool]:
            lines = (*kept, *generated)
            if not lines:
                return [spec.signature], False
            if len(lines) == 1:
                return list(returns), False
            return [], True

        return LineConstraint(
            lines=(spec.signature, *returns), end=FENCE_END, max_lines=2 - len(kept), next_lines=next_lines
        )

    def search_guide(self, task: Task, heuristic: str = "none") -> Callable[[tuple[str, ...]], tuple[Hashable, float]]:
        """No distance estimate exists for code: every node scores 0 (any ``heuristic``), so the
        proposer alone orders a search; the sandboxed tests are the goal test."""
        return lambda lines: (lines, 0.0)

    # -- independent re-check --------------------------------------------------------------------
    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        """(valid?, engine): the hidden inputs run in fresh sandbox processes, the answer loaded by
        import from a file (not the critic's compile-and-exec), its outputs compared with the
        task's reference solution's outputs by a separate comparison."""
        spec: CodeTask = task.payload
        calls = [c.call() for c in spec.suite.cases]
        want = self.sandbox.run(spec.reference, spec.name, calls, mode="exec")
        if want.status != "completed" or len(want.calls) != len(calls):
            raise CriticError(
                f"the reference solution of {spec.name!r} did not complete ({want.status}: {want.message})"
            )
        if not answer:
            return False, REFERENCE_ENGINE
        got = self.sandbox.run(str(answer), spec.name, calls, mode="module")
        if got.status != "completed" or len(got.calls) != len(calls):
            return False, REFERENCE_ENGINE
        ok = all(_same_outcome(g, w, c) for g, w, c in zip(got.calls, want.calls, spec.suite.cases, strict=False))
        return ok, REFERENCE_ENGINE


def describe_case(task: CodeTask, case: CodeCase) -> str:
    """A test as one line, e.g. ``f([]) == 0``."""
    tail = f"raises {case.raises}" if case.raises else f"== {short_repr(case.expected)}"
    return f"{case.render(task.name)} {tail}"


def code_tasks(
    tasks_file: str | Path = TASKS_FILE,
    limits: SandboxLimits | dict[str, Any] | None = None,
    wall_seconds: float | None = None,
    memory_mb: int | None = None,
    cpu_seconds: float | None = None,
    style_critic: bool = True,
    sandbox: Sandbox | None = None,
) -> CodeDomain:
    """Python function-writing tasks checked by their hidden tests in a sandbox. Options:
    ``tasks_file`` (a YAML file of tasks), ``limits`` (:class:`SandboxLimits` or a dict of its
    fields), ``wall_seconds``, ``memory_mb``, ``cpu_seconds`` (shortcuts into the limits),
    ``style_critic`` (add the soft style critic; default True)."""
    if isinstance(limits, dict):
        limits = SandboxLimits(**limits)
    shortcuts: dict[str, Any] = {  # keyword arguments of replace()
        k: v
        for k, v in (("wall_seconds", wall_seconds), ("memory_mb", memory_mb), ("cpu_seconds", cpu_seconds))
        if v is not None
    }
    if shortcuts:
        limits = replace(limits or SandboxLimits(), **shortcuts)
    return CodeDomain(tasks_file=tasks_file, limits=limits, style_critic=style_critic, sandbox=sandbox)
