"""Records: minfree's data classes, made without the ``dataclasses`` module.

A record is what ``@dataclass(slots=True, frozen=True)`` makes (``frozen=False``: mutable,
``order=True``: ordered), at a fraction of the start-up cost. Python 3.11's ``dataclasses``
imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``: ~10 ms), then for every class
checks each annotation for ``ClassVar``/``InitVar`` with regular expressions, writes ``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and
compiles each with ``exec``: ~0.45 ms a class. A cold ``minfree doctor`` makes ~50 classes, a
scan ~80, and doctor's speed bar is 3x a process that only reads the same files (~40 ms).
Here only ``__init__`` is compiled (one ``exec``, the same code dataclass writes, so making an
instance costs the same); equality, hash, order and repr are shared functions over an
:func:`operator.attrgetter` of the fields, and a frozen record's ``__setattr__`` is one shared
function that refuses.

What minfree uses of dataclasses is here: :func:`field` (``default``, ``default_factory``,
``compare``, ``repr``), :func:`replace`, :func:`asdict`, :func:`field_names`, and
:class:`FrozenInstanceError` (an ``AttributeError``, as dataclass's is). Equal records are of
the same class with equal compared fields; a field left out of comparison is left out of the
hash too; a mutable record is unhashable, as a dataclass is.

>>> @record
... class Zone:
...     node: int
...     name: str
...     free: tuple[int, ...] = field(default=(), compare=False, repr=False)
>>> Zone(0, "Normal", (1, 2)) == Zone(0, "Normal"), Zone(0, "Normal") == Zone(1, "Normal")
(True, False)
>>> {Zone(0, "DMA"), Zone(0, "DMA")}, Zone(0, "DMA") == (0, "DMA")
({Zone(node=0, name='DMA')}, False)
>>> replace(Zone(0, "DMA"), node=1), asdict(Zone(0, "DMA", (4,)))
(Zone(node=1, name='DMA'), {'node': 0, 'name': 'DMA', 'free': (4,)})
>>> Zone(0, "DMA").node = 2
Traceback (most recent call last):
minfree.model.record.FrozenInstanceError: cannot assign to field 'node'
>>> @record(frozen=False)
... class Counter:
...     seen: int = 0
...     names: list[str] = field(default_factory=list)
>>> c = Counter(); c.seen += 1; c, c.__hash__ is None, Counter().names is not c.names
(Counter(seen=1, names=[]), True, True)
"""
from __future__ import annotations

import operator
from operator import attrgetter

_MISSING = object()   # no default given (None is a default)


class FrozenInstanceError(AttributeError):
    """An assignment to, or deletion of, a field of a frozen record."""


class _Field:
    """What :func:`field` returns: the options of one field, read when the class is made."""

    __slots__ = ("default", "default_factory", "compare", "repr")

    def __init__(self, default, default_factory, compare: bool, repr: bool) -> None:   # noqa: A002
        self.default, self.default_factory, self.compare, self.repr = default, default_factory, compare, repr


