"""A record behaves as the slots dataclass it stands for: construction, defaults, equality, hash,
order, repr, replace, asdict, pickling, frozenness; and minfree uses no dataclasses (importing
the module and making a class with it cost start-up time)."""
from __future__ import annotations

import dataclasses
import importlib
import pickle
import pkgutil
from typing import NamedTuple
from dataclasses import dataclass, field

import pytest

import minfree
from minfree.model.record import FrozenInstanceError, asdict, field_values, record, replace
from minfree.model.record import field as record_field


@record
class Frozen:
    node: int
    zone: str
    counts: tuple[int, ...] = ()
    note: str = record_field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class FrozenDataclass:
    node: int
    zone: str
    counts: tuple[int, ...] = ()
    note: str = field(default="", compare=False)


@record(frozen=False)
class Mutable:
    seen: int = 0
    names: list[str] = record_field(default_factory=list, repr=False)


@dataclass(slots=True)
class MutableDataclass:
    seen: int = 0
    names: list[str] = field(default_factory=list, repr=False)


@record
class Empty:
    pass


@record
class One:
    value: int


VALUES = [(0, "DMA", ()), (0, "DMA", (1,)), (1, "Normal", (3, 2)), (0, "DMA", ())]


@pytest.mark.parametrize("a", VALUES)
@pytest.mark.parametrize("b", VALUES)
def test_equality_and_hash_as_dataclass(a, b) -> None:
    assert (Frozen(*a) == Frozen(*b)) == (FrozenDataclass(*a) == FrozenDataclass(*b))
    assert (Frozen(*a, note="x") == Frozen(*b)) == (FrozenDataclass(*a, note="x") == FrozenDataclass(*b))
    if Frozen(*a) == Frozen(*b):
        assert hash(Frozen(*a)) == hash(Frozen(*b, note="other"))
    assert Frozen(*a) != FrozenDataclass(*a) and Frozen(*a) != a   # only the same class is equal


def test_repr_replace_pickle_frozen_as_dataclass() -> None:
    item = Frozen(0, "Normal", (1, 2), note="n")
    assert repr(item) == repr(FrozenDataclass(0, "Normal", (1, 2), note="n")).replace("FrozenDataclass", "Frozen")
    assert replace(item, node=1) == Frozen(1, "Normal", (1, 2)) and replace(item, node=1).note == "n"
    assert asdict(item) == dataclasses.asdict(FrozenDataclass(0, "Normal", (1, 2), note="n"))
    assert pickle.loads(pickle.dumps(item)) == item and pickle.loads(pickle.dumps(item)).note == "n"
    with pytest.raises(FrozenInstanceError):
        item.node = 3
    with pytest.raises(AttributeError):   # an AttributeError, as dataclass's
        del item.zone
    assert not hasattr(item, "__dict__")   # slots
    assert repr(Empty()) == "Empty()" and Empty() == Empty() and hash(Empty()) == hash(Empty())
    assert One(1) == One(1) != One(2) and hash(One(1)) == hash(One(1)) and repr(One(1)) == "One(value=1)"


def test_mutable_record_as_dataclass() -> None:
    item, plain = Mutable(), MutableDataclass()
    item.seen += 1
    plain.seen += 1
    assert repr(item) == repr(plain).replace("MutableDataclass", "Mutable") == "Mutable(seen=1)"
    assert item == Mutable(1) and item != Mutable(1, ["a"])
    with pytest.raises(TypeError):
        hash(item)   # unhashable, as a mutable dataclass with eq




@record(order=True)
class Version:
    major: int
    minor: int
    release: str = record_field(default="", compare=False)


@dataclass(frozen=True, slots=True, order=True)
class VersionDataclass:
    major: int
    minor: int
    release: str = field(default="", compare=False)


@pytest.mark.parametrize("a", [(2, 6), (3, 10), (3, 9), (2, 6)])
@pytest.mark.parametrize("b", [(2, 6), (3, 10), (6, 1)])
def test_order_as_dataclass(a, b) -> None:
    for compare in ("__lt__", "__le__", "__gt__", "__ge__"):
        assert getattr(Version(*a, "x"), compare)(Version(*b)) == getattr(VersionDataclass(*a, "x"), compare)(
            VersionDataclass(*b))
    assert sorted([Version(*b), Version(*a)]) == sorted([Version(*a), Version(*b)])


