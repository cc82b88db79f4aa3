"""Decoding n rows that share one prompt without copying the prompt's KV cache n times.

The prompt is prefilled once at batch size 1. Then, for models whose attention layers are all
plain full attention running on SDPA, each layer keeps the prompt's keys/values once (the
*prefix*) plus a preallocated per-row buffer for the generated tokens (the *suffix*), and a
registered attention function attends each row's query to both in one softmax ("cascade"
attention): the prefix is read once per step instead of n times, and nothing is concatenated.

Other models (sliding-window or hybrid layers, eager-only attention) fall back to repeating the
prompt's cache n times into the same preallocated buffers, still without per-step ``torch.cat``.

Several prompts decode in one batch (:func:`load_padded`) the standard way: each row's prompt
is copied into the buffer *left-padded* to the longest prompt, the caller passes an attention
mask that hides the padding and each row's own positions, and attention is plain SDPA (one
kernel per layer; a per-prompt cascade would cost one small call per prompt per layer).

Measured on 2 CPU cores, SmolLM2-135M, 589-token PlanBench prompt, n=16, one thread: the stock
DynamicCache spent ~220 ms/step in ``torch.cat`` and ~95 ms in SDPA over 16 copies of the prompt.

Everything here imports torch/transformers lazily, from the local backend only.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

ATTENTION_NAME = "llm_modulo_shared_prefix"
# The cache layers of the forward pass in progress, set only around shared-prefix decode steps.
_ACTIVE: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("llm_modulo_shared_prefix", default=None)
_LAYER_CLASS: Any = None
_REGISTERED = False


def new_cache(model: Any) -> Any:
    """A DynamicCache whose plain full-attention layers are :func:`layer_class` layers."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=model.config)
    if cache.layers:
        cls = layer_class()
        cache.layers = [cls() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


def can_share(model: Any, cache: Any) -> bool:
    """Whether this cache (from :func:`new_cache`) can decode with the shared prefix."""
    cls = layer_class()
    return bool(cache.layers) and all(type(layer) is cls for layer in cache.layers)


def supports(model: Any) -> bool:
    """Whether ``model`` can use the shared-prefix attention (registering it on first use).

    Needs SDPA attention on every layer, no sliding-window or hybrid layers, one config shared by
    all attention modules (so switching it reaches them all), and a model that follows
    transformers' AttentionInterface. The model is not changed here: :func:`active` switches its
    attention for the decode steps only, so prefill, training or ``generate`` see plain SDPA.
    """
    global _REGISTERED
    config = model.config
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    layer_types = getattr(config, "layer_types", None) or ()
    if getattr(config, "sliding_window", None) or any(t != "full_attention" for t in layer_types):
        return False
    try:
        if not model._can_set_attn_implementation():
            return False
        attention = [m for m in model.modules() if hasattr(m, "layer_idx") and hasattr(m, "config")]
        if not attention or any(m.config is not config for m in attention):
            return False
        from transformers import AttentionInterface

        if not _REGISTERED:
            AttentionInterface.register(ATTENTION_NAME, _attention)
            _REGISTERED = True
    except Exception as exc:  # noqa: BLE001 - an older transformers or an unusual model: fall back
        log.debug("shared-prefix attention unavailable for %s: %s", type(model).__name__, exc)
        return False
    return True


def expand(cache: Any, n: int, reserve: int, shared: bool) -> None:
    """After the batch-1 prefill: make ``n`` rows with room for ``reserve`` new tokens each."""
    cls = layer_class()
    for layer in cache.layers:
        if isinstance(layer, cls):
            layer.expand(n, reserve, shared)
        else:
            layer.batch_repeat_interleave(n)


def load_padded(
    model: Any, cache: Any, prefixes: list[list[tuple[Any, Any]] | None], width: int, room: int, device: Any
) -> None:
    """Fill a fresh ``cache`` (from :func:`new_cache`) with one row per entry of ``prefixes``: the
    row's kept prompt prefix (per layer (keys, values) [1, Hkv, L, D], or None for nothing kept)
    right-aligned at ``width``, zeros before it, and room for ``room`` more tokens. The caller
    masks the zeros and passes each row's positions."""
    import torch

    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dtype = next(model.parameters()).dtype
    for i, layer in enumerate(cache.layers):
        rows = [None if p is None else p[i] for p in prefixes]
        k = torch.zeros((len(rows), heads, width + max(room, 1), head_dim), dtype=dtype, device=device)
        layer.load_rows(rows, width, k, torch.zeros_like(k))


@contextlib.contextmanager
def active(model: Any, cache: Any, shared: bool) -> Iterator[None]:
    """Route the attention of ``model``'s forward calls inside the block to ``cache``'s shared prefix.

    With a custom attention name transformers builds no mask; :func:`_attention` applies the
    causal mask within each row's new tokens itself (right padding needs none).
    """
    if not shared:
        yield
        return
    config = model.config
    previous = config._attn_implementation
    token = _ACTIVE.set(cache.layers)
    config._attn_implementation = ATTENTION_NAME
    try:
        yield
    finally:
        config._attn_implementation = previous
        _ACTIVE.reset(token)


def _attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> Any:
    """Attention over [shared prefix ; per-row suffix], else plain SDPA.

    Each row's T query tokens see the whole prefix and, causally, the row's own suffix (the
    last T suffix positions are the queries' own tokens). T is 1 when decoding and the length
    of the (right-padded) continuations when scoring them. Registered globally under
    ATTENTION_NAME, but a model only uses it inside :func:`active`.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    layers = _ACTIVE.get()
    if layers is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    import torch

    layer = layers[module.layer_idx]
    pk, pv = layer.prefix_keys, layer.prefix_values  # [1, Hkv, L, D]
    n, hq, t, d = query.shape
    hkv = key.shape[1]
    g = hq // hkv
    scaling = kwargs.get("scaling") or d**-0.5
    q = query.reshape(n, hkv, g * t, d)  # query head h uses kv head h // g; rows (g, t) flattened
    # prefix: every row's queries against the one copy of the prompt: [n, Hkv, g*t, L]
    qp = q.permute(1, 0, 2, 3).reshape(hkv, n * g * t, d)
    sp = torch.matmul(qp, pk[0].transpose(-1, -2)).view(hkv, n, g * t, -1).permute(1, 0, 2, 3)
    ss = torch.matmul(q, key.transpose(-1, -2))  # [n, Hkv, g*t, S] against each row's own tokens
    if t > 1:  # query i (suffix position S-t+i) sees suffix positions <= S-t+i
        s_len = key.shape[-2]
        rows = torch.arange(t, device=query.device)[:, None] + (s_len - t)
        future = torch.arange(s_len, device=query.device)[None, :] > rows  # [t, S]
        ss = ss.view(n, hkv, g, t, s_len).masked_fill(future, float("-inf")).view(n, hkv, g * t, s_len)
    scores = torch.cat([sp, ss], dim=-1).float() * scaling
    probs = scores.softmax(dim=-1).to(query.dtype)
    length = pk.shape[-2]
    pp = probs[..., :length].permute(1, 0, 2, 3).reshape(hkv, n * g * t, length)
    out = torch.matmul(pp, pv[0]).view(hkv, n, g * t, d).permute(1, 0, 2, 3)
    out = out + torch.matmul(probs[..., length:], value)
    return out.reshape(n, hq, t, d).transpose(1, 2).contiguous(), None


def layer_class() -> Any:
    """The cache-layer class, built on first use so that transformers loads lazily."""
    global _LAYER_CLASS
    if _LAYER_CLASS is None:
        _LAYER_CLASS = _build_layer_class()
    return _LAYER_CLASS


def _build_layer_class() -> Any:
    import torch
    from transformers.cache_utils import DynamicLayer

    class SharedPrefixLayer(DynamicLayer):  # type: ignore[no-untyped-call]  # transformers' __init_subclass__ is unannotated
        """A DynamicLayer that, after :meth:`expand`, writes new keys/values in place.

        Shared mode: the prompt stays once in ``prefix_keys/values`` and ``update`` returns only
        the generated part. Otherwise the prompt is repeated into the per-row buffer.
        """

        _layer_type = None  # not registered in transformers' layer-type mapping

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)  # type: ignore[no-untyped-call]  # transformers' DynamicLayer is unannotated
            self.prefix_keys: Any = None
            self.prefix_values: Any = None
            self._k: Any = None
            self._v: Any = None
            self._len = 0  # tokens in the per-row buffer

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
            if self._k is None:  # the prompt, before expand: plain storage
                return super().update(key_states, value_states, *args, **kwargs)
            new = key_states.shape[-2]
            if self._len + new > self._k.shape[-2]:
                self._grow(self._len + new)
            self._k[:, :, self._len : self._len + new] = key_states
            self._v[:, :, self._len : self._len + new] = value_states
            self._len += new
            self.keys, self.values = self._k[:, :, : self._len], self._v[:, :, : self._len]
            return self.keys, self.values

        def expand(self, n: int, reserve: int, shared: bool) -> None:
            if not self.is_initialized or self.keys is None or self.values is None:
                return
            keys, values = self.keys, self.values
            b, h, length, d = keys.shape
            room = max(reserve, 1) + (0 if shared else length)
            self._k = torch.empty((b * n, h, room, d), dtype=keys.dtype, device=keys.device)
            self._v = torch.empty_like(self._k)
            if shared:
                self.prefix_keys, self.prefix_values = keys, values
                self._len = 0
            else:
                self._k[:, :, :length] = keys.repeat_interleave(n, dim=0)
                self._v[:, :, :length] = values.repeat_interleave(n, dim=0)
                self._len = length
            self.keys, self.values = self._k[:, :, : self._len], self._v[:, :, : self._len]

        def load_rows(self, rows: list[tuple[Any, Any] | None], width: int, k: Any, v: Any) -> None:
            """Rows' prefixes right-aligned at ``width`` in the zeroed buffers ``k``/``v``."""
            for row, kv in enumerate(rows):
                if kv is not None and kv[0].shape[-2]:
                    length = kv[0].shape[-2]
                    k[row, :, width - length : width] = kv[0][0]
                    v[row, :, width - length : width] = kv[1][0]
            self._k, self._v, self._len = k, v, width
            self.keys, self.values = k[:, :, :width], v[:, :, :width]
            self.device, self.is_initialized = k.device, True

        def _grow(self, needed: int) -> None:
            shape = (*self._k.shape[:2], max(needed, 2 * self._k.shape[-2]), self._k.shape[-1])
            k = torch.empty(shape, dtype=self._k.dtype, device=self._k.device)
            v = torch.empty_like(k)
            k[:, :, : self._len] = self._k[:, :, : self._len]
            v[:, :, : self._len] = self._v[:, :, : self._len]
            self._k, self._v = k, v

        def get_seq_length(self) -> int:
            if not self.is_initialized:
                return 0
            if self._k is None:
                return super().get_seq_length()
            prefix = 0 if self.prefix_keys is None else self.prefix_keys.shape[-2]
            return prefix + self._len

        def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
            return self.get_seq_length() + query_length, 0

        def batch_select_indices(self, indices: Any) -> None:
            if self._k is None:
                super().batch_select_indices(indices)
                return
            self._k, self._v = self._k[indices], self._v[indices]
            self.keys, self.values = self._k[:, :, : self._len], self._v[:, :, : self._len]

        def batch_repeat_interleave(self, repeats: int) -> None:
            self.expand(repeats, 0, shared=False)

        def reorder_cache(self, beam_idx: Any) -> None:
            self.batch_select_indices(beam_idx)

        def crop(self, tokens_to_remove: int) -> None:
            raise NotImplementedError("SharedPrefixLayer does not crop")

        def reset(self) -> None:
            super().reset()
            self.prefix_keys = self.prefix_values = self._k = self._v = None
            self._len = 0

    return SharedPrefixLayer
