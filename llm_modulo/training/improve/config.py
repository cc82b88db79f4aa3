"""The settings of an ``improve`` run: :class:`ImproveConfig`, kept in ``<out>/improve.json``, and what a rerun may change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llm_modulo.errors import InputError

from ..targets import ExpertSelect

DataSource = Literal["expert", "imitation", "both"]
SampleStrategy = Literal["best-of-n", "modulo", "search"]
SAMPLE_STRATEGIES: tuple[str, ...] = get_args(SampleStrategy)
EVAL_STRATEGIES = ("direct", "best-of-n", "modulo", "search")
# Held-out sets (never trained on) per domain: (domain, set); all instances unless ``eval_count``.
EVAL_SETS: dict[str, list[tuple[str, str]]] = {
    "blocksworld": [
        ("blocksworld", "blocksworld/generated_basic_3"),
        ("blocksworld", "blocksworld/generated_basic"),
        ("mystery_blocksworld", "blocksworld/mystery/generated_basic_3"),
        ("mystery_blocksworld", "blocksworld/mystery/generated_basic"),
    ],
    "game24": [("game24", "test")],
}


class ImproveConfig(BaseModel):
    """The settings of an ``improve`` run (kept in ``<out>/improve.json``)."""

    model_config = ConfigDict(extra="forbid")

    domain: Literal["blocksworld", "game24"] = "blocksworld"
    rounds: int = Field(default=2, ge=1)
    base: str = "default"
    seed: int = 0
    train_seed: int | None = Field(
        default=None,
        description="seed of the token cap's random subset and of training (None: seed); runs that share a "
        "store, the seed and so the problems and samples, and differ here repeat one data source's training",
    )  # fmt: skip
    problems: int = Field(default=200, ge=1, description="new training problems per round")
    min_blocks: int = Field(default=3, ge=1)
    max_blocks: int = Field(default=8, ge=1)
    data: DataSource = "expert"
    expert_select: ExpertSelect = Field(
        default="all",
        description="which certified samples become expert data: all, shortest (a problem's fewest-step answers) "
        "or shortened (planning: redundant steps removed under the validator, then the shortest)",
    )  # fmt: skip
    repair: bool = Field(
        default=False, description="planning: also train on critique-and-repair turns from the rejected samples"
    )
    start: str | None = Field(default=None, description="a trained adapter to continue from (round 0 beside the base)")
    sample_strategy: SampleStrategy = "search"
    sample_n: int = Field(default=8, ge=1, description="samples per call (best-of-n, modulo) or per node (search)")
    sample_nodes: int = Field(default=64, ge=1, description="search: expansions per problem")
    sample_heuristic: str = Field(default="none", description="search: 'none' = the model's own best-first search")
    max_tokens: int = Field(default=128, ge=1)
    eval_count: int | None = Field(default=None, ge=1, description="instances per held-out set (None: all)")
    eval_strategies: list[str] = Field(default_factory=lambda: list(EVAL_STRATEGIES))
    eval_random: bool = True
    eval_nodes: int = Field(default=64, ge=1)
    eval_heuristic: str | None = Field(
        default=None,
        description="search at evaluation: none (the model's own best-first search), goal-count or relaxed-plan; "
        "None: search's default, relaxed-plan (for game24 that is exact, whether 24 is still reachable: a solver)",
    )  # fmt: skip
    epochs: float = Field(default=2.0, gt=0)
    lr: float = Field(default=2e-4, gt=0)
    rank: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    batch_size: int = Field(default=8, ge=1)
    max_len: int = Field(default=512, ge=16)
    max_steps: int | None = Field(default=None, ge=1)
    train_tokens: int | None = Field(default=None, ge=1, description="cap on completion tokens trained on per round")
    store: str | None = Field(
        default=None,
        description="one trial store for every sweep (None: <out>/eval.sqlite and round-<r>/sample.sqlite); "
        "runs that share one run the base model's evaluation and identical samples once",
    )  # fmt: skip
    device: str = "cpu"
    workers: int = Field(default=1, ge=1)
    threads: int | None = Field(default=None, ge=1)
    batch_trials: int | None = Field(
        default=None, ge=1, description="trials at once in the sweeps, their calls batched (bench --batch)"
    )

    @property
    def training_seed(self) -> int:
        """The seed of the token cap and of training: ``train_seed``, else ``seed``."""
        return self.seed if self.train_seed is None else self.train_seed

    @field_validator("store")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).resolve())

    @field_validator("sample_heuristic", "eval_heuristic")
    @classmethod
    def _heuristic(cls, value: str | None) -> str | None:
        from llm_modulo.strategies.search import HEURISTICS

        if value is not None and value not in HEURISTICS:
            raise ValueError(f"one of {', '.join(HEURISTICS)}, not {value!r}")
        return value

    @model_validator(mode="after")
    def _repair_needs_whole_answers(self) -> ImproveConfig:
        if self.repair and self.domain != "blocksworld":
            raise ValueError("repair turns are made for planning domains; drop repair for game24")
        if self.expert_select == "shortened" and self.domain != "blocksworld":
            raise ValueError("shortened removes plan steps: for planning domains; use shortest for game24")
        if self.repair and self.sample_strategy == "search":
            raise ValueError(
                "repair turns are made from rejected whole plans: sample with best-of-n or modulo, not search"
            )
        return self

    @field_validator("eval_strategies")
    @classmethod
    def _eval_strategies(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in EVAL_STRATEGIES]
        if unknown or not value:
            raise ValueError(f"a list of {', '.join(EVAL_STRATEGIES)}; got {', '.join(value) or 'nothing'}")
        return value


def data_label(cfg: ImproveConfig) -> str:
    """The training data as the tables name it: the source, and which certified samples were kept
    when not all (runs that differ there are different arms, never seeds of one)."""
    if cfg.data != "imitation" and cfg.expert_select != "all":
        return f"{cfg.data} ({cfg.expert_select})"
    return cfg.data


def round_zero(cfg: ImproveConfig) -> list[str]:
    """The models of round 0: the base, and the adapter the loop starts from."""
    return [cfg.base, *([cfg.start] if cfg.start is not None else [])]


# Settings a rerun may change: more rounds; evaluation breadth (the store adds the new trials, every
# round's eval sweep is rerun so all rounds stay on the same instances); how the work is executed.
_RESUMABLE_CHANGES = {
    "rounds",
    "eval_count",
    "eval_strategies",
    "eval_random",
    "eval_heuristic",
    "device",
    "workers",
    "threads",
    "batch_trials",
}


def check_settings(cfg: ImproveConfig, out: Path) -> None:
    saved = out / "improve.json"
    current = cfg.model_dump(mode="json")
    if saved.is_file():
        before = {
            **ImproveConfig().model_dump(mode="json"),
            **json.loads(saved.read_text()),
        }  # settings added later: defaults
        changed = {k for k in (set(before) | set(current)) - _RESUMABLE_CHANGES if before.get(k) != current.get(k)}
        if changed:
            raise InputError(
                f"{out} holds an improve run with other settings ({', '.join(sorted(changed))}); use another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(current, indent=1))


__all__ = ["EVAL_SETS", "EVAL_STRATEGIES", "SAMPLE_STRATEGIES", "DataSource", "ImproveConfig", "SampleStrategy",
           "check_settings", "data_label", "round_zero"]  # fmt: skip
