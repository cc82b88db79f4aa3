"""LoRA fine-tuning of the embedded SmolLM2 (or any causal LM folder) on certified traces, with peft.

:func:`train` reads a JSONL file of records (:mod:`.targets`), tokenizes each as the local
backend would at inference (:mod:`.chat`: chat template, prefill, completion lines, EOS),
and trains a LoRA adapter on the completion tokens only. It is deterministic for a seed (data
order, LoRA initialisation, float32 on CPU), checkpoints every ``save_every`` steps and resumes
from the latest checkpoint of the same run, and writes into ``out_dir``:

- ``adapter_config.json``, ``adapter_model.safetensors``: the adapter (peft's format);
- tokenizer files, so the folder needs only the base weights besides itself;
- ``training.json``: the base model, the settings, the data file's sha256, the data's domains and
  prompt formats (a model trained on ``compact`` prompts must be run with them), the report;
- ``log.json``: one entry per step (loss, learning rate, seconds); ``loss.png``: the curve;
- ``checkpoints/step-NNNNNN/``: adapter, optimizer, scheduler and RNG states.

:func:`load_adapter` gives back base + adapter (merged into plain weights by default, so the
local backend's decoding and shared-prefix code see an ordinary model). :func:`resolve_adapter`
maps a model spec to an adapter folder: a path holding ``adapter_config.json``, or a name such
as ``smollm2-135m-planner`` under ``<cache root>/adapters/``. Both live with the models, in
:mod:`llm_modulo.models.adapters` (a model spec may name an adapter), and are importable from here.
The data (:mod:`.dataset`) and the checkpoints (:mod:`.checkpoints`) have modules of their own.

torch, transformers and peft are imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.models.adapters import (
    ADAPTER_CONFIG,
    TRAINING_FILE,
    adapter_digest,
    adapters_root,
    base_folder,
    is_adapter,
    load_adapter,
    merge_to_folder,
    packaged_adapters_root,
    read_json,
    resolve_adapter,
    sha256_file,
    trained_prompt_formats,
)

from .chat import IGNORE
from .checkpoints import CHECKPOINTS, STATE, latest_checkpoint, save_checkpoint
from .dataset import batch_order, collate, data_summary, load_examples

log = logging.getLogger(__name__)

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class TrainReport:
    """What a training run did."""

    out_dir: str
    steps: int  # optimizer steps done in total (a resumed run counts the earlier ones)
    steps_this_run: int
    epochs: float
    examples: int
    skipped: int  # records longer than max_len (not truncated: dropped)
    completion_tokens: int
    first_loss: float | None
    final_loss: float | None  # mean of the last min(10, steps) step losses
    seconds: float
    seconds_per_step: float | None
    adapter_bytes: int
    resumed_from: int | None
    device: str
    losses: list[float] = field(default_factory=list, repr=False)


# -- loss -----------------------------------------------------------------------------------------


def completion_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the completion tokens of the batch (next-token prediction).

    Logits are computed only from the earliest completion position of the batch on
    (``logits_to_keep``): the vocabulary projection of prompt positions is skipped.
    """
    import torch

    labels = batch["labels"]
    width = labels.shape[1]
    scored = (labels != IGNORE).any(dim=0).nonzero()
    first = int(scored[0]) if len(scored) else width - 1  # first position whose token is a target
    keep = width - max(first - 1, 0)  # logits at positions first-1 .. width-1
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep).logits
    shifted = logits[:, :-1].float()
    targets = labels[:, width - keep + 1 :]
    return torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]), targets.reshape(-1), ignore_index=IGNORE, reduction="mean"
    )


# -- training -----------------------------------------------------------------------------------------


