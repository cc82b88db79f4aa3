"""Our runs in PlanBench's results format: one arm of a trial store as ``{"task", "prompt_type",
"domain", "instances": [{"instance_id", "query", "llm_raw_response", "extracted_llm_plan",
"llm_correct"}]}``, so that they can be held beside PlanBench's own files (and read back by
``llm-modulo import-planbench``). ``llm_correct`` is our certificate: true only if every hard
critic accepted the answer. Our figures (status, rounds, tokens, seconds) ride along under ``llm_modulo``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.experiments.planbench_io import PLANBENCH_SETS
from llm_modulo.experiments.report.store_rows import load_trials

_NUMBER = re.compile(r"instance-(\d+)$")


def planbench_domain(domain: str, instance_set: str) -> str:
    """PlanBench's name for our (domain, instance folder), e.g. blocksworld_3; the folder name otherwise."""
    for name, (ours, folder) in PLANBENCH_SETS.items():
        if ours == domain and folder == instance_set.rstrip("/"):
            return name
    return instance_set.rstrip("/").replace("/", "_")


def _plan_text(answer: Any) -> str:
    """A planning answer (steps as [name, [args]]) as PDDL lines; "" for anything else."""
    if not isinstance(answer, list):
        return ""
    lines = []
    for step in answer:
        if isinstance(step, list | tuple) and len(step) == 2 and isinstance(step[1], list | tuple):
            lines.append("(" + " ".join([str(step[0]), *map(str, step[1])]) + ")")
        else:
            return ""
    return "\n".join(lines)


def _response(result: dict[str, Any]) -> tuple[str, str]:
    """(the prompt, the answer's text) of a stored Result: the chosen sample's, else the last one's."""
    trace = result.get("trace") or []
    chosen = result.get("chosen")
    attempt, sample = None, None
    if isinstance(chosen, list) and len(chosen) == 2 and chosen[0] < len(trace):
        attempt = trace[chosen[0]]
        samples = attempt.get("samples") or []
        sample = samples[chosen[1]] if chosen[1] < len(samples) else None
    if sample is None and trace:
        attempt = trace[-1]
        sample = (attempt.get("samples") or [None])[-1]
    prompt = str((attempt or {}).get("prompt") or "")
    text = str(result.get("answer_text") or (sample or {}).get("completion") or "")
    return prompt, text


def export_arm(store: str, label: str, sweep: str | None = None, seed: int | None = None) -> dict[str, Any]:
    """The arm ``label`` of ``store`` as one PlanBench results document."""
    rows = [r for r in load_trials(store, sweep, with_result=True) if r["label"] == label]
    if not rows:
        labels = sorted({r["label"] for r in load_trials(store, sweep)})
        raise InputError(f"no arm {label!r} in {store}; arms: {', '.join(labels) or '(none)'}")
    groups = sorted({(r["domain"], r["instance_set"]) for r in rows})
    if len(groups) > 1:
        where = "; ".join(f"{d} / {s}" for d, s in groups)
        raise InputError(f"arm {label!r} ran on several instance sets ({where}); a PlanBench file holds one")
    seeds = sorted({r["seed"] for r in rows})
    if seed is None and len(seeds) > 1:
        raise InputError(f"arm {label!r} ran seeds {seeds}; choose one with --seed")
    chosen_seed = seeds[0] if seed is None else seed
    rows = [r for r in rows if r["seed"] == chosen_seed and r["status"] != "error"]
    if not rows:
        raise InputError(f"arm {label!r} has no finished trial with seed {chosen_seed}")
    domain, instance_set = groups[0]
    instances = []
    for r in rows:
        m = _NUMBER.search(str(r["instance"]))
        result = json.loads(r["result_json"]) if r.get("result_json") else {}
        prompt, text = _response(result)
        instances.append(
            {
                "instance_id": int(m.group(1)) if m else r["instance"],
                "query": prompt,
                "llm_raw_response": text,
                "extracted_llm_plan": _plan_text(result.get("answer")),
                "llm_correct": bool(r["verified"]),  # our certificate, nothing else
                "llm_modulo": {
                    "key": r["key"],
                    "status": r["status"],
                    "strategy": r["strategy"],
                    "model": r["model"],
                    "rounds": r.get("rounds"),
                    "samples": r.get("samples"),
                    "llm_calls": r.get("llm_calls"),
                    "prompt_tokens": r.get("prompt_tokens"),
                    "generated_tokens": r.get("generated_tokens"),
                    "seconds": r.get("seconds"),
                },
            }
        )
    instances.sort(key=lambda i: (isinstance(i["instance_id"], str), i["instance_id"]))
    return {
        "task": "task_1_plan_generation",
        "prompt_type": "llm-modulo",
        "domain": planbench_domain(domain, instance_set),
        "engine": rows[0]["model"],
        "llm_modulo_arm": label,
        "instances": instances,
    }


__all__ = ["export_arm", "planbench_domain"]
