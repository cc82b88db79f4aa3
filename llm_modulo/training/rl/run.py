"""The GRPO run: per update, generate problems, sample groups, score them with the critics, update
the LoRA weights; a checkpoint after every update (adapter, optimizer, RNG, step, log), so a stopped
run loses at most the update in flight and ``resume`` continues from the last one.

Every update's randomness (its problems and its samples) follows from ``(seed, update)`` alone, so
a resumed run does what an uninterrupted one would have done. torch, transformers and peft are
imported inside the functions only.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.types import Task

from ..checkpoints import CHECKPOINTS, STATE, latest_checkpoint, save_checkpoint
from .config import RLConfig, identity
from .grpo import Sequences, sample_completions, update_policy
from .reward import PlanScorer, group_advantages

log = logging.getLogger(__name__)

POLICY, REFERENCE = "default", "ref"  # peft adapter names: the trained one and the frozen start


@dataclass
class Policy:
    """The model being trained, its optimizer and tokenizer, and the reference's log-probabilities."""

    model: Any
    optimizer: Any
    scheduler: Any
    tokenizer: Any
    reference: Callable[[dict[str, Any]], Any]
    pad_id: int
    eos_id: int


class _PolicyOnly:
    """Saves only the trained adapter (the reference is the start's, already on disk)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def save_pretrained(self, path: str) -> None:
        self.model.save_pretrained(path, selected_adapters=[POLICY])


def load_policy(cfg: RLConfig) -> Policy:
    """Base + the start adapter twice (trained, and frozen as the reference), or a fresh LoRA whose
    reference is the base with the adapter disabled."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llm_modulo.models.adapters import base_folder, resolve_adapter

    folder = base_folder(cfg.base)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(cfg.seed)
    base = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    if cfg.start is not None:
        start = resolve_adapter(cfg.start)
        if start is None:
            raise InputError(f"no LoRA adapter named or at {cfg.start!r} to start from")
        model = PeftModel.from_pretrained(base, str(start), adapter_name=POLICY, is_trainable=True)
        model.load_adapter(str(start), adapter_name=REFERENCE, is_trainable=False)
        model.set_adapter(POLICY)
    else:
        config = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
                            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])  # fmt: skip
        model = get_peft_model(base, config)
    model.to(cfg.device)
    model.eval()
    params = [p for n, p in model.named_parameters() if p.requires_grad and f".{POLICY}." in n]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    from .grpo import token_logprobs

    def reference(batch: dict[str, Any]) -> Any:
        if cfg.start is None:
            with model.disable_adapter():
                return token_logprobs(model, batch)
        model.set_adapter(REFERENCE)
        try:
            return token_logprobs(model, batch)
        finally:
            model.set_adapter(POLICY)  # also makes the policy's weights trainable again

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return Policy(model, optimizer, scheduler, tokenizer, reference, int(pad), int(tokenizer.eos_token_id))


def update_problems(cfg: RLConfig, out: Path, update: int, tokenizer: Any) -> list[tuple[Task, Any, list[int]]]:
    """The update's generated problems (never test instances) as (task, domain, prompt ids); written
    under ``<out>/problems/update-NNNNNN/`` so the run can be audited."""
    from llm_modulo.domains.blocksworld.generate import blocksworld_problems, write_blocksworld

    from ..chat import render, training_domain

    domain = training_domain("blocksworld", "compact")
    folder = out / "problems" / f"update-{update:06d}"
    drawn = list(blocksworld_problems(cfg.problems_per_update * 4, seed=cfg.seed * 1_000_003 + update,
                                      min_blocks=cfg.min_blocks, max_blocks=cfg.max_blocks))  # fmt: skip
    chosen: list[tuple[Task, Any, list[int]]] = []
    shutil.rmtree(folder, ignore_errors=True)
    for problem, path in zip(drawn, write_blocksworld(drawn, folder), strict=True):
        task = domain.load_files(folder / "domain.pddl", path, task_id=problem.name)
        prompt = domain.prompt(task)
        ids = tokenizer(render(tokenizer, prompt.messages, prompt.prefill), add_special_tokens=False)["input_ids"]
        if len(ids) + cfg.max_tokens <= cfg.max_len:
            chosen.append((task, domain, list(ids)))
        else:
            path.unlink()
        if len(chosen) == cfg.problems_per_update:
            break
    for path in folder.glob("*.pddl"):  # the spare draws
        if path.stem not in {t.id for t, _, _ in chosen} and path.name != "domain.pddl":
            path.unlink()
    if len(chosen) < cfg.problems_per_update:
        raise InputError(f"only {len(chosen)} problems fit max_len={cfg.max_len}; raise it or lower max_blocks")
    return chosen


