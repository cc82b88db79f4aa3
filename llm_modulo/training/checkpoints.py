"""Training checkpoints: ``<out>/checkpoints/step-NNNNNN/`` with the adapter, optimizer, scheduler and RNG states.

A checkpoint is written under a temporary name and renamed, so a killed run leaves no half
checkpoint; only the latest ``keep`` are kept. torch is imported inside the functions only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHECKPOINTS = "checkpoints"
STATE = "state.pt"


def latest_checkpoint(root: Path) -> Path | None:
    found = sorted(p for p in root.glob("step-*") if (p / STATE).is_file()) if root.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(
    model: Any, optimizer: Any, scheduler: Any, step: int, history: list[dict[str, Any]],
    identity: dict[str, Any], root: Path, keep: int,
) -> None:  # fmt: skip
    """Write ``step-NNNNNN`` (to a temporary name, then renamed: a killed run leaves no half checkpoint)."""
    import torch

    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    torch.save(
        {"step": step, "history": history, "identity": identity, "optimizer": optimizer.state_dict(),
         "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()},
        tmp / STATE,
    )  # fmt: skip
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(p for p in root.glob("step-*"))[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["CHECKPOINTS", "STATE", "latest_checkpoint", "save_checkpoint"]
