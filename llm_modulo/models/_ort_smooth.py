"""Activation scales moved into the weights before int8 quantization (SmoothQuant, Xiao et al. 2023).

The int8 engine (:mod:`._ort_export`) quantizes each matrix product's input to int8 per tensor at
run time, so one channel with large activations coarsens every other channel's grid. Per input
channel ``j`` of each linear layer this divides the activation by
``s_j = max|X_j|**alpha / max|W_j|**(1 - alpha)`` and multiplies the weight's column by it, folded
into the layer before (the RMSNorm's gain for q/k/v and gate/up; up_proj's rows for down_proj;
v_proj's rows for o_proj, one scale per key-value head and dimension, since the q heads of a group
share it). In fp32 the model computes the same function (checked: logits within 1e-3); only the
quantization grid moves. ``max|X_j|`` comes from a few calibration texts of several kinds (PDDL,
a plan in words, arithmetic, prose, code), not from any benchmark's instances.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# alpha 0.8 kept the trained planner's greedy plans closest to fp32's among 0.5 / 0.8 / 0.9
# (docs/results/decode-engines.md, "int8 recipe")
ALPHA = 0.8
CALIBRATION = (
    "(define (domain logistics) (:requirements :strips :typing) (:types truck airplane - vehicle package vehicle - "
    "physobj) (:predicates (in-city ?loc - place ?city - city) (at ?obj - physobj ?loc - place) (in ?pkg - package "
    "?veh - vehicle)) (:action load-truck :parameters (?pkg - package ?truck - truck ?loc - place) :precondition "
    "(and (at ?truck ?loc) (at ?pkg ?loc)) :effect (and (not (at ?pkg ?loc)) (in ?pkg ?truck))))",
    "As initial conditions I have that, the red block is clear, the hand is empty, the red block is on top of the "
    "blue block, the blue block is on the table. My goal is to have that the blue block is on top of the red block."
    "\n[PLAN]\nunstack the red block from on top of the blue block\nput down the red block\npick up the blue block\n"
    "stack the blue block on top of the red block\n[PLAN END]",
    "Use the numbers 4 9 10 13 and basic arithmetic operations (+ - * /) to obtain 24. Answer: (10 - 4) * (13 - 9) = 24",
    "The quick brown fox jumps over the lazy dog. Photosynthesis converts light energy into chemical energy stored in "
    "glucose; the process takes place in the chloroplasts of plant cells and releases oxygen as a by-product.",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"
    "print([fib(i) for i in range(10)])",
)


def smooth_folder(source: Path, target: Path, alpha: float = ALPHA) -> Path:
    """``source`` (a Llama-style transformers folder) with the scales folded in, saved to ``target``."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no load/save bars: the export logs its own line
    model: Any = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    peaks = _input_peaks(model, tokenizer)
    with torch.no_grad():
        probe = tokenizer(CALIBRATION[1], return_tensors="pt")["input_ids"]
        before = model(probe).logits
        for i, layer in enumerate(model.model.layers):
            _fold(layer, f"model.layers.{i}.", peaks, model.config, alpha)
        drift = float((model(probe).logits - before).abs().max())
    if drift > 1e-3:  # folding is exact in real arithmetic: more than rounding means a wrong model layout
        raise ValueError(f"folding the activation scales changed the logits by {drift:.2g}")
    model.save_pretrained(target, safe_serialization=True)
    for f in source.iterdir():
        if f.suffix in (".json", ".jinja") and not (target / f.name).exists():
            shutil.copy(f, target / f.name)
    log.info("folded activation scales (alpha %.2f) into %s; logits moved %.1g", alpha, target, drift)
    return target


def _input_peaks(model: Any, tokenizer: Any) -> dict[str, Any]:
    """Per linear layer, the largest |input| of each channel over the calibration texts."""
    import torch

    peaks: dict[str, Any] = {}

    def hook(name: str) -> Any:
        def record(_module: Any, inputs: tuple[Any, ...]) -> None:
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).abs().amax(0)
            peaks[name] = torch.maximum(peaks[name], x) if name in peaks else x

        return record

    linear = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    handles = [m.register_forward_pre_hook(hook(n)) for n, m in linear]
    try:
        with torch.no_grad():
            for text in CALIBRATION:
                messages = [{"role": "user", "content": text}]
                ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
                model(ids if torch.is_tensor(ids) else ids["input_ids"])
    finally:
        for h in handles:
            h.remove()
    return peaks


def _fold(layer: Any, prefix: str, peaks: dict[str, Any], config: Any, alpha: float) -> None:
    """One decoder layer's four folds (in place)."""
    attn, mlp = layer.self_attn, layer.mlp

    def scales(act: Any, weight_peak: Any) -> Any:
        return (act.clamp(min=1e-5) ** alpha / weight_peak.clamp(min=1e-5) ** (1 - alpha)).clamp(min=1e-5)

    def peak(*linears: Any) -> Any:
        import torch

        return torch.cat([lin.weight.abs() for lin in linears], 0).amax(0)

    s = scales(peaks[prefix + "self_attn.q_proj"], peak(attn.q_proj, attn.k_proj, attn.v_proj))
    layer.input_layernorm.weight.div_(s)
    for lin in (attn.q_proj, attn.k_proj, attn.v_proj):
        lin.weight.mul_(s)
    s = scales(peaks[prefix + "mlp.gate_proj"], peak(mlp.gate_proj, mlp.up_proj))
    layer.post_attention_layernorm.weight.div_(s)
    for lin in (mlp.gate_proj, mlp.up_proj):
        lin.weight.mul_(s)
    s = scales(peaks[prefix + "mlp.down_proj"], peak(mlp.down_proj))
    mlp.up_proj.weight.div_(s[:, None])  # silu(gate) * up is linear in up's output
    mlp.down_proj.weight.mul_(s)
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    size = config.hidden_size // heads if getattr(config, "head_dim", None) is None else config.head_dim
    group = heads // kv_heads
    # o_proj's input (q head h, dim d) is a mix of v of kv head h // group: one scale per (kv head, d)
    act = peaks[prefix + "self_attn.o_proj"].view(kv_heads, group, size).amax(1)
    s = scales(act, peak(attn.o_proj).view(kv_heads, group, size).amax(1))
    attn.v_proj.weight.div_(s.reshape(-1)[:, None])
    attn.o_proj.weight.mul_(s[:, None, :].expand(kv_heads, group, size).reshape(-1))


__all__ = ["ALPHA", "CALIBRATION", "smooth_folder"]
