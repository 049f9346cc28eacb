"""The cluster view of a fleet run: one row per node, the nodes that stand out, and a timeline.

Pure: it receives what each host's doctor or scan already judged (the same analysis as
``--root``) and compares nodes. Thresholds, each labelled, are in
:mod:`minfree.analysis.thresholds` (``FLEET_*``).

Outliers are of three kinds:

* ``setting``: a node whose value of a setting differs from the value a strict majority of the
  answering nodes share (kernel, vm.min_free_kbytes, vm.watermark_scale_factor, vm.swappiness,
  THP enabled/defrag);
* ``failing``: a node whose kernel log (or, for ``fleet trace``, whose traced window) holds
  allocation failures while most of its peers' hold none;
* ``headroom``: a node with far less free memory above its low watermarks, as a share of its
  memory, than the fleet's median (heuristic).
"""
from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timezone

from minfree.analysis import thresholds as T
from minfree.analysis.doctor import DoctorReport
from minfree.analysis.scan_report import ScanReport
from minfree.analysis.sizing import MIN_FREE, propose, summarize_failures
from minfree.analysis.trace_window import Interval, Tally, TraceWindow, failure_from_record
from minfree.model.gfp import GfpLayout, layout_for, layout_from_table
from minfree.model.kversion import parse_release
from minfree.model.record import field, record
from minfree.tracing.gfp_format import parse_format
from minfree.tracing.records import TraceParser

#: The settings compared across nodes, in table order.
SETTINGS = ("kernel", "min_free_kbytes", "watermark_scale_factor", "swappiness", "thp_enabled",
            "thp_defrag")


@record(frozen=False)
class NodeRow:
    """One node of the table. Doctor fills every field; scan only the failures."""

    name: str
    kernel: str | None = None
    status: str | None = None
    failures: int = 0
    by_order: dict[int, int] = field(default_factory=dict)
    by_origin: dict[str, int] = field(default_factory=dict)
    min_free_kbytes: int | None = None
    kernel_default_kb: int | None = None
    recommended_kb: int | None = None
    watermark_scale_factor: int | None = None
    swappiness: int | None = None
    thp_enabled: str | None = None
    thp_defrag: str | None = None
    headroom_kb: int | None = None
    headroom_share: float | None = None
    unusable: float | None = None        # the kernel's unusable index at FLEET_FRAGMENTATION_ORDER, worst zone
    atomic_failing_orders: list[int] = field(default_factory=list)
    by_class: dict[str, int] = field(default_factory=dict)   # fleet trace: failure classes
    traced_s: float | None = None       # fleet trace: the window the failures were counted in

    def setting(self, key: str) -> object:
        return getattr(self, key)


@record
class Outlier:
    """A node that stands out from its peers (``kind``: module doc): its value of ``key``, the
    peers' value or figure, and why."""

    host: str
    kind: str           # "setting" | "failing" | "headroom"
    key: str
    value: object
    peers: object       # the majority value, or the peers' figure
    explanation: str


@record
class TimelineEntry:
    """An allocation failure on the fleet's timeline: from a host's log (``origin``: its category,
    ``verdict``: the replay's reason), or from ``fleet trace`` (those two hold its class and call site)."""

    host: str
    at: str | None           # UTC, when the host's boot time is known
    since_boot_s: float | None
    process: str | None
    order: int | None
    origin: str
    verdict: str | None
    occurrences: int


@record(frozen=False)
class ClusterView:
    """The cluster view of a fleet run: one row per node, the outliers, and every node's failures
    on one timeline."""

    rows: list[NodeRow]
    outliers: list[Outlier]
    timeline: list[TimelineEntry]


def _failures(row: NodeRow, scan: ScanReport | None) -> None:
    if scan is None:
        return
    orders: Counter[int] = Counter()
    origins: Counter[str] = Counter()
    for item in scan.events:
        if item.event.order is not None:
            orders[item.event.order] += item.occurrences
        origins[item.origin.category] += item.occurrences
    row.failures = sum(item.occurrences for item in scan.events)
    row.by_order = dict(sorted(orders.items()))
    row.by_origin = dict(origins.most_common())


def node_from_scan(name: str, scan: ScanReport) -> NodeRow:
    row = NodeRow(name)
    _failures(row, scan)
    return row


