"""Imitation data across generated domains and vocabularies: training that teaches reading, not recall.

:func:`family_records` draws problems of the generated families
(:data:`~llm_modulo.domains.families.FAMILIES`), renames each under a vocabulary family
(:mod:`~llm_modulo.domains.planning.renaming`: the domain's own words, English words, random
strings, drawn afresh per example), drops every problem whose renaming-invariant key
(:func:`~llm_modulo.domains.planning.keys.structure_key`) is a test problem's or was already
drawn, and writes each through the generic planning domain (``pddl``) in natural language or
PDDL, with the domain's description in the prompt (the ``full`` prompt format). The target is
a short plan (BFS, else weighted A*, shortened), certified by the plan validator before it is
written (:func:`~.targets.imitation_records`).

Examples cycle through the families, then the vocabularies (so the counts are balanced);
the prompt style is drawn per example. Deterministic for a seed.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.types import Task

log = logging.getLogger(__name__)

STYLES = ("nl", "pddl")
MAX_DRAWS = 500  # draws for one example before the family is called exhausted
DATA_DOMAIN = "pddl"  # the registered domain the records are written for (run a trained model with it)


class KeyedPlanning:
    """A planning domain with the training capabilities keyed by :func:`structure_key` (any domain)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def problem_key(self, task: Task) -> str:
        from llm_modulo.domains.planning.keys import structure_key

        cache = task.payload.cache
        if "structure_key" not in cache:
            cache["structure_key"] = structure_key(task.payload.problem)
        return str(cache["structure_key"])

    def test_keys(self) -> frozenset[str]:
        from llm_modulo.domains.planning.keys import planning_test_keys

        return planning_test_keys()


def _check(names: Sequence[str], known: Sequence[str], what: str) -> list[str]:
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        raise InputError(f"unknown {what} {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")
    return chosen


def family_tasks(
    domains: dict[str, Any],
    families: Sequence[str],
    vocabularies: Sequence[str],
    count: int,
    seed: int,
    excluded: frozenset[str],
    problems: Any = None,
    dropped: Counter[str] | None = None,
) -> Iterator[Task]:
    """``count`` tasks (see the module docstring); ``domains``: style -> keyed domain;
    ``problems``: a text file each problem is written to as a JSON line (domain and problem PDDL);
    ``dropped``: counts the draws dropped as test problems (``"test"``) and repeats (``"repeat"``)."""
    from llm_modulo.domains.families import draw_problem
    from llm_modulo.domains.planning.renaming import rename_problem
    from llm_modulo.verifiers.planning.pddl import load_problem

    rng = random.Random(seed)
    seen: set[str] = set()
    dropped = Counter() if dropped is None else dropped
    for i in range(count):
        family = families[i % len(families)]
        vocabulary = vocabularies[(i // len(families)) % len(vocabularies)]
        style = rng.choice(sorted(domains))
        for _ in range(MAX_DRAWS):
            domain_text, problem_text, size = draw_problem(family, rng)
            domain_text, problem_text, _names = rename_problem(domain_text, problem_text, vocabulary, rng)
            problem = load_problem(domain_text, problem_text)
            task_id = f"{family}-{vocabulary}-s{seed}-{i + 1}"
            task = domains[style].make_task(problem, domain_text, problem_text, task_id)
            key = domains[style].problem_key(task)
            if key in excluded:
                dropped["test"] += 1
            elif key in seen:
                dropped["repeat"] += 1
            else:
                break
        else:
            raise InputError(f"{family}: no new problem in {MAX_DRAWS} draws (example {i + 1}, seed {seed})")
        seen.add(key)
        task.meta.update(family=family, vocabulary=vocabulary, style=style, size=size)
        if problems is not None:
            problems.write(
                json.dumps({"task_id": task_id, "domain_pddl": domain_text, "problem_pddl": problem_text}) + "\n"
            )
        yield task
    log.info(
        "families: %d problems; dropped %d test instances and %d repeats", count, dropped["test"], dropped["repeat"]
    )


def _fields(meta: dict[str, Any]) -> Callable[[Task], dict[str, Any]]:
    """The record's extra fields: the example's family, vocabulary, style and size."""
    return lambda _task: meta


def family_records(
    out: Path,
    families: Sequence[str],
    vocabularies: Sequence[str],
    count: int,
    seed: int = 0,
    styles: Sequence[str] = STYLES,
    method: str = "auto",
    max_states: int = 2_000,
    weight: float = 2.0,
) -> dict[str, Any]:
    """Write ``<out>/train.jsonl`` (certified imitation records), ``<out>/problems.jsonl`` (each
    problem's PDDL) and ``<out>/data.json`` (the summary: counts by family, vocabulary and style)."""
    from llm_modulo.domains.families import FAMILIES
    from llm_modulo.domains.planning.keys import planning_test_keys
    from llm_modulo.domains.planning.renaming import VOCABULARY_FAMILIES

    from . import targets
    from .chat import training_domain

    families = _check(families, list(FAMILIES), "domain families")
    vocabularies = _check(vocabularies, VOCABULARY_FAMILIES, "vocabulary families")
    styles = _check(styles, STYLES, "prompt styles")
    domains = {s: KeyedPlanning(training_domain(DATA_DOMAIN, "full", style=s)) for s in styles}
    out.mkdir(parents=True, exist_ok=True)
    excluded = planning_test_keys()
    counts: dict[str, Counter[str]] = {"family": Counter(), "vocabulary": Counter(), "style": Counter()}
    lengths: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    start = time.perf_counter()

    def records(problems: Any) -> Iterator[dict[str, Any]]:
        for n, task in enumerate(
            family_tasks(domains, families, vocabularies, count, seed, excluded, problems, dropped), 1
        ):
            meta = dict(task.meta)
            for rec in targets.imitation_records(
                domains[meta["style"]], [task], prompt_format="full", seed=seed, method=method,
                max_states=max_states, weight=weight, extra=_fields(meta),
            ):  # fmt: skip
                for field in counts:
                    counts[field][meta[field]] += 1
                lengths[meta["family"]] = max(lengths[meta["family"]], rec["plan_len"])
                yield rec
            if n % 500 == 0:
                log.info("%d of %d problems, %.1f s", n, count, time.perf_counter() - start)

    with (out / "problems.jsonl").open("w") as problems:
        written = targets.write_jsonl(records(problems), out / "train.jsonl")
    summary = {
        "domain": DATA_DOMAIN, "families": families, "vocabularies": vocabularies, "styles": styles,
        "problems": count, "records": written, "data": str(out / "train.jsonl"), "seed": seed,
        "prompt_format": "full", "seconds": round(time.perf_counter() - start, 1),
        "by_family": dict(counts["family"]), "by_vocabulary": dict(counts["vocabulary"]),
        "by_style": dict(counts["style"]), "longest_plan": dict(lengths),
        "dropped_test_problems": dropped["test"], "dropped_repeats": dropped["repeat"],
    }  # fmt: skip
    (out / "data.json").write_text(json.dumps(summary, indent=1))
    return summary


__all__ = ["DATA_DOMAIN", "STYLES", "KeyedPlanning", "family_records", "family_tasks"]