def test_defaults_factories_and_errors_as_dataclass() -> None:
    first, second = Mutable(), Mutable()
    first.names.append("a")
    assert second.names == [] and Mutable(names=["b"]).names == ["b"]   # a new list per instance
    assert pickle.loads(pickle.dumps(first)) == first and pickle.loads(pickle.dumps(first)).names == ["a"]
    assert Frozen(zone="DMA", node=0) == Frozen(0, "DMA")   # keywords, as dataclass's __init__
    with pytest.raises(TypeError):
        Frozen(0)                                         # a field without a default is required
    with pytest.raises(TypeError):
        replace(Frozen(0, "DMA"), color="red")            # no such field
    with pytest.raises(ValueError):
        record_field(default=0, default_factory=list)


class Point(NamedTuple):
    x: int
    inner: Inner


@record
class Inner:
    """A record held by another."""

    size: int


@record
class Outer:
    """Records inside lists, tuples and dicts."""

    inner: Inner
    many: list[Inner] = record_field(default_factory=list)
    by_name: dict[str, Inner] = record_field(default_factory=dict)
    pair: tuple[Inner, ...] = ()
    named: Point | None = None


@record
class Derived(Inner):
    """A record extending a record: the base's fields first."""

    name: str = ""


def test_nested_asdict_and_inheritance() -> None:
    outer = Outer(Inner(1), [Inner(2)], {"a": Inner(3)}, (Inner(4),), Point(5, Inner(6)))
    assert asdict(outer) == {"inner": {"size": 1}, "many": [{"size": 2}], "by_name": {"a": {"size": 3}},
                             "pair": ({"size": 4},), "named": Point(5, {"size": 6})}
    derived = Derived(5, "x")
    assert (derived.size, derived.name, repr(derived)) == (5, "x", "Derived(size=5, name='x')")
    assert derived != Inner(5) and not hasattr(derived, "__dict__")


def test_field_values_are_a_tuple_in_field_order() -> None:
    """One field or several, inherited ones first; fields left out of comparison too."""
    assert field_values(Inner)(Inner(1)) == (1,)
    assert field_values(Derived)(Derived(5, "x")) == (5, "x")
    assert field_values(Frozen)(Frozen(1, "Normal", (2,), "n")) == (1, "Normal", (2,), "n")


def test_init_is_compiled_when_first_called() -> None:
    """A record's ``__init__`` is compiled at its first instance, then is the class's own; a
    plain subclass made first compiles its record base's, once, in the base's place."""
    @record
    class Base:
        size: int
        name: str = "b"

    class Plain(Base):
        __slots__ = ()

    stub = Base.__dict__["__init__"]
    assert Plain(1) == Plain(1, "b") and Plain(1).name == "b"
    compiled = Base.__dict__["__init__"]
    assert compiled is not stub and "__init__" not in Plain.__dict__
    assert compiled.__qualname__ == stub.__qualname__ == f"{Base.__qualname__}.__init__"
    assert Base(2).size == 2 and Base.__dict__["__init__"] is compiled
    with pytest.raises(TypeError):
        Base()                                             # the stub's first call checks like the real one

    @record
    class Child(Base):
        note: str = ""

    child_stub = Child.__dict__["__init__"]
    assert Child(3, "c", "n").note == "n" and Child.__dict__["__init__"] is not child_stub
    assert Base.__dict__["__init__"] is compiled


def test_minfree_uses_no_dataclasses() -> None:
    """Every data class of minfree is a record, and no module of it imports ``dataclasses``."""
    plain, importers = [], []
    for module in pkgutil.walk_packages(minfree.__path__, "minfree."):
        if module.name == "minfree.__main__":
            continue
        loaded = importlib.import_module(module.name)
        if any(value is dataclasses or getattr(value, "__module__", None) == "dataclasses"
               for value in vars(loaded).values()):
            importers.append(module.name)
        for value in vars(loaded).values():
            if isinstance(value, type) and value.__module__ == module.name and dataclasses.is_dataclass(value):
                plain.append(f"{module.name}.{value.__qualname__}")
    assert plain == [] and importers == []
