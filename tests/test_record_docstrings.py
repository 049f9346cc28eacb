"""Every record (:mod:`minfree.model.record`) says what it holds and where its values come from:
a docstring of its own."""
from __future__ import annotations

import importlib
import pkgutil

import minfree


def _classes(owner: object, module: str):
    for value in vars(owner).values():
        if isinstance(value, type) and value.__module__ == module and value is not owner:
            yield value
            yield from _classes(value, module)


def _records() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(minfree.__path__, "minfree."):
        if info.name == "minfree.__main__":   # runs the command line
            continue
        module = importlib.import_module(info.name)
        for cls in _classes(module, module.__name__):
            if "_options" in vars(cls):
                found[f"{module.__name__}.{cls.__qualname__}"] = cls
    return found


def test_every_record_has_a_docstring():
    found = _records()
    assert len(found) > 100, f"only {len(found)} records found: the walk missed modules"
    undocumented = sorted(name for name, cls in found.items() if not (vars(cls).get("__doc__") or "").strip())
    assert not undocumented, ("records without a docstring (say what the record is and where its "
                              "values come from): " + ", ".join(undocumented))
