"""A record behaves as the dataclass it stands for: equality, hash, repr, replace, pickling,
frozenness; and minfree's own classes use it (a plain slots dataclass costs start-up time)."""
from __future__ import annotations

import dataclasses
import importlib
import pickle
import pkgutil
from dataclasses import dataclass, field

import pytest

import minfree
from minfree.model.record import record


@record
class Frozen:
    node: int
    zone: str
    counts: tuple[int, ...] = ()
    note: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class FrozenDataclass:
    node: int
    zone: str
    counts: tuple[int, ...] = ()
    note: str = field(default="", compare=False)


@record(frozen=False)
class Mutable:
    seen: int = 0
    names: list[str] = field(default_factory=list, repr=False)


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
    assert dataclasses.replace(item, node=1) == Frozen(1, "Normal", (1, 2))
    assert dataclasses.asdict(item) == {"node": 0, "zone": "Normal", "counts": (1, 2), "note": "n"}
    assert pickle.loads(pickle.dumps(item)) == item
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.node = 3
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




def test_minfree_uses_records() -> None:
    """Every slots dataclass of minfree is a record (its eq and repr the shared ones), so a new one
    costs no start-up time for generated methods; KernelVersion keeps dataclass's ordering."""
    plain = []
    for module in pkgutil.walk_packages(minfree.__path__, "minfree."):
        if module.name == "minfree.__main__":
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if (isinstance(value, type) and value.__module__ == module.name and dataclasses.is_dataclass(value)
                    and hasattr(value, "__slots__") and value.__repr__ is not Frozen.__repr__
                    and not value.__dataclass_params__.order):
                plain.append(f"{module.name}.{value.__qualname__}")
    assert plain == []
