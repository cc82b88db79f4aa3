"""Values crossing the sandbox boundary: JSON with tags for what JSON lacks.

Every JSON object is a one-key tag: ``{"__tuple__": [...]}``, ``{"__set__": [...]}``,
``{"__dict__": [[key, value], ...]}``, ``{"__float__": "nan"}``, ``{"__bytes__": "ff"}``, so
no value the candidate returns can pose as another. Only exact built-in types cross (a
subclass of ``int`` with its own ``__eq__`` is refused in the child). The sandbox's harness
carries its own copy of this codec (it may import nothing from the framework).

Task data files use plain YAML/JSON values: :func:`from_data` reads them, with ``__tuple__``
and ``__set__`` tags allowed where a task needs a tuple or a set.
"""

from __future__ import annotations

import math
from typing import Any


class CodecError(ValueError):
    """A value that cannot cross the boundary, or a malformed encoded value."""


def encode(x: Any, depth: int = 0) -> Any:
    """``x`` as tagged JSON; :class:`CodecError` for types outside the codec."""
    t = type(x)
    if depth > 100:
        raise CodecError("a value nested more than 100 levels deep")
    if x is None or t in (bool, int, str):
        return x
    if t is float:
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if t is list:
        return [encode(v, depth + 1) for v in x]
    if t is tuple:
        return {"__tuple__": [encode(v, depth + 1) for v in x]}
    if t in (set, frozenset):
        return {"__set__": [encode(v, depth + 1) for v in x]}
    if t is dict:
        return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if t is bytes:
        return {"__bytes__": x.hex()}
    raise CodecError(f"a value of type {t.__name__} cannot be passed to the sandbox")


def decode(x: Any) -> Any:
    """The value encoded by :func:`encode` (or by the harness); :class:`CodecError` if malformed."""
    if isinstance(x, list):
        return [decode(v) for v in x]
    if isinstance(x, dict):
        if len(x) != 1:
            raise CodecError(f"malformed tagged value with keys {sorted(x)[:3]}")
        ((tag, body),) = x.items()
        try:
            if tag == "__tuple__":
                return tuple(decode(v) for v in body)
            if tag == "__set__":
                return {decode(v) for v in body}
            if tag == "__dict__":
                return {decode(k): decode(v) for k, v in body}
            if tag == "__float__":
                return float(body)
            if tag == "__bytes__":
                return bytes.fromhex(body)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"malformed {tag} value: {exc}") from exc
        raise CodecError(f"unknown tag {tag!r}")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise CodecError(f"unexpected JSON value of type {type(x).__name__}")


def from_data(x: Any) -> Any:
    """A value from a task file: plain dicts stay dicts; ``{"__tuple__": [...]}`` / ``{"__set__": [...]}`` are tags."""
    if isinstance(x, list):
        return [from_data(v) for v in x]
    if isinstance(x, dict):
        if len(x) == 1 and next(iter(x)) in ("__tuple__", "__set__"):
            ((tag, body),) = x.items()
            items = [from_data(v) for v in body]
            return tuple(items) if tag == "__tuple__" else set(items)
        return {k: from_data(v) for k, v in x.items()}
    return x
