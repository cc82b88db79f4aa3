"""The sweeps the ``improve`` loop writes and runs: sampling the current model with critics on a
round's training problems, and evaluating every round's model on the held-out sets."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from llm_modulo.errors import InputError

from .config import EVAL_SETS, EVAL_STRATEGIES, ImproveConfig

log = logging.getLogger(__name__)


def strategy_entries(names: Sequence[str], n: int, nodes: int, heuristic: str | None = None,
                      max_tokens: int = 128) -> list[dict[str, Any]]:  # fmt: skip
    """Sweep ``strategies`` entries for ``names`` with the compact prompts; ``direct`` decodes greedily
    (the model alone at temperature 0, as PlanBench measured GPT-4), the others sample."""
    compact = {"prompt_format": "compact"}
    entries: list[dict[str, Any]] = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "domain_options": dict(compact)}
        if name == "direct":
            entry.update(constrained="well-formed", budgets=[{"samples": 1, "rounds": 1}],
                         sampling={"temperature": 0.0, "top_p": 1.0, "max_tokens": max_tokens})  # fmt: skip
        elif name == "best-of-n":
            entry.update(n=n, constrained="well-formed")
        elif name == "modulo":
            entry.update(n=max(1, n // 2), constrained="well-formed", reuse_prefix=True)
        elif name == "search":
            entry.update(n=n, budgets=[{"nodes": nodes, "samples": "none", "rounds": "none"}])
            if heuristic is not None:
                entry["heuristic"] = heuristic
        else:
            raise InputError(f"unknown strategy {name!r} for improve; known: {', '.join(EVAL_STRATEGIES)}")
        entries.append(entry)
    return entries


def sample_sweep(cfg: ImproveConfig, round_no: int, data: Path, model: str) -> dict[str, Any]:
    """The sweep that samples the current model with critics on the round's training problems."""
    if cfg.domain == "blocksworld":
        folder = (data / "problems").resolve()
        files = [p for p in folder.glob("*.pddl") if "domain" not in p.name.lower()]
        sets = [{"domain": "blocksworld", "set": str(folder), "count": len(files)}]
    else:
        puzzles = (data / "puzzles.txt").read_text().split("\n")
        sets = [{"domain": "game24", "set": "all", "ids": [p for p in puzzles if p.strip()]}]
    heuristic = cfg.sample_heuristic if cfg.sample_strategy == "search" else None
    return {
        "name": f"sample-{round_no}",
        "description": f"improve round {round_no}: sample {model} with critics on training problems",
        "models": [model],
        "feedback": ["first"],
        "seeds": [cfg.seed * 1000 + round_no],
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": cfg.max_tokens},
        "budgets": [{"samples": cfg.sample_n, "rounds": "none"}],
        "instance_sets": sets,
        "strategies": strategy_entries([cfg.sample_strategy], cfg.sample_n, cfg.sample_nodes, heuristic),
    }


def eval_sweep(cfg: ImproveConfig, models: Sequence[str]) -> dict[str, Any]:
    """The held-out evaluation of ``models`` (every round's, the random control among them)."""
    sets: list[dict[str, Any]] = []
    for domain, name in EVAL_SETS[cfg.domain]:
        entry: dict[str, Any] = {"domain": domain, "set": name}
        if cfg.eval_count is not None:
            entry["count"] = cfg.eval_count
        sets.append(entry)
    return {
        "name": "eval",
        "description": "improve: every round's model on the held-out sets, compact prompts",
        "models": list(models),
        "feedback": ["first"],
        "seeds": [cfg.seed],
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": cfg.max_tokens},
        "budgets": [{"samples": 8, "rounds": "none"}],
        "instance_sets": sets,
        "strategies": strategy_entries(
            cfg.eval_strategies, 8, cfg.eval_nodes, cfg.eval_heuristic, max_tokens=cfg.max_tokens
        ),
    }


def write_sweep(config: dict[str, Any], path: Path) -> Path:
    """Write a sweep config as YAML (``rounds: none`` and friends spelled as bench expects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def sweep_keys(sweep_files: Sequence[Path]) -> list[str]:
    """The trial keys of sweep files (what a shared store holds for this run)."""
    from llm_modulo.experiments.config import load_sweep

    return list(dict.fromkeys(t.key for f in sweep_files if f.is_file() for t in load_sweep(f).trials))


def eval_files(out: Path) -> list[Path]:
    return sorted(out.glob("round-*/eval.yaml"))  # round-0 (base, control) and every trained round


def run_sweep_file(sweep_file: Path, store: Path, cfg: ImproveConfig, progress: bool) -> None:
    from rich.console import Console

    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import run_sweep

    sweep = load_sweep(sweep_file)
    console = Console(stderr=True, quiet=not progress)
    outcome = run_sweep(sweep, store, device=cfg.device, workers=cfg.workers, threads=cfg.threads, batch=cfg.batch_trials, console=console,
                        progress=progress, command=f"llm-modulo improve ({sweep_file.name})")  # fmt: skip
    log.info("%s: %s", sweep_file.name, outcome)


__all__ = [
    "eval_files",
    "eval_sweep",
    "run_sweep_file",
    "sample_sweep",
    "strategy_entries",
    "sweep_keys",
    "write_sweep",
]
