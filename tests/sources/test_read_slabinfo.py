"""read_slabinfo against the running kernel: /proc/slabinfo agrees with SLUB's own sysfs view."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minfree.sources.readers import read_slabinfo
from minfree.sources.root import SystemRoot

SLUB_SYSFS = Path("/sys/kernel/slab")


@pytest.mark.live
@pytest.mark.skipif(os.geteuid() != 0, reason="/proc/slabinfo is readable by root only")
@pytest.mark.skipif(not SLUB_SYSFS.is_dir(), reason="no SLUB sysfs")
def test_live_slabinfo_matches_slub_sysfs() -> None:
    with SystemRoot("/") as root:
        caches = read_slabinfo(root)
    assert caches and len({c.name for c in caches}) == len(caches)
    checked = 0
    for cache in caches:
        sysfs = SLUB_SYSFS / cache.name
        if not sysfs.is_dir():   # merged caches are listed under their alias only
            continue
        assert cache.objsize == int((sysfs / "slab_size").read_text())
        assert cache.pages_per_slab == 1 << int((sysfs / "order").read_text())
        checked += 1
    assert checked > 50
    page = os.sysconf("SC_PAGE_SIZE")
    # kmalloc-8k is in every SLUB kernel since 3.x, and needs an order-1 slab at least.
    assert next(c for c in caches if c.name == "kmalloc-8k").min_order(page) == 1


def test_unreadable_slabinfo_is_none_not_a_gap(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    with SystemRoot(tmp_path) as root:
        assert read_slabinfo(root) is None
        assert root.gaps == []