def node_from_doctor(name: str, report: DoctorReport) -> NodeRow:
    """A node's row from its doctor report; ``recommended_kb`` is what ``minfree tune`` (generic
    profile, this log's failures) would propose for vm.min_free_kbytes."""
    state = report.state
    row = NodeRow(name, kernel=state.release, status=report.status)
    _failures(row, report.failures)
    sysctls = state.sysctls
    if sysctls is not None:
        row.min_free_kbytes = sysctls.min_free_kbytes
        row.watermark_scale_factor = sysctls.watermark_scale_factor
        row.swappiness = sysctls.swappiness
    if state.thp is not None:
        row.thp_enabled, row.thp_defrag = state.thp.enabled, state.thp.defrag
    row.kernel_default_kb = report.default.kbytes if report.default else None
    if state.zones and sysctls is not None:
        failures = summarize_failures(report.failures.events if report.failures else ())
        change = next(c for c in propose(state, failures=failures).changes if c.key == MIN_FREE)
        row.recommended_kb = change.proposed
    views = [z for z in report.zones.zones if z.info.managed]
    if views:
        above_low = sum(max(0, z.info.free - z.info.low) for z in views)
        managed = sum(z.info.managed or 0 for z in views)
        row.headroom_kb = above_low * state.page_size // 1024
        row.headroom_share = above_low / managed if managed else None
        order = T.FLEET_FRAGMENTATION_ORDER
        indices = [z.unusable[order] for z in views if order < len(z.unusable)]
        row.unusable = max(indices) / 1000 if indices else None
    row.atomic_failing_orders = [a.order for a in report.zones.atomic if not a.ok]
    return row


def outliers(rows: list[NodeRow]) -> list[Outlier]:
    """The nodes that stand out from their peers (see the module doc).

    >>> rows = [NodeRow(n, kernel="6.1", swappiness=60, failures=f, headroom_share=h)
    ...         for n, f, h in (("a", 0, 0.5), ("b", 0, 0.4), ("c", 3, 0.05))]
    >>> rows[1].swappiness = 10
    >>> [(o.host, o.kind, o.key) for o in outliers(rows)]
    [('b', 'setting', 'swappiness'), ('c', 'failing', 'failures'), ('c', 'headroom', 'headroom_share')]
    """
    found: list[Outlier] = []
    if len(rows) < T.FLEET_MIN_NODES:
        return found
    for key in SETTINGS:
        values = [row.setting(key) for row in rows if row.setting(key) is not None]
        if len(values) < T.FLEET_MIN_NODES:
            continue
        value, count = Counter(values).most_common(1)[0]
        if count * 2 <= len(values):
            continue
        for row in rows:
            mine = row.setting(key)
            if mine is not None and mine != value:
                found.append(Outlier(row.name, "setting", key, mine, value,
                                     f"{key} is {mine} here, {value} on {count} of {len(values)} nodes"))
    healthy = sum(1 for row in rows if row.failures == 0)
    for row in rows:
        if row.failures and healthy * 2 >= len(rows):
            where, peers = (("in this boot's log", "logged none") if row.traced_s is None
                            else (f"in the {row.traced_s:g} s traced", "had none"))
            found.append(Outlier(row.name, "failing", "failures", row.failures, 0,
                                 f"{row.failures} allocation failure(s) {where} while "
                                 f"{healthy} of {len(rows) - 1} peers {peers}"))
    shares = [row.headroom_share for row in rows if row.headroom_share is not None]
    if len(shares) >= T.FLEET_MIN_NODES:
        median = statistics.median(shares)
        for row in rows:
            if row.headroom_share is not None and row.headroom_share < median * T.FLEET_HEADROOM_FRACTION:
                found.append(Outlier(row.name, "headroom", "headroom_share", round(row.headroom_share, 4),
                                     round(median, 4),
                                     f"{row.headroom_share:.1%} of memory free above the low watermarks, "
                                     f"the fleet's median is {median:.1%} (heuristic: under "
                                     f"{T.FLEET_HEADROOM_FRACTION:.0%} of it)"))
    return found


def timeline(logs: list[tuple[str, ScanReport, int | None]]) -> list[TimelineEntry]:
    """Every failure of every node, oldest first: ``(host, its scan, its boot time)``.

    With the boot time (``btime`` of /proc/stat, seconds since the epoch) a report's printk
    timestamp becomes a UTC time (approximate: printk's clock does not count suspended time);
    without it the entry keeps only its seconds since boot, and sorts after the dated ones.
    """
    entries = []
    for host, scan, boot in logs:
        for item in scan.events:
            event = item.event
            at = None
            if boot is not None and event.mono is not None:
                at = datetime.fromtimestamp(boot + event.mono, timezone.utc).isoformat(timespec="seconds")
            entries.append(TimelineEntry(host, at, event.mono, event.process, event.order,
                                         item.origin.category,
                                         item.verdict.reason if item.verdict is not None else None,
                                         item.occurrences))
    return sorted(entries, key=lambda e: (e.at is None, e.at or "", e.since_boot_s or 0.0, e.host))


