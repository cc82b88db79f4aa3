"""The training commands as plain functions (the CLI wraps them): make data, extract expert data, train.

Each takes typed arguments, writes files, logs what it did and returns a summary dict that
the CLI can print. Errors the user can fix are :class:`~llm_modulo.errors.InputError`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

log = logging.getLogger(__name__)

DATA_DOMAINS = ("blocksworld", "game24")  # the registered domains with the training capabilities


def make_data(
    domain: str | None,
    out: Path,
    count: int = 200,
    seed: int = 0,
    min_blocks: int = 3,
    max_blocks: int = 8,
    prompt_format: str | None = None,
    method: str = "auto",
    domains: list[str] | None = None,
    vocabularies: list[str] | None = None,
    styles: list[str] | None = None,
) -> dict[str, Any]:
    """Generate ``count`` training problems (never test instances) and a certified imitation target each.

    With ``domains`` or ``vocabularies`` (or ``styles``): problems of the generated families
    ``domains`` (default: all), each renamed under one of the ``vocabularies`` (default: all) and
    written through the generic planning domain ``pddl`` with its description in the prompt
    (prompt format ``full``), excluded from the test problems of every planning domain by a
    renaming-invariant key: :func:`.families.family_records`. ``domain`` is then None or
    ``"pddl"`` (``"pddl"`` alone: every family and vocabulary); ``min_blocks``/``max_blocks`` are not used (each family has its sizes).

    Writes ``<out>/train.jsonl`` and the problems as the domain writes them (its
    ``training_problems``): for Blocksworld ``<out>/problems/*.pddl`` with ``domain.pddl`` (a
    folder a sweep can name as its instance set, for expert iteration); for Game of 24,
    ``<out>/puzzles.txt`` (one puzzle a line, usable as sweep ``ids``). ``min_blocks`` /
    ``max_blocks`` bound Blocksworld's problems; ``method``: how plans are found (auto, bfs, astar,
    search; see :func:`llm_modulo.training.targets.blocksworld_plan`). A domain without the
    training capabilities is refused in one line.
    """
    from llm_modulo.contract import check_domain

    from . import targets
    from .chat import PROMPT_FORMATS, training_domain

    if domain == "pddl" or domains is not None or vocabularies is not None or styles is not None:
        return _family_data(domain, out, count, seed, prompt_format, method, domains, vocabularies, styles)
    if domain is None:
        raise InputError("name a domain (blocksworld, game24, or pddl: generated domains and vocabularies)")
    prompt_format = prompt_format or "compact"
    try:
        trainer = training_domain(domain, prompt_format)
        check_domain(trainer, {"training_problems": "make-data", **targets.IMITATION_NEEDS})
    except InputError as exc:  # an unknown domain, or one without the training capabilities
        if prompt_format not in PROMPT_FORMATS:
            raise  # the prompt format's own error
        raise InputError(f"no training-data generator for domain {domain!r}: {exc}") from None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = trainer.training_problems(count, seed, out, min_blocks=min_blocks, max_blocks=max_blocks)
    records = targets.imitation_records(trainer, tasks, prompt_format=prompt_format, seed=seed, method=method,
                                        extra=_problem_file)  # fmt: skip
    written = targets.write_jsonl(records, out / "train.jsonl")
    summary = {"domain": domain, "problems": count, "records": written, "data": str(out / "train.jsonl"),
               "seed": seed, "prompt_format": prompt_format}  # fmt: skip
    (out / "data.json").write_text(json.dumps(summary, indent=1))
    return summary


def _family_data(
    domain: str | None,
    out: Path,
    count: int,
    seed: int,
    prompt_format: str | None,
    method: str,
    domains: list[str] | None,
    vocabularies: list[str] | None,
    styles: list[str] | None,
) -> dict[str, Any]:
    """:func:`make_data` across generated domains and vocabularies (see there)."""
    from llm_modulo.domains.families import FAMILIES
    from llm_modulo.domains.planning.renaming import VOCABULARY_FAMILIES

    from .families import DATA_DOMAIN, STYLES, family_records

    if domain not in (None, DATA_DOMAIN):
        raise InputError(f"with --domains or --vocabularies the records are for domain {DATA_DOMAIN!r}, not {domain!r}")
    if prompt_format not in (None, "full"):
        raise InputError(
            "with --domains or --vocabularies the prompt format is full (the domain's description is part of it)"
        )
    if count < 1:
        raise InputError(f"--count must be at least 1, not {count}")
    return family_records(
        Path(out), domains or list(FAMILIES), vocabularies or list(VOCABULARY_FAMILIES), count, seed,
        styles=styles or STYLES, method=method,
    )  # fmt: skip


def _problem_file(task: Any) -> dict[str, Any]:
    """The record's ``problem_file`` where the task was loaded from one (a sweep can rerun it)."""
    path = getattr(task.payload, "problem_file", "")
    return {"problem_file": path} if path else {}


def make_expert_data(
    store: Path,
    out: Path,
    prompt_format: str = "compact",
    allow_test: bool = False,
    include_random: bool = False,
    sweep: str | None = None,
    roots: list[Path] | None = None,
    max_per_problem: int | None = None,
    keys: list[str] | None = None,
    select: str = "all",
) -> dict[str, Any]:
    """Write ``out`` (JSONL): the certified samples of language-model runs in the sweep store ``store``.

    Test instances and the random control's runs are left out unless ``allow_test`` /
    ``include_random``; ``roots``: folders to look for generated problem files in; ``select``:
    all, shortest or shortened (:func:`.targets.expert_records`).
    """
    from . import targets

    if not Path(store).is_file():
        raise InputError(f"no trial store at {store}")
    records = targets.expert_records(
        store, prompt_format=prompt_format, allow_test=allow_test, include_random=include_random,
        roots=roots or (), sweep=sweep, max_per_problem=max_per_problem, keys=keys, select=select,
    )  # fmt: skip
    written = targets.write_jsonl(records, out)
    return {"store": str(store), "records": written, "data": str(out), "allow_test": allow_test, "select": select}


def train_adapter(
    data: Path,
    out: Path,
    base: str = "default",
    epochs: float = 1.0,
    lr: float = 2e-4,
    rank: int = 8,
    alpha: int = 16,
    batch_size: int = 8,
    max_len: int = 512,
    seed: int = 0,
    device: str = "cpu",
    resume: bool = True,
    progress: bool = True,
    save_every: int = 50,
    max_steps: int | None = None,
    name: str | None = None,
    threads: int | None = None,
    init_adapter: str | None = None,
) -> dict[str, Any]:
    """LoRA-train the embedded model (or ``base``) on ``data``; the adapter goes to ``out``.

    ``threads``: torch's CPU threads while training (None: torch's default, every core); the
    previous setting is restored afterwards.

    With ``name`` (e.g. ``smollm2-135m-planner``) the finished adapter is also copied to
    ``<cache root>/adapters/<name>`` so that ``--model <name>`` finds it.
    """
    import shutil
    from dataclasses import asdict

    import torch

    from . import lora

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        report = lora.train(
            data, out, base=base, epochs=epochs, lr=lr, rank=rank, alpha=alpha, batch_size=batch_size,
            max_len=max_len, seed=seed, device=device, resume=resume, progress=progress, save_every=save_every,
            max_steps=max_steps, init_adapter=init_adapter,
        )  # fmt: skip
    finally:
        torch.set_num_threads(before)
    summary = {k: v for k, v in asdict(report).items() if k != "losses"}
    if name:
        if "/" in name or name in ("default", "random"):
            raise InputError(f"an adapter name is one word, not {name!r}")
        target = lora.adapters_root() / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(out, target, ignore=shutil.ignore_patterns(lora.CHECKPOINTS))
        summary["installed_as"] = str(target)
    return summary


__all__ = ["DATA_DOMAINS", "make_data", "make_expert_data", "train_adapter"]
