"""Batched scoring on the onnxruntime engine (:mod:`.ort_local`): every continuation of one prompt in
one run of the shared-prompt graph (:mod:`._ort_shared`).

The continuations' tokens are laid side by side after one copy of the prompt's cache, as one
sequence of batch 1; each token sits at its own position (the prompt's length plus its index in its
continuation) and an additive bias lets it see the prompt and its own continuation's earlier tokens
only. The log-probability of a continuation's first token comes from the prompt's last logits, of
every later one from the logits after the token before it. Runs hold at most ``TOKENS_A_RUN``
tokens (the logits of a run are tokens x vocabulary floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_modulo.models._ort_rows import bind_in_place, prompt_copies

TOKENS_A_RUN = 512


def score_rows(
    session: Any, prompt_kv: Sequence[Any], prompt_len: int, last: Any, rows: Sequence[Sequence[int]]
) -> list[float]:
    """The summed log-probability of each row of token ids after the prompt.

    Args:
        session: an InferenceSession of ``model-rows.onnx``.
        prompt_kv: the prompt's cache, one [1, kv heads, >= prompt_len, head size] array per layer and kind.
        prompt_len: the prompt's tokens.
        last: the logits after the prompt's last token ([vocab] or [1, vocab]).
        rows: the continuations' token ids (each non-empty).
    """
    import numpy as np

    row0 = np.asarray(last, dtype=np.float32).reshape(1, -1)
    first = row0[0] - _logsumexp(row0)[0]
    totals: list[float] = []
    group: list[Sequence[int]] = []
    for row in rows:
        if group and sum(map(len, group)) + len(row) > TOKENS_A_RUN:
            totals += _score_group(session, prompt_kv, prompt_len, first, group)
            group = []
        group.append(row)
    return totals + _score_group(session, prompt_kv, prompt_len, first, group) if group else totals


def _score_group(
    session: Any, prompt_kv: Sequence[Any], prompt_len: int, first: Any, rows: Sequence[Sequence[int]]
) -> list[float]:
    import numpy as np

    width = sum(len(r) for r in rows)
    total = prompt_len + width
    bias = np.full((width, total), np.finfo(np.float32).min, dtype=np.float32)
    bias[:, :prompt_len] = 0.0
    positions = np.empty(width, dtype=np.int64)
    start = 0
    for row in rows:
        n = len(row)
        block = bias[start : start + n, prompt_len + start : prompt_len + start + n]
        block[np.tril_indices(n)] = 0.0  # each token sees its own row's tokens up to itself
        positions[start : start + n] = prompt_len + np.arange(n)
        start += n
    import onnxruntime as ort

    binding = session.io_binding()
    bind_in_place(binding, prompt_copies(list(prompt_kv), prompt_len, total))
    ids = np.array([[t for row in rows for t in row]], dtype=np.int64)
    binding.bind_cpu_input("input_ids", ids)
    binding.bind_cpu_input("attention_mask", np.ones((1, total), dtype=np.int64))
    binding.bind_cpu_input("position_ids", positions[None])
    binding.bind_cpu_input("attention_bias", bias[None, None])
    binding.bind_cpu_input("logits_positions", np.arange(width, dtype=np.int64))
    out = np.empty((1, width, first.shape[-1]), dtype=np.float32)
    binding.bind_ortvalue_output("logits", ort.OrtValue.ortvalue_from_numpy(out))
    session.run_with_iobinding(binding)
    logits = out[0]  # [width, vocab]: after each token
    lse = _logsumexp(logits)
    totals, start = [], 0
    for row in rows:
        score = float(first[row[0]])
        for j in range(1, len(row)):
            score += float(logits[start + j - 1, row[j]] - lse[start + j - 1])
        totals.append(score)
        start += len(row)
    return totals


def _logsumexp(logits: Any) -> Any:
    """Per row of [rows, vocab] float32 logits, in float64."""
    import numpy as np

    peak = logits.max(axis=-1)
    return peak.astype(np.float64) + np.log(np.exp(logits - peak[:, None]).sum(axis=-1, dtype=np.float64))


__all__ = ["TOKENS_A_RUN", "score_rows"]
