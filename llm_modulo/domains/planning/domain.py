"""A classical-planning domain for the loop: tasks from PDDL, plan parsing, the critics.

One class serves every STRIPS domain. A :class:`Vocabulary` (PlanBench's YAML format) makes
the prompts and critiques natural language; without one, prompts and plans are PDDL.

Besides the :class:`~llm_modulo.protocols.Domain` protocol it implements the optional hooks the
baseline strategies look for: ``max_answer_chars`` (the token cap, :mod:`.grammar`),
``normalize`` (self-consistency's vote key), ``judge_prompt`` and
``judge_constraint`` (self-critique's judge), ``rejected_continuation`` (modulo),
``imitation_target``, ``shortened_target`` and ``repair_target`` (training). The pieces live by idea: :mod:`.render` (actions and facts in
words), :mod:`.prompts` (prompts and the judge), :mod:`.grammar` (answer grammar and search
guide), :mod:`.critiques` (violations in words, valid prefix, rejected continuation),
:mod:`.training` (imitation plans); this module re-exports the public names of the first four.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_modulo.domains.planning.critiques import PlanCritiques
from llm_modulo.domains.planning.grammar import PlanGrammar
from llm_modulo.domains.planning.parse import PlanParser
from llm_modulo.domains.planning.prompts import (
    COT_INSTRUCTIONS,
    JUDGE_END,
    JUDGE_NO,
    JUDGE_QUESTION,
    JUDGE_YES,
    PDDL_INSTRUCTIONS,
    Example,
    PlanPrompts,
    _is_path,
    load_examples,
)
from llm_modulo.domains.planning.render import PLAN_END, PLAN_START, rename_symbols
from llm_modulo.domains.planning.vocabulary import Vocabulary
from llm_modulo.errors import InputError
from llm_modulo.protocols import Critic
from llm_modulo.types import Candidate, Task


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


class PlanningDomain(PlanPrompts, PlanGrammar, PlanCritiques):
    """A :class:`~llm_modulo.protocols.Domain` for STRIPS planning problems given as PDDL."""

    def __init__(
        self,
        name: str,
        vocabulary: Vocabulary | None = None,
        examples: Sequence[Example] = (),
        style: str = "nl",
        max_plan_lines: int | None = None,
        cot: bool | str = False,
        *,
        soft_critics: bool = False,
        generate_vocabulary: bool = True,
        pddl_names: dict[str, str] | None = None,
    ) -> None:
        """``cot``: chain-of-thought prompts (an instruction to state, before each action, which of
        its conditions hold, and an example that does so). Meant for free-text sampling: under a
        grammar the answer can only be the plan itself. ``cot="state"``: the checked chain of
        thought (:mod:`.state_claims`): after each action the answer states the world, and a hard
        critic checks every stated fact against the simulator.

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
        if cot not in (False, True, "state"):
            raise InputError(f"unknown chain-of-thought format {cot!r}; known: False, True, 'state'")
        self.cot = bool(cot)
        self.state_cot = cot == "state"  # the checked chain of thought: a State line after each action
        if self.state_cot:
            # its answers are free text the model writes (a grammar would state the world for it):
            # no ``constraint`` capability, so "auto" decodes freely and a grammar is a clear error
            self.constraint = None  # type: ignore[assignment]
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

    def critics(self, task: Task) -> list[Critic]:
        """The sound plan validator; with ``cot="state"``, the state-claim checker (hard); with
        ``soft_critics``, plan-length advice too."""
        from llm_modulo.verifiers.planning.critic import PlanCritic

        critics: list[Critic] = [PlanCritic()]
        if self.state_cot:
            from llm_modulo.domains.planning.state_claims import StateClaimCritic

            critics.append(StateClaimCritic(self))
        if self.soft_critics:
            if self._length_critic is None:
                from llm_modulo.verifiers.planning.length import PlanLengthCritic

                self._length_critic = PlanLengthCritic()  # one per domain: it caches optima
            critics.append(self._length_critic)
        return critics

    def reference_check(self, task: Task, answer: Any) -> tuple[bool, str]:
        """(valid?, engine) for ``answer`` (a list of (action, args)) by unified-planning's validator.

        Independent of :class:`PlanCritic`'s grounded validator: reports use it to re-check
        every plan a store calls verified.
        """
        from llm_modulo.verifiers.planning.reference import up_validate
        from llm_modulo.verifiers.planning.validator import to_ground_action

        steps = [to_ground_action((name, tuple(args))) for name, args in (answer or [])]
        return up_validate(task.payload.problem, steps), "unified-planning SequentialPlanValidator"

    # -- training ------------------------------------------------------------------------------
    def imitation_target(self, task: Task, *, rng: Any = None, **options: Any) -> tuple[str, dict[str, Any]] | None:
        """(completion, figures): a short plan for ``task`` in this domain's answer format, with the
        end marker; ``options``: :func:`~llm_modulo.domains.planning.training.find_plan`'s keywords
        (``rng`` is not used: the search draws from ``seed``)."""
        from llm_modulo.domains.planning.training import imitation_target

        return imitation_target(self, task, **options)

    def shortened_target(self, task: Task, steps: Sequence[Any]) -> tuple[list[Any], str]:
        """(steps, completion): the plan ``steps`` without the steps it does not need (greedy removal
        under the simulator), and their completion with the end marker; training re-certifies it."""
        from llm_modulo.domains.planning.training import shortened_target

        return shortened_target(self, task, steps)

    def repair_target(self, task: Task, prefill: str, max_states: int = 20_000) -> str | None:
        """A shortest completion of the answer opened by ``prefill`` (a back-prompt's), with the end
        marker; None when there is nothing to finish or no plan within ``max_states`` states."""
        from llm_modulo.domains.planning.training import finish_plan

        return finish_plan(self, task, prefill, max_states)


__all__ = [
    "COT_INSTRUCTIONS",
    "JUDGE_END",
    "JUDGE_NO",
    "JUDGE_QUESTION",
    "JUDGE_YES",
    "PDDL_INSTRUCTIONS",
    "PLAN_END",
    "PLAN_START",
    "Example",
    "PlanningDomain",
    "PlanningTask",
    "load_examples",
    "rename_symbols",
]
