"""Trials grouped into arms (label x model x feedback level x budget setting), with success rates,
Wilson intervals and mean costs."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_modulo.experiments.report.formatting import num
from llm_modulo.experiments.stats import succeeded, wilson_interval

BUDGET_FIELDS = ("rounds", "samples", "tokens", "seconds", "nodes")
FEEDBACK_ORDER = ("none", "binary", "first", "all")
_FEEDBACK_RANK = {level: i for i, level in enumerate(FEEDBACK_ORDER)}
# A trial of these strategies that succeeded after s samples would also have succeeded under any
# larger budget (the run is the same up to s), so one run gives the whole success-versus-budget
# curve up to its cap. Self-consistency votes over all k samples and self-critique decides by the
# model's own judgement: for them only the measured budget settings are plotted.
ANYTIME = frozenset({"direct", "best-of-n", "modulo", "search"})
UNITS = {"samples": ("samples", "samples used"), "tokens": ("generated_tokens", "generated tokens")}

# config_json keys that vary within one arm or name it; dropped when comparing arms' settings
_PER_TRIAL_KEYS = frozenset(
    {"seed", "seeds", "instance", "instances", "task", "task_id", "label", "sweep", "name", "key"}
)
MODEL_KEYS = frozenset({"model", "models", "proposer", "model_spec", "model_digest"})
FEEDBACK_KEYS = frozenset({"feedback", "feedback_level"})
BUDGET_KEYS = frozenset({"budget"})


def budget_of(trial: dict[str, Any]) -> dict[str, Any]:
    """The trial's budget as a dict (from ``budget_json``, else the budget columns)."""
    try:
        data = json.loads(trial.get("budget_json") or "")
        if isinstance(data, dict):
            return {k: data.get(k) for k in BUDGET_FIELDS}
    except (TypeError, json.JSONDecodeError):
        pass
    return {k: trial.get(f"budget_{k}") for k in BUDGET_FIELDS}


def budget_label(budget: dict[str, Any]) -> str:
    parts = [f"{k}={num(budget[k])}" for k in BUDGET_FIELDS if budget.get(k) is not None]
    return ", ".join(parts) or "unlimited"


def budget_size(budget: dict[str, Any]) -> tuple[float, ...]:
    return tuple(
        math.inf if budget.get(k) is None else float(budget[k])
        for k in ("samples", "tokens", "rounds", "nodes", "seconds")
    )


def _strip(value: Any, drop: frozenset[str], values: set[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip(v, drop, values)
            for k, v in value.items()
            if k not in drop and not (isinstance(v, str) and v in values)
        }
    if isinstance(value, list):
        return [_strip(v, drop, values) for v in value]
    return value


def _signature(trial: dict[str, Any], drop: frozenset[str]) -> str:
    """The trial's config without the keys in ``drop`` (and without its instance), as canonical JSON."""
    try:
        config = json.loads(trial.get("config_json") or "{}")
    except (TypeError, json.JSONDecodeError):
        config = {}
    values = {str(trial.get("instance"))}
    if drop & MODEL_KEYS:
        values.add(str(trial.get("model")))
    return json.dumps(_strip(config, _PER_TRIAL_KEYS | drop, values), sort_keys=True, default=str)


def mean_of(values: Iterable[Any]) -> float | None:
    nums = [float(v) for v in values if v is not None]
    return sum(nums) / len(nums) if nums else None


@dataclass
class ArmSummary:
    """One arm (label x model x feedback level x budget setting) on one domain and instance set."""

    domain: str
    instance_set: str
    label: str
    model: str
    proposer: str
    strategy: str
    feedback: str
    budget: dict[str, Any]
    trials: int  # trials that ran (the denominator); error rows excluded
    solved: int
    errors: int
    instances: int
    seeds: list[int]
    statuses: dict[str, int]
    rate: float
    lo: float
    hi: float
    mean_calls: float | None
    mean_samples: float | None
    mean_tokens: float | None
    mean_prompt_tokens: float | None
    mean_rounds: float | None
    mean_seconds: float | None
    solved_calls: float | None  # means over the solved trials
    solved_samples: float | None
    solved_tokens: float | None
    solved_rounds: float | None
    tokens_per_solve: float | None  # all generated tokens / number solved
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)  # the non-error trials
    name: str = ""  # display name, unique within its (domain, instance set)

    @property
    def budget_label(self) -> str:
        return budget_label(self.budget)

    @property
    def group(self) -> tuple[str, str]:
        return self.domain, self.instance_set

    def cap(self, unit: str) -> float | None:
        value = self.budget.get(unit)
        return None if value is None else float(value)

    def signature(self, drop: frozenset[str]) -> str:
        return "|".join(sorted({_signature(r, drop) for r in self.rows}))

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "rows"}
        data["budget_text"] = self.budget_label
        return data


