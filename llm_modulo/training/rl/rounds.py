"""``llm-modulo rl``: GRPO rounds, each evaluated as an ``improve`` round is (the same sweeps, store
and table), so RL, expert iteration and imitation compare round by round at equal samples.

Round ``r`` is the adapter after ``r * updates_per_round`` updates; round 0 is the start adapter,
the base model and the random control, evaluated after round 1. ``<out>/rounds.md`` and
``rounds.csv`` hold the per-round table, ``log.json`` and ``reward.png`` the per-update curve.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from ..improve.config import round_zero
from ..improve.sweeps import eval_files, eval_sweep, run_sweep_file, sweep_keys, write_sweep
from ..improve.tables import RoundRow, markdown_table, round_table
from .config import RLConfig, check_settings
from .run import train_updates

log = logging.getLogger(__name__)


def run_rl(cfg: RLConfig, out: str | Path, *, resume: bool = False, progress: bool = False,
           stop_after: int | None = None) -> list[RoundRow]:  # fmt: skip
    """Train (or continue) the run in ``out``; evaluate each round when ``cfg.eval``; write the tables and curve."""
    out = Path(out).resolve()
    check_settings(cfg, out, resume)
    icfg = cfg.improve_config()
    store = Path(cfg.store) if cfg.store else out / "eval.sqlite"
    models: dict[int, str] = {}

    def evaluate(r: int, adapter: str) -> None:
        models[r] = adapter
        if not cfg.eval:
            return
        run_sweep_file(
            write_sweep(eval_sweep(icfg, [adapter]), out / f"round-{r}" / "eval.yaml"), store, icfg, progress
        )
        if r == 1:
            zero = [*round_zero(icfg), *(["random"] if cfg.eval_random else [])]
            run_sweep_file(write_sweep(eval_sweep(icfg, zero), out / "round-0" / "eval.yaml"), store, icfg, progress)

    history = train_updates(cfg, out, stop_after=stop_after, on_round=evaluate)
    plot_rewards(history, out / "reward.png")
    rows: list[RoundRow] = []
    if cfg.eval and models:
        rows = round_table(store, {**{m: 0 for m in round_zero(icfg)}, **{m: r for r, m in models.items()}},
                           random="random" if cfg.eval_random else None, keys=sweep_keys(eval_files(out)))  # fmt: skip
    write_tables(rows, history, out, cfg)
    return rows


def round_rewards(history: list[dict[str, Any]], cfg: RLConfig) -> list[dict[str, Any]]:
    """Per round: updates, samples so far, and the mean training reward and certified share of its updates."""
    rounds = []
    for r in range(1, cfg.rounds + 1):
        part = [h for h in history if (r - 1) * cfg.updates_per_round < h["update"] <= r * cfg.updates_per_round]
        if part:
            rounds.append({
                "round": r, "updates": part[-1]["update"], "samples": part[-1]["samples"],
                "reward": sum(h["reward"] for h in part) / len(part),
                "certified": sum(h["certified"] for h in part) / len(part),
                "kl": sum(h["kl"] for h in part) / len(part),
            })  # fmt: skip
    return rounds


def write_tables(rows: list[RoundRow], history: list[dict[str, Any]], out: Path, cfg: RLConfig) -> None:
    head = [
        "# GRPO with the verifier's reward: every round on the held-out sets",
        "",
        f"Base {cfg.base}; start {cfg.start or 'a fresh LoRA'}; {cfg.updates_per_round} updates a round of "
        f"{cfg.problems_per_update} generated Blocksworld problems x {cfg.group} samples "
        f"({cfg.samples_per_update} samples an update, {cfg.updates_per_round * cfg.samples_per_update} a round: "
        "set expert iteration's problems x sample_n to this for equal samples); reward 1 when every hard critic "
        "certifies, else below 0.5 from the valid prefix and its relaxed-plan progress; lr "
        f"{cfg.lr}, KL weight {cfg.beta} against {'the start adapter' if cfg.start else 'the base'}.",
        "",
        "## Training reward per round",
        "",
        "| round | updates | samples | mean reward | certified samples | KL to reference |",
        "|---|---|---|---|---|---|",
    ]
    for r in round_rewards(history, cfg):
        head.append(f"| {r['round']} | {r['updates']} | {r['samples']} | {r['reward']:.3f} | "
                    f"{100 * r['certified']:.1f}% | {r['kl']:.4f} |")  # fmt: skip
    head += ["", "## Held-out sets", "", markdown_table(rows) if rows else "(not evaluated)", ""]
    (out / "rounds.md").write_text("\n".join(head))
    with (out / "rounds.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(RoundRow.model_fields))
        writer.writeheader()
        for row in rows:
            writer.writerow(row.model_dump())
    (out / "log.json").write_text(json.dumps(history, indent=1))


def plot_rewards(history: list[dict[str, Any]], path: Path) -> None:
    """Mean reward and certified share per update (skipped without matplotlib or a log)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is missing: no reward curve")
        return
    if not history:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [h["update"] for h in history]
    ax.plot(steps, [h["reward"] for h in history], marker=".", label="mean reward")
    ax.plot(steps, [h["certified"] for h in history], marker=".", label="certified share")
    ax.set_xlabel("update")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["plot_rewards", "round_rewards", "run_rl", "write_tables"]
