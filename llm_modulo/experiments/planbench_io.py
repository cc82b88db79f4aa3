"""PlanBench's per-instance results files, read in as a published arm of a trial store.

PlanBench (github.com/karthikv792/LLMs-Planning) writes one JSON per model, domain and task:
``{"task", "prompt_type", "domain", "instances": [{"instance_id", "llm_raw_response",
"extracted_llm_plan", "llm_correct", ...}]}``, newer files with the API's ``response_object``
(usage, ``time_taken``, ``costs``). Each response is judged again here by the domain's own parser
(lenient, as the loop reads a model's answer) and hard critics; PlanBench's ``llm_correct`` is kept
beside it, never in its place: an imported trial is ``verified`` only if our critics certify it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.experiments.store import TrialStore
from llm_modulo.experiments.trials import canonical_json, trial_key
from llm_modulo.files import input_file
from llm_modulo.types import Attempt, Budget, Result, ResultStatus, Sample, Usage, certified

log = logging.getLogger(__name__)

# PlanBench's domain names -> (our domain, our instance folder under planbench/)
PLANBENCH_SETS: dict[str, tuple[str, str]] = {
    "blocksworld": ("blocksworld", "blocksworld/generated_basic"),
    "blocksworld_3": ("blocksworld", "blocksworld/generated_basic_3"),
    "mystery_blocksworld": ("mystery_blocksworld", "blocksworld/mystery/generated_basic"),
    "mystery_blocksworld_3": ("mystery_blocksworld", "blocksworld/mystery/generated_basic_3"),
    "logistics": ("logistics", "logistics/generated_basic"),
    "blocksworld_hard": ("blocksworld", "blocksworld_hard/generated"),
}
STRATEGY = "published"
MAX_BYTES = 512 * 2**20
_ONE_SHOT_BUDGET = Budget(rounds=1, samples=1)  # one published response per instance


@dataclass
class Instance:
    """One entry of a results file, checked."""

    instance_id: int
    response: str
    llm_correct: bool | None
    query: str = ""
    extracted: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None
    cost: float | None = None  # the file's own "costs.total", USD
    cost_in: float | None = None  # its "costs.input" and "costs.output"
    cost_out: float | None = None


@dataclass
class ResultsFile:
    path: Path
    sha256: str
    task: str
    prompt_type: str
    domain: str  # PlanBench's name (blocksworld_3, logistics, ...)
    engine: str | None  # the API's model name, where the file records it
    instances: list[Instance]


def _bad(path: Path, why: str) -> InputError:
    return InputError(f"{path}: {why}")


def read_results(path: str | Path) -> ResultsFile:
    """The results file at ``path``, checked: one :class:`InputError` line for anything wrong."""
    # a regular, readable file within MAX_BYTES (a named pipe would block the read forever)
    path = input_file(path, "results file", max_bytes=MAX_BYTES, empty_ok=True)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise _bad(path, "empty file, not a PlanBench results file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(
            path, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); PlanBench writes UTF-8 JSON"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("instances"), list):
        raise _bad(path, 'not a PlanBench results file: no "instances" list at the top level')
    task = str(doc.get("task") or "")
    if task and not task.startswith("task_1"):
        raise _bad(path, f"task {task!r} is not plan generation; import reads task_1 (plan generation) files")
    if not doc["instances"]:
        raise _bad(path, '"instances" is empty')
    instances, seen, engine = [], set(), None
    for k, raw in enumerate(doc["instances"]):
        inst = _instance(path, k, raw)
        if inst.instance_id in seen:
            raise _bad(path, f"instances[{k}]: instance_id {inst.instance_id} appears twice")
        seen.add(inst.instance_id)
        instances.append(inst)
        obj = raw.get("response_object")
        if engine is None and isinstance(obj, dict) and isinstance(obj.get("model"), str):
            engine = obj["model"]
    digest = hashlib.sha256(data).hexdigest()
    domain = str(doc.get("domain") or "")
    return ResultsFile(path, digest, task, str(doc.get("prompt_type") or ""), domain, engine, instances)


def _instance(path: Path, k: int, raw: Any) -> Instance:
    where = f"instances[{k}]"
    if not isinstance(raw, dict):
        raise _bad(path, f"{where} is not an object")
    ident = raw.get("instance_id")
    if isinstance(ident, str) and ident.strip().isdigit():
        ident = int(ident)
    if not isinstance(ident, int) or isinstance(ident, bool) or ident < 0:
        raise _bad(path, f"{where}: missing or bad instance_id ({ident!r}); a PlanBench instance number")
    if "llm_raw_response" not in raw:
        raise _bad(path, f"{where} (instance {ident}): no llm_raw_response")
    response = raw["llm_raw_response"]
    if response is None:
        response = ""  # no answer came back: judged as an empty plan
    if not isinstance(response, str):
        raise _bad(path, f"{where} (instance {ident}): llm_raw_response is {type(response).__name__}, not text")
    correct = raw.get("llm_correct")
    if correct is not None and not isinstance(correct, bool):
        raise _bad(path, f"{where} (instance {ident}): llm_correct is {correct!r}, not true/false")
    inst = Instance(ident, response, correct, str(raw.get("query") or ""), _text(raw.get("extracted_llm_plan")))
    obj = _dict(raw.get("response_object"))
    usage, costs = _dict(obj.get("usage")), _dict(obj.get("costs"))
    inst.prompt_tokens = _count(usage.get("prompt_tokens"))
    inst.completion_tokens = _count(usage.get("completion_tokens"))
    inst.seconds = _number(raw.get("time_taken", obj.get("time_taken")))
    inst.cost = _number(costs.get("total"))
    inst.cost_in, inst.cost_out = _number(costs.get("input")), _number(costs.get("output"))
    return inst


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, sort_keys=True)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def protocol_of(task: str, prompt_type: str) -> str:
    """PlanBench's prompt protocol in words: the task name says zero-shot where prompt_type may not."""
    shot = "zero-shot" if "zero_shot" in task or prompt_type == "zeroshot" else "one-shot"
    extra = [w for w, key in (("PDDL prompt", "pddl"), ("state tracking", "state_tracking")) if key in task]
    return ", ".join([shot, *extra])


