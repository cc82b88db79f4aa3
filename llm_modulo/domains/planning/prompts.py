"""The planning domain's prompts: the domain's introduction, a worked example, the problem
statement, chain-of-thought plans, the back-prompt turns and self-critique's judge question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_modulo.domains.planning.parse import PlanParser, Step
from llm_modulo.domains.planning.render import PLAN_END, PLAN_START, PlanRendering, rename_symbols
from llm_modulo.domains.planning.state_claims import STATE_INSTRUCTIONS, annotated_plan
from llm_modulo.domains.planning.vocabulary import join_facts
from llm_modulo.protocols import Feedback, LineConstraint, Prompt
from llm_modulo.types import Candidate, Task
from llm_modulo.verifiers.planning.plan_text import is_end_marker

PDDL_INSTRUCTIONS = (
    "Write the plan as one action per line in the form (action object ...), "
    f"using the names above, and end it with {PLAN_END}."
)
# Chain of thought in PlanBench's state-tracking style: before each action, say which of its
# conditions hold; the plan parser skips these reasoning lines (see ``PlanParser.parse``).
COT_INSTRUCTIONS = (
    "Think step by step and keep track of the state. Before each action, write one line that starts "
    'with "Before step N," and says which conditions of the action hold in the current state; then write '
    "the action alone on the next line. After the last action, write one line that says which goal "
    f"conditions hold, then end the plan with {PLAN_END}."
)
JUDGE_QUESTION = "Is this plan valid? Answer yes or no, then explain."
JUDGE_YES = "Yes, the plan is valid."
JUDGE_NO = "No, the plan is not valid."
JUDGE_END = "[END]"


def _is_path(value: str | Path) -> bool:
    """True for a file path (not PDDL text passed in place of a file)."""
    return bool(value) and "(define" not in str(value).lower() and "\n" not in str(value)


@dataclass(frozen=True)
class Example:
    """A worked example for one-shot prompts."""

    problem: Any
    plan: tuple[Step, ...]


def load_examples(folder: Path) -> tuple[Example, ...]:
    """The worked examples in ``folder``: each ``example-*.pddl`` (against ``folder/domain.pddl``)
    with its plan in ``example-*.plan``."""
    from llm_modulo.verifiers.planning.pddl import load_problem

    examples = []
    for pddl in sorted(folder.glob("example-*.pddl")):
        problem = load_problem(folder / "domain.pddl", pddl)
        steps = PlanParser(None, problem.objects).parse(pddl.with_suffix(".plan").read_text())
        examples.append(Example(problem=problem, plan=tuple(steps)))
    return tuple(examples)


class PlanPrompts(PlanRendering):
    """Prompt building; the host class also sets ``examples`` and ``cot``."""

    examples: list[Example]
    cot: bool  # chain-of-thought prompts
    state_cot: bool  # the checked chain of thought (a State line after each action)

    def _statement(self, problem: Any, tail: str = "My plan is as follows:", task: Task | None = None) -> str:
        init = [f for f in problem.init if self.render_fact(f, task=task)]
        goal = self._goal_text(problem, task)
        if self.style == "nl":
            return (
                "[STATEMENT]\n"
                f"As initial conditions I have that, {self._facts(init, task)}.\n"
                f"My goal is to have that {goal}.\n\n"
                f"{tail}"
            )
        objects = " ".join(problem.objects)
        init_text = " ".join(self._pddl(f) for f in sorted(problem.init))
        goal_text = " ".join(self._pddl(f) if p else f"(not {self._pddl(f)})" for p, f in problem.goal)
        return f"[STATEMENT]\nObjects: {objects}\nInitial state: {init_text}\nGoal: {goal_text}\n\n{tail}"

    def _intro(self, task: Task, instructions: bool = True) -> str:
        vocab = self._vocab(task)
        if vocab is not None and vocab.intro:
            return vocab.intro
        domain_file = task.payload.domain_file
        if not _is_path(domain_file):  # the PDDL text itself was given
            text = str(domain_file)
        else:
            text = Path(domain_file).read_text() if Path(domain_file).is_file() else ""
        if self.pddl_names:
            text = rename_symbols(text, self.pddl_names)
        intro = f"Here is a planning domain in PDDL.\n\n{text.strip()}"
        return f"{intro}\n\n{PDDL_INSTRUCTIONS}" if instructions else intro

    def _example(self, task: Task) -> Example | None:
        problem = task.payload.problem
        key = (problem.init, problem.goal)
        for example in self.examples:
            if (example.problem.init, example.problem.goal) != key:
                return example
        return None

    def answer_text(self, problem: Any, steps: Sequence[Sequence[Any]], task: Task | None = None) -> str:
        """``steps`` (executable from the initial state) in this domain's answer format: the plan, or
        with ``cot`` its reasoning lines, or with ``cot="state"`` a State line after each action."""
        if self.state_cot:
            return annotated_plan(self.render_fact, self.render_action, problem, steps, task)
        return self.reasoning_plan_text(problem, steps, task) if self.cot else self.plan_text(steps, task)

    def reasoning_plan_text(self, problem: Any, steps: Sequence[Sequence[Any]], task: Task | None = None) -> str:
        """A plan with chain-of-thought lines: before each action, the conditions of it that hold.

        The steps must be executable from the problem's initial state (an example's gold plan).
        """
        lines = []
        state = problem.initial_state()
        for i, (name, args) in enumerate(steps, start=1):
            op = problem.resolve((name, tuple(args)))
            conditions = [
                self.render_fact(f, positive=pos, task=task) for pos, f, _bit in getattr(op, "preconditions", ())
            ]
            conditions = [c for c in conditions if c]
            action = self.render_action(name, args, task)
            if self.style == "nl":
                held = join_facts(conditions) if conditions else "nothing is required"
                lines.append(f"Before step {i}, {held}, so I can {action}.")
            else:
                verb = "holds" if len(conditions) == 1 else "hold"
                held = f"{join_facts(conditions)} {verb}" if conditions else "nothing is required"
                lines.append(f"Before step {i}, {held}, so I can do {action}.")
            lines.append(action)
            state = problem.apply(state, (name, tuple(args)))
        if steps:
            reached = "the goal holds" if problem.goal_reached(state) else "the goal does not hold yet"
            lines.append(f"After step {len(steps)}, {reached}: {self._goal_text(problem, task)}.")
        return "".join(line + "\n" for line in lines)

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        parts = [self._intro(task)]
        if self.cot:
            parts.append(STATE_INSTRUCTIONS if self.state_cot else COT_INSTRUCTIONS)
        example = self._example(task)
        if example is not None:
            plan = self.answer_text(example.problem, example.plan, task)
            parts.append(f"{self._statement(example.problem, task=task)}\n\n{PLAN_START}\n{plan}{PLAN_END}")
        parts.append(self._statement(task.payload.problem, task=task))
        messages: list[dict[str, str]] = [{"role": "user", "content": "\n\n".join(parts)}]
        for item in feedback:
            messages.append({"role": "assistant", "content": item.answer})
            messages.append({"role": "user", "content": f"{item.critique}\nPlease give a corrected plan."})
        # The answer opens with the plan marker, so a model that wants to write "[PLAN]" first
        # is not pushed into "[PLAN END]" by a constrained decoder; ``prefill`` (kept steps) follows.
        return Prompt(messages=tuple(messages), prefill=f"{PLAN_START}\n{prefill}")

    # -- self-critique's judge -----------------------------------------------------------------
    def _answer_block(self, text: str) -> str:
        """A candidate's text between the plan markers, as the model wrote it."""
        lines = text.strip().splitlines()
        if lines and lines[0].strip().lower() == PLAN_START.lower():
            lines = lines[1:]
        kept = []
        for line in lines:
            if is_end_marker(line):
                break
            kept.append(line.rstrip())
        return f"{PLAN_START}\n" + "".join(line + "\n" for line in kept if line.strip()) + PLAN_END

    def judge_prompt(self, task: Task, candidate: Candidate) -> Prompt:
        """Self-critique's judge: the problem and a proposed plan; "Is this plan valid? Answer yes
        or no, then explain." The answer starts with yes or no."""
        parts = [
            self._intro(task, instructions=False),
            f"{self._statement(task.payload.problem, tail='Here is a proposed plan:', task=task)}\n\n"
            f"{self._answer_block(candidate.text)}",
            JUDGE_QUESTION,
        ]
        return Prompt(messages=({"role": "user", "content": "\n\n".join(parts)},))

    def judge_constraint(self, task: Task) -> LineConstraint:
        """The judge's grammar for constrained decoding and the random proposer: one verdict line."""
        return LineConstraint(
            lines=(JUDGE_YES, JUDGE_NO), end=JUDGE_END, max_lines=1, exclude_first=frozenset({JUDGE_END})
        )
