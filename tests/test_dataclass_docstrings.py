"""Every dataclass has a docstring of its own. Without one, ``dataclasses`` (3.11, dataclasses.py
``_process_class``) makes one from ``inspect.signature(cls)`` at import, ~0.15-0.2 ms a class: a
start-up cost every command pays (doctor's speed bar, bench/bench_doctor.py), for a docstring
that only repeats the fields."""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import minfree

#: Dataclasses still without a docstring, in files other work owns: to be emptied, never grown.
KNOWN = {
    "minfree.analysis.origin._Rule",
    "minfree.analysis.verdict.Verdict",
    "minfree.logs.events._Fragment",
    "minfree.logs.memdump._Record",
    "minfree.sources.logfiles._Sniff",
}


def _classes(owner: object, module: str):
    for value in vars(owner).values():
        if isinstance(value, type) and value.__module__ == module and value is not owner:
            yield value
            yield from _classes(value, module)


def _dataclasses() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(minfree.__path__, "minfree."):
        if info.name == "minfree.__main__":   # runs the command line
            continue
        module = importlib.import_module(info.name)
        for cls in _classes(module, module.__name__):
            if dataclasses.is_dataclass(cls):
                found[f"{module.__name__}.{cls.__qualname__}"] = cls
    return found


def _generated(cls: type) -> bool:
    """The docstring ``dataclasses`` made: the name and the signature (the name alone when
    ``inspect.signature`` failed)."""
    doc = cls.__doc__ or ""
    return doc == cls.__name__ or doc.startswith(cls.__name__ + "(")


def test_every_dataclass_has_a_docstring():
    found = _dataclasses()
    assert len(found) > 100, f"only {len(found)} dataclasses found: the walk missed modules"
    undocumented = {name for name, cls in found.items() if _generated(cls)}
    new = sorted(undocumented - KNOWN)
    assert not new, ("dataclasses without a docstring (say what the record is and where its values "
                     "come from): " + ", ".join(new))
    done = sorted(KNOWN - undocumented)
    assert not done, "documented now (or gone): remove from KNOWN: " + ", ".join(done)


def test_this_pythons_generated_docstring_is_recognised():
    @dataclasses.dataclass
    class Bare:
        x: int

    @dataclasses.dataclass
    class Told:
        """A record told apart."""

        x: int

    assert _generated(Bare) and not _generated(Told)
