"""The grounded STRIPS plan validator: every failing step, unmet goals, and prefix progress.

Semantics (chosen so that a critique can list *all* errors, not just the first):

* Steps run in order from the initial state. A step that fails (unknown action, wrong
  arity, unknown object, wrong type, or an unmet precondition) is recorded and **skipped**:
  the state is left unchanged and simulation continues, so later failures are reported too.
* ``valid_prefix_len`` is the number of steps before the first failure.
* ``unmet_goals`` and ``goal_fraction_in_prefix`` are evaluated in the state reached by the
  valid prefix (the steps before the first failure), not after the skipped-over remainder:
  what a plan achieves is only what its valid prefix achieves.
* ``best_prefix_len`` is the latest prefix length ``k <= valid_prefix_len`` at which the most
  goal literals hold: the valid prefix, less any trailing steps that undid goals (useful to cut
  a plan back to its most promising point and continue from there).
* ``valid`` is True iff there is no failure and no unmet goal. An empty plan is valid iff the
  goal holds initially.

Effects apply as in PDDL: ``state - delete + add`` (an atom both deleted and added stays true).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._model import GroundAction, Literal, literal_str
from ._record import Record
from .pddl import BadStep, GroundOp, PlanningProblem
from .plan_text import extract_steps

Step = GroundAction | tuple[str, Sequence[str]] | str


class StepFailure(Record):
    """One failing step. ``unmet`` lists the preconditions that did not hold (inapplicable only)."""

    __slots__ = _fields = ("step", "action", "kind", "unmet", "reason")

    def __init__(
        self, step: int, action: GroundAction, kind: str, unmet: list[Literal] | None = None, reason: str = ""
    ) -> None:
        self.step = step  # 1-based
        self.action = action  # lowercased
        self.kind = kind  # unknown_action | wrong_arity | unknown_object | wrong_type | inapplicable
        self.unmet: list[Literal] = [] if unmet is None else unmet
        self.reason = reason  # why an ill-formed step names no action; see :meth:`describe`

    def describe(self) -> str:
        """A plain PDDL-vocabulary explanation, e.g. ``"precondition (clear b) does not hold"``."""
        return self.reason or describe_unmet(self.unmet)

    def message(self) -> str:
        """The critic's message, e.g. ``"step 2 (stack a b): precondition (holding a) does not hold"``."""
        return f"step {self.step} {self.action}: {self.describe()}"


class PlanReport(Record):
    """What :func:`validate` found; the module docstring gives the exact semantics."""

    _fields = (
        "valid",
        "failures",
        "unmet_goals",
        "valid_prefix_len",
        "goal_fraction_in_prefix",
        "best_goal_fraction",
        "best_prefix_len",
        "plan_len",
    )

    def __init__(
        self,
        valid: bool,
        failures: list[StepFailure],
        unmet_goals: list[Literal],
        valid_prefix_len: int,
        goal_fraction_in_prefix: float,
        best_goal_fraction: float,
        best_prefix_len: int,
        plan_len: int,
    ) -> None:
        self.valid = valid
        self.failures = failures  # every failing step, in plan order
        self.unmet_goals = unmet_goals  # goal literals false in the state after the valid prefix
        self.valid_prefix_len = valid_prefix_len  # steps before the first failure
        self.goal_fraction_in_prefix = goal_fraction_in_prefix  # goal literals true after the valid prefix (1.0: none)
        self.best_goal_fraction = best_goal_fraction  # share of goal literals true after ``best_prefix_len`` steps
        self.best_prefix_len = best_prefix_len  # latest prefix (<= valid_prefix_len) with the most goals true
        self.plan_len = plan_len

    @property
    def first_failure(self) -> StepFailure | None:
        return self.failures[0] if self.failures else None

    def goal_message(self) -> str:
        """The critic's message on :attr:`unmet_goals` (call it only when there are some)."""
        unmet = self.unmet_goals
        if self.failures:
            steps = self.valid_prefix_len
            where = f"after the valid prefix ({steps} step{'s' if steps != 1 else ''})"
        else:
            where = "after the plan" if self.plan_len else "in the initial state (empty plan)"
        listed = ", ".join(literal_str(lit) for lit in unmet)
        verb = "does not hold" if len(unmet) == 1 else "do not hold"
        return f"{where}, goal{'s' if len(unmet) != 1 else ''} {listed} {verb}"

    def messages(self) -> list[str]:
        """Every message the critic's verdict carries, in its order: the failing steps, then the goals."""
        return [f.message() for f in self.failures] + ([self.goal_message()] if self.unmet_goals else [])


