"""The finished trials of a sweep store read back as training tasks: the domain with the training
prompts, the task loaded again from its instance, its canonical key, and the stored result."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from llm_modulo.contract import check_domain
from llm_modulo.domains.planning.instances import domain_file_for
from llm_modulo.errors import InputError
from llm_modulo.types import Task

from ..chat import training_domain

log = logging.getLogger(__name__)


def trial_tasks(
    store: str | Path,
    *,
    prompt_format: str = "compact",
    allow_test: bool = False,
    include_random: bool = False,
    roots: Sequence[str | Path] = (),
    sweep: str | None = None,
    keys: Iterable[str] | None = None,
    counts: dict[str, int] | None = None,
) -> Iterator[tuple[Any, Task, str, Any, dict[str, Any]]]:
    """(training domain, rebuilt task, canonical key, result, row) for each finished trial of a
    language-model proposer in a sweep store, test instances left out (see :func:`expert_records`).

    ``counts`` (updated in place) tallies the rows read and why any were left out.
    """
    from llm_modulo.experiments.store import TrialStore
    from llm_modulo.types import Result

    counts = {} if counts is None else counts
    for name in ("rows", "random", "test", "unknown"):
        counts.setdefault(name, 0)
    domains: dict[str, Any] = {}
    excluded: dict[str, frozenset[str]] = {}
    with TrialStore(store, readonly=True) as db:
        config_dirs = _config_dirs(db)
        for row in db.rows(sweep=sweep, keys=keys):  # keys, when given, select alone
            counts["rows"] += 1
            if row["proposer"] == "random" and not include_random:
                counts["random"] += 1
                continue
            if not row.get("result_json"):
                continue
            name = row["domain"]
            if name not in domains:
                domains[name] = training_domain(name, prompt_format)
                needs = {"problem_key": "training data"} | ({} if allow_test else {"test_keys": "training data"})
                check_domain(domains[name], needs)
                excluded[name] = frozenset() if allow_test else domains[name].test_keys()
            domain = domains[name]
            task = _rebuild(domain, row, [*roots, *config_dirs.get(row["sweep"], [])])
            if task is None:
                counts["unknown"] += 1
                continue
            key = domain.problem_key(task)
            if key in excluded[name]:
                counts["test"] += 1
                continue
            yield domain, task, key, Result.model_validate_json(row["result_json"]), row


def _config_dirs(db: Any) -> dict[str, list[Path]]:
    """Sweep name -> the folder of its config file (relative instance sets are relative to it)."""
    out: dict[str, list[Path]] = {}
    for key in db.meta_keys("sweep/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == "config":
            path = (db.get_meta(key) or {}).get("path")
            if path:
                out.setdefault(parts[1], []).append(Path(path).expanduser().resolve().parent)
    return out


def _rebuild(domain: Any, row: dict[str, Any], roots: Sequence[str | Path]) -> Task | None:
    """The trial's task, loaded again; None (logged) when its files cannot be found."""
    from llm_modulo.registry import is_planning

    instance = row["instance"]
    try:
        inner = getattr(domain, "inner", domain)
        if not is_planning(inner):
            return domain.load(instance)  # type: ignore[no-any-return]
        for base in [Path.cwd(), *map(Path, roots)]:
            path = base / f"{instance}.pddl"
            if path.is_file():
                # the sweep chose the domain file by these rules; an ambiguous folder is logged below
                return domain.load_files(domain_file_for(path), path, task_id=instance)  # type: ignore[no-any-return]
        return domain.load(instance)  # type: ignore[no-any-return]
    except InputError as exc:
        log.warning("trial %s: cannot load instance %r: %s", row["key"][:12], instance, exc)
        return None


__all__ = ["trial_tasks"]
