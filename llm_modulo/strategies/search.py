"""``search``: step-level, verifier-pruned best-first search guided by the language model.

The answer is built one grammar line (one step) at a time. The domain's executable grammar
(its simulator) offers only the steps that can be taken from a node, so invalid steps are
never proposed; the language model ranks them; the critics are the goal test and alone can
certify an answer. "AlphaGo inside the LLM": the model's preferences guide, the verifier
guarantees.

Each expansion with more than one child is one LLM call (a forced step is not ranked). A model with ``score`` (the local backend, the random
control) ranks all the children in one batched forward pass over the cached prompt; any other
model is asked for ``n`` constrained samples from the node, and the children are ranked by how
often each was the first step.

Order of the open list (greedy best-first): the domain's distance-to-goal estimate first
(``heuristic``; ``"none"`` leaves the order to the model alone), then the model's preference
for the step, then insertion order. With ``heuristic="none"`` nodes are ordered by the
cumulative log-probability of their path, so the search is the model's own best-first search.
With ``queues="dual"`` and a guide that names preferred steps (FF's helpful actions for
PDDL), a second open list holds the children reached by a preferred step; the two lists are
popped in turn and the preferred one is boosted whenever the best estimate improves (Fast
Downward's preferred operators). The model is asked only while its calls have taken at most ``model_share`` times the search's own
time (:class:`~llm_modulo.strategies.model_time.ModelAllowance`): a model whose call costs more than the expansions it could save is
not waited on, so with a heuristic the search is at most 1+share times slower than without the
model; children it was not asked about get the random control's preferences (seeded), so
on a problem the heuristic solves quickly the search is the control's. Nodes that reach a state already seen are pruned, so the
search is complete over a finite state space: every node has a verified answer below it or is eventually exhausted. The
grammar's ``max_lines`` (a decoding limit) does not bound the depth: greedy best-first plans
can be long, and the node budget bounds the work.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from llm_modulo.budget import BudgetTracker
from llm_modulo.errors import InputError
from llm_modulo.protocols import Domain, LineConstraint
from llm_modulo.strategies.base import BaseStrategy, score
from llm_modulo.strategies.model_time import ModelAllowance, random_preferences
from llm_modulo.strategies.options import SearchOptions, StrategyOptions, share_text
from llm_modulo.types import Attempt, Result, ResultStatus, Sample, Task

log = logging.getLogger(__name__)

HEURISTICS = ("relaxed-plan", "goal-count", "none")
QUEUES = ("single", "dual")
BOOST = 1000  # Fast Downward's preferred-operator boost on progress


class Search(BaseStrategy):
    """Greedy best-first search over answer steps; ``max_nodes`` caps expansions when the budget has no ``nodes``."""

    name = "search"

    Options = SearchOptions
    options: SearchOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.constrained = "executable"  # whatever was asked: the simulator offers the steps
        self.heuristic = self.options.heuristic
        self.queues = self.options.queues
        self.max_nodes = self.options.max_nodes
        self.trace_nodes = self.options.trace_nodes
        share = self.options.model_share
        self.model_share = (math.inf if self.heuristic == "none" else 2.0) if share is None else share
        self._allowance = ModelAllowance(self.model, self.model_share)  # renewed by each run

    def needs(self, options: StrategyOptions) -> dict[str, str]:
        return {"constraint": "search (its executable grammar offers the steps)"}

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "heuristic": self.heuristic,
            "queues": self.queues,
            "max_nodes": self.max_nodes,
            "model_share": share_text(self.model_share),  # the share in force (the default resolved)
        }

    # -- the search ------------------------------------------------------------------------------
    def _run(self, task: Task) -> Result:
        budget = (
            self.budget if self.budget.nodes is not None else self.budget.model_copy(update={"nodes": self.max_nodes})
        )
        tracker = BudgetTracker(budget)
        tracker.usage.rounds = 1
        critics = self.critics_for(task)
        constraint = self.constraint_for(task, "")
        if constraint is None or constraint.next_lines is None:
            raise InputError(
                f"search needs an executable grammar: domain {self.domain.name!r}'s constraint(task, prefix, "
                "executable=True) must return a LineConstraint with next_lines"
            )
        guide = _guide(self.domain, task, self.heuristic)
        expanded: dict[tuple[str, ...], int] = {}  # node -> its expansion's index in the trace
        base_prompt = self.domain.prompt(task)
        trace: list[Attempt] = []
        counter = itertools.count()
        root: tuple[str, ...] = ()
        root_key, root_h = guide(root)
        seen = {root_key}
        preferred_of = getattr(guide, "preferred", None) if self.queues == "dual" else None
        # (estimate, -preference, insertion, lines, path log-probability); with the dual queue, children
        # reached by a preferred step (FF's helpful actions) also enter ``pref``, and the two queues are
        # popped in turn, ``pref`` boosted each time the best estimate improves (Fast Downward's scheme)
        frontier: list[tuple[float, float, int, tuple[str, ...], float]] = [(root_h, 0.0, next(counter), root, 0.0)]
        pref: list[tuple[float, float, int, tuple[str, ...], float]] = []
        turns = {"all": 0, "pref": 0}
        best_estimate = root_h
        popped: set[tuple[str, ...]] = set()
        best: Sample | None = None
        best_h = math.inf
        allowance = ModelAllowance(self.model, self.model_share)
        self._allowance = allowance
        while (frontier or pref) and not tracker.exhausted():
            use_pref = bool(pref) and (not frontier or turns["pref"] <= turns["all"])
            queue = pref if use_pref else frontier
            turns["pref" if use_pref else "all"] += 1
            h, _, _, lines, path_lp = heapq.heappop(queue)
            if lines in popped:  # in both queues: expanded already
                continue
            popped.add(lines)
            allowed, end_ok = constraint.choices(lines)
            if end_ok:  # the goal test is the critics' (ending is allowed at the goal and at dead ends)
                sample = self._judge(task, base_prompt.prefill, lines, constraint, critics)
                if sample.certified:
                    trace.append(
                        Attempt(
                            round=tracker.usage.nodes + 1,
                            prompt="",
                            prefill=base_prompt.prefill,
                            samples=[sample],
                            info={"goal_test": len(lines)},
                        )
                    )
                    return self._finish(task, sample, trace, tracker)
                if best is None or h < best_h or (h == best_h and score(sample) > score(best)):
                    best, best_h = sample, h
            if not allowed:
                continue
            tracker.usage.nodes += 1
            fresh: list[tuple[str, float]] = []  # (step, estimate) of the children not seen before
            pruned: list[str] = []  # steps to a state already reached
            for line in allowed:
                key, child_h = guide((*lines, line))
                if key in seen:
                    pruned.append(line)
                    continue
                seen.add(key)
                fresh.append((line, child_h))
            prefs = self._preferences(task, lines, fresh, pruned, tracker, trace, expanded)
            helpful = preferred_of(lines) if preferred_of is not None else frozenset()
            for (line, child_h), lp in zip(fresh, prefs, strict=True):
                child = (*lines, line)
                total = path_lp + lp
                first = child_h if self.heuristic != "none" else -total
                entry = (first, -lp, next(counter), child, total)
                heapq.heappush(frontier, entry)
                if line in helpful:
                    heapq.heappush(pref, entry)
                if preferred_of is not None and child_h < best_estimate:
                    best_estimate = child_h
                    turns["pref"] -= BOOST
        if best is None:  # nothing reached an end: judge the most promising open node
            lines = min(frontier + pref)[3] if frontier or pref else ()
            best = self._judge(task, base_prompt.prefill, lines, constraint, critics)
        return self._finish(task, best, trace, tracker)

    def _finish(self, task: Task, best: Sample | None, trace: list[Attempt], tracker: BudgetTracker) -> Result:
        result = self.result(task, best, trace, tracker, ResultStatus.EXHAUSTED)
        allowance = self._allowance
        result.info.update(
            nodes=result.usage.nodes,
            heuristic=self.heuristic,
            model_asked=allowance.asked,  # expansions the model ranked
            model_skipped=allowance.skipped,  # expansions with 2+ children it was not asked about (time share)
            model_seconds=round(allowance.spent, 4),
            model_load_seconds=round(allowance.loading, 4),
        )
        return result

    def _judge(
        self, task: Task, prefill: str, lines: Sequence[str], constraint: LineConstraint, critics: Sequence[Any]
    ) -> Sample:
        text = prefill + "".join(line + "\n" for line in lines) + constraint.end
        candidate, verdicts = self.evaluate(task, text, critics)
        return Sample(completion=text[len(prefill) :], tokens=0, candidate=candidate, verdicts=verdicts)

    def _preferences(
        self,
        task: Task,
        lines: tuple[str, ...],
        fresh: list[tuple[str, float]],
        pruned: list[str],
        tracker: BudgetTracker,
        trace: list[Attempt],
        expanded: dict[tuple[str, ...], int],
    ) -> list[float]:
        """The model's log-preference for each new child ``fresh`` of the node ``lines`` (one LLM call,
        when the time share allows; else the random control's)."""
        allowed = [line for line, _ in fresh]
        prefix = "".join(line + "\n" for line in lines)
        prompt = self.domain.prompt(task, prefill=prefix)
        seed = None if self.seed is None else self.seed + tracker.usage.nodes
        allowance = self._allowance
        continuations = [line + "\n" for line in allowed]
        asked = len(allowed) > 1 and allowance.permits(prompt, continuations)
        started = time.perf_counter()
        if len(allowed) <= 1:  # a forced step (or none): nothing to rank, so the model is not asked
            prefs = [0.0] * len(allowed)
        elif not asked:
            allowance.skipped += 1
            prefs = random_preferences(len(allowed), random.Random(seed))
        else:
            allowance.load()
            started = time.perf_counter()
            prefs = self._ask(task, prompt, prefix, continuations, seed, tracker)
            allowance.charge(time.perf_counter() - started, prompt, continuations)
        if self.trace_nodes:
            # the trace is the search tree: the first expansion holds the prompt; every other one
            # names its parent expansion and the step that led to it (no repeated prompts or
            # prefixes, so a trace grows with the nodes, not with nodes x depth)
            first = not trace
            trace.append(
                Attempt(
                    round=tracker.usage.nodes,
                    prompt=prompt.render_plain() if first else "",
                    prefill=prompt.prefill if first else "",
                    samples=[],
                    seconds=time.perf_counter() - started,
                    info={
                        "parent": expanded.get(lines[:-1], -1) if lines else -1,
                        "step": lines[-1] if lines else None,
                        "depth": len(lines),
                        "children": dict(zip(allowed, (round(p, 4) for p in prefs), strict=False)),
                        # the heuristic's estimate of each child, the steps pruned as reaching a state
                        # already seen, and whether the model ranked the children (else: the control's order)
                        "estimates": {line: (h if math.isfinite(h) else None) for line, h in fresh},
                        "pruned": pruned,
                        "model": asked,
                    },
                )
            )
            expanded[lines] = len(trace) - 1
        return prefs

    def _ask(
        self, task: Task, prompt: Any, prefix: str, continuations: list[str], seed: int | None, tracker: BudgetTracker
    ) -> list[float]:
        """One LLM call ranking ``continuations`` (the next lines, each ending in a newline): a batched
        score, or ``n`` samples ranked by first step."""
        scorer = getattr(self.model, "score", None)
        if callable(scorer):
            batch = scorer(prompt, continuations, seed=seed)
            tracker.record_call(0, batch.prompt_tokens, 0)
            tracker.usage.scored_tokens += batch.tokens
            return list(batch.logprobs)
        # sample n steps from the node; rank by frequency (add-one smoothed)
        k = tracker.next_batch(self.n) or 1
        local = self.constraint_for(task, prefix)
        samples = self.model.sample(prompt, k, self.sampling(task, seed), constraint=local)
        tracker.record_completions(samples.completions)
        firsts = Counter(next((x for x in c.text.splitlines() if x.strip()), "") for c in samples.completions)
        allowed = [line.removesuffix("\n") for line in continuations]
        total = sum(firsts[line] for line in allowed) + len(allowed)
        return [math.log((firsts[line] + 1) / total) for line in allowed]


def _guide(domain: Domain, task: Task, heuristic: str) -> Any:
    """The domain's ``search_guide`` or, without one, tree search ordered by the model alone."""
    hook = getattr(domain, "search_guide", None)
    if hook is not None:
        return hook(task, heuristic)
    if heuristic != "none":
        log.warning("domain %s has no search_guide; searching without a heuristic", getattr(domain, "name", domain))
    return lambda lines: (lines, 0.0)
