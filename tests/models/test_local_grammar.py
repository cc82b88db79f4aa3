"""The LineConstraint token trie, with a toy tokenizer (pure Python, no torch needed)."""

from __future__ import annotations

import random

import pytest

from llm_modulo.errors import InputError
from llm_modulo.models.constrained import LineGrammar
from llm_modulo.protocols import LineConstraint

EOS = 0


def chars(text: str) -> list[int]:
    """One token per character (ids from 1; EOS is 0)."""
    return [ord(c) for c in text]


def pairs(text: str) -> list[int]:
    """Two characters per token, so that lines share multi-character token prefixes."""
    return [hash(text[i : i + 2]) % 10_000 + 1 for i in range(0, len(text), 2)]


def walk(grammar: LineGrammar, text: str, encode=chars):  # type: ignore[no-untyped-def]
    state = grammar.start()
    for tok in encode(text):
        state = grammar.advance(state, tok)
    return state


def test_lines_then_end() -> None:
    g = LineGrammar(LineConstraint(("ab", "ac", "b"), "E", max_lines=3), chars, [EOS])
    state = g.start()
    assert sorted(g.allowed(state)) == sorted({ord("a"), ord("b"), ord("E")})
    state = g.advance(state, ord("a"))
    assert sorted(g.allowed(state)) == [ord("b"), ord("c")]
    state = walk(g, "ab\nb\nE")
    assert state.done and state.lines == 2
    assert g.allowed(state) == [EOS]
    with pytest.raises(ValueError):
        g.advance(g.start(), ord("z"))


def test_max_lines_forces_end() -> None:
    g = LineGrammar(LineConstraint(("x",), "E", max_lines=2), chars, [EOS])
    state = walk(g, "x\nx\n")
    assert state.lines == 2 and g.allowed(state) == [ord("E")]
    zero = LineGrammar(LineConstraint(("x",), "E", max_lines=0), chars, [EOS])
    assert zero.allowed(zero.start()) == [ord("E")]


def test_end_that_is_a_token_prefix_of_a_line_allows_eos() -> None:
    g = LineGrammar(LineConstraint(("ENDX",), "END", max_lines=4), chars, [EOS])
    state = walk(g, "END")
    assert not state.done
    assert sorted(g.allowed(state)) == [EOS, ord("X")]
    assert g.advance(state, EOS).done
    state = g.advance(state, ord("X"))
    assert g.allowed(state) == [ord("\n")]


def test_empty_end_means_eos() -> None:
    g = LineGrammar(LineConstraint(("x",), "", max_lines=2), chars, [EOS])
    assert sorted(g.allowed(g.start())) == [EOS, ord("x")]
    assert LineGrammar(LineConstraint(("x",), "", max_lines=0), chars, [EOS]).start().done


def test_random_walks_spell_grammar_strings() -> None:
    lines = tuple(f"({op} {x})" for op in ("pick-up", "put-down", "pick") for x in "abcdef")
    g = LineGrammar(LineConstraint(lines, "[PLAN END]", max_lines=5), chars, [EOS])
    rng = random.Random(0)
    for _ in range(200):
        state, out = g.start(), []
        while not state.done:
            tok = rng.choice(g.allowed(state))
            out.append(tok)
            state = g.advance(state, tok)
        text = "".join(chr(t) for t in out if t != EOS)
        *body, last = text.split("\n")
        assert last == "[PLAN END]" and len(body) <= 5 and all(line in lines for line in body)


def test_duplicates_and_multi_char_tokens() -> None:
    g = LineGrammar(LineConstraint(("abcd", "abcd", "abxy"), "EN", max_lines=3), pairs, [EOS])
    assert len(g.allowed(g.start())) == 2  # "ab" and "EN"
    state = g.start()
    for tok in pairs("abxy\n") + pairs("EN"):  # each line is tokenised alone
        state = g.advance(state, tok)
    assert state.done and state.lines == 1


def test_mask_shape_and_values() -> None:
    torch = pytest.importorskip("torch")
    g = LineGrammar(LineConstraint(("ab",), "E", max_lines=1), chars, [EOS])
    states = [g.start(), walk(g, "ab\n")]
    mask = g.mask(states, 128)
    assert mask.shape == (2, 128)
    assert torch.isfinite(mask[0]).nonzero().flatten().tolist() == sorted([ord("a"), ord("E")])
    assert torch.isfinite(mask[1]).nonzero().flatten().tolist() == [ord("E")]


