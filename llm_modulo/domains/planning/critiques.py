"""What the planning domain makes of the critics' verdicts: each violation in the prompt's words
(the core feedback policy builds the critique from them), the valid prefix a retry may keep, and
the rejected continuation a constrained retry excludes."""

from __future__ import annotations

from llm_modulo.domains.planning.render import PLAN_END, PlanRendering
from llm_modulo.domains.planning.vocabulary import join_facts
from llm_modulo.feedback import Wording
from llm_modulo.types import Candidate, Task, Verdict, Violation


class PlanCritiques(PlanRendering):
    """Critique wording and the prefix hooks of modulo."""

    wording = Wording(rejected="The plan is not valid.", accepted="The plan is valid.")

    def valid_prefix(self, task: Task, candidate: Candidate, verdicts: list[Verdict], to_best: bool = True) -> str:
        """The steps the critics found no fault in, as answer text (``prompt`` puts the plan marker first).

        With ``to_best`` (the default), cut back to the point where the most goals held
        (``Progress.best``); otherwise the whole valid prefix (``Progress.valid``).
        """
        steps = candidate.answer or []
        lengths = [(v.progress.best if to_best else v.progress.valid) for v in verdicts if v.hard and v.progress]
        keep = min(lengths) if lengths else 0
        return self.plan_text(steps[:keep], task)

    def rejected_continuation(
        self, task: Task, candidate: Candidate, verdicts: list[Verdict], prefix: str
    ) -> str | None:
        """The choice right after ``prefix`` that the hard critics rejected, if the first error is there.

        A failing step gives its own line; a plan that stops right after ``prefix`` with the goal
        unmet gives the end marker ("do not stop here"). Used to exclude known-bad first lines
        when the loop continues from ``prefix`` again.
        """
        kept = [tuple(s) for s in task.payload.parser.parse(prefix)]
        k = len(kept)
        steps: list[tuple[str, tuple[str, ...]]] = candidate.answer or []  # (name, args) as parse() gives them
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


__all__ = ["PlanCritiques"]