def field(*, default=_MISSING, default_factory=_MISSING, compare: bool = True, repr: bool = True):   # noqa: A002
    """A field's default (or a factory called for each instance), and whether it is compared
    (and hashed) and shown in the repr, as ``dataclasses.field``."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, compare, repr)


def record(cls=None, /, *, frozen: bool = True, order: bool = False):
    """Make ``cls`` a record: slots for its annotated fields (those of record bases first), an
    ``__init__`` taking them in order, and the shared methods above."""
    def wrap(cls):
        return _make(cls, frozen, order)

    return wrap if cls is None else wrap(cls)


def field_names(kind) -> tuple[str, ...]:
    """The fields of a record class (or instance), in order."""
    return kind._fields


def field_values(kind):
    """A function giving a record's field values as a tuple, in order, made once per class (an
    ``attrgetter`` from two fields on: as a key it costs no Python ``__hash__`` or ``__eq__``;
    equal tuples are equal records where every field is compared)."""
    return kind._values


def replace(item, /, **changes):
    """A copy of ``item`` with ``changes`` (as ``dataclasses.replace``)."""
    for name in item._fields:
        if name not in changes:
            changes[name] = getattr(item, name)
    return item.__class__(**changes)


def asdict(item) -> dict:
    """``item``'s fields as a dict, records inside it (in lists, tuples and dicts too) as dicts
    (as ``dataclasses.asdict``, without deep copies of other values)."""
    return {name: _plain(getattr(item, name)) for name in item._fields}


def _plain(value):
    if hasattr(value.__class__, "_fields") and hasattr(value.__class__, "_compared"):
        return asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):   # a named tuple takes its items one by one
        return value.__class__(*(_plain(v) for v in value))
    if isinstance(value, (list, tuple)):
        return value.__class__(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _make(cls, frozen: bool, order: bool):
    inherited: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited.update(base.__dict__.get("_options", {}))
    own: dict[str, _Field] = {}
    namespace = dict(cls.__dict__)
    for name, annotation in namespace.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = namespace.pop(name, _MISSING)
        own[name] = value if isinstance(value, _Field) else _Field(value, _MISSING, True, True)
    options = {**inherited, **own}
    names = tuple(options)
    for stale in ("__dict__", "__weakref__"):
        namespace.pop(stale, None)
    namespace.update(
        __slots__=tuple(name for name in own if name not in inherited),
        __match_args__=names,
        __init__=_first_init(options, frozen),
        _options=options,
        _fields=names,
        _values=staticmethod(_getter(list(names))),
        _compared=staticmethod(_getter([n for n, o in options.items() if o.compare])),
        _shown=tuple(n for n, o in options.items() if o.repr),
        __eq__=_eq,
        __hash__=_hash if frozen else None,
        __repr__=_repr,
    )
    if frozen:
        namespace.update(__setattr__=_refuse_set, __delattr__=_refuse_delete,
                         __getstate__=_getstate, __setstate__=_setstate)
    if order:
        namespace.update(__lt__=_lt, __le__=_le, __gt__=_gt, __ge__=_ge)
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__init__.__qualname__ = f"{made.__qualname__}.__init__"
    return made


def _first_init(options: dict[str, _Field], frozen: bool):
    """An ``__init__`` that, on its first call, compiles the real one (:func:`_init`) and puts
    it in its own place on the class: compiling costs ~0.15 ms a class, and most records a
    module defines are never made by a given command (a scan makes ~20 of the ~65 it imports,
    and it imports them before the scan can start)."""
    def __init__(self, *args, **kwargs):
        owner = next(kind for kind in type(self).__mro__ if kind.__dict__.get("__init__") is __init__)
        made = owner.__init__ = _init(owner.__qualname__, options, frozen)
        made(self, *args, **kwargs)

    return __init__


def _init(qualname: str, options: dict[str, _Field], frozen: bool):
    """``__init__`` as dataclass writes it: a parameter per field, defaults bound by name, a
    factory called when its parameter was not given. Its own names start with two underscores,
    which no field's name can (a class body mangles ``__x`` to ``_Class__x``)."""
    scope: dict[str, object] = {"__missing": _MISSING, "__set": object.__setattr__}
    parameters, body = [], []
    for name, option in options.items():
        value = name
        if option.default_factory is not _MISSING:
            scope[f"__factory_{name}"] = option.default_factory
            parameters.append(f"{name}=__missing")
            value = f"__factory_{name}() if {name} is __missing else {name}"
        elif option.default is not _MISSING:
            scope[f"__default_{name}"] = option.default
            parameters.append(f"{name}=__default_{name}")
        else:
            parameters.append(name)
        body.append(f"__set(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    source = f"def __init__(self, {', '.join(parameters)}):\n    " + ("\n    ".join(body) or "pass")
    exec(compile(source, f"<record {qualname}>", "exec"), scope)   # noqa: S102 - our own field names
    made = scope["__init__"]
    made.__qualname__ = f"{qualname}.__init__"
    return made


def _getter(names: list[str]):
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


def _refuse_set(self, name: str, value) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self) -> tuple:
    return tuple(getattr(self, name) for name in self._fields)


def _setstate(self, state: tuple) -> None:
    for name, value in zip(self._fields, state):
        object.__setattr__(self, name, value)


def _ordering(compare):
    """An ordering method: ``compare`` of the compared fields, for records of the same class."""
    def method(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(self._compared(self), self._compared(other))

    return method


_lt, _le, _gt, _ge = (_ordering(compare) for compare in (operator.lt, operator.le, operator.gt, operator.ge))
