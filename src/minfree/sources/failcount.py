"""The in-kernel count of failed page allocations, opened the one way every consumer shares
(``trace``, ``doctor``'s window, ``watch``): the eBPF raw-tracepoint counter of
:mod:`minfree.sources.bpf` (failures per order), else a perf counting event per CPU with the
filter ``pfn == 0xffffffffffffffff`` (:mod:`minfree.sources.perf`: the total only).

Both are this process's own (an eBPF link, perf fds): no tracefs file is written, so other
tracers are not disturbed, and closing the fds detaches everything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

PAGE_ALLOC = "kmem/mm_page_alloc"
FAILED_FILTER = "pfn == 0xffffffffffffffff"  # the raw field is -1UL; "pfn == -1" is rejected
EBPF = "ebpf"
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
    """``(counter, kind)``: the eBPF counter ``make_bpf`` builds, else the perf counter of
    ``tracefs``'s ``mm_page_alloc`` (None: tracefs is not mounted, so no perf); ``(None, None)`` when neither opens. Each refusal is
    appended to ``missing`` as one line (``lost``: what the caller loses without eBPF). The
    counter is opened, not yet counting."""
    from minfree.sources import tracefs as tfs
    from minfree.sources.perf import FilteredCounter, PerfUnavailable

    try:
        return make_bpf(), EBPF
    except PerfUnavailable as exc:
        missing.append(f"eBPF counter: {exc.strerror} ({lost})")
    if tracefs is None:
        missing.append("in-kernel count: perf needs the tracepoint's id from tracefs, which is not mounted")
        return None, None
    cpus = online_cpus()
    try:
        return FilteredCounter(tfs.event_id(tracefs, PAGE_ALLOC), FAILED_FILTER, cpus), PERF
    except PerfUnavailable as exc:
        missing.append(f"in-kernel count: {exc.strerror}")
    except (OSError, ValueError) as exc:
        missing.append(f"no {PAGE_ALLOC} tracepoint: {exc}")
    return None, None


@dataclass(slots=True)
class FailureCount:
    """Failed page allocations counted in the kernel since the counter was enabled."""

    total: int
    by_order: dict[int, int] | None  # None: the counter counts the total only (perf)

    def since(self, earlier: FailureCount | None) -> FailureCount:
        """The failures between ``earlier`` (a previous reading of the same counter) and this one.

        >>> FailureCount(5, {0: 1, 3: 4}).since(FailureCount(2, {0: 1, 3: 1}))
        FailureCount(total=3, by_order={0: 0, 3: 3})
        >>> FailureCount(5, None).since(None)
        FailureCount(total=5, by_order=None)
        """
        if earlier is None:
            return self
        by_order = None if self.by_order is None else {
            o: n - (earlier.by_order or {}).get(o, 0) for o, n in self.by_order.items()}
        return FailureCount(self.total - earlier.total, by_order)

    def counters(self) -> dict[str, int]:
        """As history counters (cumulative within one recorder run): ``failed_alloc`` and,
        per order, ``failed_alloc_order_N``.

        >>> FailureCount(2, {0: 0, 9: 2}).counters()
        {'failed_alloc': 2, 'failed_alloc_order_0': 0, 'failed_alloc_order_9': 2}
        """
        out = {"failed_alloc": self.total}
        out.update({f"failed_alloc_order_{o}": n for o, n in sorted((self.by_order or {}).items())})
        return out


class FailureCounter:
    """The cheap always-on mode: the in-kernel count only (no records, no classes).

    ``FailureCounter.open()`` gives a counter, or None with ``reason`` saying why; then
    :meth:`enable`, :meth:`read` as often as wanted, :meth:`close` (also as a context
    manager)."""

    def __init__(self, counter, kind: str) -> None:
        self.counter = counter
        self.kind = kind

    @classmethod
    def open(cls) -> tuple[FailureCounter | None, str | None]:
        """``(counter, None)`` or ``(None, why none)``: not root, no tracefs, no eBPF and no perf."""
        if os.geteuid() != 0:
            return None, "not root (the in-kernel counter needs eBPF or perf events)"
        from minfree.sources import tracefs
        from minfree.sources.bpf import RawTracepointCounter

        base = tracefs.live_tracefs()  # None: eBPF still counts (perf needs tracefs)
        missing: list[str] = []
        from minfree.model.gfp import layout_for
        from minfree.model.kversion import parse_release

        # the reclaim bit only sorts the demand slots, which the count-only mode never reads:
        # the era table gives it without parsing the tracepoint's format (trace parses it)
        bit = direct_reclaim_bit(layout_for(parse_release(os.uname().release)))
        counter, kind = open_in_kernel(base, lambda: RawTracepointCounter(bit), missing, "so no orders")
        if counter is None:
            return None, "; ".join(missing)
        return cls(counter, kind), None

    def enable(self) -> None:
        self.counter.enable()

    def read(self) -> FailureCount:
        if self.kind == EBPF:
            by_order = self.counter.failed_by_order()
            return FailureCount(sum(by_order.values()), by_order)
        return FailureCount(self.counter.read()[0], None)

    def close(self) -> None:
        self.counter.close()

    def __enter__(self) -> FailureCounter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
