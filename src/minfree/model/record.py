"""Records: dataclasses whose equality, hash and repr are shared functions, not generated code.

Python 3.11's ``@dataclass`` writes every method it adds as source text and compiles it with
``exec`` when the class is made: ``__init__``, ``__repr__``, ``__eq__`` and, frozen, ``__hash__``,
``__setattr__`` and ``__delattr__``, each about 0.1 ms of a cold start. A cold ``minfree
doctor`` makes about 50 such classes, a scan about 80; doctor's speed bar is 3x a process that
only reads the same files (~30 ms). :func:`record` is ``dataclass(slots=True)``, frozen unless
told otherwise, whose ``__eq__``, ``__hash__`` and ``__repr__`` behave as dataclass's do (the
same fields compared, hashed and shown; equal only to an instance of the same class) but are
built from :func:`operator.attrgetter` over the class's fields: nothing is compiled.
``dataclasses.fields``, ``replace`` and ``asdict`` work as on any dataclass.

>>> from dataclasses import field, replace
>>> @record
... class Zone:
...     node: int
...     name: str
...     free: tuple[int, ...] = field(default=(), compare=False, repr=False)
>>> Zone(0, "Normal", (1, 2)) == Zone(0, "Normal"), Zone(0, "Normal") == Zone(1, "Normal")
(True, False)
>>> {Zone(0, "DMA"), Zone(0, "DMA")}, Zone(0, "DMA") == (0, "DMA")
({Zone(node=0, name='DMA')}, False)
>>> replace(Zone(0, "DMA"), node=1)
Zone(node=1, name='DMA')
>>> @record(frozen=False)
... class Counter:
...     seen: int = 0
>>> c = Counter(); c.seen += 1; c, c.__hash__ is None
(Counter(seen=1), True)
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter


def record(cls=None, /, *, frozen: bool = True):
    """``@dataclass(frozen=frozen, slots=True)`` with shared ``__eq__``, ``__hash__`` (frozen
    only: a mutable record is unhashable, as a dataclass is) and ``__repr__``. A field left out of
    comparison (``compare=False``) is left out of the hash too, as dataclass does."""
    def wrap(cls):
        made = dataclass(cls, frozen=frozen, slots=True, eq=False, repr=False)
        fields = made.__dataclass_fields__.values()
        made._compared = staticmethod(_values([f.name for f in fields if f.compare]))
        made._shown = tuple(f.name for f in fields if f.repr)
        made.__eq__ = _eq
        made.__hash__ = _hash if frozen else None
        made.__repr__ = _repr
        return made

    return wrap if cls is None else wrap(cls)


def _values(names: list[str]):
    if not names:
        return lambda _: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda item: (one(item),)
    return attrgetter(*names)


def _eq(self, other) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self._compared(self) == self._compared(other)


def _hash(self) -> int:
    return hash(self._compared(self))


def _repr(self) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
    return f"{self.__class__.__qualname__}({shown})"
