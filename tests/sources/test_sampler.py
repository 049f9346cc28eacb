"""read_memory: the reading watch takes every interval, from a capture and from the live kernel."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from minfree.sources.root import SystemRoot
from minfree.sources.sampler import read_memory

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "distro" / "6.1.0-56-amd64-n2-thp-2g"


def test_a_capture_gives_every_zone_with_its_buddy_row() -> None:
    reading = read_memory(SystemRoot(CAPTURE), clock=lambda: 5.0, wall=lambda: 1000.0)
    assert reading is not None and reading.wall == 1000.0 and reading.vmstat.taken_at == 5.0
    zones = {(z.node, z.zone) for z in reading.zones}
    assert {(0, "Normal"), (1, "Normal")} <= zones
    assert {(row.node, row.zone) for row in reading.buddy} <= zones
    assert "pgscan_kswapd" in reading.vmstat.counters


def test_no_zoneinfo_gives_none(tmp_path: Path) -> None:
    root = SystemRoot(tmp_path)
    assert read_memory(root) is None
    assert ("proc/zoneinfo", "missing") in root.gaps


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.skipif(not os.access("/proc/zoneinfo", os.R_OK), reason="no /proc/zoneinfo")
def test_live_readings_keep_no_memory() -> None:
    root = SystemRoot("/")
    for _ in range(1000):   # CPython's free lists (small tuples) fill up, then stay
        read_memory(root)
        root.gaps.clear()
    before = sys.getallocatedblocks()
    for _ in range(300):
        read_memory(root)
        root.gaps.clear()
    grown = sys.getallocatedblocks() - before
    assert grown < 50, f"300 more readings kept {grown} memory blocks"
