"""One ``minfree trace`` window: failed allocations by second, class, order, process and call
site; the network loss counters over the same intervals and whether they coincide; kswapd
and direct-reclaim latency from vmscan events; non-blocking allocation demand; and the
reserve that demand asks for. No I/O: the command hands in what the kernel gave.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from minfree.analysis.failure_classes import CLASSES, SILENT_ATOMIC, classify
from minfree.model.gfp import GfpLayout, decode, format_names, mask_from_names
from minfree.model.record import field, record
from minfree.tracing.records import TraceRecord

#: Counters whose rise means packets were dropped or resent (proc.netstat names).
LOSS_COUNTERS = ("TcpExt.TCPRcvQDrop", "TcpExt.TCPBacklogDrop", "TcpExt.TCPMemoryPressures",
                 "TcpExt.PruneCalled", "TcpExt.TCPZeroWindowDrop",
                 "Udp.RcvbufErrors", "Udp.InErrors", "softnet.dropped")
RETRANSMIT_COUNTERS = ("Tcp.RetransSegs",)
NIC_PREFIX = "nic."


@record
class Failure:
    """One failed allocation the instance delivered, decoded and classified."""

    t: float  # seconds since the window started
    order: int
    gfp: int | None  # None: a name the table lacks
    gfp_names: str
    migratetype: int | None
    comm: str
    pid: int
    klass: str
    site: str | None
    reason: str


def failure_from_record(record: TraceRecord, layout: GfpLayout, start: float) -> Failure | None:
    """A tracefs ``mm_page_alloc`` record as a :class:`Failure`; None for another event or a
    record without an order. The printed names give the mask back (the kernel's own table).

    >>> from minfree.model.gfp import layout_for
    >>> from minfree.model.kversion import KernelVersion
    >>> r = TraceRecord("mm_page_alloc", "<idle>", 0, 0, 11.5, {"pfn": "0x0", "order": "1",
    ...                 "migratetype": "0", "gfp_flags": "GFP_ATOMIC|__GFP_NOWARN"})
    >>> f = failure_from_record(r, layout_for(KernelVersion(6, 1, 0)), 11.0)
    >>> f.t, hex(f.gfp), f.klass
    (0.5, '0x2a20', 'silent_atomic')
    """
    order = record.number("order")
    if record.event != "mm_page_alloc" or order is None:
        return None
    names = record.fields.get("gfp_flags", "")
    mask = mask_from_names(names, layout)
    gfp = decode(mask if mask is not None else 0, printed=names, layout=layout)
    verdict = classify(gfp, order, record.stack)
    return Failure(t=record.ts - start, order=order, gfp=mask, gfp_names=names,
                   migratetype=record.number("migratetype"), comm=record.comm, pid=record.pid,
                   klass=verdict.klass, site=verdict.site, reason=verdict.reason)


def failure_from_raw(ts: float, pid: int, comm: str, order: int, mask: int, migratetype: int,
                     stack: tuple[str, ...], layout: GfpLayout, start: float) -> Failure:
    """A failure the eBPF program recorded (raw mask, symbolized stack) as a :class:`Failure`.

    >>> from minfree.model.gfp import layout_for
    >>> from minfree.model.kversion import KernelVersion
    >>> f = failure_from_raw(5231.16, 12635, "python", 9, 0x346cca, 1,
    ...                      ("bpf_prog_6deef7357e7b4530_minfree_trace", "__alloc_frozen_pages_noprof",
    ...                       "only_alloc_fresh_hugetlb_folio.isra.0"), layout_for(KernelVersion(6, 18, 0)), 5231.0)
    >>> f.gfp_names.split("|")[:2], f.klass, f.site
    (['GFP_HIGHUSER_MOVABLE', '__GFP_NOWARN'], 'silent_blocking', 'only_alloc_fresh_hugetlb_folio')
    """
    gfp = decode(mask, layout=layout)
    verdict = classify(gfp, order, stack)
    return Failure(t=ts - start, order=order, gfp=mask, gfp_names=format_names(mask, layout) or "none",
                   migratetype=migratetype, comm=comm, pid=pid, klass=verdict.klass, site=verdict.site,
                   reason=verdict.reason)


@record(frozen=False)
class Interval:
    """One interval of the window: what the kernel counted, the records that fell in it, and
    the counters' rise."""

    start: float
    end: float
    failed: int | None = None  # in-kernel count (None without an in-kernel counter)
    demand: dict[str, int] = field(default_factory=dict)  # non-blocking allocations by order
    net: dict[str, int] = field(default_factory=dict)  # counter deltas
    records: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_order: Counter[int] = field(default_factory=Counter)


@record(frozen=False)
class Tally:
    """Every failure recorded, counted as it arrives; only the first ``keep`` are kept whole,
    so memory stays bounded however long the window and however many fail."""

    keep: int = 1000
    kept: list[Failure] = field(default_factory=list)
    records: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_order: Counter[int] = field(default_factory=Counter)
    comm: Counter[str] = field(default_factory=Counter)
    site: Counter[str] = field(default_factory=Counter)
    gfp_names: Counter[str] = field(default_factory=Counter)

    def add(self, failure: Failure, intervals: Sequence[Interval]) -> None:
        """Count ``failure`` in the window and in the interval its time falls in (the last one
        when it arrived after the interval closed).

        >>> tally, parts = Tally(keep=1), [Interval(0.0, 1.0), Interval(1.0, 2.0)]
        >>> for t in (0.5, 1.5, 1.7):
        ...     tally.add(Failure(t, 3, None, "x", 0, "sh", 1, "opportunistic", None, "r"), parts)
        >>> tally.records, len(tally.kept), [p.records for p in parts], tally.by_order
        (3, 1, [1, 2], Counter({3: 3}))
        """
        self.records += 1
        if len(self.kept) < self.keep:
            self.kept.append(failure)
        self.by_class[failure.klass] += 1
        self.by_order[failure.order] += 1
        self.comm[failure.comm] += 1
        self.site[failure.site or "?"] += 1
        self.gfp_names[failure.gfp_names] += 1
        if intervals:
            ends = [i.end for i in intervals]
            part = intervals[min(bisect.bisect_right(ends, failure.t), len(intervals) - 1)]
            part.records += 1
            part.by_class[failure.klass] += 1
            part.by_order[failure.order] += 1


def counter_deltas(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Rises of the loss, retransmit and NIC drop counters present in both readings.

    >>> counter_deltas({"Tcp.RetransSegs": 5, "nic.eth0.rx_dropped": 1, "Ip.InReceives": 1},
    ...                {"Tcp.RetransSegs": 9, "nic.eth0.rx_dropped": 1, "Ip.InReceives": 7})
    {'Tcp.RetransSegs': 4, 'nic.eth0.rx_dropped': 0}
    """
    keys = [k for k in after if k in before and (k in LOSS_COUNTERS or k in RETRANSMIT_COUNTERS
                                                 or k.startswith(NIC_PREFIX))]
    return {k: max(0, after[k] - before[k]) for k in sorted(keys)}


@record
class Latency:
    """Durations (seconds) of one kind of episode."""

    count: int
    total: float
    p50: float | None
    p99: float | None
    max: float | None
    unfinished: int  # begun in the window, not ended by its close

    @classmethod
    def of(cls, durations: Sequence[float], unfinished: int = 0) -> Latency:
        """Order statistics of ``durations``.

        >>> Latency.of([0.001, 0.003, 0.002]).p50, Latency.of([]).max
        (0.002, None)
        """
        ordered = sorted(durations)
        if not ordered:
            return cls(0, 0.0, None, None, None, unfinished)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        return cls(len(ordered), sum(ordered), pick(0.5), pick(0.99), ordered[-1], unfinished)


def reclaim_latencies(records: Iterable[TraceRecord]) -> tuple[Latency, Latency]:
    """kswapd wake-to-sleep time per node, and direct-reclaim stall per task, from the vmscan
    events ``mm_vmscan_kswapd_wake``/``_sleep`` (by ``nid``) and
    ``mm_vmscan_direct_reclaim_begin``/``_end`` (by pid) (include/trace/events/vmscan.h).
    A kswapd already awake when the window opened has no wake: its sleep is ignored.

    >>> R = lambda e, pid, ts, **f: TraceRecord(e, "x", pid, 0, ts, {k: str(v) for k, v in f.items()})
    >>> kswapd, direct = reclaim_latencies([
    ...     R("mm_vmscan_kswapd_wake", 90, 1.0, nid=0, order=3), R("mm_vmscan_direct_reclaim_begin", 7, 1.1),
    ...     R("mm_vmscan_direct_reclaim_end", 7, 1.15), R("mm_vmscan_kswapd_sleep", 90, 1.5, nid=0),
    ...     R("mm_vmscan_kswapd_sleep", 91, 1.6, nid=1), R("mm_vmscan_direct_reclaim_begin", 8, 1.7)])
    >>> kswapd.count, kswapd.max, round(direct.max, 3), direct.unfinished
    (1, 0.5, 0.05, 1)
    """
    awake: dict[int, float] = {}
    stalled: dict[int, float] = {}
    kswapd: list[float] = []
    direct: list[float] = []
    for record in records:
        if record.event == "mm_vmscan_kswapd_wake":
            nid = record.number("nid")
            if nid is not None:
                awake.setdefault(nid, record.ts)
        elif record.event == "mm_vmscan_kswapd_sleep":
            began = awake.pop(record.number("nid") or 0, None)
            if began is not None:
                kswapd.append(record.ts - began)
        elif record.event == "mm_vmscan_direct_reclaim_begin":
            stalled[record.pid] = record.ts
        elif record.event == "mm_vmscan_direct_reclaim_end":
            began = stalled.pop(record.pid, None)
            if began is not None:
                direct.append(record.ts - began)
    return Latency.of(kswapd, len(awake)), Latency.of(direct, len(stalled))


@record(frozen=False)
class TraceWindow:
    """The whole window, as the renderers and ``tune`` read it."""

    window_s: float
    intervals: list[Interval]
    tally: Tally
    counted: int | None  # in-kernel count over the window; None without it
    lost: int  # records the ring buffer lost
    skipped: int  # unreadable lines
    kswapd: Latency | None
    direct_reclaim: Latency | None
    sources: dict[str, str]  # what ran ("in-kernel count", "records", ...) -> how
    missing: list[str]  # what could not run, and why

    @property
    def failed_total(self) -> int:
        """Every failed allocation in the window: the in-kernel count when there is one, else
        the records plus those the buffer lost."""
        if self.counted is not None:
            return self.counted
        return self.tally.records + self.lost

    def by_class(self) -> dict[str, int]:
        return {k: self.tally.by_class.get(k, 0) for k in CLASSES}

    def by_order(self) -> dict[int, int]:
        return dict(sorted(self.tally.by_order.items()))

    def top(self, key: str, limit: int = 10) -> list[tuple[str, int]]:
        """Most frequent processes (``comm``), call sites (``site``) or flags (``gfp_names``)."""
        counter: Counter[str] = getattr(self.tally, key)
        return counter.most_common(limit)

    def net_totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for interval in self.intervals:
            total.update(interval.net)
        return dict(sorted(total.items()))

    def coincidences(self) -> list[str]:
        """Plain sentences: intervals where failures coincide with drops or retransmits."""
        hits: Counter[str] = Counter()
        silent = 0
        with_failures = 0
        for interval in self.intervals:
            failed = interval.failed if interval.failed is not None else interval.records
            if not failed:
                continue
            with_failures += 1
            rises = {k: v for k, v in interval.net.items() if v > 0}
            for key in rises:
                hits[key] += 1
            if rises and interval.by_class.get(SILENT_ATOMIC):
                silent += 1
        if not with_failures:
            return []
        if not hits:
            return [f"no drop or retransmit counter rose in the {with_failures} interval(s) with failures"]
        lines = [f"{key} rose in {n} of the {with_failures} interval(s) with failures"
                 for key, n in hits.most_common()]
        if silent:
            lines.append(f"{silent} interval(s) had silent atomic failures and a drop or retransmit at once: "
                         "the signature of clients timing out")
        return lines

    def demand(self) -> dict[str, float]:
        """Non-blocking allocations per second by order, over the window."""
        total: Counter[str] = Counter()
        for interval in self.intervals:
            total.update(interval.demand)
        if self.window_s <= 0:
            return {}
        return {k: total[k] / self.window_s for k in sorted(total, key=int)}

    def atomic_pages_per_s(self) -> float | None:
        """Non-blocking demand in pages per second (order N counts 2^N pages)."""
        rates = self.demand()
        if not rates:
            return None
        return sum(rate * (1 << int(order)) for order, rate in rates.items())


@record
class MeasuredDemand:
    """What a ``minfree trace`` window measured, as ``tune`` sizes reserves with it
    (reference kernel-memory.md §5.6: ``W_lead >= R_atomic x T_kswapd`` and
    ``W_atomic >= R_atomic x T_recover``)."""

    pages_per_s: float  # R: non-blocking allocations (GFP_ATOMIC and GFP_NOWAIT: an upper bound)
    kswapd_s: float | None  # T_kswapd: kswapd's wake-to-sleep p99 in the window
    recover_s: float | None  # T_recover: the direct-reclaim stall p99 in the window
    window_s: float

    def pages_during(self, seconds: float) -> int:
        """Pages the demand takes in ``seconds``.

        >>> MeasuredDemand(25000.0, 0.2, None, 60.0).pages_during(0.2)
        5000
        """
        return math.ceil(self.pages_per_s * seconds)


def demand_from_trace(doc: Mapping[str, object]) -> MeasuredDemand | None:
    """The demand in a ``minfree trace --json`` document (schema 1); None when it has no demand
    (traced without the eBPF counter) or is not such a document.

    >>> demand_from_trace({"schema": 1, "window_s": 60.0, "atomic_pages_per_s": 1200.5,
    ...                    "kswapd": {"p99_s": 0.25}, "direct_reclaim": None})
    MeasuredDemand(pages_per_s=1200.5, kswapd_s=0.25, recover_s=None, window_s=60.0)
    >>> demand_from_trace({"schema": 1, "window_s": 60.0, "atomic_pages_per_s": None}) is None
    True
    """
    if doc.get("schema") != 1:
        return None
    rate, window = doc.get("atomic_pages_per_s"), doc.get("window_s")
    if not isinstance(rate, (int, float)) or not isinstance(window, (int, float)) or rate < 0:
        return None

    def p99(key: str) -> float | None:
        latency = doc.get(key)
        value = latency.get("p99_s") if isinstance(latency, Mapping) else None
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    return MeasuredDemand(float(rate), p99("kswapd"), p99("direct_reclaim"), float(window))
