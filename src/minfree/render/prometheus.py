"""Prometheus metric families of one exporter reading (``minfree exporter``).

Naming follows Prometheus practice: ``minfree_`` prefix, base units (bytes, seconds, ratios
0-1), ``_total`` for counters, labels ``node``/``zone``/``order``. Every value is read from
the kernel or computed by the model (the file and version are cited where it is computed);
the full list, with meanings, is in the README.

prometheus-client is imported here, and this module only by ``minfree exporter``: other
commands never load it. The families are prometheus-client metrics (:class:`Family`, what the
exporter's collector yields to its ``CollectorRegistry``) that keep their samples as label
values and numbers until asked, so that :func:`exposition` writes each sample line from one
template without building prometheus-client's per-sample objects on every scrape.
"""
from __future__ import annotations

import functools
from collections import Counter
from typing import Any, Iterable, Iterator

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

from minfree import __version__
from minfree.analysis.headroom import AtomicHeadroom
from minfree.analysis.log_failures import FailureTally
from minfree.analysis.rates import WATCHED
from minfree.model.fragmentation import indices_by_order
from minfree.model.record import field, record
from minfree.proc.net_dev import ReceiveDrops
from minfree.proc.system import SystemState
from minfree.proc.vmstat import vmstat_total

#: indices_by_order of the buddyinfo rows seen lately (a row that did not change since the
#: last scrape costs a lookup; exact: a pure function of the counts).
_indices = functools.lru_cache(maxsize=64)(indices_by_order)

#: Version of ``minfree exporter --once --json``.
JSON_SCHEMA = 1

#: TCP counters of /proc/net/netstat (TcpExt) and /proc/net/snmp (Tcp) that tell a receive
#: path short of memory: (protocol, kernel name) -> metric name (6.18 include/uapi/linux/snmp.h).
TCP_COUNTERS = {
    ("TcpExt", "TCPRcvQDrop"): ("minfree_tcp_receive_queue_drops",
                                "Segments dropped because the socket's receive memory could not be charged (TCPRcvQDrop)."),
    ("TcpExt", "TCPBacklogDrop"): ("minfree_tcp_backlog_drops",
                                   "Segments dropped from a full socket backlog (TCPBacklogDrop)."),
    ("TcpExt", "TCPMemoryPressures"): ("minfree_tcp_memory_pressures",
                                       "Times TCP entered memory pressure (tcp_mem) (TCPMemoryPressures)."),
    ("TcpExt", "PruneCalled"): ("minfree_tcp_prune_calls",
                                "Receive queues pruned for lack of socket memory (PruneCalled)."),
    ("Tcp", "RetransSegs"): ("minfree_tcp_retransmitted_segments", "TCP segments retransmitted (RetransSegs)."),
}


@record(frozen=False)
class ExporterReading:
    """Everything one scrape serves; None where a source could not be read."""

    state: SystemState                       # zones, buddy, sysctls, PSI of this scrape
    headroom: AtomicHeadroom
    vmstat: dict[str, int] | None
    default_min_free_kb: int | None          # the kernel's boot-time default (model)
    recommended_min_free_kb: int | None      # minfree tune's proposal for this host
    failures: FailureTally | None            # None: the kernel log is not readable
    related: Counter[str] = field(default_factory=Counter)
    kernel_log_lost: int = 0
    receive_drops: list[ReceiveDrops] | None = None
    net_snmp: dict[str, dict[str, int]] = field(default_factory=dict)
    softnet_dropped: int | None = None
    # the in-kernel count of failed allocations since the exporter started: the total (None: no
    # count, failed_allocations_missing says why), per order when the method is "ebpf" (perf: None)
    failed_allocations: int | None = None
    failed_allocations_by_order: dict[int, int] | None = None
    failed_allocations_method: str = ""
    failed_allocations_missing: str = ""
    # the failures the eBPF program also recorded (ring buffer, 5.8+), classified as `minfree
    # trace` classifies them: (class, order) -> count since start (None: no records)
    failed_allocations_by_class: dict[tuple[str, int], int] | None = None
    gaps: list[tuple[str, str]] = field(default_factory=list)


def families(reading: ExporterReading) -> Iterator[Family]:
    """Every metric family of ``reading``, in a stable order."""
    yield from _info(reading)
    yield from _zones(reading)
    yield from _atomic(reading)
    yield from _reserves(reading)
    yield from _activity(reading)
    yield from _kernel_log(reading)
    yield from _in_kernel(reading)
    yield from _network(reading)


