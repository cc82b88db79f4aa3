"""A classical-planning domain for the loop: prompts, plan parsing, critiques, the answer grammar.

One class serves every STRIPS domain. A :class:`Vocabulary` (PlanBench's YAML format) makes
the prompts and critiques natural language; without one, prompts and plans are PDDL.

Besides the :class:`~llm_modulo.protocols.Domain` protocol it implements the optional hooks the
baseline strategies look for: ``normalize`` (self-consistency's vote key), ``judge_prompt`` and
``judge_constraint`` (self-critique's judge), and ``rejected_continuation`` (modulo).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_modulo.domains.planning.parse import PlanParser, Step
from llm_modulo.domains.planning.vocabulary import Vocabulary, join_facts
from llm_modulo.errors import InputError
from llm_modulo.protocols import Critic, Feedback, LineConstraint, Prompt
from llm_modulo.feedback import Wording
from llm_modulo.types import Candidate, Task, Verdict, Violation

PLAN_START = "[PLAN]"
PLAN_END = "[PLAN END]"
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
_SYMBOL = re.compile(r"[^\s()]+")


def _is_path(value: str | Path) -> bool:
    """True for a file path (not PDDL text passed in place of a file)."""
    return bool(value) and "(define" not in str(value).lower() and "\n" not in str(value)


def rename_symbols(pddl_text: str, names: dict[str, str]) -> str:
    """PDDL text with each symbol in ``names`` (lowercase keys) replaced, case-insensitively."""
    return _SYMBOL.sub(lambda m: names.get(m.group(0).lower(), m.group(0)), pddl_text)


@dataclass
class PlanningTask:
    """The payload of a planning :class:`Task`."""

    problem: Any  # llm_modulo.verifiers.planning.pddl.PlanningProblem
    domain_file: str = ""
    problem_file: str = ""
    parser: PlanParser | None = field(default=None, repr=False)
    # the words of this task's prompts: the domain's own vocabulary, or one generated from the PDDL
    vocabulary: Vocabulary | None = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)


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


class PlanningDomain:
    """A :class:`~llm_modulo.protocols.Domain` for STRIPS planning problems given as PDDL."""

    wording = Wording(rejected="The plan is not valid.", accepted="The plan is valid.")

    def __init__(
        self,
        name: str,
        vocabulary: Vocabulary | None = None,
        examples: Sequence[Example] = (),
        style: str = "nl",
        max_plan_lines: int | None = None,
        cot: bool = False,
        *,
        soft_critics: bool = False,
        generate_vocabulary: bool = True,
        pddl_names: dict[str, str] | None = None,
    ) -> None:
        """``cot``: chain-of-thought prompts (an instruction to state, before each action, which of
        its conditions hold, and an example that does so). Meant for free-text sampling: under a
        grammar the answer can only be the plan itself.

        ``soft_critics``: :meth:`critics` adds :class:`PlanLengthCritic` (advice on plan length,
        never certifies). ``generate_vocabulary``: without a ``vocabulary``, the "nl" style uses
        one generated from each task's PDDL (:mod:`.autovocab`); if False, the style is "pddl".
        ``pddl_names``: PDDL symbol -> the symbol shown in "pddl"-style prompts (an obfuscated
        domain such as Randomized Mystery Blocksworld); plans may use either.
        """
        if style not in ("nl", "pddl"):
            raise InputError(f"unknown prompt style {style!r}; known: nl, pddl")
        self.name = name
        self.vocabulary = vocabulary
        self.examples = list(examples)
        self.style = style if vocabulary is not None or generate_vocabulary else "pddl"
        self.max_plan_lines = max_plan_lines
        self.cot = cot
        self.soft_critics = soft_critics
        self.pddl_names = {k.lower(): v for k, v in (pddl_names or {}).items()}
        self._length_critic: Any = None

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
        from llm_modulo.domains.planning.instances import known_plan_lengths

        payload = PlanningTask(problem=problem, domain_file=str(domain_file), problem_file=str(problem_file))
        payload.vocabulary = self.vocabulary or (self._generated_vocabulary(payload) if self.style == "nl" else None)
        shown = {v.lower(): k for k, v in self.pddl_names.items()}
        possible = (lambda step: problem.statically_possible(tuple(step))) if problem.supported else None
        # reads PDDL lines too
        payload.parser = PlanParser(payload.vocabulary, problem.objects, action_names=shown, possible=possible)
        meta = known_plan_lengths(problem_file) if problem_file and _is_path(problem_file) else {}
        return Task(id=task_id or Path(problem_file).stem, domain=self.name, payload=payload, meta=meta)

    def _generated_vocabulary(self, payload: PlanningTask) -> Vocabulary:
        from llm_modulo.domains.planning.autovocab import vocabulary_from_problem

        source = payload.domain_file
        path = Path(source) if _is_path(source) else None
        text = (path.read_text() if path.is_file() else "") if path is not None else str(source)
        return vocabulary_from_problem(payload.problem, domain_text=text)

    def instances(self, set_name: str) -> list[str]:
        """PlanBench instance names of a folder such as ``logistics/generated_basic``, in order."""
        from llm_modulo.domains.planning.instances import list_instances

        return list_instances(set_name)

    def load(self, instance: str) -> Task:
        """A task from a PlanBench instance name (``blocksworld/generated_basic/instance-2``) or a problem file."""
        from llm_modulo.domains.planning.instances import resolve_instance

        domain_file, problem_file = resolve_instance(instance)
        return self.load_files(domain_file, problem_file, task_id=instance.removesuffix(".pddl"))

    # -- rendering -----------------------------------------------------------------------------
    def _vocab(self, task: Task | None) -> Vocabulary | None:
        """The vocabulary prompts use for ``task`` ("nl" style), else None (PDDL)."""
        if self.style != "nl":
            return None
        payload = task.payload if task is not None else None
        return getattr(payload, "vocabulary", None) or self.vocabulary

    def _pddl(self, symbols: Sequence[str]) -> str:
        names = self.pddl_names
        return "(" + " ".join([names.get(symbols[0].lower(), symbols[0]), *symbols[1:]]) + ")"

    def render_action(self, name: str, args: Sequence[str], task: Task | None = None) -> str:
        vocab = self._vocab(task)
        if vocab is not None:
            return vocab.action(name, args)
        return self._pddl([name, *args])

    def render_fact(self, fact: Sequence[str], positive: bool = True, task: Task | None = None, required: bool = False) -> str:
        """The fact in the prompt's words; "" for a fact the vocabulary leaves silent (PlanBench's
        type predicates), unless ``required`` (critiques must name every unmet condition)."""
        pred, args = fact[0], list(fact[1:])
        vocab = self._vocab(task)
        if vocab is not None:
            return vocab.fact(pred, args, required=required) if positive else vocab.negated_fact(pred, args)
        text = self._pddl(fact)
        return text if positive else f"(not {text})"

    def _facts(self, facts: Sequence[Sequence[str]], task: Task | None = None) -> str:
        vocab = self._vocab(task)
        order = {p: i for i, p in enumerate(vocab.predicates)} if vocab else {}
        ranked = sorted(facts, key=lambda f: (order.get(f[0], len(order)), tuple(f)))
        return join_facts([self.render_fact(f, task=task) for f in ranked])

    def _goal_text(self, problem: Any, task: Task | None = None) -> str:
        goal_pos = [f for positive, f in problem.goal if positive]
        goal_neg = [self.render_fact(f, positive=False, task=task) for positive, f in problem.goal if not positive]
        return join_facts([self._facts(goal_pos, task), *goal_neg]) if goal_neg else self._facts(goal_pos, task)

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
        return (
            f"[STATEMENT]\nObjects: {objects}\nInitial state: {init_text}\nGoal: {goal_text}\n\n"
            f"{tail}"
        )

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

    def plan_text(self, steps: Sequence[Sequence[Any]], task: Task | None = None) -> str:
        return "".join(self.render_action(s[0], s[1], task) + "\n" for s in steps)

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
            parts.append(COT_INSTRUCTIONS)
        example = self._example(task)
        if example is not None:
            plan = (
                self.reasoning_plan_text(example.problem, example.plan, task)
                if self.cot
                else self.plan_text(example.plan, task)
            )
            parts.append(f"{self._statement(example.problem, task=task)}\n\n{PLAN_START}\n{plan}{PLAN_END}")
        parts.append(self._statement(task.payload.problem, task=task))
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
        """The plan in ``text``; with ``cot``, reasoning lines (those that are not actions) are skipped."""
        parser: PlanParser = task.payload.parser
        steps = parser.parse(text, reasoning=self.cot)
        return Candidate(text=text, answer=[(s.name, tuple(s.args)) for s in steps])

    # -- optional hooks of the baseline strategies --------------------------------------------
    def normalize(self, task: Task, candidate: Candidate) -> Hashable | None:
        """Self-consistency's vote key: the plan as a tuple of (action, args); ``None`` (no vote)
        for an empty plan or one with a line that is not an action of the domain. Validity plays
        no part: the vote must not use the critics."""
        steps = candidate.answer or []
        schemas = task.payload.problem.action_schemas
        if not steps or any(str(name).lower() not in schemas for name, _args in steps):
            return None
        return tuple((str(name).lower(), tuple(str(a).lower() for a in args)) for name, args in steps)

    def _answer_block(self, text: str) -> str:
        """A candidate's text between the plan markers, as the model wrote it."""
        lines = text.strip().splitlines()
        if lines and lines[0].strip().lower() == PLAN_START.lower():
            lines = lines[1:]
        kept = []
        for line in lines:
            if line.strip().lower().startswith(PLAN_END.lower()):
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

    def critics(self, task: Task) -> list[Critic]:
        """The sound plan validator; with ``soft_critics``, plan-length advice too."""
        from llm_modulo.verifiers.planning.critic import PlanCritic

        critics: list[Critic] = [PlanCritic()]
        if self.soft_critics:
            if self._length_critic is None:
                from llm_modulo.verifiers.planning.length import PlanLengthCritic

                self._length_critic = PlanLengthCritic()  # one per domain: it caches optima
            critics.append(self._length_critic)
        return critics

    def _grammar_lines(self, task: Task) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Rendered lines of every grounding that can ever apply, and line -> action. Cached per task."""
        cached = task.payload.cache.get("grammar")
        if cached is None:
            # only groundings that can ever apply (delete-relaxed reachability): every type-correct
            # grounding of a large untyped domain would be hundreds of thousands of lines
            actions = task.payload.problem.reachable_actions()
            lines = tuple(self.render_action(a.name, a.args, task) for a in actions)
            cached = task.payload.cache["grammar"] = (lines, dict(zip(lines, actions)))
        return cached

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        """The grammar of answers: well-formed ground actions, then the end marker.

        With ``executable``, a dynamic grammar: after ``prefix`` and each generated line, only
        the actions applicable in the simulated state that lead to a state not yet visited may
        follow, and the end marker only once the goal holds (or nothing is left). The critics
        still check every plan; this only steers decoding.
        """
        if self.cot:
            warnings.warn(
                "chain-of-thought prompts are for free-text answers; under a grammar the answer is the plan alone",
                stacklevel=2,
            )
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

    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        """(valid?, engine) for ``answer`` (a list of (action, args)) by unified-planning's validator.

        Independent of :class:`PlanCritic`'s grounded validator: reports use it to re-check
        every plan a store calls verified.
        """
        from llm_modulo.verifiers.planning.reference import up_validate
        from llm_modulo.verifiers.planning.validator import to_ground_action

        steps = [to_ground_action((name, tuple(args))) for name, args in (answer or [])]
        return up_validate(task.payload.problem, steps), "unified-planning SequentialPlanValidator"

    def search_guide(self, task: Task, heuristic: str = "relaxed-plan") -> Any:
        """For step-level search: ``lines -> (state, estimate)`` for an executable answer prefix.

        ``lines`` are grammar lines (rendered ground actions) after the empty prefix. The state
        identifies the node (two plans reaching one state are one node); the estimate is the
        distance to the goal: ``relaxed-plan`` (FF's delete-relaxation heuristic, from the PDDL
        alone), ``goal-count`` (unmet goal literals) or ``none`` (0: the proposer alone orders
        the search). With ``relaxed-plan`` the guide also has ``preferred(lines)``: FF's helpful
        actions at that node (for ``search``'s dual queue). It only guides: the critics still
        judge every plan.
        """
        from llm_modulo.domains.planning.heuristic import RelaxedPlanHeuristic

        problem = task.payload.problem
        _, by_line = self._grammar_lines(task)
        if heuristic == "relaxed-plan":
            estimate: Any = RelaxedPlanHeuristic(problem)
        elif heuristic == "goal-count":
            total = len(problem.goal)
            estimate = lambda state: total - problem.goals_satisfied(state)  # noqa: E731
        elif heuristic == "none":
            estimate = lambda state: 0  # noqa: E731
        else:
            raise InputError(f"unknown heuristic {heuristic!r}; known: relaxed-plan, goal-count, none")
        states: dict[tuple[str, ...], Any] = {(): problem.initial_state()}

        def state_after(lines: tuple[str, ...]) -> Any:
            state = states.get(lines)
            if state is None:
                state = states[lines] = problem.apply(state_after(lines[:-1]), by_line[lines[-1]])
            return state

        helpful: dict[tuple[str, ...], list[int]] = {}

        def guide(lines: tuple[str, ...]) -> tuple[Any, float]:
            state = state_after(lines)  # the estimate only here: a parent's is not recomputed
            if heuristic != "relaxed-plan":
                return state, estimate(state)
            h, helpful[lines] = estimate.evaluate(state)
            return state, h

        if heuristic == "relaxed-plan":
            line_of = {action: line for line, action in by_line.items()}

            def preferred(lines: tuple[str, ...]) -> frozenset[str]:
                """FF's helpful actions at the node ``lines``, as grammar lines (preferred operators)."""
                indices = helpful.pop(lines, None)
                if indices is None:
                    indices = estimate.evaluate(state_after(lines))[1]
                return frozenset(line_of[estimate.ops[i].action] for i in indices if estimate.ops[i].action in line_of)

            guide.preferred = preferred  # type: ignore[attr-defined]
        return guide

    def valid_prefix(
        self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True
    ) -> str:
        """The steps the critics found no fault in, as answer text (``prompt`` puts the plan marker first).

        With ``to_best`` (the default), cut back to the point where the most goals held
        (``Progress.best``); otherwise the whole valid prefix (``Progress.valid``).
        """
        steps = candidate.answer or []
        lengths = [(v.progress.best if to_best else v.progress.valid) for v in verdicts if v.hard and v.progress]
        keep = min(lengths) if lengths else 0
        return self.plan_text(steps[:keep], task)

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
            return self.render_action(*steps[first - 1], task) if first == k + 1 else None
        if len(steps) == k and any(x.kind == "unmet_goal" for v in hard for x in v.violations):
            return PLAN_END
        return None

    # -- critiques -----------------------------------------------------------------------------
    def _step_text(self, v: Violation, candidate: Candidate, task: Task | None = None) -> str:
        steps = candidate.answer or []
        if v.step is not None and 1 <= v.step <= len(steps):
            name, args = steps[v.step - 1]
            return self.render_action(name, args, task)
        return str(v.detail.get("action", "?"))

    def describe(self, v: Violation, candidate: Candidate, task: Task | None = None) -> str:
        """One violation in the prompt's vocabulary."""

        def unmet() -> list[str]:
            return [self.render_fact(f, positive=not p, task=task, required=True) for p, f in v.detail.get("unmet", [])]

        if v.kind == "unmet_goal":
            return f"the goal is not reached: {join_facts(unmet())}" if unmet() else "the goal is not reached"
        if v.kind == "parse_error":
            return v.message or "the answer could not be read as a plan"
        if v.kind == "suboptimal":
            return f"the plan works, but it has {v.detail.get('plan_len')} steps; a plan with {v.detail.get('optimum')} steps exists"
        step = f"step {v.step}, {self._step_text(v, candidate, task)},"
        if v.kind == "inapplicable":
            reason = join_facts(unmet()) or str(v.detail.get("reason", "")).strip()
            return f"{step} is not possible: {reason}" if reason else f"{step} is not possible"
        if v.kind == "unknown_action":
            return f"{step} is not an action I can do"
        if v.kind == "unknown_object":
            return f"{step} names an object that does not exist"
        if v.kind == "wrong_arity":
            return f"{step} has the wrong number of objects"
        if v.kind == "wrong_type":
            return f"{step} uses an object of the wrong type"
        return f"{step} is wrong: {v.message}"

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        """The contract's name for :meth:`describe` (the core's feedback policy words each fault with it)."""
        return self.describe(violation, candidate, task)