def parse_pddl_plan(text: str) -> list[GroundAction]:
    """Parse plan text such as ``"(unstack a b)\n(put-down a)"`` into ground actions.

    Every parenthesised group is one step; ``;`` comments and anything outside parentheses
    (step numbers, ``[PLAN END]``, costs in brackets) are ignored. Names are lowercased.
    This is :func:`.plan_text.extract_steps`; :func:`.plan_text.read_strict` checks every line too.
    """
    return extract_steps(text)


def describe_unmet(unmet: Sequence[Literal], what: str = "precondition") -> str:
    """``"precondition (clear b) does not hold"`` / ``"preconditions (clear b), (holding a) do not hold"``."""
    listed = ", ".join(literal_str(lit) for lit in unmet)
    return f"{what} {listed} does not hold" if len(unmet) == 1 else f"{what}s {listed} do not hold"


def to_ground_action(step: Step) -> GroundAction:
    """A step as a GroundAction: ``"(stack a b)"`` and ``("stack", ["a", "b"])`` both work."""
    if isinstance(step, str):
        parsed = parse_pddl_plan(step)
        if parsed:
            return parsed[0]
        parts = step.lower().split() or [""]  # "stack a b" without parentheses
        return GroundAction(parts[0], tuple(parts[1:]))
    return GroundAction.of(step)


def validate(problem: PlanningProblem, plan: Iterable[Step]) -> PlanReport:
    """Validate ``plan`` (ground actions, ``(name, args)`` pairs, or ``"(name a b)"`` strings).

    Names match case-insensitively. See the module docstring for the exact semantics.
    """
    # The hot loop: the per-problem cache maps a step as written to its ground operator.
    cached = problem._raw.get
    resolve = problem.resolve
    goal_pos, goal_neg = problem._goal_pos, problem._goal_neg
    state = prefix_state = problem.initial_state()
    goals_total = len(problem.goal)
    best_count = problem.goals_satisfied(state)
    best_len = 0
    failures: list[StepFailure] = []
    n = 0
    for n, step in enumerate(plan, 1):
        if type(step) is GroundAction:
            op = cached((step.name, step.args)) or resolve(step)
        else:
            op = resolve(to_ground_action(step) if isinstance(step, str) else step)
        if type(op) is GroundOp:
            if state & op.pre_pos == op.pre_pos and not state & op.pre_neg:
                state = state & op.keep | op.add
                if not failures:
                    count = (state & goal_pos).bit_count() + (goal_neg & ~state).bit_count()
                    if count >= best_count:
                        best_count, best_len = count, n
                continue
            unmet = problem.unmet_preconditions(state, op)
            failure = StepFailure(n, op.action, "inapplicable", unmet)
        else:
            assert isinstance(op, BadStep)
            failure = StepFailure(n, op.action, op.kind, [], op.reason)
        if not failures:
            prefix_state = state
        failures.append(failure)
    if not failures:
        prefix_state = state
    unmet_goals = problem.unmet_goals(prefix_state) if not problem.goal_reached(prefix_state) else []
    valid_prefix = failures[0].step - 1 if failures else n
    return PlanReport(
        valid=not failures and not unmet_goals,
        failures=failures,
        unmet_goals=unmet_goals,
        valid_prefix_len=valid_prefix,
        goal_fraction_in_prefix=(goals_total - len(unmet_goals)) / goals_total if goals_total else 1.0,
        best_goal_fraction=best_count / goals_total if goals_total else 1.0,
        best_prefix_len=best_len,
        plan_len=n,
    )