def _info(reading: ExporterReading) -> Iterator[Family]:
    info = gauge("minfree_build_info", "minfree version and the running kernel's release.",
                 labels=["version", "kernel"])
    info.add([__version__, reading.state.release or ""], 1)
    yield info
    gaps = gauge("minfree_source_unreadable",
                 "A source minfree could not read in this scrape (1 per path).",
                 labels=["path", "reason"])
    for path, reason in reading.gaps:
        gaps.add(["/" + path.lstrip("/"), reason], 1)
    yield gaps


def _zones(reading: ExporterReading) -> Iterator[Family]:
    state = reading.state
    page = state.page_size
    zl = ["node", "zone"]
    free = gauge("minfree_zone_free_bytes", "Free memory of the zone (zoneinfo pages free).", labels=zl)
    managed = gauge("minfree_zone_managed_bytes", "Memory the buddy allocator manages in the zone.",
                    labels=zl)
    marks = gauge("minfree_zone_watermark_bytes",
                  "Zone watermarks as zoneinfo prints them (boost included).", labels=zl + ["mark"])
    boost = gauge("minfree_zone_watermark_boost_bytes",
                  "Temporary watermark boost after fragmenting fallbacks (5.0+).", labels=zl)
    for z in state.zones:
        if not (z.managed if z.managed is not None else z.present):
            continue   # an empty zone (Movable, Device without memory): in no zonelist
        key = [str(z.node), z.zone]
        free.add(key, z.free * page)
        if z.managed is not None:
            managed.add(key, z.managed * page)
        for mark, value in (("min", z.min), ("low", z.low), ("high", z.high), ("promo", z.promo)):
            if value is not None:
                marks.add(key + [mark], value * page)
        if z.boost is not None:
            boost.add(key, z.boost * page)
    yield from (free, managed, marks, boost)

    ol = zl + ["order"]
    blocks = gauge("minfree_zone_free_blocks", "Free blocks of 2^order pages (buddyinfo).", labels=ol)
    unusable = gauge(
        "minfree_zone_unusable_index_ratio",
        "Share of free memory in blocks too small for the order (mm/vmstat.c unusable_free_index, 6.18).",
        labels=ol)
    extfrag = gauge(
        "minfree_zone_extfrag_index_ratio",
        "Fragmentation index (mm/vmstat.c __fragmentation_index, 6.18): towards 0 a failure at this order "
        "is for lack of memory, towards 1 for fragmentation; -1 while a block of the order is free.",
        labels=ol)
    for row in state.buddy:
        u, e = _indices(row.counts)
        for order, count in enumerate(row.counts):
            key = [str(row.node), row.zone, str(order)]
            blocks.add(key, count)
            unusable.add(key, u[order] / 1000)
            extfrag.add(key, e[order] / 1000)
    yield from (blocks, unusable, extfrag)


def _atomic(reading: ExporterReading) -> Iterator[Family]:
    page = reading.state.page_size
    room = reading.headroom
    floor = gauge(
        "minfree_zone_atomic_floor_bytes",
        "Free memory an order-0 GFP_ATOMIC request must leave in the zone: min reduced for GFP_ATOMIC "
        "plus the lowmem_reserve kept from Normal requests (mm/page_alloc.c __zone_watermark_ok).",
        labels=["node", "zone"])
    for (node, zone), pages in room.floors.items():
        floor.add([str(node), zone], pages * page)
    yield floor
    ol = ["node", "zone", "order"]
    headroom = gauge(
        "minfree_atomic_headroom_bytes",
        "Free memory order-N GFP_ATOMIC requests may still take from the zone before the kernel's "
        "watermark check fails (free above the floor, in blocks of at least that order): "
        "minfree_atomic_depth_requests x 2^N pages.", labels=ol)
    depth = gauge(
        "minfree_atomic_depth_requests",
        "Order-N GFP_ATOMIC requests the zone's free lists serve one after another before the kernel's "
        "watermark check fails, nothing freed meanwhile (doctor's 'atomic left').", labels=ol)
    for h in room.zones:   # > 0 exactly when the check passes in the zone now
        key = [str(h.node), h.zone, str(h.order)]
        headroom.add(key, h.pages * page)
        depth.add(key, h.requests)
    yield headroom
    yield depth
    request = gauge(
        "minfree_atomic_request_ok",
        "1 when an order-N GFP_ATOMIC request made on the node would succeed now (some zone of its "
        "zonelist passes the check).", labels=["node", "order"])
    for r in room.requests:
        request.add([str(r.node), str(r.order)], int(r.ok))
    yield request


