"""The hand-assembled eBPF counter against the kernel's own filter engine: over one window, its
non-blocking allocations per order equal a perf counting event filtered on the same condition
(two independent kernel mechanisms). The perf window encloses the eBPF one, so the eBPF
count can only be lower, by what the few instructions between the two starts and stops
allocated."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minfree.sources.bpf import RawTracepointCounter
from minfree.sources.perf import FilteredCounter
from nonblocking_load import fill_unread_socket

pytestmark = [pytest.mark.live, pytest.mark.root]
EVENT_ID = Path("/sys/kernel/tracing/events/kmem/mm_page_alloc/id")
DIRECT_RECLAIM = 0x400  # 5.1+ (include/linux/gfp_types.h), this machine's table says the same


def test_demand_per_order_equals_the_perf_filter() -> None:
    if os.geteuid() != 0 or not EVENT_ID.exists():
        pytest.skip("needs root and tracefs")
    tracepoint = int(EVENT_ID.read_text())
    cpus = tuple(range(os.cpu_count() or 1))
    perf = {order: FilteredCounter(tracepoint, f"order == {order} && !(gfp_flags & {DIRECT_RECLAIM:#x})", cpus)
            for order in range(4)}
    failed = FilteredCounter(tracepoint, "pfn == 0xffffffffffffffff", cpus)
    bpf = RawTracepointCounter(DIRECT_RECLAIM)
    try:
        for counter in (*perf.values(), failed):
            counter.enable()
        bpf.enable()
        fill_unread_socket()
        bpf.disable()
        for counter in (*perf.values(), failed):
            counter.disable()
        bpf_failed, demand = bpf.read()
        assert bpf_failed == failed.read()[0]
        expected = {order: counter.read()[0] for order, counter in perf.items()}
        assert expected[3] > 0  # the unread socket's page fragments
        for order, count in expected.items():
            assert count - max(20, count // 20) <= demand[str(order)] <= count
    finally:
        bpf.close()
        failed.close()
        for counter in perf.values():
            counter.close()
