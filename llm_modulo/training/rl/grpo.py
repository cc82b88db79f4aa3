"""GRPO's pieces in torch: sampling a group of completions, their token log-probabilities, and the loss.

One update per batch of samples, so the clipped ratio ``exp(logp - old)`` is 1 at the update and
the objective is REINFORCE with the group's mean as baseline; the clip matters only when one batch
is reused for several steps (``inner_steps`` in the config). The KL guard is the ``k3`` estimator
against the reference policy's token log-probabilities, ``exp(ref - logp) - (ref - logp) - 1``.
The loss is averaged over every completion token of the batch (long and short answers weigh per
token). torch is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sequences:
    """Prompt and completion token ids, one pair per sample."""

    prompts: list[list[int]]
    completions: list[list[int]]


def sample_completions(
    model: Any,
    prompts: Sequence[Sequence[int]],
    n: int,
    *,
    max_new_tokens: int,
    temperature: float,
    pad_id: int,
    eos_id: int,
    device: str = "cpu",
) -> Sequences:
    """``n`` completions for each prompt (ancestral sampling: no top-k or top-p, so the samples come
    from the policy whose log-probabilities the loss uses), in prompt order. The completions keep
    the EOS token when the model wrote one (it is part of what the policy chose)."""
    import torch

    rows = [list(p) for p in prompts for _ in range(n)]
    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r)) + r for r in rows], device=device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
            max_new_tokens=max_new_tokens, eos_token_id=eos_id, pad_token_id=pad_id,
        )  # fmt: skip
    completions = []
    for row in out[:, width:].tolist():
        kept = []
        for token in row:
            kept.append(int(token))
            if token == eos_id:
                break
        completions.append(kept)
    return Sequences(rows, completions)


def pad_batch(prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]], pad_id: int) -> dict[str, Any]:
    """Right-padded ``input_ids`` and ``attention_mask``, and ``completion_mask``: 1 where the target
    token is a completion token, over the targets from the shortest prompt's end on (the positions
    whose log-probabilities :func:`token_logprobs` computes)."""
    import torch

    rows = [list(p) + list(c) for p, c in zip(prompts, completions, strict=True)]
    width = max(len(r) for r in rows)
    first = min(len(p) for p in prompts)  # no completion token before this position
    ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in rows])
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    target = torch.zeros(len(rows), width - first)
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        target[i, len(p) - first : len(p) - first + len(c)] = 1.0
    return {"input_ids": ids, "attention_mask": attention, "completion_mask": target}


def token_logprobs(model: Any, batch: dict[str, Any]) -> Any:
    """log p(token_t | tokens_<t) for the targets ``completion_mask`` covers (the last
    ``completion_mask.shape[1]`` tokens), in float32; the vocabulary projection of earlier
    positions is skipped (``logits_to_keep``)."""
    import torch

    keep = batch["completion_mask"].shape[1]
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep + 1).logits
    targets = batch["input_ids"][:, -keep:]
    return torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def grpo_loss(
    logp: Any,
    old_logp: Any,
    ref_logp: Any | None,
    advantages: Any,
    mask: Any,
    *,
    clip: float = 0.2,
    beta: float = 0.04,
    tokens: float | None = None,
) -> tuple[Any, dict[str, float]]:
    """The clipped surrogate minus ``beta`` times the k3 KL to the reference, negated, summed over
    the completion tokens and divided by ``tokens`` (default: this batch's completion tokens; pass
    the whole batch's count when it is split into micro-batches)."""
    import torch

    ratio = torch.exp(logp - old_logp)
    adv = advantages.unsqueeze(-1)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv)
    if ref_logp is not None and beta > 0:
        diff = ref_logp - logp
        kl = torch.exp(diff) - diff - 1.0
    else:
        kl = torch.zeros_like(logp)
    per_token = -(surrogate - beta * kl)
    count = float(mask.sum()) if tokens is None else tokens
    loss = (per_token * mask).sum() / max(count, 1.0)
    stats = {
        "kl_sum": float((kl.detach() * mask).sum()),
        "clipped_sum": float((((ratio - 1.0).abs() > clip).float() * mask).sum()),
        "tokens": float(mask.sum()),
    }
    return loss, stats


def update_policy(
    model: Any,
    optimizer: Any,
    seqs: Sequences,
    advantages: Sequence[float],
    *,
    pad_id: int,
    reference: Callable[[dict[str, Any]], Any] | None = None,
    clip: float = 0.2,
    beta: float = 0.04,
    micro_batch: int = 16,
    inner_steps: int = 1,
    max_grad_norm: float | None = 1.0,
    device: str = "cpu",
) -> dict[str, float]:
    """``inner_steps`` optimizer steps of :func:`grpo_loss` on one batch of samples.

    ``reference(batch)`` gives the reference policy's token log-probabilities (no gradient); the
    old log-probabilities are the policy's before the first step. The batch is split into
    micro-batches of ``micro_batch`` samples whose gradients add up to the whole batch's. Samples
    with advantage 0 (a group whose rewards were all equal) still pay the KL term.
    """
    import contextlib

    import torch

    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else contextlib.nullcontext()
    chunks = []
    for start in range(0, len(seqs.prompts), micro_batch):
        part = slice(start, start + micro_batch)
        batch = {k: v.to(device) for k, v in pad_batch(seqs.prompts[part], seqs.completions[part], pad_id).items()}
        with torch.no_grad(), autocast:
            old = token_logprobs(model, batch)
            ref = reference(batch) if reference is not None and beta > 0 else None
        adv = torch.tensor(list(advantages[part]), dtype=torch.float32, device=device)
        chunks.append((batch, old, ref, adv))
    tokens = float(sum(float(b["completion_mask"].sum()) for b, _, _, _ in chunks))
    totals = {"loss": 0.0, "kl_sum": 0.0, "clipped_sum": 0.0, "grad_norm": 0.0}
    model.train()
    for _ in range(inner_steps):
        optimizer.zero_grad(set_to_none=True)
        for batch, old, ref, adv in chunks:
            with autocast:
                logp = token_logprobs(model, batch)
            loss, stats = grpo_loss(logp, old, ref, adv, batch["completion_mask"], clip=clip, beta=beta, tokens=tokens)
            loss.backward()
            totals["loss"] += float(loss.detach()) / inner_steps
            totals["kl_sum"] += stats["kl_sum"] / inner_steps
            totals["clipped_sum"] += stats["clipped_sum"] / inner_steps
        params = [p for p in model.parameters() if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm if max_grad_norm else float("inf"))
        totals["grad_norm"] += float(norm) / inner_steps
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    model.eval()
    return {"loss": totals["loss"], "kl": totals["kl_sum"] / max(tokens, 1.0),
            "clipped": totals["clipped_sum"] / max(tokens, 1.0), "grad_norm": totals["grad_norm"],
            "completion_tokens": tokens}  # fmt: skip


__all__ = ["Sequences", "grpo_loss", "pad_batch", "sample_completions", "token_logprobs", "update_policy"]
