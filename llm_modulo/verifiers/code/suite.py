"""Tests as data: calls of one entry function with the value each must return (or the exception it must raise).

Comparison happens in the framework's process, on values decoded from the sandbox, so the
candidate never sees an expected value and cannot supply its own ``__eq__``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_modulo.verifiers.code.sandbox import Call

COMPARE_MODES = ("exact", "approx", "unordered")
REL_TOL = ABS_TOL = 1e-9


@dataclass(frozen=True)
class CodeCase:
    """``entry(*args, **kwargs)`` must return ``expected`` (under ``compare``) or raise ``raises``."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expected: Any = None
    raises: str | None = None  # name of a built-in exception type
    compare: str = "exact"  # exact | approx (floats) | unordered (a list in any order)

    def __post_init__(self) -> None:
        if self.compare not in COMPARE_MODES:
            raise ValueError(f"unknown compare mode {self.compare!r}; known: {', '.join(COMPARE_MODES)}")

    def call(self) -> Call:
        return Call(tuple(self.args), dict(self.kwargs))

    def render(self, entry: str, limit: int = 120) -> str:
        """The call as Python source, e.g. ``f([1, 2], key=3)``, shortened past ``limit``."""
        parts = [short_repr(a, limit) for a in self.args]
        parts += [f"{k}={short_repr(v, limit)}" for k, v in self.kwargs.items()]
        return f"{entry}({', '.join(parts)})"


@dataclass(frozen=True)
class CodeSuite:
    """The tests of one task: the entry function's name and its cases."""

    entry: str
    cases: tuple[CodeCase, ...]


def short_repr(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same(a: Any, b: Any) -> bool:
    """Equality with exact types (``True`` is not ``1``, ``1.0`` is not ``1``); NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def close(a: Any, b: Any) -> bool:
    """Like :func:`same`, but numbers (not bools) compare with a relative and absolute tolerance."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) or (a != a and b != b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return same(a, b)


def matches(got: Any, expected: Any, compare: str = "exact") -> bool:
    """Whether a returned value passes against ``expected`` under ``compare``."""
    if compare == "approx":
        return close(got, expected)
    if compare == "unordered":
        if type(got) is not list or type(expected) is not list or len(got) != len(expected):
            return False
        left = list(got)
        for item in expected:
            hit = next((i for i, x in enumerate(left) if same(x, item)), None)
            if hit is None:
                return False
            left.pop(hit)
        return True
    return same(got, expected)
