"""The ``improve`` loop: per round, generate problems, sample with critics, train, evaluate (see :mod:`llm_modulo.training.improve`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

from .config import ImproveConfig, check_settings, round_zero
from .sweeps import eval_files, eval_sweep, run_sweep_file, sample_sweep, sweep_keys, write_sweep
from .tables import RoundRow, round_table, write_tables

log = logging.getLogger(__name__)


def _dedupe(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (problem, prompt, answer): an expert answer that repeats the imitation plan is
    one example; a repair turn with that answer is another (its prompt differs)."""
    seen: set[tuple[str, str, str, str]] = set()
    kept = []
    for rec in records:
        key = (
            rec["problem_hash"],
            json.dumps(rec["prompt"], sort_keys=True),
            rec.get("prefill", ""),
            rec["completion"],
        )
        if key not in seen:
            seen.add(key)
            kept.append(rec)
    return kept


def cap_tokens(
    records: list[dict[str, Any]], tokens: int | None, count: Callable[[dict[str, Any]], int], seed: int
) -> list[dict[str, Any]]:
    """A seeded random subset whose completions hold at most ``tokens`` tokens (all when None)."""
    import random

    if tokens is None:
        return records
    order = list(records)
    random.Random(seed).shuffle(order)
    kept, total = [], 0
    for rec in order:
        n = count(rec)
        if total + n > tokens:
            continue
        kept.append(rec)
        total += n
    return kept


def data_dir(cfg: ImproveConfig, out: Path, round_no: int) -> Path:
    """Where round ``round_no``'s new problems and their imitation targets live.

    ``<out>/round-<r>/data``; with a shared ``store``, a folder beside it named by everything the
    data follows from, so runs that share the store share the problems (and so the samples' trial keys).
    """
    if cfg.store is None:
        return out / f"round-{round_no}" / "data"
    store = Path(cfg.store)
    blocks = f"-b{cfg.min_blocks}-{cfg.max_blocks}" if cfg.domain == "blocksworld" else ""
    return store.parent / f"{store.stem}-data" / f"{cfg.domain}-seed{cfg.seed}-round{round_no}-n{cfg.problems}{blocks}"


def round_data(cfg: ImproveConfig, out: Path, round_no: int, tokenizer: Any | None = None) -> list[dict[str, Any]]:
    """The training set of round ``round_no``: the chosen sources of rounds 1..round_no (of round
    ``round_no`` alone with ``start``: its training continues from the previous round's), deduplicated."""
    from .. import targets

    records: list[dict[str, Any]] = []
    for r in range(round_no if cfg.start is not None else 1, round_no + 1):
        folder = out / f"round-{r}"
        if cfg.data in ("imitation", "both"):
            records += targets.read_jsonl(data_dir(cfg, out, r) / "train.jsonl")
        if cfg.data in ("expert", "both"):
            records += targets.read_jsonl(folder / "expert.jsonl")
        if cfg.repair:
            records += targets.read_jsonl(folder / "repair.jsonl")
    records = _dedupe(records)
    if cfg.train_tokens is not None:
        if tokenizer is None:
            raise InputError("train_tokens needs the tokenizer")
        from ..chat import completion_ids

        records = cap_tokens(records, cfg.train_tokens,
                             lambda rec: len(completion_ids(tokenizer, rec["completion"], tokenizer.eos_token_id)),
                             cfg.training_seed * 1000 + round_no)  # fmt: skip
    return records


def run_improve(cfg: ImproveConfig, out: str | Path, progress: bool = True) -> list[RoundRow]:
    """Run (or resume) ``cfg.rounds`` rounds of expert iteration in ``out``; returns the table rows."""
    from .. import commands, targets

    out = Path(out).resolve()
    check_settings(cfg, out)
    shared = Path(cfg.store) if cfg.store else None  # absolute already (the config resolves it)
    eval_store = shared or out / "eval.sqlite"
    models = {0: cfg.start or cfg.base}

    for r in range(1, cfg.rounds + 1):
        folder = out / f"round-{r}"
        data = data_dir(cfg, out, r)
        if not (data / "data.json").is_file():
            log.info("round %d: generating %d problems", r, cfg.problems)
            commands.make_data(cfg.domain, data, count=cfg.problems, seed=cfg.seed * 1000 + r,
                               min_blocks=cfg.min_blocks, max_blocks=cfg.max_blocks)  # fmt: skip
        wanted = (["expert"] if cfg.data in ("expert", "both") else []) + (["repair"] if cfg.repair else [])
        missing = [name for name in wanted if not (folder / f"{name}.jsonl").is_file()]
        if missing:
            store = shared or folder / "sample.sqlite"
            sweep_file = write_sweep(sample_sweep(cfg, r, data, models[r - 1]), folder / "sample.yaml")
            run_sweep_file(sweep_file, store, cfg, progress)
            roots, keys = [data / "problems"], sweep_keys([sweep_file])
            if "expert" in missing:
                commands.make_expert_data(
                    store, folder / "expert.part.jsonl", roots=roots, keys=keys, select=cfg.expert_select
                )
            if "repair" in missing:
                from ..repair import make_repair_data

                make_repair_data(store, folder / "repair.part.jsonl", roots=roots, keys=keys)
            for name in missing:
                (folder / f"{name}.part.jsonl").replace(folder / f"{name}.jsonl")
        adapter = folder / "adapter"
        if not (adapter / "adapter_model.safetensors").is_file() or not (adapter / "train.json").is_file():
            tokenizer = base_tokenizer(cfg.base) if cfg.train_tokens is not None else None
            records = round_data(cfg, out, r, tokenizer)
            if not records:
                raise InputError(
                    f"round {r}: no training data ({cfg.data}): the model certified nothing on {cfg.problems} problems; "
                    "try --data both, a larger --problems or another --sample-strategy"
                )
            targets.write_jsonl(records, folder / "train.jsonl")
            commands.train_adapter(folder / "train.jsonl", adapter, base=cfg.base, epochs=cfg.epochs, lr=cfg.lr,
                                   rank=cfg.rank, alpha=cfg.alpha, batch_size=cfg.batch_size, max_len=cfg.max_len,
                                   seed=cfg.training_seed, device=cfg.device, progress=progress, max_steps=cfg.max_steps,
                                   threads=cfg.threads, init_adapter=models[r - 1] if cfg.start is not None else None)  # fmt: skip
            (adapter / "train.json").write_text(json.dumps({"records": len(records), "round": r}))
        models[r] = str(adapter)
        run_sweep_file(write_sweep(eval_sweep(cfg, [models[r]]), folder / "eval.yaml"), eval_store, cfg, progress)
        if r == 1:  # round 0, the base model and the random control, after round 1 (the trained model matters more)
            run_sweep_file(write_sweep(eval_sweep(cfg, [*round_zero(cfg), *(["random"] if cfg.eval_random else [])]),
                             out / "round-0" / "eval.yaml"), eval_store, cfg, progress)  # fmt: skip
    rows = round_table(eval_store, {**{m: 0 for m in round_zero(cfg)}, **{m: r for r, m in models.items() if r}},
                       random="random" if cfg.eval_random else None, keys=sweep_keys(eval_files(out)))  # fmt: skip
    write_tables(rows, out, cfg)
    return rows


def base_tokenizer(base: str) -> Any:
    """The tokenizer of the base model ``base`` (what the token cap counts with)."""
    from transformers import AutoTokenizer

    from llm_modulo.models.adapters import base_folder

    return AutoTokenizer.from_pretrained(str(base_folder(base)))


__all__ = ["base_tokenizer", "cap_tokens", "data_dir", "round_data", "run_improve"]
