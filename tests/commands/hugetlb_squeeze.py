"""The real failure the live tests cause: growing the hugetlb pool (``vm.nr_hugepages``) past
what memory holds. The kernel allocates order-9 pages with __GFP_RETRY_MAYFAIL|__GFP_NOWARN
until one fails (nothing is logged); each failure adds one to /proc/vmstat
``htlb_buddy_alloc_fail``. A second, larger write fails once more at once. Memory is short for
about a second; the ``hugetlb_pool`` fixture restores the original pool size in a finally
block, even when the test fails, and checks it."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
TRACEFS_INSTANCES = Path("/sys/kernel/tracing/instances")


def vmstat(name: str) -> int:
    for line in Path("/proc/vmstat").read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return int(value)
    raise AssertionError(f"{name} not in /proc/vmstat")


@pytest.fixture
def hugetlb_pool():
    if os.geteuid() != 0 or not TRACEFS_INSTANCES.is_dir():
        pytest.skip("needs root and tracefs")
    original = NR_HUGEPAGES.read_text().strip()
    try:
        yield
    finally:
        NR_HUGEPAGES.write_text(original)
        assert NR_HUGEPAGES.read_text().strip() == original


@contextmanager
def pool_grown_past_memory() -> Iterator[None]:
    """The pool holds all the memory it could take while the block runs (free memory is down
    to the watermarks: keep the block to seconds); emptied on the way out, even on error."""
    total_kb = int(Path("/proc/meminfo").read_text().split()[1])
    pages = total_kb // 2048  # more 2 MiB pages than memory holds: the growth must fail
    try:
        NR_HUGEPAGES.write_text(str(pages))
        NR_HUGEPAGES.write_text(str(pages * 2))  # fails again, at once
        yield
    finally:
        NR_HUGEPAGES.write_text("0")


def grow_pool_past_memory() -> None:
    with pool_grown_past_memory():
        pass
