"""Every real published report in tests/corpus (files 100+) gives exactly its ground-truth events.

Same scanner calls as ``test_corpus.py`` (both prefilter engines); sources and per-file notes are
in ``tests/corpus/README.md``.  Cases where the parser is known to disagree with the truth are
strict xfails that name what the parser gets wrong.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from minfree.logs.prefilter import Prefilter
from minfree.logs.scanner import LogScanner

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TRUTH = json.loads((CORPUS / "truth.json").read_text())

# file -> what the parser gets wrong (expected vs got, as of this corpus' addition)
KNOWN_WRONG: dict[str, str] = {}


def scan_file(path: Path, use_hyperscan: bool):
    found = []
    scanner = LogScanner(path.name, found.append, Prefilter(use_hyperscan=use_hyperscan))
    with path.open("rb") as stream:
        scanner.scan(stream)
    found.sort(key=lambda e: (e.line, e.seq))
    return found, scanner


def _cases():
    for name in sorted(TRUTH):
        if name in KNOWN_WRONG:
            yield pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[name]))
        else:
            yield name


def test_truth_covers_exactly_the_files() -> None:
    assert sorted(p.name for p in (CORPUS / "logs").iterdir()) == sorted(TRUTH)
    for name, truth in TRUTH.items():
        assert truth["event_count"] == len(truth["events"]), name


@pytest.mark.parametrize("use_hyperscan", [True, False], ids=["hyperscan", "bytes.find"])
@pytest.mark.parametrize("name", _cases())
def test_more_corpus_file_gives_exactly_its_events(name: str, use_hyperscan: bool) -> None:
    found, _ = scan_file(CORPUS / "logs" / name, use_hyperscan)
    want = [(e["comm"], e["order"], e["mode"]) for e in TRUTH[name]["events"]]
    got = [(e.process, e.order, e.mode_text) for e in found]
    assert got == want
    for event, truth in zip(found, TRUTH[name]["events"]):
        assert truth["mode"].startswith(event.mode)


def test_every_byte_is_read() -> None:
    for name in TRUTH:
        path = CORPUS / "logs" / name
        _, scanner = scan_file(path, use_hyperscan=False)
        assert scanner.bytes == path.stat().st_size, name


def test_event_line_numbers_point_at_the_header() -> None:
    for name in TRUTH:
        path = CORPUS / "logs" / name
        lines = path.read_text(errors="replace").splitlines()
        found, _ = scan_file(path, use_hyperscan=False)
        for event in found:
            header = lines[event.line - 1]
            assert "allocation" in header or "vmalloc" in header or event.process.strip() in header, (
                name, event.line)