@dataclass
class Imported:
    """What an import stored and found."""

    label: str
    sweep: str
    model: str
    domain: str
    instance_set: str
    stored: int
    already: int
    verified: list[str] = field(default_factory=list)
    agree: list[str] = field(default_factory=list)
    disagree: list[tuple[str, bool, bool, str]] = field(default_factory=list)  # instance, theirs, ours, why ours
    no_verdict: list[str] = field(default_factory=list)
    total: int = 0


def import_results(
    path: str | Path,
    store_path: str | Path,
    *,
    label: str | None = None,
    model: str | None = None,
    sweep: str = "published",
    domain: str | None = None,
    instance_set: str | None = None,
    cot: bool = False,
) -> Imported:
    """Judge every response of the results file at ``path`` and store it as one arm of ``store_path``."""
    from llm_modulo.registry import load_planning_instance
    from llm_modulo.strategies.base import judge

    results = read_results(path)
    known = PLANBENCH_SETS.get(results.domain)
    if (domain is None or instance_set is None) and known is None:
        names = ", ".join(PLANBENCH_SETS)
        raise InputError(
            f"{path}: PlanBench domain {results.domain or '(none)'!r} is not one this project has ({names}); "
            "give --domain and --set"
        )
    our_domain = domain or (known[0] if known else "")
    folder = (instance_set or (known[1] if known else "")).rstrip("/")
    engine = model or results.engine or _engine_from_path(results.path)
    arm = label or f"published: {engine}, {protocol_of(results.task, results.prompt_type)}"
    tasks = {}
    for inst in results.instances:  # every instance first: an unknown id is bad input before anything is stored
        name = f"{folder}/instance-{inst.instance_id}"
        try:
            tasks[inst.instance_id] = load_planning_instance(name, our_domain, cot=cot)
        except InputError as exc:
            raise InputError(f"{path}: instance_id {inst.instance_id}: {exc.format_message()}") from None
    out = Imported(arm, sweep, engine, our_domain, folder, 0, 0, total=len(results.instances))
    verdicts: dict[str, bool | None] = {}
    with TrialStore(store_path) as store:
        for inst in results.instances:
            name = f"{folder}/instance-{inst.instance_id}"
            the_domain, task = tasks[inst.instance_id]
            candidate, checks = judge(the_domain, task, inst.response)
            ours = certified(checks)  # our hard critics alone decide "verified"
            result = _result(name, our_domain, inst, candidate, checks, ours, results, engine)
            row = _row(name, our_domain, folder, inst, result, results, engine, arm, sweep, cot)
            if store.insert(row):
                out.stored += 1
            else:
                out.already += 1
            verdicts[name] = inst.llm_correct
            _tally(out, name, inst.llm_correct, ours, the_domain, candidate, checks)
        found: dict[str, Any] = {
            "file": str(results.path),
            "sha256": results.sha256,
            "task": results.task,
            "model": engine,
        }
        found |= {"planbench_domain": results.domain, "instance_set": folder, "cot": cot, "llm_correct": verdicts}
        store.set_meta(f"published/{sweep}/{arm}", found)
        _record_prices(store, results, engine)
    return out


def _engine_from_path(path: Path) -> str:
    """PlanBench keeps results/<domain>/<engine>/<task>.json; "_chat" and the like name the API, not the model."""
    return re.sub(r"_(chat|aws|groq|api)$", "", path.parent.name) or "unknown"


