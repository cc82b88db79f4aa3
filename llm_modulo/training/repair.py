"""Critique-and-repair turns: training records that teach a planner to use the critics' feedback.

A model trained only on bare problems has never seen a back-prompt; ``modulo``'s second call
(the problem, the model's rejected plan, the critique, and the answer opened at the plan's valid
prefix) is then out of its distribution, and feeding the critique back can do worse than sampling
the problem again. :func:`repair_records` turns the *rejected* samples of language-model runs in a
sweep store into the exact prompt :class:`~llm_modulo.strategies.modulo.Modulo` sends after such a
sample (same domain prompts, feedback level and ``reuse_prefix`` policy), with a target that
finishes the plan from where that prompt leaves it: a shortest plan, by breadth-first search, from
the state the kept prefix reaches. Every record is certified by the domain's hard critics (the
prompt's prefill plus the completion must be a valid plan) before it is written.

Each sample is judged again on the rebuilt task rather than trusting the stored verdicts, so the
critique in the record is the one the current critics write. Test instances (by canonical key)
and the random control's runs are left out, as for expert iteration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from llm_modulo.contract import has
from llm_modulo.errors import InputError
from llm_modulo.feedback import domain_critique
from llm_modulo.protocols import Feedback
from llm_modulo.types import FeedbackLevel, Task, certified

from .targets import certify, judge, trial_tasks

log = logging.getLogger(__name__)


def repair_prompt(
    domain: Any, task: Task, text: str, level: FeedbackLevel, reuse_prefix: bool
) -> tuple[Any, Any, list[Any]]:
    """(prompt, candidate, verdicts): what ``modulo`` sends after rejecting the answer ``text``.

    The same calls :class:`~llm_modulo.strategies.modulo.Modulo` makes after its first round
    (where the round's best is always an improvement, so the prefix is cut back to the point of
    most progress).
    """
    candidate, verdicts = judge(domain, task, text)
    critique = domain_critique(domain, task, candidate, verdicts, level)
    prefill = domain.valid_prefix(task, candidate, verdicts, to_best=True) if reuse_prefix else ""
    prompt = domain.prompt(task, [Feedback(answer=candidate.text, critique=critique)], prefill)
    return prompt, candidate, verdicts


def finish_plan(domain: Any, task: Task, prefill: str, max_states: int = 20_000) -> str | None:
    """A shortest completion (action lines, then the end marker) of the answer opened by ``prefill``:
    the domain's ``repair_target`` (None when there is nothing to finish or no plan is found)."""
    return domain.repair_target(task, prefill, max_states=max_states)  # type: ignore[no-any-return]


def repair_records(
    store: str | Path,
    *,
    prompt_format: str = "compact",
    feedback: str = "first",
    reuse_prefix: bool = True,
    allow_test: bool = False,
    include_random: bool = False,
    roots: Sequence[str | Path] = (),
    sweep: str | None = None,
    max_per_problem: int | None = None,
    keys: Iterable[str] | None = None,
    max_states: int = 20_000,
) -> Iterator[dict[str, Any]]:
    """Critique-and-repair records from the rejected samples of planning runs in a sweep store.

    One record per distinct rejected answer (at most ``max_per_problem`` per problem): the prompt
    ``modulo`` sends after it at ``feedback`` level with ``reuse_prefix``, and a shortest
    completion from its prefill (:func:`finish_plan`), certified. Only domains with ``repair_target``
    (the planning domains).
    """
    level = FeedbackLevel(feedback)
    seen: dict[str, set[str]] = {}
    counts = {"not_planning": 0, "rejected": 0, "no_completion": 0, "uncertified": 0, "kept": 0}
    for domain, task, key, result, row in trial_tasks(store, prompt_format=prompt_format, allow_test=allow_test,
                                                      include_random=include_random, roots=roots, sweep=sweep,
                                                      keys=keys, counts=counts):  # fmt: skip
        if not has(domain, "repair_target"):
            counts["not_planning"] += 1
            continue
        kept = seen.setdefault(key, set())
        for attempt in result.trace:
            for sample in attempt.samples:
                if sample.certified or sample.candidate.text in kept:
                    continue
                if max_per_problem is not None and len(kept) >= max_per_problem:
                    break
                prompt, candidate, verdicts = repair_prompt(domain, task, sample.candidate.text, level, reuse_prefix)
                if certified(verdicts):  # judged again: accepted now, nothing to repair
                    continue
                counts["rejected"] += 1
                completion = finish_plan(domain, task, prompt.prefill, max_states=max_states)
                if completion is None:
                    counts["no_completion"] += 1
                    continue
                if not certify(domain, task, completion, prompt.prefill):
                    counts["uncertified"] += 1
                    continue
                kept.add(candidate.text)
                counts["kept"] += 1
                yield {
                    "prompt": [dict(m) for m in prompt.messages],
                    "prefill": prompt.prefill,
                    "completion": completion,
                    "source": "repair",
                    "domain": domain.name,
                    "problem_hash": key,
                    "task_id": task.id,
                    "prompt_format": prompt_format,
                    "feedback": level.value,
                    "reuse_prefix": reuse_prefix,
                    "prefix_len": len(domain.parse(task, prompt.prefill).answer or []),
                    "plan_len": completion.count("\n"),
                    "strategy": row["strategy"],
                    "model": row["model"],
                    "trial": row["key"],
                    "instance": row["instance"],
                }
    log.info("repair records: %s", counts)


def make_repair_data(store: Path, out: Path, **options: Any) -> dict[str, Any]:
    """Write ``out`` (JSONL): :func:`repair_records` of the sweep store ``store``."""
    from .targets import write_jsonl

    if not Path(store).is_file():
        raise InputError(f"no trial store at {store}")
    written = write_jsonl(repair_records(store, **options), out)
    return {
        "store": str(store),
        "records": written,
        "data": str(out),
        **{k: v for k, v in options.items() if k != "roots"},
    }


__all__ = ["finish_plan", "make_repair_data", "repair_prompt", "repair_records"]
