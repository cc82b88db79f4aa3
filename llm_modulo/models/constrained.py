"""Constrained decoding for a :class:`~llm_modulo.protocols.LineConstraint` as a token trie.

The grammar is ``(line "\\n"){0..max_lines} end EOS``. Each ``line + "\\n"`` and ``end`` is
encoded alone (no special tokens) and inserted into a trie; decoding starts at the beginning of
a line, walks the trie one token at a time, and goes back to the root after each line. After
``max_lines`` lines only ``end`` is allowed; the first line may exclude the choices in
``exclude_first`` (a separate root of the trie). A row is finished as soon as ``end`` is complete
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
    allowed: int | None = None  # bitmask of line ids allowed in the current line (dynamic grammars)
    history: tuple[int, ...] = ()  # line ids chosen so far (dynamic grammars)


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
        # The first line may exclude some choices (what the critics already rejected here).
        self.root_first = self.root_full
        if constraint.exclude_first:
            first_lines, end_ok = constraint.first_choices()
            self.root_first = self._new_node()
            for line in dict.fromkeys(first_lines):
                self._insert(self.root_first, list(encode(line + "\n")), line_leaf=True)
            if end_ok:
                self._insert(self.root_first, end_tokens, line_leaf=False)
        # A line leaf must be a leaf: once "line\n" is complete decoding goes back to the root.
        if any(leaf and kids for leaf, kids in zip(self._line_leaf, self._children, strict=False)):
            raise InputError(f"the constraint's end {constraint.end!r} starts with one of its lines and a newline")
        self._allowed_cache: dict[object, torch.Tensor] = {}
        # Dynamic grammars (``next_lines`` or ``exclude_after``): line ids, and which ids lie below each node.
        self._line_ids = {line: i for i, line in enumerate(dict.fromkeys(constraint.lines))}
        self._end_id = len(self._line_ids)
        self._next_cache: dict[tuple[int, ...], int] = {}
        if constraint.dynamic:
            encoded = {i: list(encode(line + "\n")) for line, i in self._line_ids.items()}
            self._below = [0] * self.num_nodes
            for root in {self.root_full, self.root_first}:
                for i, tokens in encoded.items():
                    self._mark(root, tokens, 1 << i)
            for root in {self.root_full, self.root_end, self.root_first}:
                self._mark(root, end_tokens, 1 << self._end_id)

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

    def _mark(self, root: int, tokens: list[int], bit: int) -> None:
        """Record ``bit`` on the path of ``tokens`` below ``root``, if the whole path is there."""
        path = [root]
        for tok in tokens:
            child = self._children[path[-1]].get(tok)
            if child is None:
                return  # not under this root (e.g. excluded from the first line)
            path.append(child)
        for node in path:
            self._below[node] |= bit

    def _dynamic_allowed(self, history: tuple[int, ...]) -> int:
        """Bitmask of the line ids (and end) the constraint allows after ``history``."""
        cached = self._next_cache.get(history)
        if cached is None:
            allowed, end_ok = self.constraint.choices(tuple(self.constraint.lines[i] for i in history))
            cached = 0
            for line in allowed:
                i = self._line_ids.get(line)
                if i is not None:
                    cached |= 1 << i
            if end_ok or not cached:  # a dead end (no line this grammar knows) may always stop
                cached |= 1 << self._end_id
            if len(self._next_cache) < 100_000:
                self._next_cache[history] = cached
        return cached

    # -- decoding ---------------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        return len(self._children)

    def start(self) -> GrammarState:
        """The state at the beginning of the answer (which must be at the start of a line)."""
        state = GrammarState(self.root_first if self.max_lines > 0 else self.root_end)
        if self.constraint.dynamic and self.max_lines > 0:
            # the dynamic mask applies the first-line exclusions itself (and may fall back to
            # ``end`` where nothing else is left), so it starts from the full root
            state = GrammarState(self.root_full, allowed=self._dynamic_allowed(()))
        return self._settle(state)

    def allowed(self, state: GrammarState) -> list[int]:
        """Token ids allowed next (EOS only where ``end`` is complete but could also continue)."""
        if state.done:
            return list(self.eos_ids)
        if state.allowed is not None:
            tokens = [t for t, child in self._children[state.node].items() if self._below[child] & state.allowed]
        else:
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
        if nxt is None or (state.allowed is not None and not self._below[nxt] & state.allowed):
            raise ValueError(f"token {token} is not allowed here")
        lines, allowed, history = state.lines, state.allowed, state.history
        if self._line_leaf[nxt]:
            lines += 1
            if allowed is not None:
                history = (*history, (self._below[nxt] & -self._below[nxt]).bit_length() - 1)
                allowed = self._dynamic_allowed(history)
            nxt = self.root_full if lines < self.max_lines else self.root_end
            if nxt == self.root_end and allowed is not None:
                allowed |= 1 << self._end_id  # out of lines: ending is always possible
        return self._settle(GrammarState(nxt, lines, allowed=allowed, history=history))

    def _settle(self, state: GrammarState) -> GrammarState:
        """``end`` complete and nothing could follow: the row is finished."""
        if self._end_leaf[state.node] and not self._children[state.node]:
            return GrammarState(state.node, state.lines, done=True)
        return state

    def allowed_tensor(self, state: GrammarState) -> torch.Tensor:
        """:meth:`allowed` as a cached LongTensor (per node)."""
        import torch

        key: object = -1 if state.done else (state.node if state.allowed is None else (state.node, state.allowed))
        cached = self._allowed_cache.get(key)
        if cached is None:
            cached = torch.tensor(self.allowed(state), dtype=torch.long)
            if len(self._allowed_cache) < 50_000:
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