def summarise(trials: Sequence[dict[str, Any]]) -> list[ArmSummary]:
    """Arms with success rates (95% Wilson intervals) and mean costs, sorted by domain and instance set.

    An arm is a label x model x feedback level x budget setting on one (domain, instance set) (a
    sweep's label need not name the feedback level or budget of a grid); the sweep name is not part of it. Trials with status ``error`` are counted apart and left out of every rate and mean.
    """
    buckets: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    model_of = _models_by_digest(trials)
    for t in trials:
        b = budget_label(budget_of(t))
        buckets[(t["domain"], t["instance_set"], t["label"], model_of(t), t["feedback"], b)].append(t)
    arms = []
    for (domain, instance_set, label, model, _, _), rows in buckets.items():
        ran = [r for r in rows if r["status"] != "error"]
        won = [r for r in ran if succeeded(r)]
        n, k = len(ran), len(won)
        lo, hi = wilson_interval(k, n)
        tokens = [r.get("generated_tokens") for r in ran]
        total_tokens = sum(t for t in tokens if t is not None)
        arms.append(
            ArmSummary(
                domain=domain,
                instance_set=instance_set,
                label=label,
                model=model,
                proposer=_one(r["proposer"] for r in rows),
                strategy=_one(r["strategy"] for r in rows),
                feedback=_one(r["feedback"] for r in rows),
                budget=budget_of(rows[0]),
                trials=n,
                solved=k,
                errors=len(rows) - n,
                instances=len({r["instance"] for r in ran}),
                seeds=sorted({r["seed"] for r in rows}),
                statuses=dict(Counter(r["status"] for r in rows)),
                rate=k / n if n else 0.0,
                lo=lo,
                hi=hi,
                mean_calls=mean_of(r.get("llm_calls") for r in ran),
                mean_samples=mean_of(r.get("samples") for r in ran),
                mean_tokens=mean_of(tokens),
                mean_prompt_tokens=mean_of(r.get("prompt_tokens") for r in ran),
                mean_rounds=mean_of(r.get("rounds") for r in ran),
                mean_seconds=mean_of(r.get("seconds") for r in ran),
                solved_calls=mean_of(r.get("llm_calls") for r in won),
                solved_samples=mean_of(r.get("samples") for r in won),
                solved_tokens=mean_of(r.get("generated_tokens") for r in won),
                solved_rounds=mean_of(r.get("rounds") for r in won),
                tokens_per_solve=total_tokens / k if k and any(t is not None for t in tokens) else None,
                rows=ran,
            )
        )
    arms.sort(
        key=lambda a: (
            a.domain,
            a.instance_set,
            a.proposer != "llm",
            a.strategy,
            a.label,
            a.model,
            _FEEDBACK_RANK.get(a.feedback, 99),
            a.feedback,
            budget_size(a.budget),
        )
    )
    _name_arms(arms)
    return arms


def model_digest(trial: dict[str, Any]) -> str:
    """The trial's ``model_digest`` (a scripted file's, an adapter's, the default model's engine), or ''."""
    try:
        config = json.loads(trial.get("config_json") or "{}")
    except (TypeError, json.JSONDecodeError):
        return ""
    return str(config.get("model_digest") or "") if isinstance(config, dict) else ""


def _models_by_digest(trials: Sequence[dict[str, Any]]) -> Callable[[dict[str, Any]], str]:
    """A trial's model as an arm names it: its spec, with its digest where one spec ran under several (a
    store resumed after the file, the adapter or the default model's engine changed): those are other models."""
    found = {id(t): model_digest(t) for t in trials}
    digests: dict[str, set[str]] = defaultdict(set)
    for t in trials:
        digests[t["model"]].add(found[id(t)])

    def model_of(trial: dict[str, Any]) -> str:
        if len(digests[trial["model"]]) < 2:
            return str(trial["model"])
        digest = found[id(trial)]  # a sha256 cut to 12, an engine after '+' kept
        head, plus, engine = digest.partition("+")
        short = head if len(head) <= 24 else head[:12]
        return f"{trial['model']} [{short + plus + engine or 'no digest'}]"

    return model_of


def _one(values: Iterable[Any]) -> str:
    distinct = sorted({str(v) for v in values})
    return "/".join(distinct)


def _name_arms(arms: list[ArmSummary]) -> None:
    """Unique display names per group: the label, plus the model, feedback or budget where labels repeat."""
    for group in group_arms(arms).values():
        labels = Counter(a.label for a in group)
        for a in group:
            a.name = a.label
            if labels[a.label] > 1:
                same = [b for b in group if b.label == a.label]
                extra = []
                if len({b.model for b in same}) > 1:
                    extra.append(a.model)
                if len({b.feedback for b in same}) > 1:
                    extra.append(f"feedback {a.feedback}")
                if len({b.budget_label for b in same}) > 1:
                    extra.append(a.budget_label)
                a.name = f"{a.label} ({', '.join(extra)})" if extra else a.label


def group_arms(arms: Iterable[ArmSummary]) -> dict[tuple[str, str], list[ArmSummary]]:
    """Arms by (domain, instance set), in order."""
    groups: dict[tuple[str, str], list[ArmSummary]] = {}
    for a in arms:
        groups.setdefault(a.group, []).append(a)
    return groups
