"""Choosing the next token of each row: greedy at temperature 0, else nucleus (top-p) sampling.

torch is imported inside the functions only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def sample_next(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None
) -> torch.Tensor:
    """One token per row: greedy at temperature 0, else nucleus sampling.

    Avoids ``torch.multinomial`` and a full-vocabulary sort (41 ms and 64-95 ms for 16 x 49k
    on one CPU core): the nucleus is looked for in the top 64, 512, 4096 tokens, then all, and
    a token is drawn by inverse CDF (``searchsorted``), ~3 ms per step at n=16.
    """
    import torch

    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    vocab = logits.shape[-1]
    if 0 < top_p < 1:
        probs = logits.softmax(dim=-1)
        chosen = torch.empty(probs.shape[0], dtype=torch.long, device=probs.device)
        rows = torch.arange(probs.shape[0], device=probs.device)  # rows whose nucleus is not found yet
        k = 64
        while rows.numel():
            k = min(k, vocab)
            top, index = probs[rows].topk(k, dim=-1)  # sorted, descending
            cum = top.cumsum(dim=-1)
            ok = cum[:, -1] >= top_p if k < vocab else torch.ones_like(cum[:, -1], dtype=torch.bool)
            if bool(ok.any()):
                top, index, cum = top[ok], index[ok], cum[ok]
                top = top.masked_fill(cum - top >= top_p, 0.0)  # drop tokens once the nucleus is covered
                chosen[rows[ok]] = index.gather(-1, inverse_cdf(top, generator)).squeeze(-1)
                rows = rows[~ok]
            k *= 8
        return chosen
    return inverse_cdf(logits.softmax(dim=-1), generator).squeeze(-1)


def inverse_cdf(weights: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row drawn proportionally to the non-negative ``weights``: shape [rows, 1]."""
    import torch

    cdf = weights.cumsum(dim=-1)
    u = torch.rand((weights.shape[0], 1), generator=generator, device=weights.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp_(max=weights.shape[-1] - 1)


__all__ = ["inverse_cdf", "sample_next"]
