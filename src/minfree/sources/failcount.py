"""The in-kernel count of failed page allocations, opened the one way every consumer shares
(``trace``, ``doctor``'s window, ``watch``, the exporter), in this order:

1. the eBPF raw-tracepoint counter of :mod:`minfree.sources.bpf` (failures per order);
2. a hist trigger keyed on the order in a tracefs instance of our own
   (:mod:`minfree.sources.hist_counter`: failures per order), where the kernel has them;
3. a perf counting event per CPU with the filter ``pfn == 0xffffffffffffffff``
   (:mod:`minfree.sources.perf`: the total only).

Each is this process's own (an eBPF link, an instance, perf fds), so other tracers are not
disturbed; closing it detaches everything (the hist trigger is removed with its instance).
"""
from __future__ import annotations

import os
from typing import Callable

from minfree.sources.failure_count import FailureCount

PAGE_ALLOC = "kmem/mm_page_alloc"
FAILED_FILTER = "pfn == 0xffffffffffffffff"  # the raw field is -1UL; "pfn == -1" is rejected
EBPF = "ebpf"
HIST = "hist"
PERF = "perf"


def online_cpus() -> tuple[int, ...]:
    from minfree.proc.numa import parse_id_list

    try:
        with open("/sys/devices/system/cpu/online", encoding="ascii") as handle:
            cpus = parse_id_list(handle.read())
    except OSError:
        cpus = None
    return cpus or tuple(range(os.cpu_count() or 1))


def running_layout():
    """The running kernel's GFP table (tracefs), else its era table."""
    from minfree.model.gfp import layout_for, layout_from_table
    from minfree.model.kversion import parse_release
    from minfree.sources.root import SystemRoot
    from minfree.sources.tracefs import read_event_format
    from minfree.tracing.gfp_format import parse_format

    text = read_event_format(SystemRoot("/"))
    layout = layout_from_table(parse_format(text)) if text else None
    if layout is None:
        layout = layout_for(parse_release(os.uname().release))
    return layout


def direct_reclaim_bit(layout) -> int:
    """``__GFP_DIRECT_RECLAIM`` in the running kernel's table (``__GFP_WAIT`` before 4.4)."""
    bits = dict(layout.bits)
    return bits.get("__GFP_DIRECT_RECLAIM") or bits.get("__GFP_WAIT") or 0x400


def open_in_kernel(tracefs: str | None, make_bpf: Callable[[], object], missing: list[str], lost: str):
    """``(counter, kind)``: the eBPF counter ``make_bpf`` builds, else a hist trigger in an
    instance of ``tracefs``, else the perf counter of its ``mm_page_alloc`` (None: tracefs is
    not mounted, so neither); ``(None, None)`` when none opens. Each refusal is appended to
    ``missing`` as one line (``lost``: what the caller loses without eBPF). The counter is
    opened, not yet counting."""
    from minfree.sources import tracefs as tfs
    from minfree.sources.hist_counter import HistCounter
    from minfree.sources.perf import FilteredCounter, PerfUnavailable

    try:
        return make_bpf(), EBPF
    except PerfUnavailable as exc:
        missing.append(f"eBPF counter: {exc.strerror} ({lost})")
    if tracefs is None:
        missing.append("in-kernel count: hist triggers and perf need tracefs, which is not mounted")
        return None, None
    try:
        return HistCounter(tracefs, PAGE_ALLOC, FAILED_FILTER), HIST
    except tfs.TracefsUnavailable as exc:
        missing.append(f"hist trigger: {exc.strerror}")
    cpus = online_cpus()
    try:
        return FilteredCounter(tfs.event_id(tracefs, PAGE_ALLOC), FAILED_FILTER, cpus), PERF
    except PerfUnavailable as exc:
        missing.append(f"in-kernel count: {exc.strerror}")
    except (OSError, ValueError) as exc:
        missing.append(f"no {PAGE_ALLOC} tracepoint: {exc}")
    return None, None


class FailureCounter:
    """The cheap always-on mode: the in-kernel count only (no records, no classes).

    ``FailureCounter.open()`` gives a counter, or None with ``reason`` saying why; then
    :meth:`enable`, :meth:`read` as often as wanted, :meth:`close` (also as a context
    manager)."""

    def __init__(self, counter, kind: str) -> None:
        self.counter = counter
        self.kind = kind

    @classmethod
    def open(cls, records: bool = False) -> tuple[FailureCounter | None, str | None]:
        """``(counter, None)`` or ``(None, why none)``: not root, no tracefs, no eBPF, no hist
        triggers and no perf. ``records``: the eBPF program also records each failure in its
        ring buffer (``self.counter.ring``; where the kernel has none, the count alone)."""
        if os.geteuid() != 0:
            return None, "not root (the in-kernel counter needs eBPF, hist triggers or perf events)"
        from minfree.sources import tracefs
        from minfree.sources.bpf import RawTracepointCounter
        from minfree.sources.perf import PerfUnavailable

        base = tracefs.live_tracefs()  # None: eBPF still counts (hist and perf need tracefs)
        missing: list[str] = []
        from minfree.model.gfp import layout_for
        from minfree.model.kversion import parse_release

        # the reclaim bit only sorts the demand slots, which the count-only mode never reads:
        # the era table gives it without parsing the tracepoint's format (trace parses it)
        bit = direct_reclaim_bit(layout_for(parse_release(os.uname().release)))
        def make_bpf():
            if records:
                try:
                    return RawTracepointCounter(bit, records=True)
                except PerfUnavailable:   # no ring buffers (before 5.8): the count alone
                    pass
            return RawTracepointCounter(bit)

        counter, kind = open_in_kernel(base, make_bpf, missing, "so no orders")
        if counter is None:
            return None, "; ".join(missing)
        return cls(counter, kind), None

    def enable(self) -> None:
        self.counter.enable()

    def read(self) -> FailureCount:
        if self.kind == EBPF:
            by_order = self.counter.failed_by_order()
            return FailureCount(sum(by_order.values()), by_order)
        if self.kind == HIST:
            return self.counter.count()
        return FailureCount(self.counter.read()[0], None)

    def close(self) -> None:
        self.counter.close()

    def __enter__(self) -> FailureCounter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
