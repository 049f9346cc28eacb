"""Every real published report gives exactly its ground-truth events: the shared corpus
(../shared/corpus) and the project's own (tests/corpus, sources in its README)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from minfree.logs.prefilter import Prefilter
from minfree.logs.scanner import LogScanner
from minfree.sources.logscan import scan_stream

CORPORA = [Path(__file__).resolve().parents[3] / "shared" / "corpus",
           Path(__file__).resolve().parents[1] / "corpus"]
FILES = {
    corpus / "logs" / name: truth
    for corpus in CORPORA if (corpus / "truth.json").exists()
    for name, truth in json.loads((corpus / "truth.json").read_text()).items()
}


def scan_file(path: Path, use_hyperscan: bool):
    found = []
    scanner = LogScanner(path.name, found.append, Prefilter(use_hyperscan=use_hyperscan))
    with path.open("rb") as stream:   # mapped, as `minfree scan` reads a file
        scan_stream(scanner, stream)
    found.sort(key=lambda e: (e.line, e.seq))
    return found, scanner


def test_the_corpora_are_present() -> None:
    own = [p for p in FILES if CORPORA[1] in p.parents]
    assert len(own) >= 40
    if (CORPORA[0] / "truth.json").exists():
        assert len(FILES) - len(own) >= 17


@pytest.mark.parametrize("use_hyperscan", [True, False], ids=["hyperscan", "bytes.find"])
@pytest.mark.parametrize("path", sorted(FILES), ids=lambda p: p.name)
def test_corpus_file_gives_exactly_its_events(path: Path, use_hyperscan: bool) -> None:
    found, _ = scan_file(path, use_hyperscan)
    truth = FILES[path]["events"]
    assert [(e.process, e.order, e.mode_text) for e in found] == [(t["comm"], t["order"], t["mode"]) for t in truth]
    for event, expected in zip(found, truth):
        assert expected["mode"].startswith(event.mode)


@pytest.mark.parametrize("path", sorted(FILES), ids=lambda p: p.name)
def test_every_byte_is_read_and_lines_point_at_headers(path: Path) -> None:
    found, scanner = scan_file(path, use_hyperscan=False)
    assert scanner.bytes == path.stat().st_size
    lines = path.read_text(errors="replace").splitlines()
    for event in found:
        header = lines[event.line - 1]
        assert "allocation" in header or "vmalloc" in header or event.process.strip() in header, event.line
