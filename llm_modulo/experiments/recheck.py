"""An independent re-check of every answer a store reports as verified.

Each verified trial's answer is judged again by the domain's *reference* check, an
implementation independent of the critic that certified it (for PDDL planning:
unified-planning's ``SequentialPlanValidator``, not the grounded validator). A disagreement
is a false "verified", the worst bug this project can have, and is listed by trial key.

This module judges rows it is given; reading them from a store is the report's job
(``llm_modulo.experiments.report.recheck_store``), so the import runs one way: report -> recheck.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from llm_modulo.errors import LLMModuloError

log = logging.getLogger(__name__)


@dataclass
class Recheck:
    """What the reference check said about a store's verified answers."""

    checked: int = 0
    agreed: int = 0
    false_verified: list[str] = field(default_factory=list)  # trial keys the reference check rejects
    unchecked: dict[str, str] = field(default_factory=dict)  # trial key -> why no reference check ran
    engine: str = ""

    @property
    def ok(self) -> bool:
        return not self.false_verified


def _task_loader() -> Callable[[str, str, str], tuple[Any, Any]]:
    from llm_modulo.registry import load_task

    cache: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def load(domain: str, instance: str, style: str) -> tuple[Any, Any]:
        key = (domain, instance, style)
        if key not in cache:
            cache[key] = load_task(instance, domain, style)
        return cache[key]

    return load


def recheck_trials(trials: Iterable[dict[str, Any]], progress: Callable[[int], None] | None = None) -> Recheck:
    """Re-check the verified ``trials`` (rows with ``config_json`` and ``result_json``)."""
    load = _task_loader()
    out = Recheck()
    for trial in trials:
        if not trial.get("verified"):
            continue
        key = str(trial["key"])
        config = json.loads(trial["config_json"])
        result = json.loads(trial.get("result_json") or "{}")
        try:
            domain, task = load(config["domain"], config["instance"], config.get("style", "nl"))
            hook = getattr(domain, "reference_check", None)
            if hook is None:
                out.unchecked[key] = f"domain {config['domain']!r} has no reference check"
                continue
            verdict, engine = hook(task, result.get("answer"))
        except (LLMModuloError, KeyError, ValueError) as exc:
            out.unchecked[key] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            continue
        out.engine = out.engine or engine
        out.checked += 1
        if verdict:
            out.agreed += 1
        else:
            out.false_verified.append(key)
            log.error("FALSE VERIFIED: trial %s (%s, %s)", key, config["domain"], config["instance"])
        if progress is not None:
            progress(out.checked)
    return out
