"""Package attributes that load their module on first access (PEP 562): a package's ``__init__`` stays a
table of contents that imports nothing heavy."""

from __future__ import annotations

import importlib
from typing import Any


def load_lazy(package: str, table: dict[str, str], namespace: dict[str, Any], name: str) -> Any:
    """The attribute ``name`` of ``package``: imported from ``table[name]`` (a module name, relative to
    ``package`` if it starts with a dot) and kept in ``namespace``, so it is looked up only once."""
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, package), name)
    namespace[name] = value
    return value
