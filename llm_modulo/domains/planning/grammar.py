"""The planning domain's answer grammar and search guide, both over one set of grammar lines:
the rendered ground actions that can ever apply.

``constraint`` steers constrained decoding (well-formed actions, or with ``executable`` only
those applicable in the simulated state); ``search_guide`` gives step-level search a state key
and a distance-to-goal estimate. Neither judges a plan: the critics still check every one.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

from llm_modulo.domains.planning.render import PLAN_END, PlanRendering
from llm_modulo.domains.planning.state_claims import rendered_state
from llm_modulo.domains.planning.vocabulary import join_facts
from llm_modulo.errors import InputError
from llm_modulo.protocols import LineConstraint
from llm_modulo.types import Task


class PlanGrammar(PlanRendering):
    """Grammar and search guide; the host class also sets ``max_plan_lines`` and ``cot``."""

    max_plan_lines: int | None  # None: max(8, 4 x the number of objects)
    cot: bool
    state_cot: bool

    def _grammar_lines(self, task: Task) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Rendered lines of every grounding that can ever apply, and line -> action. Cached per task."""
        cached: tuple[tuple[str, ...], dict[str, Any]] | None = task.payload.cache.get("grammar")
        if cached is None:
            # only groundings that can ever apply (delete-relaxed reachability): every type-correct
            # grounding of a large untyped domain would be hundreds of thousands of lines
            actions = task.payload.problem.reachable_actions()
            lines = tuple(self.render_action(a.name, a.args, task) for a in actions)
            cached = task.payload.cache["grammar"] = (lines, dict(zip(lines, actions, strict=True)))
        return cached

    def plan_length_bound(self, task: Task) -> int:
        """The most steps an answer may have: ``max_plan_lines``, else max(8, 4 x the objects) (the
        grammar's cap), raised to a plan length the benchmark data knows (task meta) if that is longer."""
        if self.max_plan_lines:
            return self.max_plan_lines
        known = max(int(task.meta.get(k) or 0) for k in ("optimal_plan_length", "known_plan_length"))
        return max(8, 4 * len(task.payload.problem.objects), known)

    def max_answer_chars(self, task: Task) -> int | None:
        """A bound on the answer's characters (``max_tokens="auto"``'s token cap): the plan-length
        bound times the longest step the task can render, in its own style (NL or PDDL), plus the
        end marker; with ``cot``, each step's reasoning line and the closing goal line too. None
        for a problem the simulator does not ground (the generic cap then applies). Cached per task."""
        cached: int | None = task.payload.cache.get("max_answer_chars")
        if cached is None and task.payload.problem.supported:
            lines, by_line = self._grammar_lines(task)
            steps = self.plan_length_bound(task)
            step = max((len(line) for line in lines), default=0) + 1
            extra = len(PLAN_END) + 1
            if self.state_cot:  # "State: <the fluents that hold>." after each action: at most all of
                # the initial state's and the goal's, twice over (a bound for the token cap, not a rule)
                problem = task.payload.problem
                initial = rendered_state(self.render_fact, problem, problem.initial_state(), task)
                step += 2 * (sum(len(f) + 2 for f in initial) + len(self._goal_text(problem, task))) + 16
            elif self.cot:  # "Before step N, <conditions>, so I can do <action>." before each action
                step += len(f"Before step {steps}, , so I can do .\n") + max(
                    (len(line) + self._conditions_chars(task, action) for line, action in by_line.items()), default=0
                )
                extra += len(f"After step {steps}, the goal does not hold yet: .\n") + len(
                    self._goal_text(task.payload.problem, task)
                )
            cached = task.payload.cache["max_answer_chars"] = steps * step + extra
        return cached

    def _conditions_chars(self, task: Task, action: Any) -> int:
        """The characters of a reasoning line's conditions for ``action`` ("nothing is required" at least)."""
        op = task.payload.problem.resolve(action)
        conditions = [self.render_fact(f, positive=pos, task=task) for pos, f, _bit in getattr(op, "preconditions", ())]
        return max(len(join_facts(conditions)) + len(" hold"), len("nothing is required"))

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


__all__ = ["PlanGrammar"]