def _reserves(reading: ExporterReading) -> Iterator[Family]:
    sysctls = reading.state.sysctls
    current = sysctls.min_free_kbytes if sysctls else None
    for name, kb, text in (
        ("minfree_min_free_bytes", current, "vm.min_free_kbytes now."),
        ("minfree_min_free_default_bytes", reading.default_min_free_kb,
         "The kernel's boot-time default min_free_kbytes for this machine (mm/page_alloc.c and "
         "mm/khugepaged.c rules, modelled)."),
        ("minfree_min_free_recommended_bytes", reading.recommended_min_free_kb,
         "The min_free_kbytes `minfree tune` recommends for this host now."),
    ):
        family = gauge(name, text)
        if kb is not None:
            family.add([], kb * 1024)
        yield family
    wsf = gauge("minfree_watermark_scale_factor_ratio",
                "vm.watermark_scale_factor as a share of each zone (units of 1/10000).")
    if sysctls is not None and sysctls.watermark_scale_factor is not None:
        wsf.add([], sysctls.watermark_scale_factor / 10000)
    yield wsf


def _activity(reading: ExporterReading) -> Iterator[Family]:
    counters = reading.vmstat or {}
    for name in WATCHED:
        total = vmstat_total(counters, name)
        if total is not None:
            family = counter(f"minfree_vmstat_{name}", f"/proc/vmstat {name} (summed over zones).")
            family.add([], total)
            yield family
    psi = reading.state.psi
    stall = counter("minfree_memory_pressure_stall_seconds",
                    "Time tasks stalled on memory (PSI total): some = at least one, full = all.",
                    labels=["kind"])
    ratio = gauge("minfree_memory_pressure_ratio", "PSI memory averages as a ratio of time.",
                  labels=["kind", "window"])
    for kind in ("some", "full"):
        line = getattr(psi, kind) if psi is not None else None
        if line is None:
            continue
        stall.add([kind], line.total_us / 1e6)
        for window, value in (("10s", line.avg10), ("60s", line.avg60), ("300s", line.avg300)):
            ratio.add([kind, window], value / 100)
    yield from (stall, ratio)


def _kernel_log(reading: ExporterReading) -> Iterator[Family]:
    tally = reading.failures
    if tally is None:
        return
    failures = counter(
        "minfree_kernel_log_allocation_failures",
        "Page allocation failure reports in this boot's kernel log, by order and origin (what wanted the memory).",
        labels=["order", "origin"])
    for (order, origin), count in sorted(tally.by_kind.items()):
        failures.add([order, origin], count)
    yield failures
    related = counter(
        "minfree_kernel_log_related_messages",
        "Messages that travel with failures: suppressed_reports (warn_alloc callbacks suppressed), oom_kill, "
        "alloc_stall, slab_failure, tcp_out_of_memory.", labels=["kind"])
    for kind, count in sorted(reading.related.items()):
        related.add([kind], count)
    yield related
    lost = counter("minfree_kernel_log_overwritten_reads",
                   "Times the kernel log wrapped before minfree read it (records lost).")
    lost.add([], reading.kernel_log_lost)
    yield lost


