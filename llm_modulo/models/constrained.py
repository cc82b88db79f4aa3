"""Constrained decoding for a :class:`~llm_modulo.protocols.LineConstraint` as a token trie.

The grammar is ``(line "\\n"){0..max_lines} end EOS``. Each ``line + "\\n"`` and ``end`` is
encoded alone (no special tokens) and inserted into a trie; decoding starts at the beginning of
a line, walks the trie one token at a time, and goes back to the root after each line. After
``max_lines`` lines only ``end`` is allowed. A row is finished as soon as ``end`` is complete
(EOS is only offered where ``end`` is complete but is also a token prefix of a longer line).

This module is pure Python; torch is imported by :meth:`LineGrammar.mask` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm_modulo.errors import InputError
from llm_modulo.protocols import LineConstraint

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class GrammarState:
    """Where one row stands: a trie node and the number of complete lines so far."""

    node: int
    lines: int = 0
    done: bool = False


class LineGrammar:
    """A token trie for one :class:`LineConstraint` under one tokenizer."""

    def __init__(
        self,
        constraint: LineConstraint,
        encode: Callable[[str], Sequence[int]],
        eos_ids: Iterable[int],
    ) -> None:
        self.constraint = constraint
        self.max_lines = max(0, constraint.max_lines)
        self.eos_ids = tuple(sorted(set(eos_ids)))
        if not self.eos_ids:
            raise InputError("constrained decoding needs the tokenizer's end-of-sequence token")
        # Node tables: children (token -> node), and what a node completes.
        self._children: list[dict[int, int]] = []
        self._line_leaf: list[bool] = []
        self._end_leaf: list[bool] = []
        self.root_full = self._new_node()  # lines or end allowed
        self.root_end = self._new_node()  # only end allowed (max_lines reached)
        end_tokens = list(encode(constraint.end)) if constraint.end else []
        for line in dict.fromkeys(constraint.lines):  # deduplicate, keep order
            if "\n" in line:
                raise InputError(f"a constraint line must not contain a newline: {line!r}")
            tokens = list(encode(line + "\n"))
            if not tokens:
                raise InputError(f"the tokenizer encodes the constraint line {line!r} to nothing")
            self._insert(self.root_full, tokens, line_leaf=True)
        for root in (self.root_full, self.root_end):
            self._insert(root, end_tokens, line_leaf=False)
        # A line leaf must be a leaf: once "line\n" is complete decoding goes back to the root.
        if any(leaf and kids for leaf, kids in zip(self._line_leaf, self._children)):
            raise InputError(f"the constraint's end {constraint.end!r} starts with one of its lines and a newline")
        self._allowed_cache: dict[int, torch.Tensor] = {}

    # -- building ---------------------------------------------------------------------------

    def _new_node(self) -> int:
        self._children.append({})
        self._line_leaf.append(False)
        self._end_leaf.append(False)
        return len(self._children) - 1

    def _insert(self, root: int, tokens: list[int], *, line_leaf: bool) -> None:
        node = root
        for tok in tokens:
            nxt = self._children[node].get(tok)
            if nxt is None:
                nxt = self._new_node()
                self._children[node][tok] = nxt
            node = nxt
        if line_leaf:
            if self._end_leaf[node]:
                raise InputError(f"the constraint's end {self.constraint.end!r} equals one of its lines")
            self._line_leaf[node] = True
        else:
            if self._line_leaf[node]:
                raise InputError(f"the constraint's end {self.constraint.end!r} equals one of its lines")
            self._end_leaf[node] = True

    # -- decoding ---------------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        return len(self._children)

    def start(self) -> GrammarState:
        """The state at the beginning of the answer (which must be at the start of a line)."""
        state = GrammarState(self.root_full if self.max_lines > 0 else self.root_end)
        return self._settle(state)

    def allowed(self, state: GrammarState) -> list[int]:
        """Token ids allowed next (EOS only where ``end`` is complete but could also continue)."""
        if state.done:
            return list(self.eos_ids)
        tokens = list(self._children[state.node])
        if self._end_leaf[state.node]:
            tokens += self.eos_ids
        return tokens

    def advance(self, state: GrammarState, token: int) -> GrammarState:
        """The state after ``token``; raises ``ValueError`` for a token the grammar forbids."""
        if state.done:
            raise ValueError("the grammar is already complete")
        if token in self.eos_ids and self._end_leaf[state.node]:
            return GrammarState(state.node, state.lines, done=True)
        nxt = self._children[state.node].get(token)
        if nxt is None:
            raise ValueError(f"token {token} is not allowed here")
        lines = state.lines
        if self._line_leaf[nxt]:
            lines += 1
            nxt = self.root_full if lines < self.max_lines else self.root_end
        return self._settle(GrammarState(nxt, lines))

    def _settle(self, state: GrammarState) -> GrammarState:
        """``end`` complete and nothing could follow: the row is finished."""
        if self._end_leaf[state.node] and not self._children[state.node]:
            return GrammarState(state.node, state.lines, done=True)
        return state

    def allowed_tensor(self, state: GrammarState) -> torch.Tensor:
        """:meth:`allowed` as a cached LongTensor (per node)."""
        import torch

        key = -1 if state.done else state.node
        cached = self._allowed_cache.get(key)
        if cached is None:
            cached = torch.tensor(self.allowed(state), dtype=torch.long)
            self._allowed_cache[key] = cached
        return cached

    def mask(self, states: Sequence[GrammarState], vocab_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """An additive logits mask of shape ``[len(states), vocab_size]``: 0 where allowed, -inf elsewhere."""
        import torch

        cols = [self.allowed_tensor(s) for s in states]
        rows = torch.repeat_interleave(torch.arange(len(states)), torch.tensor([len(c) for c in cols]))
        mask = torch.full((len(states), vocab_size), float("-inf"), device=device)
        mask[rows.to(device), torch.cat(cols).to(device)] = 0.0
        return mask


__all__ = ["GrammarState", "LineGrammar"]
