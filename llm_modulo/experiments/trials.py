"""Trials: one run of one strategy on one instance, and the key that identifies it in a store.

A trial's key is the sha256 of the canonical JSON of its full config (sweep name, label and paths
excluded), so any change of setting gives a new key and two sweeps share identical trials. Keys
of stored sweeps must never change: a store resumes by key.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from llm_modulo.experiments.schema import SamplingSpec, SweepConfig
from llm_modulo.types import Budget


class TrialSpec(BaseModel):
    """One trial: everything a worker needs to run it, and the key that identifies it."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    # identity (in the key)
    domain: str
    instance_set: str
    instance: str
    style: str
    strategy: str
    options: dict[str, Any]
    domain_options: dict[str, Any] = Field(default_factory=dict)
    model: str
    model_digest: str | None = None  # sha256 of a scripted model's file or an adapter's weights: a setting too
    budget: Budget
    feedback: str
    seed: int
    sampling: SamplingSpec
    # bookkeeping (not in the key)
    sweep: str
    label: str
    model_resolved: str  # the spec with relative paths made absolute, for load_model
    domain_file: str
    problem_file: str
    device: str = "cpu"  # where a local model runs (cpu, cuda): the hardware, recorded per run, not a setting

    @field_serializer("options", "domain_options")
    def _options_text(self, options: dict[str, Any]) -> Any:
        # an infinite option (model_share = inf) reaches the worker as "inf", not as JSON's null
        return _strict(options)

    def config(self) -> dict[str, Any]:
        """The trial's full config, the key's preimage: sweep name, label and paths excluded."""
        data = {
            "domain": self.domain,
            "instance_set": self.instance_set,
            "instance": self.instance,
            "style": self.style,
            "strategy": self.strategy,
            "options": self.options,
            "model": self.model,
            "budget": self.budget.model_dump(mode="json"),
            "feedback": self.feedback,
            "seed": self.seed,
            "sampling": self.sampling.model_dump(mode="json"),
        }
        if self.model_digest is not None:
            data["model_digest"] = self.model_digest
        if self.domain_options:  # only when set, so that keys without them stay as they were
            data["domain_options"] = dict(sorted(self.domain_options.items()))
        return data

    @property
    def key(self) -> str:
        return trial_key(self.config())

    @property
    def arm(self) -> tuple[str, str, str, str]:
        """(label, model, feedback, budget): what a report compares; instances and seeds replicate it."""
        return (self.label, self.model, self.feedback, budget_text(self.budget))


def canonical_json(data: Any) -> str:
    return json.dumps(_strict(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _strict(data: Any) -> Any:
    """``data`` with infinite floats as "inf"/"-inf" (e.g. ``model_share = inf``): keys stay strict
    JSON, and keys without them stay as they were."""
    if isinstance(data, float) and math.isinf(data):
        return "inf" if data > 0 else "-inf"
    if isinstance(data, dict):
        return {k: _strict(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_strict(v) for v in data]
    return data


def trial_key(config: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def budget_text(budget: Budget) -> str:
    parts = [f"{k}={v}" for k, v in budget.model_dump().items() if v is not None]
    return ",".join(parts) or "unlimited"


@dataclass
class Sweep:
    """A loaded config and its expanded trials (in run order)."""

    config: SweepConfig
    path: Path
    text: str
    format: str  # "toml" | "yaml"
    trials: list[TrialSpec]
    duplicates: int = 0  # trials dropped because an earlier entry already had the same key
    redundant: int = 0  # trials dropped: the same run as an earlier one (see experiments.effective)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name or self.path.stem

    def arms(self) -> dict[tuple[str, str, str, str], int]:
        counts: dict[tuple[str, str, str, str], int] = {}
        for trial in self.trials:
            counts[trial.arm] = counts.get(trial.arm, 0) + 1
        return counts

    def meta(self) -> dict[str, Any]:
        return {"path": str(self.path), "text": self.text, "format": self.format}


__all__ = ["Sweep", "TrialSpec", "budget_text", "canonical_json", "trial_key"]
