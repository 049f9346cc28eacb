"""The whole scan pipeline never crashes: random junk, real lines cut anywhere, shuffled reports."""
from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minfree.logs.events import Assembler
from minfree.logs.header import find_headers
from minfree.logs.prefix import LogLine
from minfree.logs.scanner import LogScanner

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "logs"
REAL_LINES = [line for path in sorted(CORPUS.glob("*.log"))[:20]
              for line in path.read_bytes().splitlines(keepends=True)]


def scan(data: bytes) -> list:
    found: list = []
    LogScanner("fuzz", found.append).scan(io.BytesIO(data))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_binary_junk_never_crashes(data: bytes) -> None:
    assert isinstance(scan(data), list)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(REAL_LINES), max_size=120), st.data())
def test_real_lines_shuffled_and_cut_never_crash(lines: list[bytes], data) -> None:
    cut = [line[: data.draw(st.integers(0, len(line)))] if data.draw(st.booleans()) else line for line in lines]
    blob = b"".join(cut)
    events = scan(blob)
    # an event needs a header: never more events than header occurrences in the text
    assert len(events) <= blob.count(b"allocation failure") + blob.count(b"vmalloc error")
    for event in events:
        assert event.line >= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=40))
def test_assembler_takes_any_text(texts: list[str]) -> None:
    found: list = []
    assembler = Assembler("fuzz", found.append)
    for number, text in enumerate(texts, 1):
        assembler.feed(LogLine(text), number)
    assembler.discontinuity()
    assert all(e.process is None or isinstance(e.process, str) for e in found)


@given(st.text(max_size=300))
def test_header_parser_takes_any_text(text: str) -> None:
    for header in find_headers(text):
        assert header.mode is None or header.mode.startswith("0x")


def test_gigantic_line_between_reports_is_skipped_and_counted() -> None:
    report = b"asd: page allocation failure. order:1, mode:0x20\n"
    found: list = []
    scanner = LogScanner("big", found.append)
    scanner.scan(io.BufferedReader(io.BytesIO(report + b"y" * (20 << 20) + b"\n" + report)))  # a stream, not a map
    assert [e.line for e in found] == [1, 3] and scanner.oversized == 1
