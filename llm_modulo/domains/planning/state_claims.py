"""A chain of thought the critics can check: after each action, the answer states the world.

In this format (``PlanningDomain(..., cot="state")``) each action line is followed by one line
``State: <fact>, <fact> and <fact>.`` that lists, in the prompt's words, every fact that holds after
the action among those an action can change (the fluents; facts no action touches are left out,
and so are the facts the vocabulary keeps silent). :class:`StateClaimCritic` replays the plan in
the simulator and compares each claimed state with the true one: the first claim that does not
hold, or the first fact left out, is the critique. It is a hard critic, so an answer is certified
only when the plan is valid *and* every state it claims is true: the reasoning itself is verified.

The claims are read against the renderings of the facts that held so far (a fact is a recognised
phrase, never a guess): a phrase that is not a true fact now is a false claim, whatever it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from llm_modulo.domains.planning.vocabulary import join_facts
from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus, Violation
from llm_modulo.verifiers.base import BaseCritic

STATE_PREFIX = "State:"
STATE_INSTRUCTIONS = (
    'Keep track of the world. After each action, write one line that starts with "State:" and lists '
    "every fact that holds after the action among those that actions can change; then write the next "
    "action. A plan whose stated facts are wrong is rejected, even if its actions work."
)


def fluent_predicates(problem: Any) -> frozenset[str]:
    """The predicates some action adds or deletes: the facts a state line lists."""
    return frozenset(
        lit.predicate.lower()
        for schema in problem.action_schemas.values()
        for lit in (*schema.add_effects, *schema.del_effects)
    )


def rendered_state(render: Any, problem: Any, state: Any, task: Task | None = None) -> list[str]:
    """The fluent facts of ``state`` in the prompt's words (silent facts left out), sorted."""
    fluents = fluent_predicates(problem)
    texts = (render(f, positive=True, task=task) for f in problem.facts(state) if f[0].lower() in fluents)
    return sorted(t for t in texts if t)


def state_line(facts: Sequence[str]) -> str:
    """``State: a, b and c.`` (PlanBench's list style; ``State: nothing.`` for no fact)."""
    return f"{STATE_PREFIX} {join_facts(facts) or 'nothing'}."


def annotated_plan(
    render_fact: Any, render_action: Any, problem: Any, steps: Sequence[Sequence[Any]], task: Task | None = None
) -> str:
    """A plan in this format: each action line followed by its true state line (examples, training
    targets). The steps must be executable from the initial state."""
    lines = []
    state = problem.initial_state()
    for name, args in steps:
        lines.append(render_action(name, args, task))
        state = problem.apply(state, (name, tuple(args)))
        lines.append(state_line(rendered_state(render_fact, problem, state, task)))
    return "".join(line + "\n" for line in lines)


def read_claims(body: str, known: Iterable[str]) -> tuple[list[str], list[str]]:
    """(facts read, phrases that are no fact of the problem) from a state line's body.

    The body is split at ", " and " and "; adjacent pieces are joined back when together they form
    a known fact (a fact whose words contain "and" or a comma)."""
    body = body.strip().removesuffix(".").strip()
    if body.lower() in ("", "nothing"):
        return [], []
    vocabulary = {k.lower(): k for k in known}
    pieces = [p.strip() for part in body.split(", ") for p in part.split(" and ")]
    facts: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):  # the longest run of pieces that is a fact
            joined = " and ".join(pieces[i:j])  # a fact with "and" in its words was split at it
            if joined.lower() in vocabulary:
                facts.append(vocabulary[joined.lower()])
                i = j
                break
        else:
            unknown.append(pieces[i])
            i += 1
    return facts, unknown


class StateClaimCritic(BaseCritic):
    """Checks every ``State:`` line of an answer against the simulator (hard: a false or missing
    claim rejects the answer). Steps the simulator cannot take are the plan validator's to report;
    claims are checked up to the first of them."""

    name = "state-claims"
    hard = True

    def __init__(self, domain: Any) -> None:
        self.domain = domain  # renders facts in the prompt's words

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        problem = task.payload.problem
        parser = task.payload.parser
        render = self.domain.render_fact
        state = problem.initial_state()
        step = 0
        pending = False  # an action whose state line has not come yet
        checked = 0
        seen: set[str] = set(rendered_state(render, problem, state, task))
        for raw in candidate.text.splitlines():
            line = raw.strip()
            if line.lower().startswith(STATE_PREFIX.lower()):
                if not pending:
                    return _reject("stray_state_claim", step, "a State line that follows no action", checked)
                truth = rendered_state(render, problem, state, task)
                # a phrase that is not a true fact now is false whatever it names: reading against
                # the facts that held on the way (for words) is enough to find it
                seen.update(truth)
                facts, unknown = read_claims(line[len(STATE_PREFIX) :], seen)
                false = [f for f in facts if f not in truth] + unknown
                if false:
                    return _reject(
                        "false_state_claim",
                        step,
                        f"after step {step} you state that {false[0]}, which does not hold",
                        checked,
                        claim=false[0],
                    )
                missing = [f for f in truth if f not in facts]
                if missing:
                    return _reject(
                        "missing_state_claim",
                        step,
                        f"after step {step} you leave out that {missing[0]}",
                        checked,
                        claim=missing[0],
                    )
                pending = False
                checked += 1
                continue
            action = parser.reasoning_line_step(line) if line else None
            if action is None:
                continue
            if pending:
                return _reject("missing_state_claim", step, f"step {step} is not followed by a State line", checked)
            if not problem.is_applicable(state, (action.name, tuple(action.args))):
                break  # the plan validator reports the step; later claims cannot be checked
            state = problem.apply(state, (action.name, tuple(action.args)))
            step += 1
            pending = True
        if pending:
            return _reject("missing_state_claim", step, f"step {step} is not followed by a State line", checked)
        return Verdict(status=VerdictStatus.VALID, critic=self.name, score=1.0, info={"claims_checked": checked})


def _reject(kind: str, step: int, message: str, checked: int, **detail: Any) -> Verdict:
    return Verdict(
        status=VerdictStatus.INVALID,
        critic=StateClaimCritic.name,
        violations=[Violation(kind=kind, step=step or None, message=message, detail=detail)],
        score=0.0,
        info={"claims_checked": checked},
    )
