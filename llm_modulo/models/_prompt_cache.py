"""Prefilling prompts for the local backend, and keeping recent prompts' KV caches for reuse.

A prompt is prefilled only after its longest common token prefix with a kept one (a trial's
second call, or two strategies on one instance, re-read only what is new); several prompts
prefill together in a few padded forward passes when the model's logits are its output embedding
on the decoder's last hidden state. :class:`PromptCacheMixin` holds these methods of
:class:`~llm_modulo.models.local.LocalModel`, which owns the state they use.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, Any

from llm_modulo.models import _shared_prefix

if TYPE_CHECKING:
    import torch

    from llm_modulo.models._decoding import Job

log = logging.getLogger(__name__)

# At most this many token positions (padding included) in one prefill forward pass.
PREFILL_TOKENS = 16384


class PromptCacheMixin:
    """Prefill and prompt-cache methods of the local backend (state set up by ``LocalModel.__init__``/``load``)."""

    name: str
    device: str
    prompt_cache_bytes: int
    _model: Any
    _tokenizer: Any
    _eos_ids: tuple[int, ...]
    _cache_kwarg: str
    _reuse: bool
    _head_split: bool | None
    # recent prompts' KV caches, most recent last: (token ids, [(keys, values) per layer], last logits)
    _prompts: collections.OrderedDict[tuple[int, ...], tuple[list[tuple[Any, Any]], Any, int]]
    _prompt_bytes: int

    def _prefill_reusing(self, ids: list[int]) -> tuple[Any, Any, int]:
        """(cache holding the prompt, logits at its last position [1, 1, V], tokens prefilled now).

        Recent prompts' caches are kept (up to ``prompt_cache_bytes``): the prompt is
        prefilled only after its longest common token prefix with one of them. A trial's second
        call (the same problem, then feedback) or two strategies on the same instance re-read
        only what is new. Reused keys/values equal a fresh prefill up to float rounding.
        """
        model, kw = self._model, self._cache_kwarg
        cache = _shared_prefix.new_cache(model)
        common, layers, last = self._cached_prefix(ids)
        if layers is not None and last is not None:  # the whole prompt
            for layer, (k, v) in zip(cache.layers, layers, strict=False):
                layer.update(k, v)
            return cache, last, 0
        if layers is not None:
            for layer, (k, v) in zip(cache.layers, layers, strict=False):
                layer.update(k[:, :, :common], v[:, :, :common])
        rest = torch_tensor([ids[common:]], self.device)
        out = model(input_ids=rest, **{kw: cache}, use_cache=True, logits_to_keep=1)
        last = out.logits[:, -1:, :]
        if self._reuse:
            self._remember(ids, [(layer.keys, layer.values) for layer in cache.layers], last)
        return cache, last, len(ids) - common

    def _cached_prefix(self, ids: list[int]) -> tuple[int, list[tuple[Any, Any]] | None, Any]:
        """(tokens of ``ids`` a kept prompt holds, its per-layer keys/values, its last logits when
        it is exactly ``ids`` else None). At least one token is left to read unless exact."""
        common, best = 0, None
        if self._prompts and self._reuse:
            for old in reversed(self._prompts):
                limit = min(len(old), len(ids))
                n = 0
                while n < limit and old[n] == ids[n]:
                    n += 1
                if n > common:
                    common, best = n, old
                if n == len(ids) == len(old):
                    break
        if best is None:
            return 0, None, None
        layers, last, _ = self._prompts[best]
        self._prompts.move_to_end(best)
        if common == len(ids) == len(best):
            return common, layers, last
        return min(common, len(ids) - 1), layers, None

    def _remember(self, ids: list[int], layers: list[tuple[Any, Any]], last: Any) -> None:
        key = tuple(ids)
        size = sum(k.numel() * k.element_size() * 2 for k, _ in layers)
        if key in self._prompts:
            self._prompt_bytes -= self._prompts.pop(key)[2]
        if size <= self.prompt_cache_bytes:
            self._prompts[key] = (layers, last, size)
            self._prompt_bytes += size
            while self._prompt_bytes > self.prompt_cache_bytes:
                self._prompt_bytes -= self._prompts.popitem(last=False)[1][2]

    def _head_split_ok(self) -> bool:
        """Whether logits are the output embedding applied to the decoder's last hidden state
        (checked once on a few tokens): then several prompts prefill in one forward pass."""
        if self._head_split is None:
            import torch

            ok = False
            try:
                decoder, head = self._model.get_decoder(), self._model.get_output_embeddings()
                ids = torch_tensor([[1, 2, 3, 4]], self.device)
                with torch.inference_mode():
                    full = self._model(input_ids=ids).logits[:, -1].float()
                    split = head(decoder(input_ids=ids).last_hidden_state[:, -1]).float()
                ok = bool(torch.allclose(full, split, atol=1e-3, rtol=1e-3))
            except Exception as exc:  # noqa: BLE001 - an unusual model: prefill one prompt at a time
                log.debug("no batched prefill for %s: %s", self.name, exc)
            self._head_split = ok
        return self._head_split

    def _prefill_each(self, live: list[Job]) -> list[tuple[list[tuple[Any, Any]], Any]]:
        """Every job's prompt: (per-layer keys/values [1, Hkv, L, D], logits at its last token [1, V]).

        With a split head (:meth:`_head_split_ok`) the prompts prefill in a few padded forward
        passes, grouped by the length still to read so that padding stays under a quarter of
        the work; otherwise one by one. Both read only what no kept prompt already holds.
        """
        if not self._head_split_ok():
            out = []
            for job in live:
                cache, last, fresh = self._prefill_reusing(job.ids[0].tolist())
                job.meta["prefill_tokens"] = fresh
                out.append(([(layer.keys, layer.values) for layer in cache.layers], last[:, -1, :]))
            return out
        found = {id(job): self._cached_prefix(job.ids[0].tolist()) for job in live}
        kv: dict[int, tuple[list[tuple[Any, Any]], Any]] = {}
        for job in live:
            _, layers, last = found[id(job)]
            if layers is not None and last is not None:  # kept whole: nothing to read
                kv[id(job)] = (layers, last[:, -1, :])
                job.meta["prefill_tokens"] = 0
        new = {id(job): job.prompt_tokens - found[id(job)][0] for job in live if id(job) not in kv}
        groups: list[list[Job]] = []
        real = 0  # new tokens in the last group
        for job in sorted((j for j in live if id(j) in new), key=lambda j: new[id(j)]):
            # ascending new tokens: a group grows while its padding stays small
            width = (len(groups[-1]) + 1) * new[id(job)] if groups else 0
            if groups and width <= 1.25 * (real + new[id(job)]) and width <= PREFILL_TOKENS:
                groups[-1].append(job)
                real += new[id(job)]
            else:
                groups.append([job])
                real = new[id(job)]
        for group in groups:
            for job, entry in zip(group, self._prefill_group(group, [found[id(j)] for j in group]), strict=False):
                kv[id(job)] = entry
        return [kv[id(job)] for job in live]

    def _prefill_group(
        self, group: list[Job], found: list[tuple[int, Any, Any]]
    ) -> list[tuple[list[tuple[Any, Any]], Any]]:
        """One padded forward pass over ``group``'s prompts: each row holds the prefix a kept prompt
        shares (left-padded) then its new tokens (right-padded), both paddings masked, at the
        row's own positions; logits come from the output embedding on each row's last hidden
        state. Returns each prompt's own keys/values and last logits, and remembers them."""
        import torch

        model, device = self._model, self.device
        commons = [c for c, _, _ in found]  # 0 where nothing is kept
        fresh = [job.prompt_tokens - c for c, job in zip(commons, group, strict=False)]
        width_p, width_f = max(commons), max(fresh)
        cache = _shared_prefix.new_cache(model)
        prefixes = [
            [(k[:, :, :c], v[:, :, :c]) for k, v in layers] if layers is not None and c else None
            for (_, layers, _), c in zip(found, commons, strict=False)
        ]
        _shared_prefix.load_padded(model, cache, prefixes, width_p, width_f, device)
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else self._eos_ids[0]
        ids = torch.full((len(group), width_f), pad, dtype=torch.long, device=device)
        positions = torch.zeros((len(group), width_f), dtype=torch.long, device=device)
        mask = torch.zeros((len(group), width_p + width_f), dtype=torch.long, device=device)
        for j, (job, c, f) in enumerate(zip(group, commons, fresh, strict=False)):
            ids[j, :f] = job.ids[0, c:]
            positions[j] = c + torch.arange(width_f, device=device)
            mask[j, width_p - c : width_p + f] = 1
        hidden = model.get_decoder()(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **{self._cache_kwarg: cache}
        ).last_hidden_state
        rows = torch.arange(len(group), device=device)
        last = model.get_output_embeddings()(hidden[rows, torch.tensor(fresh, device=device) - 1]).float()
        out = []
        for j, (job, c, f) in enumerate(zip(group, commons, fresh, strict=False)):
            span = slice(width_p - c, width_p + f)
            layers = [
                (layer._k[j : j + 1, :, span].clone(), layer._v[j : j + 1, :, span].clone()) for layer in cache.layers
            ]
            if self._reuse:
                self._remember(job.ids[0].tolist(), layers, last[j : j + 1, None, :])
            job.meta["prefill_tokens"] = f
            out.append((layers, last[j : j + 1]))
        return out

    def clear_prompt_cache(self) -> None:
        """Forget the kept prompt caches (needed after changing the weights or hooking the model)."""
        self._prompts.clear()
        self._prompt_bytes = 0


def torch_tensor(rows: list[list[int]], device: str) -> torch.Tensor:
    import torch

    return torch.tensor(rows, dtype=torch.long, device=device)


__all__ = ["PREFILL_TOKENS", "PromptCacheMixin", "torch_tensor"]
