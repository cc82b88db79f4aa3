"""Game of 24 for the loop: prompts, answer parsing, the z3 critic, critiques, the answer grammar.

Besides the :class:`~llm_modulo.protocols.Domain` protocol it implements the optional hooks:
``load``/``instances`` (ranks of Tree of Thoughts' puzzles, or a puzzle the user writes),
``normalize``, ``judge_prompt``/``judge_constraint``, ``rejected_continuation``,
``reference_check`` (exact Fraction evaluation, independent of z3), ``search_guide`` and
``imitation_target`` (training: an exact solution, :mod:`.training`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.feedback import Wording
from llm_modulo.protocols import Critic, Feedback, LineConstraint, Prompt
from llm_modulo.types import Candidate, Task, Verdict, Violation

from . import check
from .arith import ExpressionError, canonical_key, parse_expression, render, value_text
from .instances import MAX_NUMBERS, instance_names, resolve
from .parse import END, parse_answer, parse_step
from .puzzle import TARGET, Move, Puzzle, State, expression_of, longest_step, moves, solvable, state_of

INSTRUCTIONS = (
    "Use numbers and basic arithmetic operations (+ - * /) to obtain 24. Each step, you are only "
    "allowed to choose two of the remaining numbers to obtain a new number. Write one step per line "
    "in the form 'a + b = c (left: ...)', listing the numbers left after the step. When one number is "
    "left, write the answer as one expression that uses each input number exactly once, in the form "
    f"'Answer: (expression) = 24', then {END}."
)
STEPS_HEADER = "Steps:"
ANSWER_PREFIX = "Answer: "
JUDGE_QUESTION = "Is this answer correct? Answer yes or no, then explain."
JUDGE_YES = "Yes, the answer is correct."
JUDGE_NO = "No, the answer is not correct."
UNREACHABLE = 1000.0  # the search estimate of a state from which 24 cannot be made
HEURISTICS = ("relaxed-plan", "goal-count", "none")
# Worked examples (Tree of Thoughts' first two): numbers and steps (a, op, b); the second
# serves when the task is the first.
EXAMPLES: tuple[tuple[tuple[int, ...], tuple[tuple[int, str, int], ...]], ...] = (
    ((4, 4, 6, 8), ((4, "+", 8), (6, "-", 4), (2, "*", 12))),
    ((2, 9, 10, 12), ((2, "*", 12), (10, "-", 9), (1, "*", 24))),
)

Raw = tuple[Fraction, str, Fraction, Fraction]


def answer_line(start: Sequence[Fraction], raw: Sequence[Raw], target: Fraction = TARGET) -> str:
    """The grammar's answer line for steps ``raw`` from ``start``: the expression they build."""
    tree = expression_of(start, raw)
    return f"{ANSWER_PREFIX}{render(tree) if tree is not None else value_text(start[0])} = {value_text(target)}"


def worked_answer(numbers: Sequence[int], steps: Sequence[tuple[int, str, int]]) -> str:
    """Step lines and the answer line of a worked example, as the grammar writes them."""
    pool = [Fraction(x) for x in numbers]
    lines, raw = [], []
    for a, op, b in steps:
        move = _move(state_of(pool), Fraction(a), op, Fraction(b))
        if move is None:
            raise ValueError(f"the example step {a} {op} {b} is not a move from {pool}")
        lines.append(move.line)
        raw.append((move.a, op, move.b, move.result))
        pool = list(move.left)
    lines.append(answer_line([Fraction(x) for x in numbers], raw))
    return "\n".join(lines) + "\n"


def _move(state: State, a: Fraction, op: str, b: Fraction) -> Move | None:
    """The grammar's move for ``a op b`` from ``state`` (either operand order for + and *)."""
    for move in moves(state):
        if move.op == op and ((move.a, move.b) == (a, b) or (op in "+*" and (move.a, move.b) == (b, a))):
            return move
    return None


