"""A /proc file whose text does not parse is a gap, exactly like a missing one (issue 8):
garbage meminfo or vmstat must never read as a healthy, complete machine."""
from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from minfree.sources import readers
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"
MEMORY = Path(__file__).parent.parent / "fixtures" / "proc" / "6.18-live"
GARBAGE = base64.b64encode(bytes(range(256)) * 8).decode() + "\n"


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    root = tmp_path / "capture"
    shutil.copytree(READERS / "6.18-live", root, symlinks=True)
    for name in ("zoneinfo", "buddyinfo", "pagetypeinfo"):
        shutil.copy(MEMORY / name, root / "proc" / name)
    return root


READS = [
    ("proc/meminfo", readers.read_meminfo),
    ("proc/vmstat", readers.read_vmstat),
    ("proc/pressure/memory", readers.read_psi),
    ("proc/version", readers.read_version),
    ("sys/devices/system/node/online", readers.read_numa),
]
TEXTS = [GARBAGE, "", "\x00" * 300, "MemFree: 12 kB\nnr_free_pages\n"]


# an empty node list is what a kernel without NUMA memory prints: not garbage
@pytest.mark.parametrize(("rel", "read", "text"), [
    (rel, read, text) for rel, read in READS for text in TEXTS if text or not rel.endswith("online")])
def test_garbage_is_a_gap(capture: Path, rel: str, read, text: str) -> None:
    (capture / rel).write_text(text)
    root = SystemRoot(capture)
    assert read(root) is None
    assert (rel, "unparseable") in root.gaps


def test_a_number_longer_than_int_takes_is_a_gap(capture: Path) -> None:
    (capture / "proc" / "meminfo").write_text("MemTotal: " + "9" * 5000 + " kB\nMemFree: 1 kB\n")
    root = SystemRoot(capture)
    assert readers.read_meminfo(root) is None and root.gaps == [("proc/meminfo", "unparseable")]


@pytest.mark.parametrize("name", ["zoneinfo", "buddyinfo", "pagetypeinfo"])
def test_memory_state_garbage_is_a_gap(capture: Path, name: str) -> None:
    assert load_system(SystemRoot(capture)).gaps == []
    (capture / "proc" / name).write_text(GARBAGE)
    state = load_system(SystemRoot(capture))
    assert (f"proc/{name}", "unparseable") in state.gaps


def test_absurd_page_block_order_is_a_gap_not_a_huge_number(capture: Path) -> None:
    path = capture / "proc" / "pagetypeinfo"
    path.write_text(path.read_text().replace("Page block order: 9", "Page block order: 2000000000"))
    state = load_system(SystemRoot(capture))
    assert ("proc/pagetypeinfo", "unparseable") in state.gaps
    assert state.pageblock_order == 9   # the default, not 2^2000000000 pages per block


@pytest.mark.parametrize(("rel", "text"), [
    ("proc/sys/vm/min_free_kbytes", "9" * 400 + "\n"),   # once: OverflowError in a float division
    ("proc/zoneinfo", "Node 0, zone   Normal\n  pages free     " + "9" * 400 + "\n        min      1\n"),
    ("proc/buddyinfo", "Node 0, zone   Normal " + "9" * 400 + " 1\n"),
])
def test_numbers_no_kernel_prints_are_gaps(capture: Path, rel: str, text: str) -> None:
    (capture / rel).write_text(text)
    state = load_system(SystemRoot(capture))
    assert (rel, "unparseable") in state.gaps
