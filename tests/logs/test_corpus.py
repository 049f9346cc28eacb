"""Every real published report in ../shared/corpus gives exactly its ground-truth events."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from minfree.logs.prefilter import Prefilter
from minfree.logs.scanner import LogScanner

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
TRUTH = json.loads((CORPUS / "truth.json").read_text()) if (CORPUS / "truth.json").exists() else {}
pytestmark = pytest.mark.skipif(not TRUTH, reason="shared corpus not beside the checkout")


def scan_file(path: Path, use_hyperscan: bool):
    found = []
    scanner = LogScanner(path.name, found.append, Prefilter(use_hyperscan=use_hyperscan))
    with path.open("rb") as stream:
        scanner.scan(stream)
    found.sort(key=lambda e: (e.line, e.seq))
    return found, scanner


@pytest.mark.parametrize("use_hyperscan", [True, False], ids=["hyperscan", "bytes.find"])
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_corpus_file_gives_exactly_its_events(name: str, use_hyperscan: bool) -> None:
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
            assert "allocation" in header or event.process.strip() in header, (name, event.line)