def _in_kernel(reading: ExporterReading) -> Iterator[Family]:
    """Failed page allocations counted in the kernel (``minfree.sources.failcount``, read by
    the command): every ``mm_page_alloc`` that returned no page, logged or not. The count sees
    each failure's order only; the classes (GFP_ATOMIC, __GFP_NOWARN, the caller) come from each
    failure's flags and kernel stack, which the eBPF program's records carry (ring buffers, 5.8+)."""
    count = reading.failed_allocations
    method = reading.failed_allocations_method
    available = gauge(
        "minfree_failed_allocations_available",
        "1 while the exporter counts failed page allocations in the kernel (method ebpf or hist: per order; "
        "perf: the total only); 0 when it cannot, with the reason (not root, no tracefs, neither eBPF, a hist "
        "trigger nor perf, a one-shot reading): minfree_failed_allocations_total is then absent, never 0.",
        labels=["method", "reason"])
    available.add([method, ""] if count is not None else ["", reading.failed_allocations_missing],
                  int(count is not None))
    yield available
    by_order = reading.failed_allocations_by_order
    failed = counter(
        "minfree_failed_allocations",
        "Failed page allocations counted in the kernel since the exporter started (mm_page_alloc with no "
        "page), logged or not: silent __GFP_NOWARN failures included. By order (eBPF, hist trigger); without "
        "an order label when only the total is counted (perf). Classes: minfree_failed_allocations_by_class_total.",
        labels=["order"] if by_order is not None else [])
    if by_order is not None:
        for order, n in sorted(by_order.items()):
            failed.add([str(order)], n)
    elif count is not None:
        failed.add([], count)
    yield failed
    by_class = counter(
        "minfree_failed_allocations_by_class",
        "Failed page allocations the kernel recorded since the exporter started, by class and order: "
        "each failure's GFP flags and kernel stack judged by minfree trace's rules "
        "(analysis/failure_classes.py: logged, opportunistic, silent_atomic, silent_blocking). Never more "
        "than minfree_failed_allocations_total: the difference is failures not recorded yet, or lost when "
        "the ring buffer filled between two scrapes.",
        labels=["class", "order"])
    for (klass, order), n in sorted((reading.failed_allocations_by_class or {}).items()):
        by_class.add([klass, str(order)], n)
    yield by_class


def _network(reading: ExporterReading) -> Iterator[Family]:
    if reading.receive_drops is not None:
        drops = counter("minfree_network_receive_drops",
                        "Received packets dropped (rx_dropped + rx_missed_errors, /proc/net/dev).",
                        labels=["device"])
        fifo = counter("minfree_network_receive_fifo_errors",
                       "Receive ring overruns (rx_fifo_errors, /proc/net/dev).", labels=["device"])
        for row in reading.receive_drops:
            drops.add([row.device], row.dropped)
            fifo.add([row.device], row.fifo)
        yield from (drops, fifo)
    if reading.softnet_dropped is not None:
        softnet = counter("minfree_softnet_backlog_drops",
                          "Packets dropped because a CPU's input backlog was full (softnet_stat).")
        softnet.add([], reading.softnet_dropped)
        yield softnet
    for (proto, kernel_name), (name, text) in TCP_COUNTERS.items():
        value = reading.net_snmp.get(proto, {}).get(kernel_name)
        if value is not None:
            family = counter(name, text)
            family.add([], value)
            yield family


#: Content type of :func:`exposition` (text format 0.0.4, which every Prometheus accepts).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Family(Metric):
    """A metric family of fixed ASCII name and label names whose samples are kept as rows
    (label values, number). ``samples`` builds prometheus-client's ``Sample`` objects only when
    asked (``generate_latest``, ``--json``); :func:`exposition` reads the rows."""

    def __init__(self, name: str, documentation: str, typ: str, labels: Iterable[str] = ()) -> None:
        # Metric.__init__ is left out: it validates the name again on every scrape, and would
        # set ``samples``, which here is computed
        self.name = name
        self.documentation = documentation
        self.unit = ""
        self.type = typ
        self.labels = tuple(labels)
        self.rows: list[tuple[tuple[str, ...], float]] = []

    def add(self, values: Iterable[str], value: float) -> None:
        self.rows.append((tuple(values), value))

    @property
    def sample_name(self) -> str:
        return self.name + "_total" if self.type == "counter" else self.name

    @property
    def samples(self) -> list[Sample]:   # type: ignore[override]
        name = self.sample_name
        return [Sample(name, dict(zip(self.labels, values)), value, None, None) for values, value in self.rows]


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> Family:
    return Family(name, documentation, "gauge", labels)


def counter(name: str, documentation: str, labels: Iterable[str] = ()) -> Family:
    """A counter; its samples are ``name_total`` (as prometheus-client's CounterMetricFamily)."""
    return Family(name, documentation, "counter", labels)


