"""The local backend's decode loop: every row of every request in one batch, token by token.

Each row is sampled with its own request's parameters and generator, masked by its grammar
(:mod:`llm_modulo.models.constrained`), stopped by EOS, its stop strings or its token limit;
finished rows leave the batch. :class:`DecodingMixin` holds these methods of
:class:`~llm_modulo.models.local.LocalModel`; its prompts are prefilled by
:class:`~llm_modulo.models._prompt_cache.PromptCacheMixin`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from llm_modulo.errors import BudgetSecondsExceeded, DecodeInterrupted
from llm_modulo.models import _shared_prefix
from llm_modulo.models._prompt_cache import PromptCacheMixin
from llm_modulo.models._sampling import sample_next
from llm_modulo.models.constrained import GrammarState, LineGrammar
from llm_modulo.protocols import SampleRequest

if TYPE_CHECKING:
    import torch


class DecodingMixin(PromptCacheMixin):
    """Decode-loop methods of the local backend (state set up by ``LocalModel.__init__``/``load``)."""

    restrict_head: bool
    _shareable: bool
    _interrupt: threading.Event

    def _decode(self, jobs: list[Job], deadline: float | None = None) -> None:
        """Decode every row of ``jobs`` in one batch; past ``deadline`` (``time.monotonic()``, the
        run's seconds) raise :class:`~llm_modulo.errors.BudgetSecondsExceeded` before the next token."""
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
            _shared_prefix.load_padded(
                model, cache, [layers for layers, _ in rows], width, max(j.max_tokens for j in live), self.device
            )
            lengths = torch.tensor([job.prompt_tokens for job in live for _ in range(len(job.rows))])
            mask = (torch.arange(width)[None, :] >= (width - lengths)[:, None]).long().to(self.device)
            logits = torch.cat([last.float().expand(n, -1) for (_, last), n in zip(prompts, counts, strict=False)])
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
            if deadline is not None and time.monotonic() >= deadline:
                raise BudgetSecondsExceeded("the run's seconds ran out while decoding")
            chosen = self._choose(active, logits)
            keep = []
            for b, ((job, row), tok) in enumerate(zip(active, chosen, strict=False)):
                row.tokens.append(tok)
                if job.grammar is not None:
                    row.state = job.grammar.advance(row.grammar_state(), tok)
                    if row.state.done:
                        row.finish = "stop"
                        continue
                if tok in self._eos_ids:
                    row.finish = "stop"
                    continue
                stop = job.request.params.stop
                if stop and self._hits_stop(row.tokens[-tails[id(job)] :], stop):
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
            step_positions = (
                positions + torch.tensor([len(row.tokens) - 1 for _, row in active], device=logits.device)
            )[:, None]
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
                    hidden = model.get_decoder()(
                        input_ids=step_ids, position_ids=step_positions, **{kw: cache}, use_cache=True, **extra
                    ).last_hidden_state[:, -1]
                    logits = self._restricted_logits(hidden, allowed)
        seconds = time.perf_counter() - t1
        for job in live:
            for row in job.rows:
                row.finish = row.finish or "length"
            job.meta.update(decode_seconds=seconds, shared_prefix=shared)
            if len(live) > 1:
                job.meta["batched_requests"] = len(live)

    def _allowed_union(self, active: list[tuple[Job, Row]]) -> torch.Tensor | None:
        """The tokens any active row's grammar allows next, when every row has a grammar, they are
        few (under a quarter of the vocabulary) and logits can be taken from the hidden state;
        else None (full logits)."""
        import torch

        if (
            not active
            or not self.restrict_head
            or any(job.grammar is None for job, _ in active)
            or not self._head_split_ok()
        ):
            return None
        # (every job has a grammar, checked above; the condition tells the type checker)
        tensors = [job.grammar.allowed_tensor(row.grammar_state()) for job, row in active if job.grammar is not None]
        allowed = torch.unique(torch.cat(tensors))
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

    def _choose(self, active: list[tuple[Job, Row]], logits: torch.Tensor) -> list[int]:
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
                states = [row.grammar_state() for _, row in active[start:end]]
                part = part + job.grammar.mask(states, part.shape[-1], part.device)
            params = job.request.params
            chosen.extend(sample_next(part, params.temperature, params.top_p, job.generator).tolist())
            start = end
        return chosen

    def _hits_stop(self, tail: list[int], stop: tuple[str, ...]) -> bool:
        text = self._tokenizer.decode(tail, skip_special_tokens=True)
        return any(s in text for s in stop if s)

    def _finish_text(self, row: Row, stop: tuple[str, ...]) -> tuple[str, str]:
        tokens = row.tokens
        if tokens and tokens[-1] in self._eos_ids:
            tokens = tokens[:-1]
        text = self._tokenizer.decode(tokens, skip_special_tokens=True)
        cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
        if cuts:
            return text[: min(cuts)], "stop"
        return text, row.finish or "length"


class Job:
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
        self.rows = [Row(grammar.start() if grammar else None) for _ in range(request.n)]
        for row in self.rows:
            if row.state is not None and row.state.done:  # e.g. end == "" and max_lines == 0
                row.finish = "stop"
        self.meta: dict[str, object] = {}


class Row:
    """One completion being decoded."""

    __slots__ = ("finish", "state", "tokens")

    def __init__(self, state: GrammarState | None) -> None:
        self.tokens: list[int] = []
        self.state = state
        self.finish: str | None = None

    def grammar_state(self) -> GrammarState:
        """The row's grammar state: every row of a job with a grammar has one."""
        if self.state is None:
            raise RuntimeError("a row of a job without a grammar has no grammar state")
        return self.state


__all__ = ["DecodingMixin", "Job", "Row"]