class Game24Domain:
    """A :class:`~llm_modulo.protocols.Domain` for the Game of 24, checked by the z3 critic."""

    name = "game24"
    wording = Wording(rejected="The answer is not correct.", accepted="The answer is correct.")
    instance_sets = ("test", "all")

    def __init__(self, one_shot: bool = True) -> None:
        self.one_shot = one_shot

    # -- tasks -------------------------------------------------------------------------------------
    def make_task(self, numbers: Sequence[int], rank: int | None = None) -> Task:
        numbers = tuple(int(x) for x in numbers)
        if not 1 <= len(numbers) <= MAX_NUMBERS or any(x < 0 for x in numbers):
            raise InputError(
                f"a Game-of-24 puzzle needs 1 to {MAX_NUMBERS} non-negative whole numbers, not {list(numbers)}"
            )
        task_id = str(rank) if rank is not None else " ".join(str(x) for x in numbers)
        meta: dict[str, Any] = {"numbers": list(numbers), **({"rank": rank} if rank is not None else {})}
        return Task(id=task_id, domain=self.name, payload=Puzzle(numbers, rank), meta=meta)

    def load(self, instance: str) -> Task:
        """A rank of Tree of Thoughts' puzzles ("901") or an explicit puzzle ("4 4 4 4", "4,4,4,4")."""
        numbers, rank = resolve(instance)
        return self.make_task(numbers, rank)

    def instances(self, set_name: str) -> list[str]:
        """ "test": ranks 901-1000 (Tree of Thoughts' test set); "all": every rank."""
        return instance_names(set_name)

    # -- prompts -----------------------------------------------------------------------------------
    def _example(self, task: Task) -> str | None:
        if not self.one_shot:
            return None
        for numbers, steps in EXAMPLES:
            if sorted(numbers) != sorted(task.payload.numbers):
                body = worked_answer(numbers, steps)
                return f"Input: {' '.join(map(str, numbers))}\n{STEPS_HEADER}\n{body}{END}"
        return None

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        parts = [INSTRUCTIONS]
        example = self._example(task)
        if example:
            parts.append(example)
        parts.append(f"Input: {task.payload.text}")
        messages: list[dict[str, str]] = [{"role": "user", "content": "\n".join(parts)}]
        for item in feedback:
            messages.append({"role": "assistant", "content": item.answer})
            messages.append({"role": "user", "content": f"{item.critique}\nPlease give a corrected answer."})
        return Prompt(messages=tuple(messages), prefill=f"{STEPS_HEADER}\n{prefill}")

    def max_answer_chars(self, task: Task) -> int:
        """The answer's characters at most (``max_tokens="auto"``): n - 1 times the longest step line
        the puzzle allows, then the answer line (each number, an operator and parentheses per step), the end marker."""
        numbers = task.payload.numbers
        answer = len(f"{ANSWER_PREFIX} = {value_text(TARGET)}") + sum(len(str(x)) for x in numbers) + 5 * len(numbers)
        return (len(numbers) - 1) * (longest_step(task.payload.state) + 1) + answer + len(END) + 1

    # -- answers -----------------------------------------------------------------------------------
    def parse(self, task: Task, text: str) -> Candidate:
        """Steps and the answer expression (see :func:`~llm_modulo.domains.game24.parse.parse_answer`)."""
        answer, errors = parse_answer(task.payload.numbers, text)
        return Candidate(text=text, answer=answer, parse_errors=errors)

    def critics(self, task: Task) -> list[Critic]:
        from llm_modulo.verifiers.smt import SMTCritic

        from .encoding import Game24Encoding

        return [SMTCritic(Game24Encoding())]

    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        """(valid?, engine) by exact Fraction evaluation of the expression and the steps, without z3."""
        return check.reference_check(task.payload.numbers, answer), check.ENGINE

    # -- training (:mod:`.training`) ----------------------------------------------------------------
    def imitation_target(self, task: Task, *, rng: Any = None, **options: Any) -> tuple[str, dict[str, Any]] | None:
        """(completion, figures): an exact solution, moves tried in ``rng``'s order (a ``random.Random``
        for the whole run; the solver's order without one); other options are not used here."""
        from .training import imitation_target

        return imitation_target(task, rng)

    def training_problems(self, count: int, seed: int = 0, folder: Any = None, **limits: Any) -> list[Task]:
        """``count`` solvable puzzles that are no test puzzle (``limits``: low, high; others unused),
        written to ``<folder>/puzzles.txt`` (one a line, usable as sweep ids) when a folder is given."""
        from .training import training_problems

        return [self.make_task(p) for p in training_problems(count, seed, folder, **limits)]

    def problem_key(self, task: Task) -> str:
        from .training import game24_key

        return game24_key(task.payload.numbers)

    def test_keys(self) -> frozenset[str]:
        from .training import game24_test_keys

        return game24_test_keys()

    # -- critiques ---------------------------------------------------------------------------------
    def describe(self, v: Violation, candidate: Candidate) -> str:
        """One violation as a sentence in the game's words."""
        answer = candidate.answer if isinstance(candidate.answer, dict) else {}
        message = v.message or v.kind.replace("_", " ")
        if v.kind in ("wrong_numbers", "wrong_value") or (v.kind == "division_by_zero" and v.step is None):
            expression = answer.get("expression") or "the answer"
            if answer.get("source") == "steps":
                return f"There is no answer line; the expression your steps build, {expression}, {message}."
            return f"The answer {expression} {message}."
        return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        return self.describe(violation, candidate)

    # -- the answer grammar ------------------------------------------------------------------------
    def _prefix_steps(self, task: Task, prefix: str) -> list[Raw] | None:
        """The prefix's steps as moves from the puzzle, or None if one is not a legal, correct move."""
        state = task.payload.state
        raw: list[Raw] = []
        for line in prefix.splitlines():
            if not line.strip() or line.strip() == STEPS_HEADER:
                continue
            step = parse_step(line)
            if step is None:
                return None
            move = _move(state, Fraction(step["a"]), step["op"], Fraction(step["b"]))
            if move is None or move.result != Fraction(step["result"]):
                return None
            raw.append((move.a, move.op, move.b, move.result))
            state = move.left
        return raw

    def _grammar_lines(self, task: Task, raw: Sequence[Raw]) -> tuple[str, ...]:
        """Every step line and answer line reachable after the steps ``raw``. Cached per prefix."""
        key = f"grammar:{tuple(raw)}"
        cached = task.payload.cache.get(key)
        if cached is None:
            start = [Fraction(x) for x in task.payload.numbers]
            lines: dict[str, None] = {}

            def walk(state: State, path: tuple[Raw, ...]) -> None:
                if len(state) == 1:
                    lines.setdefault(answer_line(start, path))
                    return
                for move in moves(state):
                    lines.setdefault(move.line)
                    walk(move.left, (*path, (move.a, move.op, move.b, move.result)))

            walk(_state_after(start, raw), tuple(raw))
            cached = task.payload.cache[key] = tuple(lines)
        return cached  # type: ignore[no-any-return]

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        """The grammar of answers after ``prefix``: step lines, then the answer line, then ``[END]``.

        Static: any reachable step line or answer line, at most one line per number. With
        ``executable``, a dynamic grammar: exactly the moves from the numbers left (one line
        per distinct pair and operation, no division by zero, the left list right); once one
        number is left, only the answer line (the expression the steps build, "= 24"), then
        only the end. A prefix that is not a sequence of correct moves gets the static grammar.
        """
        start = [Fraction(x) for x in task.payload.numbers]
        raw = self._prefix_steps(task, prefix)
        lines = self._grammar_lines(task, raw or [])
        static = LineConstraint(lines=lines, end=END, max_lines=len(start))
        if not executable or raw is None:
            return static
        paths: dict[tuple[str, ...], tuple[State, tuple[Raw, ...]]] = {(): (_state_after(start, raw), tuple(raw))}

        def next_lines(generated: tuple[str, ...]) -> tuple[list[str], bool]:
            if generated and generated[-1].startswith(ANSWER_PREFIX):
                return [], True
            state, path = _path(paths, generated)
            if len(state) == 1:
                return [answer_line(start, path)], False
            return [m.line for m in moves(state)], False

        return replace(static, max_lines=len(start) - len(raw), next_lines=next_lines)

    def search_guide(
        self, task: Task, heuristic: str = "relaxed-plan"
    ) -> Callable[[tuple[str, ...]], tuple[Hashable, float]]:
        """For step-level search: ``lines -> (state, estimate)``; the state is the sorted numbers left
        (after the answer line: ("answer", numbers)).

        Estimates: ``relaxed-plan`` (the strategy's default name) is exact here: the steps still
        to take (numbers left - 1) when 24 can still be made from the numbers left, else 1000.
        Deciding that is solving the puzzle from there, so this search is nearly a solver and
        the random control shows it. ``goal-count``: numbers left - 1. ``none``: 0.
        """
        if heuristic not in HEURISTICS:
            raise InputError(f"unknown heuristic {heuristic!r}; known: {', '.join(HEURISTICS)}")
        start = [Fraction(x) for x in task.payload.numbers]
        paths: dict[tuple[str, ...], tuple[State, tuple[Raw, ...]]] = {(): (state_of(start), ())}

        def guide(lines: tuple[str, ...]) -> tuple[Hashable, float]:
            done = bool(lines) and lines[-1].startswith(ANSWER_PREFIX)
            state, _ = _path(paths, lines[:-1] if done else lines)
            if heuristic == "none":
                estimate = 0.0
            elif heuristic == "goal-count":
                estimate = float(len(state) - 1)
            else:
                estimate = float(len(state) - 1) if solvable(state) else UNREACHABLE
            return (("answer", state) if done else state), estimate

        return guide

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True) -> str:
        """The steps before the first faulty one, as grammar lines (``prompt`` puts "Steps:" first).

        With ``to_best`` (the default), cut back to the last point from which 24 can still be
        made (the domain's exact solver decides; no step after it was progress).
        """
        answer = candidate.answer if isinstance(candidate.answer, dict) else {}
        steps = answer.get("steps", [])
        bad = [v.step for verdict in verdicts if verdict.hard for v in verdict.violations if v.step is not None]
        keep = min([len(steps), *(s - 1 for s in bad)])
        state = task.payload.state
        lines: list[str] = []
        best = 0
        for step in steps[:keep]:
            move = _move(state, Fraction(step["a"]), step["op"], Fraction(step["b"]))
            if move is None or move.result != Fraction(step["result"]):
                break
            lines.append(move.line)
            state = move.left
            if solvable(state):
                best = len(lines)
        if to_best:
            lines = lines[:best] if solvable(task.payload.state) else []
        return "".join(line + "\n" for line in lines)

    def rejected_continuation(
        self, task: Task, candidate: Candidate, verdicts: list[Verdict], prefix: str
    ) -> str | None:
        """The first line after ``prefix`` the hard critics rejected, if the first fault is there:
        a faulty step line as written, or the answer line when the steps are all right."""
        answer = candidate.answer if isinstance(candidate.answer, dict) else {}
        steps = answer.get("steps", [])
        kept = [line for line in prefix.splitlines() if line.strip() and line.strip() != STEPS_HEADER]
        k = len(kept)
        if len(steps) < k or [s["text"] for s in steps[:k]] != [line.strip() for line in kept]:
            return None
        faults = [v for verdict in verdicts if verdict.hard and not verdict.valid for v in verdict.violations]
        step_faults = [v.step for v in faults if v.step is not None]
        if step_faults:
            first = min(step_faults)
            return steps[first - 1]["text"] if first == k + 1 else None
        if faults and len(steps) == k and answer.get("source") == "answer" and answer.get("expression"):
            return f"{ANSWER_PREFIX}{answer['expression']} = {value_text(TARGET)}"
        return None

    # -- the baselines' hooks ----------------------------------------------------------------------
    def normalize(self, task: Task, candidate: Candidate) -> Hashable | None:
        """Self-consistency's vote key: the expression up to commutativity and associativity
        (sums and products flattened and sorted); ``None`` without a readable expression."""
        answer = candidate.answer if isinstance(candidate.answer, dict) else {}
        if not answer.get("expression") or answer.get("errors"):
            return None
        try:
            return canonical_key(parse_expression(answer["expression"]))
        except ExpressionError:
            return None

    def judge_prompt(self, task: Task, candidate: Candidate) -> Prompt:
        """Self-critique's judge: the puzzle, the proposed answer, "Is this answer correct?"."""
        kept: list[str] = []
        for line in candidate.text.strip().splitlines():
            if line.strip() == END:
                break
            kept.append(line.rstrip())
            if line.strip().lower().startswith("answer"):
                break
        body = "\n".join(line for line in kept if line.strip())
        content = f"{INSTRUCTIONS}\nInput: {task.payload.text}\nHere is a proposed answer:\n{body}\n\n{JUDGE_QUESTION}"
        return Prompt(messages=({"role": "user", "content": content},))

    def judge_constraint(self, task: Task) -> LineConstraint:
        """The judge's grammar: one verdict line."""
        return LineConstraint(lines=(JUDGE_YES, JUDGE_NO), end=END, max_lines=1, exclude_first=frozenset({END}))


def _state_after(start: Sequence[Fraction], raw: Sequence[Raw]) -> State:
    pool = list(start)
    for a, _op, b, r in raw:
        pool.remove(a)
        pool.remove(b)
        pool.append(r)
    return state_of(pool)


def _path(
    paths: dict[tuple[str, ...], tuple[State, tuple[Raw, ...]]], lines: tuple[str, ...]
) -> tuple[State, tuple[Raw, ...]]:
    """(numbers left, steps) after grammar step ``lines``, memoised by prefix."""
    found = paths.get(lines)
    if found is None:
        state, path = _path(paths, lines[:-1])
        move = next((m for m in moves(state) if m.line == lines[-1]), None)
        if move is None:
            raise InputError(f"{lines[-1]!r} is not a move from {' '.join(value_text(x) for x in state)}")
        found = paths[lines] = (move.left, (*path, (move.a, move.op, move.b, move.result)))
    return found


def game24(one_shot: bool = True) -> Game24Domain:
    """The Game of 24 (Tree of Thoughts' benchmark): one worked example by default (``one_shot``)."""
    return Game24Domain(one_shot=one_shot)