def remote_layout(event_format: str | None, release: str) -> GfpLayout:
    """A traced host's GFP table: its kernel's own (the ``mm_page_alloc`` format it sent), else
    its release's era table (as ``minfree trace`` chooses for the running kernel)."""
    layout = layout_from_table(parse_format(event_format)) if event_format else None
    return layout if layout is not None else layout_for(parse_release(release))


def trace_window(text: str, layout: GfpLayout, start: float, window_s: float, lost: int,
                 sources: dict[str, str], missing: list[str]) -> TraceWindow:
    """One host's traced window from the trace text it sent, parsed and classified with the
    code of ``minfree trace`` (``start``: the window's start on the host's trace clock). Only
    records: no in-kernel count, so the total is the records plus those the buffer lost.

    >>> from minfree.model.kversion import KernelVersion
    >>> text = ("bash-7 [001] ..... 101.5: mm_page_alloc: page=0000000000000000 pfn=0x0 order=9 "
    ...         "migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_NOWARN\\n")
    >>> w = trace_window(text, layout_for(KernelVersion(6, 1, 0)), 100.0, 5.0, 2, {}, [])
    >>> w.failed_total, w.by_order(), w.by_class()["silent_blocking"], w.tally.kept[0].t
    (3, {9: 1}, 1, 1.5)
    """
    parser = TraceParser()
    records = parser.feed(text.splitlines()) + parser.flush()
    intervals = [Interval(0.0, window_s)]
    tally = Tally()
    for record in records:
        failure = failure_from_record(record, layout, start)
        if failure is not None:
            tally.add(failure, intervals)
    return TraceWindow(window_s=window_s, intervals=intervals, tally=tally, counted=None,
                       lost=lost + parser.lost, skipped=parser.skipped, kswapd=None,
                       direct_reclaim=None, sources=sources, missing=missing)


def node_from_trace(name: str, kernel: str, window: TraceWindow) -> NodeRow:
    return NodeRow(name, kernel=kernel, failures=window.failed_total, by_order=window.by_order(),
                   by_class={k: n for k, n in window.by_class().items() if n}, traced_s=round(window.window_s, 3))


def trace_timeline(traces: list[tuple[str, TraceWindow, float, float]]) -> list[TimelineEntry]:
    """The recorded failures of every node, oldest first: ``(host, window, the window's start
    on the host's wall clock and on its monotonic clock)``; ``since_boot_s`` is the monotonic
    time (which does not count suspended time); ``origin`` is the failure class, ``verdict``
    its call site."""
    entries = []
    for host, window, wall, mono in traces:
        for f in window.tally.kept:
            at = datetime.fromtimestamp(wall + f.t, timezone.utc).isoformat(timespec="milliseconds")
            entries.append(TimelineEntry(host, at, round(mono + f.t, 6), f.comm, f.order, f.klass, f.site, 1))
    return sorted(entries, key=lambda e: (e.at, e.host))


def build_cluster(rows: list[NodeRow], logs: list[tuple[str, ScanReport, int | None]],
                  traced: list[TimelineEntry] | None = None) -> ClusterView:
    return ClusterView(rows, outliers(rows), timeline(logs) if traced is None else traced)


@record
class HostOutcome:
    """How reaching one host went: ``error`` is None when it answered."""

    name: str
    address: str
    error: str | None
    seconds: float


def fleet_status(statuses: list[str], failed: int) -> str:
    """The fleet's monitoring status: the worst node's; UNKNOWN when a host did not answer and
    no node is worse than OK (a host that cannot be read is not known to be healthy).

    >>> fleet_status(["OK", "WARNING"], 1), fleet_status(["OK"], 1), fleet_status(["OK", "OK"], 0)
    ('WARNING', 'UNKNOWN', 'OK')
    """
    for status in ("CRITICAL", "WARNING"):
        if status in statuses:
            return status
    return "UNKNOWN" if failed or "UNKNOWN" in statuses or not statuses else "OK"
