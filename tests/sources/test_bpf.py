"""The hand-assembled eBPF counter against the kernel's own filter engine: over one window, its
non-blocking allocations per order equal a perf counting event filtered on the same condition
(two independent kernel mechanisms). The perf window encloses the eBPF one, so the eBPF
count can only be lower, by what the few instructions between the two starts and stops
allocated."""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from minfree.sources.bpf import RawTracepointCounter
from minfree.sources.perf import FilteredCounter

pytestmark = [pytest.mark.live, pytest.mark.root]
EVENT_ID = Path("/sys/kernel/tracing/events/kmem/mm_page_alloc/id")
DIRECT_RECLAIM = 0x400  # 5.1+ (include/linux/gfp_types.h), this machine's table says the same


def _traffic() -> None:
    """Loopback TCP: socket buffers and page frags, some of them without direct reclaim."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def sink() -> None:
        conn, _ = server.accept()
        while conn.recv(1 << 16):
            pass
        conn.close()

    thread = threading.Thread(target=sink)
    thread.start()
    client = socket.create_connection(server.getsockname())
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        client.sendall(b"x" * 65536)
    client.close()
    thread.join()
    server.close()


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
        _traffic()
        bpf.disable()
        for counter in (*perf.values(), failed):
            counter.disable()
        bpf_failed, demand = bpf.read()
        assert bpf_failed == failed.read()[0]
        expected = {order: counter.read()[0] for order, counter in perf.items()}
        assert sum(expected.values()) > 0  # sockets, timers and the NIC allocate without sleeping
        for order, count in expected.items():
            assert count - max(20, count // 20) <= demand[str(order)] <= count
    finally:
        bpf.close()
        failed.close()
        for counter in perf.values():
            counter.close()
