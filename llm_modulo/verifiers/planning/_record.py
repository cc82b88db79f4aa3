"""Plain-data base classes for the planning core: what ``@dataclass`` gave it, without dataclasses.

Importing :mod:`dataclasses` (and :mod:`inspect` with it) and generating each class's methods cost a
fifth of a ``validate --plans`` process over hundreds of plans, which starts anew each time. A
subclass lists its fields in ``_fields`` (the ``__init__`` order) and writes its ``__init__``; these
bases give the rest as dataclasses did: ``==`` between instances of the same class, field by field;
a ``repr`` naming the fields; pickling and copying through the constructor; and for :class:`Frozen`,
a hash and no assignment after ``__init__`` (which sets fields with ``object.__setattr__``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """A mutable record: compared by value, unhashable (as a dataclass with ``eq=True``)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented  # and as __eq__ is defined here without __hash__, Python makes it unhashable

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return (type(self), self._values())


class Frozen(Record):
    """An immutable record: hashable by its fields; assigning a field raises ``AttributeError``."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


__all__ = ["Frozen", "Record"]
