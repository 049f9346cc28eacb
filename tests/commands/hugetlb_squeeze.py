"""The real failure the live tests cause: growing the hugetlb pool (``vm.nr_hugepages``) past
what memory holds. The kernel allocates order-9 pages with __GFP_RETRY_MAYFAIL|__GFP_NOWARN
until one fails (nothing is logged); each failure adds one to /proc/vmstat
``htlb_buddy_alloc_fail``. A second, larger write fails once more at once. Memory is short for
about a second; the ``hugetlb_pool`` fixture restores the original pool size in a finally
block, even when the test fails, and checks it."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class Recorded:
    """What :func:`order9_failures_recorded` saw; ``count`` is set when its block ends."""

    count: int | None = None

    def bounds(self, kernel: int, counted: int) -> None:
        """An in-kernel count of order-9 failures over a window inside the recorder's: at least
        the hugetlb failures /proc/vmstat counted (``kernel``), at most every order-9 failure the
        tracepoint delivered; exactly ``kernel`` when nothing else failed at order 9 meanwhile."""
        assert self.count is not None
        assert kernel <= counted <= self.count, (kernel, counted, self.count)
        if self.count == kernel:
            assert counted == kernel


@contextmanager
def order9_failures_recorded() -> Iterator[Recorded]:
    """Every failed order-9 allocation on the host while the block runs, from the kernel's own
    tracepoint into a tracefs instance of the test's own. On a host squeezed this hard other
    order-9 requests fail too, kernel-wide (readahead's large folios, THP: seen in the trace
    helper's squeeze runs), so a counter of every failure cannot be held to the hugetlb count
    alone: :meth:`Recorded.bounds` holds it between the two."""
    instance = TRACEFS_INSTANCES / f"mftest-order9-{os.getpid()}-{secrets.token_hex(3)}"
    instance.mkdir()
    recorded = Recorded()
    try:
        event = instance / "events" / "kmem" / "mm_page_alloc"
        (event / "filter").write_text("order == 9 && pfn == 0xffffffffffffffff")
        (event / "enable").write_text("1")
        yield recorded
        (event / "enable").write_text("0")
        recorded.count = sum(1 for line in (instance / "trace").read_text().splitlines()
                             if line and not line.startswith("#"))
    finally:
        instance.rmdir()
