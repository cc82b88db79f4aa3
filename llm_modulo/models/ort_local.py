"""The embedded SmolLM2 on ONNX Runtime: a lean CPU decode loop without torch (the default engine on the CPU).

The model is exported once per precision, from the converted transformers folder
(:mod:`.smollm2`), into ``<cache root>/models/smollm2-135m-instruct-onnx-<recipe>`` (:mod:`._ort_export`:
fused GroupQueryAttention; int4 or int8 weights); later loads memory-map it (~0.3 s, no torch or
transformers import). The decode loop is plain ``onnxruntime`` with one KV
buffer per layer that the attention op updates in place, bound once per call
(:mod:`._ort_rows`). The one session runs a copy of the exported graph whose attention op takes a
position per token and an additive mask (:mod:`._ort_shared`; zeros where the plain causal mask
suffices): the prompt is prefilled once at batch size 1; at n > 1 the n rows then run as one
sequence, so every step reads the prompt's cache once, not n times.
Token choice (temperature, top-p, stop strings, EOS) and :class:`LineConstraint` decoding (the
:class:`LineGrammar` trie as a per-step mask) are the project's own, in numpy, a step's rows at
once (:mod:`._ort_sampling`); at n=1, greedy or sampled, each run also checks tokens looked up in the
context (:mod:`._ort_lookup`). Scoring runs every continuation in one run of the shared-prompt graph (:mod:`._ort_score`).

Needs ``pip install 'llm-modulo[ort]'`` (onnxruntime, plus onnxruntime-genai, onnx and onnx-ir to
export once). Model spec: ``smollm2-ort`` (int8) or ``smollm2-ort:<int4|int8|fp32>``, or an export folder's path.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_modulo.budget import budget_deadline
from llm_modulo.errors import BudgetSecondsExceeded, DecodeInterrupted, InputError, ModelLoadError
from llm_modulo.models import smollm2
from llm_modulo.models._ort_export import DEFAULT_PRECISION, INSTALL_HINT, PRECISIONS, ensure_onnx, onnx_dir
from llm_modulo.models._ort_lookup import lookup_decode
from llm_modulo.models._ort_rows import InPlaceRows, SharedRows, cores_free
from llm_modulo.models._ort_sampling import choose_many
from llm_modulo.models._ort_score import score_rows
from llm_modulo.models._ort_shared import ensure_shared
from llm_modulo.models.constrained import GrammarState, LineGrammar
from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SampleRequest, SamplingParams, ScoreBatch

log = logging.getLogger(__name__)

# prompts whose KV cache is kept for reuse (SmolLM2-135M: ~46 KB a token, ~27 MB a PlanBench prompt)
_KEPT_PROMPTS = 8


class OrtModel:
    """A :class:`~llm_modulo.protocols.LanguageModel` (and multi-sampling, scoring) model: the
    embedded SmolLM2 exported to ONNX and decoded with onnxruntime on CPU.

    Args:
        precision: "int8" (default: fastest at n > 1, and its solved counts stay inside the
            reference's), "int4" (fastest at n=1, but it loses a trained adapter's plans) or "fp32"
            (the transformers reference's numbers).
        threads: onnxruntime intra-op threads (0: ``OMP_NUM_THREADS``, as ``bench --threads`` sets; else one a core).
        spin: let the pool threads spin while a step runs (a third less per step on a quiet
            machine; they stop when it returns), or let them sleep between the ops (twice as fast
            when other processes keep the cores busy). None: spin when other processes leave a
            core idle at loading (:func:`._ort_rows.cores_free`).
        shared_prompt: at n > 1 all rows attend to one copy of the prompt's cache (a rewritten
            graph); False: each row gets its own copy (the exported graph, for comparison).
        seed: seeds the calls whose ``SamplingParams.seed`` is None.
        folder: an export folder to load instead (``model.onnx``, ``genai_config.json``, tokenizer and
            chat template, as :mod:`._ort_export` writes them; e.g. ``benchmarks/export_mixed.py``'s).
        draft_tokens: decodes at n=1 (greedy or sampled) check up to this many tokens looked up in
            the context in each run (:mod:`._ort_lookup`; the same tokens, fewer runs); 0: one token a run.
    """

    def __init__(
        self,
        precision: str = DEFAULT_PRECISION,
        threads: int = 0,
        seed: int | None = None,
        cache_dir: Path | None = None,
        spin: bool | None = None,
        shared_prompt: bool = True,
        draft_tokens: int = 4,
        folder: Path | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise InputError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
        self.precision, self.threads, self.seed, self.cache_dir = precision, threads, seed, cache_dir
        self.spin, self.shared_prompt, self.draft_tokens = spin, shared_prompt, draft_tokens
        self.folder = folder
        self.name = folder.name if folder is not None else f"{smollm2.NAME}-onnx-{precision}"
        self.load_seconds: float | None = None
        self._session: Any = None
        self._vocab = 0
        self._tokenizer: Any = None
        self._template: Any = None
        self._layers = 0
        self._kv_shape: tuple[int, int] = (0, 0)  # (kv heads, head size)
        self._context = 8192
        self._eos_ids: tuple[int, ...] = ()
        self._grammars: dict[LineConstraint, LineGrammar] = {}
        self._rng: Any = None
        self._interrupt = threading.Event()
        # recent prompts' KV caches (batch 1) and last logits, most recent last
        self._kept: collections.OrderedDict[tuple[int, ...], tuple[list[Any], Any]] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(precision={self.precision!r})"

    def load(self) -> OrtModel:
        if self._session is not None:
            return self
        try:
            import numpy as np
            import onnxruntime as ort
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelLoadError(f"the ONNX backend needs {exc.name}; {INSTALL_HINT}") from exc
        started = time.perf_counter()
        folder = self._export()
        options = ort.SessionOptions()
        omp = os.environ.get("OMP_NUM_THREADS", "")
        options.intra_op_num_threads = self.threads or (int(omp) if omp.isdigit() else 0)
        options.inter_op_num_threads = 1
        spin = self.spin if self.spin is not None else cores_free()
        # spinning only while a step runs: none left burning the cores between calls
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        options.add_session_config_entry("session.force_spinning_stop", "1")
        options.log_severity_level = 3  # the shared graph's unused mask constants: not worth a warning
        # one session, on the graph that also runs n rows from one prompt: weights prepacked once
        self._session = ort.InferenceSession(str(ensure_shared(folder)), options, providers=["CPUExecutionProvider"])
        config = json.loads((folder / "genai_config.json").read_text())["model"]
        decoder = config["decoder"]
        self._layers = int(decoder["num_hidden_layers"])
        self._kv_shape = (int(decoder["num_key_value_heads"]), int(decoder["head_size"]))
        self._context = int(config.get("context_length", 8192))
        self._vocab = int(config["vocab_size"])
        eos = config["eos_token_id"]
        self._eos_ids = tuple(sorted({eos} if isinstance(eos, int) else set(eos)))
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # what transformers' apply_chat_template does with a template
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._template = env.from_string((folder / "chat_template.jinja").read_text())
        self._rng = np.random.default_rng(self.seed)
        self.load_seconds = time.perf_counter() - started
        log.info("loaded %s in %.2f s (pool threads %s)", self.name, self.load_seconds, "spin" if spin else "sleep")
        return self

    def _export(self) -> Path:
        """The ONNX folder to load (exported on first use); a subclass exports another model."""
        return self.folder if self.folder is not None else ensure_onnx(self.precision, self.cache_dir)

    def render(self, prompt: Prompt, prefill: str | None = None) -> str:
        """The exact text fed to the model: the chat template, then the prefill."""
        self.load()
        prefill = prompt.prefill if prefill is None else prefill
        messages = [dict(m) for m in prompt.messages]
        text = self._template.render(messages=messages, add_generation_prompt=True) if messages else ""
        return str(text) + prefill

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.load()._tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        text: str = self.load()._tokenizer.decode(list(ids), skip_special_tokens=True)
        return text

    # -- sampling ----------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the decode in progress before its next token (it raises DecodeInterrupted)."""
        self._interrupt.set()

    def sample_many(self, requests: Sequence[SampleRequest], deadline: float | None = None) -> list[Batch | Exception]:
        """Each request's ``sample`` result (or its InputError), one after another."""
        results: list[Batch | Exception] = []
        for r in requests:
            try:
                results.append(self._sample(r.prompt, r.n, r.params, r.constraint, deadline))
            except InputError as exc:
                results.append(exc)
        return results

    def sample(self, prompt: Prompt, n: int, params: SamplingParams, constraint: LineConstraint | None = None) -> Batch:
        """``n`` completions of ``prompt`` in one batched call (as :meth:`LocalModel.sample`)."""
        return self._sample(prompt, n, params, constraint, budget_deadline())

    def _sample(
        self,
        prompt: Prompt,
        n: int,
        params: SamplingParams,
        constraint: LineConstraint | None,
        deadline: float | None,
    ) -> Batch:
        import numpy as np

        started = time.perf_counter()
        if n < 0:
            raise InputError(f"n must be >= 0, got {n}")
        if n == 0:
            return Batch([], 0.0, {"model": self.name})
        self.load()
        prefill, lead = prompt.prefill, ""
        if constraint is not None and prefill and not prefill.endswith("\n"):
            prefill, lead = prefill + "\n", "\n"
        ids = self.encode(self.render(prompt, prefill))
        if len(ids) >= self._context:
            raise InputError(f"the prompt has {len(ids)} tokens; {self.name} reads at most {self._context}")
        max_tokens = min(max(0, params.max_tokens), self._context - len(ids))
        grammar = self._grammar(constraint) if constraint is not None else None
        rng = np.random.default_rng(params.seed) if params.seed is not None else self._rng
        tokens: list[list[int]] = [[] for _ in range(n)]
        states: list[GrammarState | None] = [grammar.start() if grammar else None for _ in range(n)]
        finish: list[str | None] = ["stop" if s is not None and s.done else None for s in states]
        self._interrupt.clear()
        total = len(ids) + max_tokens
        t0 = time.perf_counter()
        kv, logits, fresh = self._prefill(ids, total)
        t1 = time.perf_counter()
        runner = self._rows(kv, len(ids), n, max_tokens)
        logits = np.repeat(logits, n, axis=0)
        rows = [i for i in range(n) if finish[i] is None] if max_tokens > 0 else []
        batch = list(range(n))  # buffer row -> completion index (finished rows may linger)
        tail = 4 * max((len(s) for s in params.stop), default=0) + 4

        def take(c: int, tok: int) -> bool:
            """Append ``tok`` to completion ``c``; whether that finished it."""
            tokens[c].append(tok)
            state = states[c]
            if grammar is not None and state is not None:
                state = states[c] = grammar.advance(state, tok)
                if state.done:
                    finish[c] = "stop"
                    return True
            if tok in self._eos_ids or (params.stop and self._hits(tokens[c][-tail:], params.stop)):
                finish[c] = "stop"
            elif len(tokens[c]) >= max_tokens:
                finish[c] = "length"
            return finish[c] is not None

        def check() -> None:
            if self._interrupt.is_set():
                raise DecodeInterrupted("decode interrupted: the sweep is stopping")
            if deadline is not None and time.monotonic() >= deadline:
                raise BudgetSecondsExceeded("the run's seconds ran out while decoding")

        runs = 0
        if rows and n == 1 and self.draft_tokens > 0:

            def pick(row: Any) -> int:
                return choose_many(
                    row[None], [self._allowed(grammar, states[0])], params.temperature, params.top_p, rng
                )[0]

            runs = lookup_decode(
                runner, logits[0], ids, max_tokens, self.draft_tokens, pick, lambda t: take(0, t), check
            )
            rows = []
        step = 0
        while rows:
            check()
            where = {c: b for b, c in enumerate(batch)}
            allowed = [self._allowed(grammar, states[c]) for c in rows]
            block = logits[[where[c] for c in rows]] if len(rows) < len(batch) else logits
            picks = choose_many(block, allowed, params.temperature, params.top_p, rng)
            for c, tok in zip(rows, picks, strict=True):
                take(c, tok)
            rows = [c for c in rows if finish[c] is None]
            if not rows:
                break
            if len(rows) <= 3 * len(batch) // 4:  # drop finished rows from the buffers (a copy)
                runner.keep([where[c] for c in rows])
                batch = list(rows)
            step += 1
            step_ids = np.array([[tokens[c][-1] if finish[c] is None else self._eos_ids[0]] for c in batch])
            logits = runner.step(step_ids, len(ids) + step - 1)
        seconds = time.perf_counter() - started
        completions = []
        for c in range(n):
            body, why = self._finish_text(tokens[c], params.stop)
            completions.append(Completion(lead + body, len(tokens[c]), len(ids), why or finish[c] or "length"))
        meta = {
            "model": self.name,
            "prompt_tokens": len(ids),
            "constrained": grammar is not None,
            "token_ids": tokens,
            "prefill_tokens": fresh,
            "prefill_seconds": t1 - t0,
            "decode_runs": runs or step,
            "decode_seconds": time.perf_counter() - t1,
        }
        return Batch(completions, seconds, meta)

    def _prefill(self, ids: list[int], length: int) -> tuple[list[Any], Any, int]:
        """(KV buffers of ``length`` positions holding the prompt, its last logits [1, vocab], tokens
        read anew): only the tokens after the longest prefix shared with a kept prompt are run."""
        import numpy as np

        best, reuse = None, 0
        for key in self._kept:
            common = next(
                (i for i, (a, b) in enumerate(zip(key, ids, strict=False)) if a != b), min(len(key), len(ids))
            )
            common = common if common == len(key) == len(ids) else min(common, len(ids) - 1)
            if common > reuse:
                best, reuse = key, common
        kv = self._buffers(1, length)
        if best is not None:
            kept, last = self._kept[best]
            self._kept.move_to_end(best)
            for buffer, prefix in zip(kv, kept, strict=True):
                buffer[:, :, :reuse] = prefix[:, :, :reuse]
            if reuse == len(ids):
                return kv, last, 0
        runner = InPlaceRows(self._session, kv, self._vocab)
        run = runner.run(np.array([ids[reuse:]], dtype=np.int64), len(ids), last_only=True)
        logits = run[:, -1].copy()
        self._kept[tuple(ids)] = ([a[:, :, : len(ids)].copy() for a in kv], logits)
        while len(self._kept) > _KEPT_PROMPTS:
            self._kept.popitem(last=False)
        return kv, logits, len(ids) - reuse

    def _buffers(self, rows: int, length: int) -> list[Any]:
        """One zeroed (keys, values) buffer pair per layer, as long as the whole call."""
        import numpy as np

        heads, size = self._kv_shape
        return [np.zeros((rows, heads, length, size), dtype=np.float32) for _ in range(2 * self._layers)]

    def _rows(self, kv: list[Any], prompt_len: int, n: int, steps: int) -> InPlaceRows | SharedRows:
        """The decode loop's runner: in place on ``kv`` at n=1, else all rows on one copy of the
        prompt."""
        import numpy as np

        if n == 1 or not self.shared_prompt:
            copies = [np.repeat(a, n, axis=0) for a in kv] if n > 1 else kv
            return InPlaceRows(self._session, copies, self._vocab)
        return SharedRows(self._session, kv, prompt_len, n, steps, self._vocab)

    @staticmethod
    def _allowed(grammar: LineGrammar | None, state: GrammarState | None) -> Any:
        """The row's allowed token ids (an array), or None when it is not constrained."""
        import numpy as np

        if grammar is None or state is None:
            return None
        return np.array(grammar.allowed(state), dtype=np.int64)

    def _hits(self, tail: list[int], stop: tuple[str, ...]) -> bool:
        text = self.decode(tail)
        return any(s in text for s in stop if s)

    def _finish_text(self, tokens: list[int], stop: tuple[str, ...]) -> tuple[str, str | None]:
        if tokens and tokens[-1] in self._eos_ids:
            tokens = tokens[:-1]
        text = self.decode(tokens)
        cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
        return (text[: min(cuts)], "stop") if cuts else (text, None)

    def _grammar(self, constraint: LineConstraint) -> LineGrammar:
        grammar = self._grammars.get(constraint)
        if grammar is None:
            grammar = LineGrammar(constraint, self.encode, self._eos_ids)
            if len(self._grammars) >= 64:
                self._grammars.pop(next(iter(self._grammars)))
            self._grammars[constraint] = grammar
        return grammar

    # -- scoring -----------------------------------------------------------------------------

    def score(self, prompt: Prompt, continuations: Sequence[str], seed: int | None = None) -> ScoreBatch:
        """Log-probability of each continuation right after the prompt, all in one run of the
        shared-prompt graph after one (kept) prefill of the prompt (:mod:`._ort_score`). ``seed`` is
        unused (scoring is deterministic)."""
        started = time.perf_counter()
        if not continuations:
            return ScoreBatch([], 0, 0, 0.0)
        self.load()
        ids = self.encode(self.render(prompt))
        if len(ids) >= self._context:
            raise InputError(f"the prompt has {len(ids)} tokens; {self.name} reads at most {self._context}")
        rows = [self.encode(c) or [self._eos_ids[0]] for c in continuations]
        kv, last, fresh = self._prefill(ids, len(ids))
        totals = score_rows(self._session, kv, len(ids), last, rows)
        return ScoreBatch(totals, sum(len(r) for r in rows), fresh, time.perf_counter() - started)


__all__ = ["DEFAULT_PRECISION", "PRECISIONS", "OrtModel", "ensure_onnx", "onnx_dir"]