def exposition(metrics: Iterable[Family]) -> bytes:
    """The Prometheus text format of ``metrics``: what prometheus-client's ``generate_latest``
    writes for these families (the tests compare them), label names sorted, at a fraction of
    its CPU per scrape (it validates and escapes every name again for UTF-8 names; ours are
    fixed ASCII, only label values and help texts need escaping).

    >>> g = gauge("minfree_x_bytes", "X.", labels=["zone", "device"]); g.add(["DMA", 'e"1'], 4096)
    >>> c = counter("minfree_y", "Y.");  c.add([], 2)
    >>> print(exposition([g, c]).decode(), end="")
    # HELP minfree_x_bytes X.
    # TYPE minfree_x_bytes gauge
    minfree_x_bytes{device="e\\"1",zone="DMA"} 4096.0
    # HELP minfree_y_total Y.
    # TYPE minfree_y_total counter
    minfree_y_total 2.0
    """
    out: list[str] = []
    for metric in metrics:
        layout = _layout(metric.sample_name, metric.type, metric.documentation, metric.labels)
        rows = metric.rows
        if rows != layout.last_rows:   # most families (sizes, marks, counters at rest) repeat; equal
            # values print alike (Prometheus reads 0.0 and -0.0 as one)
            layout.last_rows, layout.last_text = rows, layout.text(rows)
        out.append(layout.last_text)
    return "".join(out).encode()


class _Layout:
    """What every scrape writes alike for one family: its HELP and TYPE lines, the start of
    each sample line up to its value (label names sorted, values escaped), kept per label
    values (they repeat from scrape to scrape), and the text of the rows written last."""

    def __init__(self, name: str, typ: str, documentation: str, labels: tuple[str, ...]) -> None:
        text = documentation.replace("\\", "\\\\").replace("\n", "\\n")
        self.header = f"# HELP {name} {text}\n# TYPE {name} {typ}\n"
        self.name = name
        self.order = sorted(range(len(labels)), key=labels.__getitem__)
        self.labels = labels
        self.prefixes: dict[tuple[str, ...], str] = {}
        # the rows last written and their text: a family whose rows are equal is not formatted again
        self.last_rows: list[tuple[tuple[str, ...], float]] | None = None
        self.last_text = ""

    def text(self, rows: list[tuple[tuple[str, ...], float]]) -> str:
        """The family's lines: HELP, TYPE and one line per row."""
        prefixes = self.prefixes
        if len(prefixes) > 2 * len(rows) + 64:
            prefixes.clear()   # label values that come and go (devices, origins): bounded
        try:
            lines = "".join([f"{prefixes[values]}{float(value)!r}\n" for values, value in rows])
        except KeyError:   # label values not seen before
            for values, _ in rows:
                if values not in prefixes:
                    prefixes[values] = self.prefix(values)
            lines = "".join([f"{prefixes[values]}{float(value)!r}\n" for values, value in rows])
        # a line ends in a digit but for the values Prometheus spells its own way (label values
        # and help texts have their newlines escaped)
        if "nan\n" in lines or "inf\n" in lines:
            lines = "".join([f"{prefixes[values]}{_SPECIAL.get(repr(float(value)), repr(float(value)))}\n"
                             for values, value in rows])
        return self.header + lines

    def prefix(self, values: tuple[str, ...]) -> str:
        if not self.labels:
            return self.name + " "
        pairs = ",".join(f'{self.labels[i]}="{_escaped(values[i]) or values[i]}"' for i in self.order)
        return f"{self.name}{{{pairs}}} "


@functools.cache
def _layout(name: str, typ: str, documentation: str, labels: tuple[str, ...]) -> _Layout:
    return _Layout(name, typ, documentation, labels)


def _escaped(value: str) -> str | None:
    """``value`` escaped as a label value, or None when it needs no escaping.

    >>> _escaped('a"b\\\\c'), _escaped("Normal")
    ('a\\\\"b\\\\\\\\c', None)
    """
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return None


#: repr() of the float values Prometheus spells its own way (repr of any other float ends in a digit)
_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def to_json(metrics: list[Family]) -> dict[str, Any]:
    """``minfree exporter --once --json``: the same families as one JSON document.

    >>> g = gauge("minfree_x_bytes", "X.", labels=["node"]); g.add(["0"], 4096)
    >>> to_json([g])["metrics"][0]["samples"]
    [{'name': 'minfree_x_bytes', 'labels': {'node': '0'}, 'value': 4096}]
    """
    return {
        "schema": JSON_SCHEMA,
        "metrics": [
            {"name": m.name, "type": m.type, "help": m.documentation,
             "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in m.samples]}
            for m in metrics
        ],
    }
