"""A sweep run's record in its store: the commit, the hardware, the versions, the executor and
the timing, so that a result can be traced to what produced it."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llm_modulo.experiments.trials import TrialSpec
from llm_modulo.experiments.worker import fresh_per_trial


def _git(args: Sequence[str], cwd: Path) -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _gpu(import_torch: bool) -> str | None:
    """The GPU via torch.cuda (torch is imported only when the sweep runs a local model anyway)."""
    if import_torch or "torch" in sys.modules:
        try:
            import torch

            if torch.cuda.is_available():
                return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
            return None
        except Exception:  # noqa: BLE001 - no torch, or a broken CUDA install: no GPU to report
            return None
    if shutil.which("nvidia-smi"):
        try:
            done = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            names = [x.strip() for x in done.stdout.splitlines() if x.strip()]
            return ", ".join(names) or None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_record(executor: str, workers: int, command: str, uses_local_model: bool) -> dict[str, Any]:
    source = Path(__file__).resolve().parents[2]
    commit = _git(["rev-parse", "HEAD"], source)
    dirty = _git(["status", "--porcelain", "--untracked-files=no"], source)
    return {
        "commit": commit,
        "dirty": bool(dirty) if commit is not None else False,
        "hardware": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count() or 1,
            "memory_gib": _memory_gib(),
            "gpu": _gpu(uses_local_model),
            "platform": platform.platform(),
        },
        "python": platform.python_version(),
        "torch": _version("torch"),
        "executor": executor,
        "workers": workers,
        "seconds": 0.0,
        "trials_run": 0,
        "command": command,
        "status": "running",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def uses_local_model(trials: Iterable[TrialSpec]) -> bool:
    return any(not fresh_per_trial(t.model) and not t.model.startswith("openai:") for t in trials)


__all__ = ["run_record", "uses_local_model"]
