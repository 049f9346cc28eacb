"""Newline counts: StringZilla and ``bytes.count`` agree on every range of bytes and of a mapped
file, and a counted range is handed back in steps."""
from __future__ import annotations

import mmap
import random

import pytest

from minfree.logs import newlines
from minfree.logs.newlines import count_newlines

pytestmark = pytest.mark.skipif(newlines.stringzilla is None, reason="StringZilla has no wheel here")


def _ranges(size: int, rng: random.Random) -> list[tuple[int, int]]:
    edges = [0, 1, size - 1, size, newlines._STEP - 1, newlines._STEP, newlines._STEP + 1]
    picks = [(rng.randrange(size + 1), rng.randrange(size + 1)) for _ in range(40)]
    return [(a, b) for a in edges for b in edges if 0 <= a <= size and 0 <= b <= size] + picks


def test_both_counters_agree_on_bytes_and_a_mapped_file(tmp_path, monkeypatch) -> None:
    rng = random.Random(7)
    data = bytes(rng.choice(b"ab\n\r\x00\xff") for _ in range(newlines._STEP * 2 + 12345))
    path = tmp_path / "log"
    path.write_bytes(data)
    ranges = _ranges(len(data), rng)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        fast = [count_newlines(buf, a, b) for buf in (data, mapped) for a, b in ranges]
        monkeypatch.setattr(newlines, "stringzilla", None)
        plain = [count_newlines(buf, a, b) for buf in (data, mapped) for a, b in ranges]
    assert fast == plain == [data[a:b].count(b"\n") for a, b in ranges] * 2


def test_a_counted_range_is_released_in_steps() -> None:
    data = b"x\n" * (newlines._STEP + 10)
    given_back: list[tuple[int, int]] = []
    assert count_newlines(data, 3, len(data), lambda at, n: given_back.append((at, n))) == data[3:].count(b"\n")
    assert given_back[0] == (3, newlines._STEP) and sum(n for _, n in given_back) == len(data) - 3
