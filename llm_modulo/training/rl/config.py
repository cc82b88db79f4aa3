"""The settings of an ``rl`` run: :class:`RLConfig`, kept in ``<out>/rl.json``, and what a resumed run may change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llm_modulo.errors import InputError

from ..improve.config import ImproveConfig


class RLConfig(BaseModel):
    """GRPO on generated Blocksworld problems from a trained planner adapter (kept in ``<out>/rl.json``)."""

    model_config = ConfigDict(extra="forbid")

    base: str = "default"
    start: str | None = Field(
        default="smollm2-135m-planner",
        description="the adapter to reinforce, also the KL reference (None: a fresh LoRA on the base; the base is the reference)",
    )  # fmt: skip
    seed: int = 0
    rounds: int = Field(default=1, ge=1, description="rounds of updates, each followed by an evaluation")
    updates_per_round: int = Field(default=10, ge=1)
    problems_per_update: int = Field(default=8, ge=1)
    group: int = Field(default=8, ge=2, description="samples per problem (the GRPO group)")
    min_blocks: int = Field(
        default=4, ge=2, description="every 3-block problem is a test instance: 4 is the least usable"
    )
    max_blocks: int = Field(default=8, ge=2)
    temperature: float = Field(default=1.0, gt=0)
    max_tokens: int = Field(default=128, ge=1)
    max_len: int = Field(default=768, ge=16, description="prompt + completion tokens; longer prompts are redrawn")
    lr: float = Field(default=5e-5, gt=0)
    beta: float = Field(default=0.04, ge=0, description="weight of the KL guard against the reference")
    clip: float = Field(default=0.2, gt=0)
    inner_steps: int = Field(default=1, ge=1, description="optimizer steps per batch of samples")
    micro_batch: int = Field(default=16, ge=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    rank: int = Field(default=8, ge=1, description="LoRA rank when start is None (else the start's)")
    alpha: int = Field(default=16, ge=1)
    eval: bool = Field(default=True, description="evaluate every round on the held-out sets")
    eval_count: int | None = Field(default=100, ge=1, description="instances per held-out set (None: all)")
    eval_strategies: list[str] = Field(default_factory=lambda: ["direct", "best-of-n"])
    eval_random: bool = True
    store: str | None = Field(default=None, description="the evaluation store (None: <out>/eval.sqlite); shareable")
    device: str = "cpu"
    threads: int | None = Field(default=None, ge=1)
    workers: int = Field(default=1, ge=1)
    batch_trials: int | None = Field(default=None, ge=1)

    @property
    def samples_per_update(self) -> int:
        return self.problems_per_update * self.group

    @property
    def total_updates(self) -> int:
        return self.rounds * self.updates_per_round

    @field_validator("store")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).resolve())

    @model_validator(mode="after")
    def _evaluation(self) -> RLConfig:
        """The evaluation settings are improve's: checked there (one list of strategies, one check)."""
        try:
            self.improve_config()
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"{first['loc'][0] if first['loc'] else ''}: {first['msg']}") from None
        return self

    def improve_config(self) -> ImproveConfig:
        """The same evaluation as an ``improve`` run's (its sweeps and tables are reused)."""
        return ImproveConfig(
            domain="blocksworld", base=self.base, start=self.start, seed=self.seed, max_tokens=self.max_tokens,
            eval_count=self.eval_count, eval_strategies=self.eval_strategies, eval_random=self.eval_random,
            store=self.store, device=self.device, workers=self.workers, threads=self.threads,
            batch_trials=self.batch_trials,
        )  # fmt: skip


# Settings a resumed run may change: more rounds, the evaluation, how the work is executed.
_RESUMABLE = {"rounds", "eval", "eval_count", "eval_strategies", "eval_random", "device", "threads", "workers",
              "batch_trials", "micro_batch"}  # fmt: skip


def identity(cfg: RLConfig) -> dict[str, Any]:
    """The settings a checkpoint must share with the run that resumes it."""
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _RESUMABLE}


def load_config(path: str | Path | None, **overrides: Any) -> RLConfig:
    """An :class:`RLConfig` from a TOML file (its top level, or its ``[rl]`` table) and overrides (None: kept)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read the rl config {path}: {exc}") from None
        data = data.get("rl", data)
    return RLConfig.model_validate({**data, **{k: v for k, v in overrides.items() if v is not None}})


def check_settings(cfg: RLConfig, out: Path, resume: bool) -> None:
    """Refuse to mix runs: a folder with another run's settings, or a started run without ``resume``."""
    saved = out / "rl.json"
    if saved.is_file():
        if not resume:
            raise InputError(f"{out} holds an rl run; pass --resume to continue it, or use another --out")
        before = identity(RLConfig.model_validate_json(saved.read_text()))
        changed = sorted(k for k in set(before) | set(identity(cfg)) if before.get(k) != identity(cfg).get(k))
        if changed:
            raise InputError(f"{out} holds an rl run with other settings ({', '.join(changed)}); use another --out")
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(cfg.model_dump(mode="json"), indent=1))


__all__ = ["RLConfig", "check_settings", "identity", "load_config"]