def _result(
    name: str, domain: str, inst: Instance, candidate: Any, checks: list[Any], ours: bool, rf: ResultsFile, engine: str
) -> Result:
    usage = Usage(
        rounds=1,
        samples=1,
        llm_calls=1,
        prompt_tokens=inst.prompt_tokens or 0,
        generated_tokens=inst.completion_tokens or 0,
        seconds=inst.seconds or 0.0,
    )
    sample = Sample(completion=inst.response, tokens=inst.completion_tokens or 0, candidate=candidate, verdicts=checks)
    hard = [v for v in checks if v.hard]
    return Result(
        task_id=name,
        domain=domain,
        strategy=STRATEGY,
        status=ResultStatus.VERIFIED if ours else ResultStatus.FAILED,
        answer=candidate.answer,
        answer_text=inst.response,
        certificate=hard,
        chosen=(0, 0),
        trace=[Attempt(round=1, prompt=inst.query, samples=[sample], seconds=inst.seconds or 0.0)],
        usage=usage,
        config={"source": "planbench", "file": rf.path.name, "model": engine},
        info={
            "planbench": {
                "instance_id": inst.instance_id,
                "llm_correct": inst.llm_correct,
                "extracted_llm_plan": inst.extracted,
                "cost_usd": inst.cost,
            }
        },
    )


def _row(
    name: str,
    domain: str,
    folder: str,
    inst: Instance,
    result: Result,
    rf: ResultsFile,
    engine: str,
    arm: str,
    sweep: str,
    cot: bool,
) -> dict[str, Any]:
    config = {
        "source": "planbench-results",
        "file_sha256": rf.sha256,
        "task": rf.task,
        "prompt_type": rf.prompt_type,
        "planbench_domain": rf.domain,
        "domain": domain,
        "instance": name,
        "model": engine,
        "cot": cot,
    }
    budget = _ONE_SHOT_BUDGET
    return {
        "key": trial_key(config),
        "sweep": sweep,
        "label": arm,
        "domain": domain,
        "instance_set": folder,
        "instance": name,
        "strategy": STRATEGY,
        "model": engine,
        "proposer": "llm",
        "feedback": "none",
        "seed": 0,
        "budget_json": budget.model_dump_json(),
        **{f"budget_{k}": getattr(budget, k) for k in ("samples", "tokens", "rounds", "nodes")},
        "status": result.status.value,
        "verified": int(result.verified),
        "rounds": 1,
        "samples": 1,
        "llm_calls": 1,
        "nodes": 0,
        "prompt_tokens": inst.prompt_tokens,  # None where the file does not say: unknown, not zero
        "generated_tokens": inst.completion_tokens,
        "seconds": inst.seconds,
        "answer_len": len(result.answer) if isinstance(result.answer, list | tuple) else None,
        "config_json": canonical_json(config),
        "result_json": result.model_dump_json(),
        "error": None,
        "worker": "import-planbench",
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }


def _tally(
    out: Imported, name: str, theirs: bool | None, ours: bool, domain: Any, cand: Any, checks: list[Any]
) -> None:
    if ours:
        out.verified.append(name)
    if theirs is None:
        out.no_verdict.append(name)
    elif theirs == ours:
        out.agree.append(name)
    else:
        out.disagree.append((name, theirs, ours, "" if ours else _first_fault(domain, cand, checks)))


def _first_fault(domain: Any, candidate: Any, checks: list[Any]) -> str:
    for verdict in checks:
        if verdict.hard and not verdict.valid:
            for v in verdict.violations[:1]:
                return str(v.message or domain.describe(v, candidate))[:160]
            return f"{verdict.critic}: {verdict.status.value}"
    return "no hard critic accepted it"


def _record_prices(store: TrialStore, rf: ResultsFile, engine: str) -> None:
    """The price per million tokens the file's own costs imply, kept for ``report`` (a user's table wins)."""
    ins = sorted(i.cost_in / i.prompt_tokens for i in rf.instances if i.cost_in is not None and i.prompt_tokens)
    outs = sorted(
        i.cost_out / i.completion_tokens for i in rf.instances if i.cost_out is not None and i.completion_tokens
    )
    if not ins or not outs:
        return
    prices = store.get_meta("prices", {}) or {}
    prices[engine] = {
        "input": round(ins[len(ins) // 2] * 1e6, 4),
        "output": round(outs[len(outs) // 2] * 1e6, 4),
        "source": f"the costs recorded in {rf.path.name} (median over its instances)",
    }
    store.set_meta("prices", prices)


__all__ = ["PLANBENCH_SETS", "Imported", "Instance", "ResultsFile", "import_results", "protocol_of", "read_results"]
