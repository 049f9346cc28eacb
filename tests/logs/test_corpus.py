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


# The release each report printed, in each form dump_stack() and pastes give it.
RELEASES = {
    # RHEL 7 "Kdump: loaded Tainted: P           OE  ------------   3.10.0-1062.el7.x86_64"
    "100-gh-seagate-cortx-5465-3.10-rhel7-syslog-host-two-swappers.log": ["3.10.0-1062.el7.x86_64"] * 2,
    # taint flags in runs: "Pid: 7812, comm: tcpdump Tainted: PF       W  O 3.8.0-29-generic"
    "119-gh-pfring-337-3.8-tcpdump-order9-swiotlb.log": ["3.8.0-29-generic"],
    # spaced taint form of a Debian kernel with an out-of-tree module (OE)
    "141-gh-exfat-28-4.19-debian-mount-order5-cpuset-line.log": ["4.19.0-10-amd64 #1 Debian 4.19.132-1"],
    # RHEL 6 "Tainted: P --------------- 2.6.32-220.el6.x86_64"
    "123-web-trendmicro-1105158-2.6.32-rhel6-httpd-order2-dsa_filter-unpadded-day.log": ["2.6.32-220.el6.x86_64"],
    # wrapped: "... Tainted: G" / " W  OE  ------------   3.10.0-327"
    "001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log": ["3.10.0-327"] * 2,
    # wrapped: "... Tainted: G" / "WC O    4.12.0-rc3-android-x86+ #1"
    "018-gh-baytrail-12-4.12-android-x86-renderthread-wrapped-header.log": ["4.12.0-rc3-android-x86+"],
    # quoted and indented: ">>   [   64.242510] CPU: 32 ... Tainted: G           OE      6.2-generic-64k"
    "146-lkml-donthineni-6.2-arm64-quoted-indented-vmalloc-error-OE-taint.log": ["6.2-generic-64k"],
    # quoted without timestamps
    "144-lkml-ellerman-5.15-ppc32-quoted-vmalloc-error-vm_struct-no-timestamps.log": ["5.15.5-gentoo-PowerMacG4"],
    "147-lkml-hildenbrand-6.9-ppc32-nested-quotes-kswapd0-slub-split-trace-dma-free-0.log": [
        "6.8.9-gentoo-PMacG4", "6.9.0-gentoo-PMacG4"],
    # "Pid: N, comm:" (3.x)
    "124-web-yaleman-3.4-linode-i686-swapper0-order4-no-timestamps.log": ["3.4.2-linode44"],
}


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_the_printed_release_is_found(name: str) -> None:
    path = next((p for p in FILES if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} is not present")
    found, _ = scan_file(path, use_hyperscan=False)
    assert [e.kernel or e.host_kernel for e in found] == RELEASES[name]
