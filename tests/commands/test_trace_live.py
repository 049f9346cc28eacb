"""Bar: the kernel fails real page allocations, and ``minfree trace`` counts exactly what the
kernel's own counter counts over the same window.

The failures: growing the hugetlb pool past what memory holds (``hugetlb_squeeze``), and a
silent GFP_NOWAIT-like one at a memory cgroup's limit (``memcg_limit``).
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from minfree.analysis.failure_classes import COPING_SITES, OPPORTUNISTIC, SILENT_BLOCKING
from minfree.sources.failcount import FAILED_FILTER, PAGE_ALLOC, direct_reclaim_bit, running_layout
from hugetlb_squeeze import grow_pool_past_memory, hugetlb_pool, vmstat  # noqa: F401 (a fixture)
from memcg_limit import grow_fd_table_at_the_limit, memory_cgroup_root
from trace_runner import INSTANCES, start_trace, trace_while

pytestmark = [pytest.mark.live, pytest.mark.root]


def test_trace_counts_equal_the_kernels_counter(hugetlb_pool) -> None:
    def squeeze() -> int:
        before = vmstat("htlb_buddy_alloc_fail")
        grow_pool_past_memory()
        return vmstat("htlb_buddy_alloc_fail") - before

    doc, ours = trace_while(squeeze, "--duration", "8")
    hugetlb = [f for f in doc["failures"] if f["site"] in COPING_SITES and "hugetlb" in COPING_SITES[f["site"]]]
    assert ours >= 1
    # the same window: what the tracer saw of hugetlb equals the kernel's counter over it
    assert len(hugetlb) == doc["kernel_counters"]["htlb_buddy_alloc_fail"] >= ours
    mine = [f for f in hugetlb if f["pid"] == os.getpid()]
    assert len(mine) == ours
    assert all(f["order"] == 9 and f["class"] == SILENT_BLOCKING for f in mine)
    # the in-kernel count and the records agree, and nothing was lost
    assert doc["failed_total"] == doc["counted_in_kernel"] == doc["records"] + doc["lost"]
    assert doc["lost"] == 0 and doc["missing"] == []
    assert doc["kernel_log"]["printed"] == sum(1 for f in doc["failures"] if f["class"] == "logged") or \
        doc["kernel_log"]["suppressed"] > 0


def test_silent_nowait_failures_counted_as_the_kernel_counts_them() -> None:
    """A silent GFP_NOWAIT-like failure made on demand (``memcg_limit``: kvmalloc's kmalloc
    try refused at a memory cgroup's limit), by five children. The kernel's own count is a perf
    counting event on the tracepoint with the filter, on the failing task alone (other tasks
    on this shared machine may fail allocations too); no /proc/vmstat counter and no log line
    records these failures."""
    from minfree.sources.perf import FilteredCounter
    from minfree.sources.tracefs import event_id, live_tracefs

    root = memory_cgroup_root()
    if root is None or not INSTANCES.is_dir():
        pytest.skip("needs tracefs and a memory cgroup controller")
    event = event_id(live_tracefs(), PAGE_ALLOC)
    doc, children = trace_while(lambda: [grow_fd_table_at_the_limit(
        root, lambda pid: FilteredCounter(event, FAILED_FILTER, (-1,), pid)) for _ in range(5)], "--duration", "5")
    assert doc["failed_total"] == doc["counted_in_kernel"] == doc["records"] + doc["lost"]
    assert doc["lost"] == 0
    reclaim = direct_reclaim_bit(running_layout())
    # each child's failures exactly as the kernel counted that task's; a child's charge may be
    # served from the per-CPU stock of pages its cgroup already paid for (mm/memcontrol.c
    # consume_stock: up to MEMCG_CHARGE_BATCH = 64 pages, this request's size), so not every
    # child fails
    mine = [f for f in doc["failures"] if f["pid"] in {pid for pid, _ in children}]
    for pid, counted in children:
        assert sum(1 for f in mine if f["pid"] == pid) == counted <= 1
    assert mine
    for failure in mine:
        assert failure["order"] == 6 and failure["site"] == "__kvmalloc_node"
        assert failure["class"] == OPPORTUNISTIC  # kvmalloc falls back to vmalloc
        assert failure["gfp_flags"] == "GFP_NOWAIT|__GFP_IO|__GFP_FS|__GFP_COMP|__GFP_ACCOUNT"
        assert not int(failure["gfp"], 16) & reclaim  # could not sleep
        assert "a memory cgroup's limit may have refused it" in failure["reason"]
    assert doc["kernel_log"]["printed"] == 0


def test_sigterm_ends_the_window_and_removes_the_instance(hugetlb_pool) -> None:
    proc = start_trace("--follow", "--json", "--interval", "0.5")
    instance = INSTANCES / f"minfree-trace-{proc.pid}"
    assert instance.is_dir()
    time.sleep(1.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert json.loads(lines[0])["interval"]["end"] > 0
    assert "failed_total" in json.loads("\n".join(lines[next(i for i, l in enumerate(lines) if l == "{"):]))
    assert not instance.exists()


def test_tracefs_records_when_ebpf_has_no_ring_buffer(hugetlb_pool, monkeypatch, capsys) -> None:
    """The second rung of the degrade order, on a real failure: an eBPF counter without ring
    buffers (kernels 4.17-5.7), records from the tracefs instance with stack triggers."""
    from minfree.cli import main
    from minfree.sources import bpf
    from minfree.sources.perf import PerfUnavailable

    real = bpf.RawTracepointCounter

    def without_ring_buffer(bit, tracepoint="mm_page_alloc", *, records=False):
        if records:
            raise PerfUnavailable(22, "bpf(0): Invalid argument")
        return real(bit, tracepoint)

    monkeypatch.setattr(bpf, "RawTracepointCounter", without_ring_buffer)
    enable = INSTANCES / f"minfree-trace-{os.getpid()}" / "events" / "kmem" / "mm_page_alloc" / "enable"
    seen: dict[str, int] = {}

    def squeeze() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (enable.exists() and enable.read_text().startswith("1")):
            time.sleep(0.05)
        time.sleep(0.3)
        before = vmstat("htlb_buddy_alloc_fail")
        seen["tid"] = threading.get_native_id()  # the kernel's pid of this thread
        grow_pool_past_memory()
        seen["ours"] = vmstat("htlb_buddy_alloc_fail") - before

    worker = threading.Thread(target=squeeze)
    worker.start()
    try:
        assert main(["trace", "--duration", "6", "--json"]) == 0
    finally:
        worker.join()
    doc = json.loads(capsys.readouterr().out)
    assert doc["sources"]["records"] == "tracefs instance with stack traces"
    assert doc["missing"] == ["eBPF records: bpf(0): Invalid argument (records from tracefs instead)"]
    mine = [f for f in doc["failures"] if f["pid"] == seen["tid"] and f["site"] in COPING_SITES]
    assert seen["ours"] >= 1 and len(mine) == seen["ours"]
    assert doc["failed_total"] == doc["counted_in_kernel"] == doc["records"] + doc["lost"]
    assert not enable.parent.parent.parent.parent.exists()