def train(
    dataset_jsonl: str | Path,
    out_dir: str | Path,
    *,
    base: str = "default",
    epochs: float = 1.0,
    lr: float = 2e-4,
    rank: int = 8,
    alpha: int = 16,
    dropout: float = 0.0,
    batch_size: int = 8,
    max_len: int = 512,
    seed: int = 0,
    device: str = "cpu",
    resume: bool = True,
    progress: bool = True,
    save_every: int = 50,
    keep_checkpoints: int = 2,
    warmup_steps: int = 0,
    max_steps: int | None = None,
    target_modules: Sequence[str] = TARGET_MODULES,
    init_adapter: str | Path | None = None,
) -> TrainReport:
    """Train a LoRA adapter on the completions of ``dataset_jsonl``; write it to ``out_dir``.

    ``epochs`` may be fractional; ``max_steps`` caps the optimizer steps (both count from the
    start of the run, so a resumed run stops where an uninterrupted one would). The learning rate
    warms up linearly over ``warmup_steps``, then decays linearly to 0. With ``resume``, the
    latest checkpoint in ``out_dir`` is continued when its settings and data match (else
    :class:`InputError`); without, earlier checkpoints are deleted.

    ``init_adapter`` (a folder or an adapter name) starts the LoRA weights from a trained adapter
    of the same base, rank, alpha and target modules instead of from zero: a further round of
    training on new data (expert iteration from the previous round's model). The result is still
    one adapter on ``base``.
    """
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
    started = time.perf_counter()
    data_path, out = Path(dataset_jsonl), Path(out_dir)
    if not data_path.is_file():
        raise InputError(f"no dataset file {data_path}")
    if batch_size < 1 or max_len < 2 or epochs <= 0 or rank < 1:
        raise InputError("batch_size >= 1, max_len >= 2, epochs > 0 and rank >= 1 are required")
    folder = base_folder(base)
    init = _init_adapter(init_adapter, base, rank, alpha, target_modules) if init_adapter is not None else None
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    examples, skipped = load_examples(data_path, tokenizer, max_len)
    if not examples:
        raise InputError(f"no usable examples in {data_path} ({skipped} longer than max_len={max_len})")
    per_epoch = math.ceil(len(examples) / batch_size)
    total = math.ceil(per_epoch * epochs)
    if max_steps is not None:
        total = min(total, max_steps)
    settings = {
        "base": str(base), "base_folder": str(folder), "epochs": epochs, "lr": lr, "rank": rank, "alpha": alpha,
        "dropout": dropout, "batch_size": batch_size, "max_len": max_len, "seed": seed,
        "warmup_steps": warmup_steps, "target_modules": list(target_modules), "total_steps": total,
        "data": str(data_path.resolve()), "data_sha256": sha256_file(data_path),
        **({"init_adapter": str(init), "init_adapter_sha256": adapter_digest(init)} if init is not None else {}),
    }  # fmt: skip
    identity = {k: v for k, v in settings.items() if k not in ("base_folder", "data", "init_adapter")}

    torch.manual_seed(seed)
    random.seed(seed)
    base_model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    config = LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules), task_type="CAUSAL_LM"
    )
    model = get_peft_model(base_model, config)
    if init is not None:  # a resumed checkpoint, below, replaces these weights
        from safetensors.torch import load_file

        set_peft_model_state_dict(model, load_file(str(init / "adapter_model.safetensors")))
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total - step) / max(1, total - warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    step, history, resumed = 0, [], None
    ckpt_root = out / CHECKPOINTS
    if resume:
        latest = latest_checkpoint(ckpt_root)
        if latest is not None:
            state = torch.load(latest / STATE, weights_only=False)
            if state["identity"] != identity:
                raise InputError(
                    f"{out} holds checkpoints of a run with other settings or data; use another out_dir or resume=False"
                )
            from safetensors.torch import load_file

            set_peft_model_state_dict(model, load_file(str(latest / "adapter_model.safetensors")))
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            step, history, resumed = state["step"], state["history"], state["step"]
            log.info("resuming %s from step %d", out, step)
    elif ckpt_root.exists():
        shutil.rmtree(ckpt_root)
    out.mkdir(parents=True, exist_ok=True)

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else contextlib.nullcontext()
    first_step = step
    step_seconds: list[float] = []
    model.train()
    with _progress(progress) as bar:
        task = bar.add_task("training", total=total, completed=step, loss="-") if bar else None
        while step < total:
            epoch, index = divmod(step, per_epoch)
            chunk = batch_order(len(examples), batch_size, seed, epoch)[index]
            batch = {k: v.to(device) for k, v in collate([examples[i] for i in chunk], pad_id).items()}
            t0 = time.perf_counter()
            with autocast:
                loss = completion_loss(model, batch)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            seconds = time.perf_counter() - t0
            step_seconds.append(seconds)
            value = float(loss.detach())
            history.append(
                {
                    "step": step,
                    "epoch": round(step / per_epoch, 4),
                    "loss": value,
                    "lr": scheduler.get_last_lr()[0],
                    "seconds": round(seconds, 4),
                }
            )
            if bar is not None:
                bar.update(task, advance=1, loss=f"{value:.4f}")
            if step % 10 == 0 or step == total:  # a trace for logs where no progress bar shows (nohup, CI)
                recent = step_seconds[-10:]
                log.info("step %d/%d loss %.4f, %.1f s/step, about %.0f min left", step, total,
                         sum(h["loss"] for h in history[-10:]) / len(history[-10:]), sum(recent) / len(recent),
                         (total - step) * sum(recent) / len(recent) / 60)  # fmt: skip
            if step % save_every == 0 or step == total:
                save_checkpoint(model, optimizer, scheduler, step, history, identity, ckpt_root, keep_checkpoints)
    model.eval()
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    losses = [h["loss"] for h in history]
    report = TrainReport(
        out_dir=str(out),
        steps=step,
        steps_this_run=step - first_step,
        epochs=round(step / per_epoch, 4),
        examples=len(examples),
        skipped=skipped,
        completion_tokens=sum(e.completion_tokens for e in examples),
        first_loss=losses[0] if losses else None,
        final_loss=sum(losses[-10:]) / len(losses[-10:]) if losses else None,
        seconds=time.perf_counter() - started,
        seconds_per_step=sum(step_seconds) / len(step_seconds) if step_seconds else None,
        adapter_bytes=sum(p.stat().st_size for p in out.glob("adapter_model.*")),
        resumed_from=resumed,
        device=device,
        losses=losses,
    )
    (out / "log.json").write_text(json.dumps(history, indent=1))
    meta = {**settings, **data_summary(data_path), "report": asdict(report) | {"losses": None}}
    (out / TRAINING_FILE).write_text(json.dumps(meta, indent=1))
    _plot(losses, out / "loss.png")
    return report


def _init_adapter(spec: str | Path, base: str, rank: int, alpha: int, target_modules: Sequence[str]) -> Path:
    """The adapter folder ``spec`` names, checked to fit the run (same base, rank, alpha, modules)."""
    folder = resolve_adapter(str(spec))
    if folder is None:
        raise InputError(f"no LoRA adapter named or at {spec!r} to start from")
    config = read_json(folder / ADAPTER_CONFIG) or {}
    its_base = (read_json(folder / TRAINING_FILE) or {}).get("base", "default")
    found = (config.get("r"), config.get("lora_alpha"), sorted(config.get("target_modules") or []))
    wanted = (rank, alpha, sorted(target_modules))
    if found != wanted or base_folder(its_base) != base_folder(base):
        raise InputError(
            f"adapter {spec!r} (rank {found[0]}, alpha {found[1]}, modules {found[2]}, base {its_base!r}) does not fit "
            f"this run (rank {rank}, alpha {alpha}, modules {wanted[2]}, base {base!r})"
        )
    return folder


def _progress(enabled: bool) -> Any:
    if not enabled:
        return contextlib.nullcontext()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip


def _plot(losses: list[float], path: Path) -> None:
    """The loss per step and its moving average, as a PNG (skipped without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is missing: no loss curve")
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = list(range(1, len(losses) + 1))
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="step loss")
    w = max(1, len(losses) // 20)
    if w > 1:
        avg = [
            sum(losses[max(0, i - w + 1) : i + 1]) / len(losses[max(0, i - w + 1) : i + 1]) for i in range(len(losses))
        ]
        ax.plot(steps, avg, lw=1.5, label=f"moving average ({w})")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("completion cross-entropy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# Re-exported for the importers of this module: the adapter helpers live in llm_modulo.models.adapters,
# the data in .dataset, the checkpoints in .checkpoints.
__all__ = [
    "ADAPTER_CONFIG",
    "CHECKPOINTS",
    "TARGET_MODULES",
    "TRAINING_FILE",
    "TrainReport",
    "adapter_digest",
    "adapters_root",
    "base_folder",
    "batch_order",
    "collate",
    "completion_loss",
    "data_summary",
    "is_adapter",
    "load_adapter",
    "load_examples",
    "merge_to_folder",
    "packaged_adapters_root",
    "resolve_adapter",
    "trained_prompt_formats",
    "train",
]
