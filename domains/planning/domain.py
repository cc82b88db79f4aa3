"""A classical-planning domain for the loop: prompts, plan parsing, critiques, the answer grammar.

One class serves every STRIPS domain. A :class:`Vocabulary` (PlanBench's YAML format) makes
the prompts and critiques natural language; without one, prompts and plans are PDDL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_modulo.domains.planning.parse import PlanParser, Step
from llm_modulo.domains.planning.vocabulary import Vocabulary, join_facts
from llm_modulo.errors import InputError
from llm_modulo.protocols import Critic, Feedback, LineConstraint, Prompt
from llm_modulo.types import Candidate, FeedbackLevel, Task, Verdict, Violation

PLAN_START = "[PLAN]"
PLAN_END = "[PLAN END]"
PDDL_INSTRUCTIONS = (
    "Write the plan as one action per line in the form (action object ...), "
    f"using the names above, and end it with {PLAN_END}."
)


@dataclass
class PlanningTask:
    """The payload of a planning :class:`Task`."""

    problem: Any  # llm_modulo.verifiers.planning.pddl.PlanningProblem
    domain_file: str = ""
    problem_file: str = ""
    parser: PlanParser | None = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Example:
    """A worked example for one-shot prompts."""

    problem: Any
    plan: tuple[Step, ...]


class PlanningDomain:
    """A :class:`~llm_modulo.protocols.Domain` for STRIPS planning problems given as PDDL."""

    def __init__(
        self,
        name: str,
        vocabulary: Vocabulary | None = None,
        examples: Sequence[Example] = (),
        style: str = "nl",
        max_plan_lines: int | None = None,
    ) -> None:
        if style not in ("nl", "pddl"):
            raise InputError(f"unknown prompt style {style!r}; known: nl, pddl")
        self.name = name
        self.vocabulary = vocabulary
        self.examples = list(examples)
        self.style = style if vocabulary is not None else "pddl"
        self.max_plan_lines = max_plan_lines

    # -- tasks ---------------------------------------------------------------------------------
    def load_files(self, domain_file: str | Path, problem_file: str | Path, task_id: str | None = None) -> Task:
        from llm_modulo.verifiers.planning.pddl import load_problem

        problem = load_problem(domain_file, problem_file)
        return self.make_task(problem, domain_file, problem_file, task_id)

    def fits(self, problem: Any) -> bool:
        """True when this domain's vocabulary (if any) covers the problem's PDDL signature."""
        return self.vocabulary is None or self.vocabulary.matches(problem.action_schemas, problem.predicates)

    def make_task(
        self, problem: Any, domain_file: str | Path, problem_file: str | Path, task_id: str | None = None
    ) -> Task:
        if not self.fits(problem):
            raise InputError(
                f"domain {self.name!r} does not fit {domain_file}: its vocabulary covers actions "
                f"{sorted(self.vocabulary.actions) if self.vocabulary else []}, "
                f"the PDDL has {sorted(problem.action_schemas)}"
            )
        payload = PlanningTask(problem=problem, domain_file=str(domain_file), problem_file=str(problem_file))
        payload.parser = PlanParser(self.vocabulary, problem.objects)  # reads PDDL lines too
        return Task(id=task_id or Path(problem_file).stem, domain=self.name, payload=payload)

    def load(self, instance: str) -> Task:
        """A task from a PlanBench instance name (``blocksworld/generated_basic/instance-2``) or a problem file."""
        from llm_modulo.domains.planning.instances import resolve_instance

        domain_file, problem_file = resolve_instance(instance)
        return self.load_files(domain_file, problem_file, task_id=instance.removesuffix(".pddl"))

    # -- rendering -----------------------------------------------------------------------------
    def render_action(self, name: str, args: Sequence[str]) -> str:
        if self.style == "nl" and self.vocabulary is not None:
            return self.vocabulary.action(name, args)
        return "(" + " ".join([name, *args]) + ")"

    def render_fact(self, fact: Sequence[str], positive: bool = True) -> str:
        pred, args = fact[0], list(fact[1:])
        if self.style == "nl" and self.vocabulary is not None:
            return self.vocabulary.fact(pred, args) if positive else self.vocabulary.negated_fact(pred, args)
        text = "(" + " ".join(fact) + ")"
        return text if positive else f"(not {text})"

    def _facts(self, facts: Sequence[Sequence[str]]) -> str:
        order = {p: i for i, p in enumerate(self.vocabulary.predicates)} if self.vocabulary else {}
        ranked = sorted(facts, key=lambda f: (order.get(f[0], len(order)), tuple(f)))
        return join_facts([self.render_fact(f) for f in ranked])

    def _statement(self, problem: Any) -> str:
        init = [f for f in problem.init if self.render_fact(f)]
        goal_pos = [f for positive, f in problem.goal if positive]
        goal_neg = [self.render_fact(f, positive=False) for positive, f in problem.goal if not positive]
        goal = join_facts([self._facts(goal_pos), *goal_neg]) if goal_neg else self._facts(goal_pos)
        if self.style == "nl":
            return (
                "[STATEMENT]\n"
                f"As initial conditions I have that, {self._facts(init)}.\n"
                f"My goal is to have that {goal}.\n\n"
                "My plan is as follows:"
            )
        objects = " ".join(problem.objects)
        init_text = " ".join("(" + " ".join(f) + ")" for f in sorted(problem.init))
        goal_text = " ".join(
            ("(" if p else "(not (") + " ".join(f) + (")" if p else "))") for p, f in problem.goal
        )
        return (
            f"[STATEMENT]\nObjects: {objects}\nInitial state: {init_text}\nGoal: {goal_text}\n\n"
            "My plan is as follows:"
        )

    def _intro(self, task: Task) -> str:
        if self.style == "nl" and self.vocabulary is not None and self.vocabulary.intro:
            return self.vocabulary.intro
        domain_file = task.payload.domain_file
        text = Path(domain_file).read_text() if domain_file and Path(domain_file).is_file() else ""
        return f"Here is a planning domain in PDDL.\n\n{text.strip()}\n\n{PDDL_INSTRUCTIONS}"

    def _example(self, task: Task) -> Example | None:
        problem = task.payload.problem
        key = (problem.init, problem.goal)
        for example in self.examples:
            if (example.problem.init, example.problem.goal) != key:
                return example
        return None

    def plan_text(self, steps: Sequence[Sequence[Any]]) -> str:
        return "".join(self.render_action(s[0], s[1]) + "\n" for s in steps)

    def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
        parts = [self._intro(task)]
        example = self._example(task)
        if example is not None:
            parts.append(f"{self._statement(example.problem)}\n\n{PLAN_START}\n{self.plan_text(example.plan)}{PLAN_END}")
        parts.append(self._statement(task.payload.problem))
        messages: list[dict[str, str]] = [{"role": "user", "content": "\n\n".join(parts)}]
        for item in feedback:
            messages.append({"role": "assistant", "content": item.answer})
            messages.append(
                {"role": "user", "content": f"{item.critique}\nPlease give a corrected plan."}
            )
        # The answer opens with the plan marker, so a model that wants to write "[PLAN]" first
        # is not pushed into "[PLAN END]" by a constrained decoder; ``prefill`` (kept steps) follows.
        return Prompt(messages=tuple(messages), prefill=f"{PLAN_START}\n{prefill}")

    # -- answers -------------------------------------------------------------------------------
    def parse(self, task: Task, text: str) -> Candidate:
        parser: PlanParser = task.payload.parser
        steps = parser.parse(text)
        return Candidate(text=text, answer=[(s.name, tuple(s.args)) for s in steps])

    def critics(self, task: Task) -> list[Critic]:
        from llm_modulo.verifiers.planning.critic import PlanCritic

        return [PlanCritic()]

    def _grammar_lines(self, task: Task) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Rendered lines of every grounding that can ever apply, and line -> action. Cached per task."""
        cached = task.payload.cache.get("grammar")
        if cached is None:
            # only groundings that can ever apply (delete-relaxed reachability): every type-correct
            # grounding of a large untyped domain would be hundreds of thousands of lines
            actions = task.payload.problem.reachable_actions()
            lines = tuple(self.render_action(a.name, a.args) for a in actions)
            cached = task.payload.cache["grammar"] = (lines, dict(zip(lines, actions)))
        return cached

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        """The grammar of answers: well-formed ground actions, then the end marker.

        With ``executable``, a dynamic grammar: after ``prefix`` and each generated line, only
        the actions applicable in the simulated state that lead to a state not yet visited may
        follow, and the end marker only once the goal holds (or nothing is left). The critics
        still check every plan; this only steers decoding.
        """
        problem = task.payload.problem
        lines, by_line = self._grammar_lines(task)
        max_lines = self.max_plan_lines or max(8, 4 * len(problem.objects))
        static = LineConstraint(lines=lines, end=PLAN_END, max_lines=max_lines)
        if not executable:
            return static
        state = problem.initial_state()
        visited = {state}
        for step in task.payload.parser.parse(prefix):
            if not problem.is_applicable(state, step):
                return static  # the prefix itself fails: nothing to simulate from
            state = problem.apply(state, step)
            visited.add(state)
        names = {a: line for line, a in by_line.items()}
        # generated lines -> (state, states visited on the way): a step back into a visited state
        # closes a loop, and a plan with a loop has a shorter loop-free twin, so no solution is lost
        paths: dict[tuple[str, ...], tuple[Any, frozenset[Any]]] = {(): (state, frozenset(visited))}

        def next_lines(generated: tuple[str, ...]) -> tuple[list[str], bool]:
            path = paths.get(generated)
            if path is None:
                before, seen = paths[generated[:-1]]
                after = problem.apply(before, by_line[generated[-1]])
                path = paths[generated] = (after, seen | {after})
            here, seen = path
            allowed = [names[a] for a in problem.applicable(here) if a in names and problem.apply(here, a) not in seen]
            return allowed, problem.goal_reached(here)

        return replace(static, next_lines=next_lines)

    def valid_prefix(
        self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True
    ) -> str:
        """The steps the critics found no fault in, as answer text (``prompt`` puts the plan marker first).

        With ``to_best`` (the default), cut back to the point where the most goals held
        (``best_prefix_len``); otherwise the whole valid prefix (``valid_prefix_len``).
        """
        key = "best_prefix_len" if to_best else "valid_prefix_len"
        steps = candidate.answer or []
        lengths = [int(v.info[key]) for v in verdicts if v.hard and key in v.info]
        keep = min(lengths) if lengths else 0
        return self.plan_text(steps[:keep])

    def rejected_continuation(self, task: Task, candidate: Candidate, verdicts: list[Verdict], prefix: str) -> str | None:
        """The choice right after ``prefix`` that the hard critics rejected, if the first error is there.

        A failing step gives its own line; a plan that stops right after ``prefix`` with the goal
        unmet gives the end marker ("do not stop here"). Used to exclude known-bad first lines
        when the loop continues from ``prefix`` again.
        """
        kept = [tuple(s) for s in task.payload.parser.parse(prefix)]
        k = len(kept)
        steps = candidate.answer or []
        if len(steps) < k or [tuple(s) for s in steps[:k]] != kept:
            return None
        hard = [v for v in verdicts if v.hard and not v.valid]
        step_errors = [x.step for v in hard for x in v.violations if x.step is not None]
        if step_errors:
            first = min(step_errors)
            return self.render_action(*steps[first - 1]) if first == k + 1 else None
        if len(steps) == k and any(x.kind == "unmet_goal" for v in hard for x in v.violations):
            return PLAN_END
        return None

    # -- critiques -----------------------------------------------------------------------------
    def _step_text(self, v: Violation, candidate: Candidate) -> str:
        steps = candidate.answer or []
        if v.step is not None and 1 <= v.step <= len(steps):
            name, args = steps[v.step - 1]
            return self.render_action(name, args)
        return str(v.detail.get("action", "?"))

    def describe(self, v: Violation, candidate: Candidate) -> str:
        """One violation in the prompt's vocabulary."""
        if v.kind == "unmet_goal":
            unmet = [self.render_fact(f, positive=not p) for p, f in v.detail.get("unmet", [])]
            return f"the goal is not reached: {join_facts(unmet)}" if unmet else "the goal is not reached"
        if v.kind == "parse_error":
            return v.message or "the answer could not be read as a plan"
        step = f"step {v.step}, {self._step_text(v, candidate)},"
        if v.kind == "inapplicable":
            unmet = [self.render_fact(f, positive=not p) for p, f in v.detail.get("unmet", [])]
            return f"{step} is not possible: {join_facts(unmet)}"
        if v.kind == "unknown_action":
            return f"{step} is not an action I can do"
        if v.kind == "unknown_object":
            return f"{step} names an object that does not exist"
        if v.kind == "wrong_arity":
            return f"{step} has the wrong number of objects"
        if v.kind == "wrong_type":
            return f"{step} uses an object of the wrong type"
        return f"{step} is wrong: {v.message}"

    def critique(self, task: Task, candidate: Candidate, verdicts: list[Verdict], level: FeedbackLevel) -> str:
        if level is FeedbackLevel.NONE:
            return "Please try again."
        if level is FeedbackLevel.BINARY:
            return "The plan is not valid."
        violations = [v for verdict in verdicts if verdict.hard and not verdict.valid for v in verdict.violations]
        if not violations:
            return "The plan is not valid."
        if level is FeedbackLevel.FIRST:
            steps = [v for v in violations if v.kind != "unmet_goal"]
            violations = steps[:1] or violations[:1]
        sentences = [self.describe(v, candidate) for v in violations]
        body = " ".join(s[0].upper() + s[1:] + "." for s in sentences)
        return f"The plan is not valid. {body}"
