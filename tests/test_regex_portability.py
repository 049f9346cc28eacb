"""No regular expression of minfree uses a possessive quantifier or an atomic group. Both came in
Python 3.11, and 3.11.2 (Debian 12's python3, what a fresh machine runs the README's commands with)
matches some of them wrongly: memdump's zone-line pattern made possessive accepted
"free:0kB min:0kB page", which the same pattern without them rejects."""
from __future__ import annotations

import importlib
import pkgutil
import re
from re import _constants, _parser   # the parsed form tells a possessive "a++" from a literal "\\++"

import minfree


def _patterns():
    for info in pkgutil.walk_packages(minfree.__path__, "minfree."):
        if info.name == "minfree.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            values = value if isinstance(value, (tuple, list)) else value.values() if isinstance(value, dict) else [value]
            for item in values:
                for candidate in (item if isinstance(item, tuple) else (item,)):
                    if isinstance(candidate, re.Pattern):
                        yield f"{info.name}.{name}", candidate


def _possessive(parsed) -> bool:
    for op, argument in parsed:
        if op in (_constants.POSSESSIVE_REPEAT, _constants.ATOMIC_GROUP):
            return True
        for part in argument if isinstance(argument, (tuple, list)) else ():
            if isinstance(part, _parser.SubPattern) and _possessive(part):
                return True
            if isinstance(part, (tuple, list)) and any(isinstance(p, _parser.SubPattern) and _possessive(p) for p in part):
                return True
    return False


def test_no_pattern_is_possessive() -> None:
    found = list(_patterns())
    assert len(found) > 100, f"only {len(found)} patterns found: the walk missed modules"
    possessive = sorted(name for name, pattern in found if _possessive(_parser.parse(pattern.pattern, pattern.flags)))
    assert possessive == []


def test_the_check_sees_possessive_and_atomic_forms() -> None:
    for source in (r"a++", r"\s*+x", r"(?:ab)?+", r"\d{1,20}+", r"(?>ab)c", r"x(?:y|z++)", r"(a(?:b*+))"):
        assert _possessive(_parser.parse(source)), source
    for source in (r"a+", r"\++", r"[+]+", r"(?:ab)?", r"\d{1,20}", r"x(?:y|z+)"):
        assert not _possessive(_parser.parse(source)), source
