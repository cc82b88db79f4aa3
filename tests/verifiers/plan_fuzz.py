"""Plan generators and the comparison with unified-planning, for the validator fuzz test
(``test_fuzz_validator.py``, through hypothesis) and the benchmark (``benchmarks/fuzz_validator.py``,
through ``random.Random``).

Every generator takes a :class:`Draw`, the one source of choices, so that hypothesis can shrink a
failing plan and the benchmark can draw 10^5 plans cheaply. A plan is a list of
:class:`GroundAction` whose names and arguments may be anything (unknown, mistyped, upper case).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from plan_fixtures import BLOCKS_DOMAIN, SUSSMAN_PLAN, SUSSMAN_PROBLEM, TINY_DOMAIN, TINY_PLAN, TINY_PROBLEM
from planbench_gold import gold_cases

from llm_modulo.types import Candidate, Task, VerdictStatus
from llm_modulo.verifiers.planning import (
    GroundAction,
    PlanCritic,
    PlanningProblem,
    PlanReport,
    UPReport,
    load_problem,
    parse_pddl_plan,
    up_check,
    validate,
)
from llm_modulo.verifiers.planning.pddl import GroundOp
from llm_modulo.verifiers.planning.shortest import shortest_plan
from llm_modulo.verifiers.planning.validator import to_ground_action

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "planning"
GRIPPER_PLAN = "(switch-on desk)\n(pick b1 rooma left)\n(pick b2 rooma right)\n(move rooma roomb)\n"
GRIPPER_PLAN += "(drop b1 roomb left)\n(drop b2 roomb right)"

# (set, instance id): small and large Blocksworld, 3-block, Mystery, untyped Logistics, hard
PLANBENCH_PICKS = [
    ("blocksworld", 3),
    ("blocksworld", 151),
    ("blocksworld_3", 9),
    ("mystery_blocksworld", 11),
    ("logistics", 3),
    ("logistics", 120),
    ("blocksworld_hard", 5),
]

# names no task declares, some of them adversarial: empty, unicode whose lower() is ASCII
# (KELVIN SIGN -> "k"), parameter and type names, PDDL punctuation, a NUL byte
ODD_NAMES = [
    "x-foo",
    "",
    "\u212a",
    "\u0130",
    "?ob",
    "?x",
    "object",
    "block",
    "=",
    "not",
    "and",
    "a\x00",
    "ünï",
    "a b",
    "-",
    "0",
]
CASES: list[Callable[[str], str]] = [str.upper, str.lower, str.title, str.swapcase]


class Draw(Protocol):
    """The one source of choices: an integer in ``[lo, hi]``."""

    def integer(self, lo: int, hi: int) -> int: ...


class RandomDraw:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


def pick(d: Draw, items: Sequence[Any]) -> Any:
    return items[d.integer(0, len(items) - 1)]


def chance(d: Draw, percent: int) -> bool:
    return d.integer(1, 100) <= percent


@dataclass
class FuzzProblem:
    """A task, its gold plan, and per action parameter the objects that fit it or do not."""

    label: str
    problem: PlanningProblem
    gold: list[GroundAction]
    domain_file: str
    problem_file: str
    fitting: dict[str, list[list[str]]] = field(default_factory=dict)
    misfitting: dict[str, list[list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        objects = list(self.problem.objects)
        for name, schema in self.problem.action_schemas.items():
            self.fitting[name] = [[o for o in objects if self.problem.fits(o, t)] for _, t in schema.parameters]
            self.misfitting[name] = [[o for o in objects if not self.problem.fits(o, t)] for _, t in schema.parameters]

    @property
    def small(self) -> bool:
        return len(self.problem.objects) <= 6


def load_fuzz_problems(planbench: Path | None) -> list[FuzzProblem]:
    """The hand-written tasks (typed, negative preconditions, equality, constants, ``either``),
    then PlanBench's picks when its data is there."""
    gripper_d, gripper_p = FIXTURES / "gripper_domain.pddl", FIXTURES / "gripper_problem.pddl"
    out = [
        _fuzz_problem("tiny", TINY_DOMAIN, TINY_PROBLEM, TINY_PLAN),
        _fuzz_problem("sussman", BLOCKS_DOMAIN, SUSSMAN_PROBLEM, SUSSMAN_PLAN),
        _fuzz_problem("gripper", str(gripper_d), str(gripper_p), GRIPPER_PLAN),
    ]
    if planbench is not None and planbench.is_dir():
        for set_name, iid in PLANBENCH_PICKS:
            case = next(c for c in gold_cases(planbench, set_name) if c.instance_id == iid)
            out.append(_fuzz_problem(case.id, str(case.domain), str(case.problem), case.plan_text))
    return out


