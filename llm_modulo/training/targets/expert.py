"""Expert-iteration targets: the certified samples of a language-model proposer in a sweep store.

Test instances are dropped by default (a store of test-set runs gives nothing): expert iteration
is meant for stores of runs on generated training problems. Every answer is certified again on
the rebuilt task before it is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from llm_modulo.contract import has
from llm_modulo.errors import InputError
from llm_modulo.types import Task

from .plans import Step
from .records import certify, record
from .trials import trial_tasks

log = logging.getLogger(__name__)

ExpertSelect = Literal["all", "shortest", "shortened"]  # which certified samples become expert data
EXPERT_SELECT: tuple[str, ...] = get_args(ExpertSelect)


def expert_records(
    store: str | Path,
    *,
    prompt_format: str = "compact",
    allow_test: bool = False,
    include_random: bool = False,
    roots: Sequence[str | Path] = (),
    sweep: str | None = None,
    max_per_problem: int | None = None,
    keys: Iterable[str] | None = None,
    select: str = "all",
) -> Iterator[dict[str, Any]]:
    """Certified samples of a language-model proposer in a sweep store, as training records.

    Each trial's trace is read; every certified sample's answer (its candidate text, the
    prefill of its call included) becomes a completion for the problem's training prompt
    (``prompt_format``; the prompt the sweep used, with its examples and critiques, is not
    kept: the model learns to answer the bare problem). Samples are re-certified on the rebuilt
    task and deduplicated per problem. By default trials of the random control
    (``include_random``) and test instances (``allow_test``; checked by canonical key, so a
    renamed copy counts) are dropped. Planning problems are found as PlanBench names or as
    ``<instance>.pddl`` under the current folder, the sweep config's folder or ``roots``.
    ``keys``: only these trials (a store shared by several sweeps), else ``sweep``'s, else all.

    ``select`` (:data:`EXPERT_SELECT`): ``"all"`` keeps every distinct certified answer;
    ``"shortest"`` only a problem's answers of the fewest steps; ``"shortened"`` (planning) first
    removes from each plan the steps it does not need (the domain's ``shortened_target``: greedy
    action elimination under the simulator), re-certifies it, then keeps the shortest.
    """
    if select not in EXPERT_SELECT:
        raise InputError(f"unknown expert selection {select!r}; known: {', '.join(EXPERT_SELECT)}")
    if select == "all":
        yield from _expert_all(store, prompt_format=prompt_format, allow_test=allow_test, include_random=include_random,
                               roots=roots, sweep=sweep, max_per_problem=max_per_problem, keys=keys)  # fmt: skip
        return
    by_problem: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    counts = {"shortened": 0, "steps_removed": 0, "uncertified": 0}
    for rec, domain, task in _expert_all(store, prompt_format=prompt_format, allow_test=allow_test,
                                         include_random=include_random, roots=roots, sweep=sweep, keys=keys,
                                         with_task=True):  # fmt: skip
        steps = _answer_steps(domain, task, rec["completion"])
        if select == "shortened":
            if steps is None or not has(domain, "shortened_target"):
                raise InputError(f"{domain.name}: answers have no plan steps to shorten; use select 'shortest'")
            short, completion = domain.shortened_target(task, steps)
            if len(short) < len(steps):
                if certify(domain, task, completion):  # the critics' verdict, not shorten's simulation
                    counts["shortened"] += 1
                    counts["steps_removed"] += len(steps) - len(short)
                    rec = {**rec, "completion": completion, "shortened_from": len(steps)}
                    steps = short
                else:
                    log.warning("%s: a shortened plan was not certified; the plan is kept whole", task.id)
                    counts["uncertified"] += 1
        size = len(steps) if steps is not None else len(rec["completion"])
        by_problem.setdefault(rec["problem_hash"], []).append((size, rec))
    for found in by_problem.values():
        fewest = min(size for size, _ in found)
        seen: set[str] = set()
        for size, rec in found:
            if size == fewest and rec["completion"] not in seen:
                seen.add(rec["completion"])
                if max_per_problem is not None and len(seen) > max_per_problem:
                    break
                yield rec
    log.info("expert selection %s: %s", select, counts)


def _answer_steps(domain: Any, task: Task, completion: str) -> list[Step] | None:
    """The plan steps of an answer (None where the domain's answers are not plans)."""
    if getattr(task.payload, "problem", None) is None:
        return None
    answer = domain.parse(task, domain.prompt(task).prefill + completion).answer
    return [(str(name), tuple(str(a) for a in args)) for name, args in answer]


def _expert_all(
    store: str | Path,
    *,
    prompt_format: str,
    allow_test: bool,
    include_random: bool,
    roots: Sequence[str | Path],
    sweep: str | None,
    keys: Iterable[str] | None,
    max_per_problem: int | None = None,
    with_task: bool = False,
) -> Iterator[Any]:
    """Every distinct certified answer as a record (with its domain and task when ``with_task``)."""
    counts = {"uncertified": 0, "kept": 0}
    seen: dict[str, set[str]] = {}
    for domain, task, key, result, row in trial_tasks(store, prompt_format=prompt_format, allow_test=allow_test,
                                                      include_random=include_random, roots=roots, sweep=sweep,
                                                      keys=keys, counts=counts):  # fmt: skip
        base = domain.prompt(task).prefill
        end = domain.constraint(task).end
        for attempt in result.trace:
            for sample in attempt.samples:
                if not sample.certified:
                    continue
                completion = _completion(sample.candidate.text, base, end)
                kept = seen.setdefault(key, set())
                if completion in kept or (max_per_problem is not None and len(kept) >= max_per_problem):
                    continue
                if not certify(domain, task, completion):
                    counts["uncertified"] += 1
                    continue
                kept.add(completion)
                counts["kept"] += 1
                rec = record(domain, task, completion, "expert", key, prompt_format,
                             strategy=row["strategy"], model=row["model"], trial=row["key"],
                             instance=row["instance"])  # fmt: skip
                yield (rec, domain, task) if with_task else rec
    log.info("expert records: %s", counts)


def _completion(text: str, prefill: str, end: str) -> str:
    """The answer after the domain's prefill, cut right after the end marker."""
    body = text[len(prefill) :] if text.startswith(prefill) else text
    at = body.find(end)
    return body[: at + len(end)] if at >= 0 else body.rstrip("\n") + "\n" + end


__all__ = ["EXPERT_SELECT", "ExpertSelect", "expert_records"]