@pytest.mark.parametrize(
    ("lines", "end", "match"),
    [
        (("a\nb",), "E", "newline"),
        (("a",), "a\n", "equals one of its lines"),
        (("a",), "a\nE", "starts with one of its lines"),
    ],
)
def test_invalid_grammars(lines: tuple[str, ...], end: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        LineGrammar(LineConstraint(lines, end), chars, [EOS])


def test_needs_an_eos_token() -> None:
    with pytest.raises(InputError, match="end-of-sequence"):
        LineGrammar(LineConstraint(("a",), "E"), chars, [])


def _random_text(grammar: LineGrammar, rng: random.Random) -> str:
    state, out = grammar.start(), []
    while not state.done:
        allowed = grammar.allowed(state)
        assert allowed, f"no token allowed in {state}"
        tok = rng.choice(allowed)
        if tok == EOS:
            break
        out.append(chr(tok))
        state = grammar.advance(state, tok)
    return "".join(out)


def test_first_line_exclusions() -> None:
    g = LineGrammar(
        LineConstraint(("ab", "ac", "b"), "E", max_lines=3, exclude_first=frozenset({"ab", "E"})), chars, [EOS]
    )
    rng = random.Random(0)
    firsts = {_random_text(g, rng).split("\n")[0] for _ in range(200)}
    assert firsts == {"ac", "b"}


def test_dynamic_grammar_follows_next_lines() -> None:
    """A counter machine: after k lines only line "k" (or the end once k == 2) may follow."""

    def next_lines(done: tuple[str, ...]) -> tuple[list[str], bool]:
        return ([str(len(done))] if len(done) < 3 else []), len(done) >= 2

    lines = ("0", "1", "2", "3")
    for exclude in (frozenset(), frozenset({"0"}), frozenset({"0", "E"})):
        g = LineGrammar(
            LineConstraint(lines, "E", max_lines=5, exclude_first=exclude, next_lines=next_lines), chars, [EOS]
        )
        rng = random.Random(1)
        for _ in range(100):
            text = _random_text(g, rng)
            body = text.split("\n")[:-1]
            if exclude:  # the only allowed first line is excluded: a dead end may always stop
                assert body == []
            else:
                assert body in (["0", "1"], ["0", "1", "2"])
            assert text.endswith("E")


def test_dynamic_grammar_always_can_end_when_out_of_lines() -> None:
    g = LineGrammar(
        LineConstraint(("a", "b"), "E", max_lines=2, next_lines=lambda done: (["a", "b"], False)), chars, [EOS]
    )
    rng = random.Random(2)
    for _ in range(50):
        assert _random_text(g, rng).count("\n") == 2


@pytest.mark.parametrize("dynamic", [False, True])
def test_exclusions_after_an_exact_sequence_of_lines(dynamic: bool) -> None:
    """``exclude_after`` rules a line (or the end) out right after one exact sequence of lines, in a
    static grammar (which it makes dynamic) and in a dynamic one alike, and nowhere else."""
    banned = frozenset({(("ab",), "b"), (("ab", "b"), "E"), (("b",), "ab"), (("b",), "ac"), (("b",), "b")})
    constraint = LineConstraint(("ab", "ac", "b"), "E", max_lines=3, exclude_after=banned)
    if dynamic:
        constraint = LineConstraint(constraint.lines, "E", max_lines=3, exclude_after=banned,
                                    next_lines=lambda done: (["ab", "ac", "b"], True))  # fmt: skip
    assert constraint.dynamic
    assert constraint.choices(("ab",)) == (["ab", "ac"], True)
    assert constraint.choices(("b",)) == ([], True)  # nothing left: a dead end may always stop
    assert constraint.choices(("ac",)) == (["ab", "ac", "b"], True)
    g = LineGrammar(constraint, chars, [EOS])
    rng = random.Random(3)
    seen = set()
    for _ in range(400):
        body = tuple(_random_text(g, rng).split("\n")[:-1])
        seen.add(body)
        for i, line in enumerate(body):
            assert (body[:i], line) not in banned, body
        assert (body, "E") not in banned or len(body) == 3, body
    assert ("ab", "ac") in seen and ("b",) in seen and ("ac", "b", "ab") in seen