def one_update(cfg: RLConfig, out: Path, policy: Policy, update: int) -> dict[str, Any]:
    """Sample, score, and update once; the log entry of update ``update`` (1-based)."""
    import torch

    t0 = time.perf_counter()
    problems = update_problems(cfg, out, update, policy.tokenizer)
    torch.manual_seed(cfg.seed * 1_000_003 + update)
    seqs = sample_completions(policy.model, [ids for _, _, ids in problems], cfg.group, max_new_tokens=cfg.max_tokens,
                              temperature=cfg.temperature, pad_id=policy.pad_id, eos_id=policy.eos_id,
                              device=cfg.device)  # fmt: skip
    t_sample = time.perf_counter() - t0
    rewards = []
    for i, (task, domain, _) in enumerate(problems):
        scorer, prefill = PlanScorer(domain, task), domain.prompt(task).prefill
        for ids in seqs.completions[i * cfg.group : (i + 1) * cfg.group]:
            text = policy.tokenizer.decode(ids, skip_special_tokens=True)
            rewards.append(scorer(prefill + text))
    advantages = group_advantages([r.value for r in rewards], cfg.group)
    stats = update_policy(policy.model, policy.optimizer, Sequences(seqs.prompts, seqs.completions), advantages,
                          pad_id=policy.pad_id, reference=policy.reference, clip=cfg.clip, beta=cfg.beta,
                          micro_batch=cfg.micro_batch, inner_steps=cfg.inner_steps, max_grad_norm=cfg.max_grad_norm,
                          device=cfg.device)  # fmt: skip
    policy.scheduler.step()
    n = len(rewards)
    solved_groups = sum(any(r.certified for r in rewards[i : i + cfg.group]) for i in range(0, n, cfg.group))
    return {
        "update": update,
        "samples": update * cfg.samples_per_update,
        "reward": sum(r.value for r in rewards) / n,
        "certified": sum(r.certified for r in rewards) / n,
        "problems_certified": solved_groups / len(problems),
        "executable": sum(r.length > 0 and r.valid >= r.length for r in rewards) / n,
        "progress": sum(r.progress for r in rewards) / n,
        "learning_groups": sum(any(a != 0 for a in advantages[i : i + cfg.group]) for i in range(0, n, cfg.group)),
        **{k: round(v, 6) for k, v in stats.items()},
        "mean_completion_tokens": stats["completion_tokens"] / n,
        "seconds_sampling": round(t_sample, 3),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def resume_state(cfg: RLConfig, out: Path, policy: Policy) -> tuple[int, list[dict[str, Any]]]:
    """(updates done, log) from the latest checkpoint in ``out``, loaded into ``policy``; (0, []) when none."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    latest = latest_checkpoint(out / CHECKPOINTS)
    if latest is None:
        return 0, []
    state = torch.load(latest / STATE, weights_only=False)
    if state["identity"] != identity(cfg):
        raise InputError(f"{out} holds checkpoints of an rl run with other settings; use another --out")
    set_peft_model_state_dict(policy.model, load_file(str(latest / "adapter_model.safetensors")), adapter_name=POLICY)
    policy.optimizer.load_state_dict(state["optimizer"])
    policy.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    log.info("resuming %s after update %d", out, state["step"])
    return int(state["step"]), list(state["history"])


def save_state(cfg: RLConfig, out: Path, policy: Policy, step: int, history: list[dict[str, Any]]) -> None:
    save_checkpoint(_PolicyOnly(policy.model), policy.optimizer, policy.scheduler, step, history, identity(cfg),
                    out / CHECKPOINTS, keep=2)  # fmt: skip
    (out / "log.json").write_text(json.dumps(history, indent=1))


def save_adapter(cfg: RLConfig, policy: Policy, folder: Path, step: int, history: list[dict[str, Any]]) -> None:
    """The policy as a plain adapter folder (what sweeps load), with its training card."""
    from llm_modulo.models.adapters import TRAINING_FILE, read_json, resolve_adapter

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    policy.model.save_pretrained(str(tmp), selected_adapters=[POLICY])
    policy.tokenizer.save_pretrained(str(tmp))
    start = resolve_adapter(cfg.start) if cfg.start is not None else None
    card = (read_json(start / TRAINING_FILE) or {}) if start is not None else {}
    card.update({"base": cfg.base, "domains": ["blocksworld"], "prompt_formats": ["compact"],
                 "rl": {"method": "grpo", "start": cfg.start, "updates": step,
                        "samples": step * cfg.samples_per_update, "settings": cfg.model_dump(mode="json"),
                        "last_reward": history[-1]["reward"] if history else None}})  # fmt: skip
    (tmp / TRAINING_FILE).write_text(json.dumps(card, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def train_updates(cfg: RLConfig, out: Path, *, stop_after: int | None = None,
                  on_round: Callable[[int, str], None] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Run (or continue) the updates up to ``cfg.total_updates``; ``stop_after``: at most that many
    updates in this call (tests, demonstrations). ``on_round(r, adapter)`` runs after each round's
    adapter is written. Returns the log."""
    import torch

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    policy = load_policy(cfg)
    step, history = resume_state(cfg, out, policy)
    done_here = 0
    for r in range(1, cfg.rounds + 1):
        adapter = out / f"round-{r}" / "adapter"
        while step < r * cfg.updates_per_round:
            if stop_after is not None and done_here >= stop_after:
                return history
            entry = one_update(cfg, out, policy, step + 1)
            step, done_here = step + 1, done_here + 1
            history.append(entry)
            save_state(cfg, out, policy, step, history)
            log.info("update %d/%d: reward %.3f, certified %.1f%%, kl %.4f, %.1f s", step, cfg.total_updates,
                     entry["reward"], 100 * entry["certified"], entry["kl"], entry["seconds"])  # fmt: skip
        if not (adapter / "adapter_model.safetensors").is_file():
            save_adapter(cfg, policy, adapter, step, history)
        if on_round is not None:
            on_round(r, str(adapter))
    return history


__all__ = ["POLICY", "REFERENCE", "Policy", "load_policy", "one_update", "resume_state", "save_adapter",
           "save_state", "train_updates", "update_problems"]  # fmt: skip