def _fuzz_problem(label: str, domain: str, problem: str, plan_text: str) -> FuzzProblem:
    return FuzzProblem(label, load_problem(domain, problem), parse_pddl_plan(plan_text), domain, problem)


# ------------------------------------------------------------------ plans


def random_action(d: Draw, fp: FuzzProblem) -> GroundAction:
    """A type-correct grounding of a random action (applicable or not)."""
    name = pick(d, sorted(fp.fitting))
    return GroundAction(name, tuple(pick(d, objs) if objs else "x-none" for objs in fp.fitting[name]))


def walk(d: Draw, fp: FuzzProblem, plan: list[GroundAction], steps: int) -> list[GroundAction]:
    """``plan`` (which must run) extended by up to ``steps`` random applicable actions."""
    problem = fp.problem
    state = problem.initial_state()
    for step in plan:
        state = problem.apply(state, step)
    plan = list(plan)
    for _ in range(steps):
        options = sorted(problem.applicable(state), key=str)  # the index's order varies with the hash seed
        if not options:
            break
        plan.append(pick(d, options))
        state = problem.apply(state, plan[-1])
    return plan


_COMPLETIONS: dict[tuple[str, int], tuple[GroundAction, ...] | None] = {}


def completed(fp: FuzzProblem, plan: list[GroundAction]) -> list[GroundAction]:
    """``plan`` (which must run) followed by a shortest way to the goal, on small tasks."""
    problem = fp.problem
    state = problem.initial_state()
    for step in plan:
        state = problem.apply(state, step)
    key = (fp.label, state)
    if key not in _COMPLETIONS:
        _COMPLETIONS[key] = shortest_plan(problem, max_states=3000, start=state).plan
    rest = _COMPLETIONS[key]
    return plan + list(rest or ())


def odd_name(d: Draw) -> str:
    return pick(d, ODD_NAMES) + ("" if chance(d, 50) else str(d.integer(0, 99)))


def mutate(d: Draw, fp: FuzzProblem, plan: list[GroundAction]) -> list[GroundAction]:
    """One mutation: a step dropped, inserted, swapped, duplicated, replaced or made ill-formed,
    the plan truncated, or names' case changed."""
    plan = list(plan)
    op = pick(d, MUTATIONS)
    if not plan:
        return [random_action(d, fp)] if op != "truncate" else plan
    i = d.integer(0, len(plan) - 1)
    step = plan[i]
    if op == "drop":
        del plan[i]
    elif op == "insert":
        plan.insert(d.integer(0, len(plan)), random_action(d, fp))
    elif op == "swap":
        j = d.integer(0, len(plan) - 1)
        plan[i], plan[j] = plan[j], plan[i]
    elif op == "duplicate":
        plan.insert(i, step)
    elif op == "replace":
        plan[i] = random_action(d, fp)
    elif op == "truncate":
        plan = plan[:i]
    elif op == "arity":
        args = step.args[:-1] if step.args and chance(d, 50) else (*step.args, pick(d, list(fp.problem.objects)))
        plan[i] = GroundAction(step.name, args)
    elif op == "unknown_object" and step.args:
        j = d.integer(0, len(step.args) - 1)
        plan[i] = GroundAction(step.name, (*step.args[:j], odd_name(d), *step.args[j + 1 :]))
    elif op == "unknown_action":
        plan[i] = GroundAction(pick(d, [odd_name(d), *fp.problem.predicates, *fp.problem.types]), step.args)
    elif op == "wrong_type" and step.args:
        j = d.integer(0, len(step.args) - 1)
        wrong = fp.misfitting.get(step.name.lower(), [[]] * len(step.args))
        if j < len(wrong) and wrong[j]:
            plan[i] = GroundAction(step.name, (*step.args[:j], pick(d, wrong[j]), *step.args[j + 1 :]))
    elif op == "case":
        case = pick(d, CASES)
        plan[i] = GroundAction(case(step.name), tuple(case(a) if chance(d, 70) else a for a in step.args))
    return plan


MUTATIONS = [
    "drop",
    "insert",
    "swap",
    "duplicate",
    "replace",
    "truncate",
    "arity",
    "unknown_object",
    "unknown_action",
    "wrong_type",
    "case",
]
KINDS = ["gold", "walk", "gold+walk", "mutated gold", "mutated walk", "random", "detour"]


def draw_plan(d: Draw, fp: FuzzProblem) -> tuple[str, list[GroundAction]]:
    """(kind, plan): the gold plan, a random walk (maybe into the gold tail or a shortest
    completion), random actions, or one of these mutated 1-4 times."""
    kind = pick(d, KINDS)
    gold = fp.gold
    if kind == "gold":
        plan = list(gold)
    elif kind == "random":
        plan = [random_action(d, fp) for _ in range(d.integer(0, 8))]
    elif kind == "detour" and fp.small:  # a gold prefix, a walk, the shortest way on: valid
        plan = completed(fp, walk(d, fp, gold[: d.integer(0, len(gold))], d.integer(0, 4)))
    elif kind == "gold+walk":
        plan = walk(d, fp, gold[: d.integer(0, len(gold))], d.integer(0, 6))
    else:
        plan = walk(d, fp, [], d.integer(0, len(gold) + 2))
        if chance(d, 50):
            plan += gold[d.integer(0, len(gold)) :]
    if kind.startswith("mutated"):
        for _ in range(d.integer(1, 4)):
            plan = mutate(d, fp, plan)
    elif chance(d, 15):  # names are case-insensitive: shouting must not change the verdict
        plan = [GroundAction(a.name.upper(), tuple(x.upper() for x in a.args)) for a in plan]
    return kind, plan


# ------------------------------------------------------------------ plan text, for the critic


PROSE = ["Here is my plan:", "First, I think about the blocks.", "Let me check the goal.", "Done!", "?", "..."]
NUMBERING: list[Callable[[int], str]] = [
    lambda n: "",
    lambda n: f"{n}. ",
    lambda n: f"{n}) ",
    lambda n: f"Step {n}: ",
    lambda n: "- ",
    lambda n: "* ",
]
END_MARKERS = ["[PLAN END]", "[plan end]", "[END PLAN]"]


def plan_text(d: Draw, lines: Sequence[str]) -> tuple[str, bool]:
    """(text, neutral): the plan's lines dressed as a model might write them; ``neutral`` is
    False when a prose line sits inside the plan (the parser must read it as a bad step)."""
    number = pick(d, NUMBERING)
    out: list[str] = []
    if chance(d, 40):
        out += [pick(d, PROSE), "[PLAN]"]
    neutral = True
    for n, line in enumerate(lines, 1):
        if chance(d, 5):
            out.append(pick(d, PROSE))
            neutral = False
        if chance(d, 10):
            out.append("")
        out.append(number(n) + line + ("." if chance(d, 10) else "") + (" " * d.integer(0, 2)))
    if chance(d, 60):
        out += [pick(d, END_MARKERS), pick(d, PROSE)]
    return "\n".join(out), neutral


# ------------------------------------------------------------------ the comparison


@dataclass
class Comparison:
    """One plan's verdicts: ``problems`` is empty when the validators agree."""

    ours_valid: bool
    up_valid: bool
    problems: list[str]

    @property
    def false_valid(self) -> bool:
        return self.ours_valid and not self.up_valid


def compare(problem: PlanningProblem, plan: Sequence[GroundAction]) -> Comparison:
    """The grounded validator against unified-planning: the verdict, and for an invalid plan the
    first failing step (``None`` for an unmet goal) and its kind."""
    return compare_reports(validate(problem, plan), up_check(problem, plan))


def compare_reports(ours: PlanReport, ref: UPReport) -> Comparison:
    """:func:`compare` on reports already made."""
    problems = []
    if ours.valid != ref.valid:
        problems.append(f"valid: ours {ours.valid}, unified-planning {ref.valid} ({ref.kind} {ref.reason})")
    elif not ours.valid:
        first = ours.first_failure
        ours_at = (first.step, first.kind) if first is not None else (None, "unmet_goal")
        if ours_at != (ref.step, ref.kind):
            problems.append(f"first failure: ours {ours_at}, unified-planning {(ref.step, ref.kind)} {ref.reason}")
    return Comparison(ours.valid, ref.valid, problems)


def critic_task(domain: Any, fp: FuzzProblem) -> Task:
    return domain.make_task(fp.problem, fp.domain_file, fp.problem_file, task_id=fp.label)


def render(domain: Any, task: Task, fp: FuzzProblem, step: GroundAction) -> str:
    """A step in the domain's words when it names a ground action, else as a PDDL line."""
    key = GroundAction(step.name.lower(), tuple(a.lower() for a in step.args))
    if domain.style == "nl" and isinstance(fp.problem.resolve(key), GroundOp):
        return str(domain.render_action(key.name, key.args, task))
    return str(step)


def compare_text(domain: Any, task: Task, fp: FuzzProblem, text: str) -> tuple[Candidate, Comparison]:
    """The text parsed as the domain reads model output, then :class:`PlanCritic` against
    unified-planning on what was parsed."""
    candidate = domain.parse(task, text)
    verdict = PlanCritic().check(task, candidate)
    steps = [to_ground_action(s) for s in candidate.answer]
    ref = up_check(fp.problem, steps)
    certified = verdict.status is VerdictStatus.VALID
    problems = []
    if certified != ref.valid:
        problems.append(f"critic {verdict.status.value}, unified-planning valid={ref.valid} ({ref.kind} {ref.reason})")
    return candidate, Comparison(certified, ref.valid, problems)
