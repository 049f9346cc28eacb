"""``minfree exporter``: the reserves, headroom and failures of this host for Prometheus.

A custom prometheus-client collector reads at scrape time, through the readers of
:mod:`minfree.sources` and the parsers of :mod:`minfree.proc`, only what changes between
scrapes (zoneinfo, buddyinfo, vmstat, PSI, min_free_kbytes, the network counters and the
kernel log records logged since the last scrape); the facts that change only when an
administrator acts (kernel release, THP mode, NICs, NUMA nodes, the other vm sysctls) are
read again at most every :data:`FACTS_SECONDS`. No background thread, no doctor per scrape;
the HTTP server is single-threaded in the main thread (one scrape at a time).

Served over HTTP (loopback by default) or, with ``--textfile DIR``, written once to
``DIR/minfree.prom`` for node_exporter's textfile collector (atomic rename).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from minfree.errors import UsageError
from minfree.model.record import replace
from minfree.sources.root import SystemRoot

if TYPE_CHECKING:
    from minfree.analysis.log_failures import FailureTally
    from minfree.commands.failure_records import RingFailures
    from minfree.proc.system import SystemState
    from minfree.render.prometheus import ExporterReading
    from minfree.sources.failcount import FailureCounter
    from minfree.sources.kmsg import KmsgCursor

DEFAULT_LISTEN = "127.0.0.1:9723"
TEXTFILE_NAME = "minfree.prom"
#: How long facts that only an administrator changes are reused between scrapes.
FACTS_SECONDS = 60.0
#: Why a one-shot reading (--once, --textfile) serves no in-kernel count of failed allocations.
NOT_COUNTING = "a one-shot reading counts nothing (only a running exporter counts)"

EXAMPLES = """examples:
  minfree exporter                              serve http://127.0.0.1:9723/metrics
  minfree exporter --listen 0.0.0.0:9723        every interface (firewall it)
  minfree exporter --textfile /var/lib/prometheus/node-exporter
                                                write minfree.prom once, for node_exporter
  minfree exporter --once | grep headroom       one reading, Prometheus text format
  minfree exporter --once --json                one reading as JSON (schema in the README)
  minfree exporter --rules > minfree-rules.yml  the alert rules, for Prometheus
"""


def add_parser(subparsers) -> None:
    exporter = subparsers.add_parser(
        "exporter", help="Prometheus metrics: reserves, atomic headroom, failures, drops",
        description="Serve this host's memory reserves, GFP_ATOMIC headroom per zone and order, "
                    "fragmentation, reclaim activity, kernel-log failures and network drops to "
                    "Prometheus. Listens on loopback unless told otherwise.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = exporter.add_mutually_exclusive_group()
    mode.add_argument("--listen", metavar="HOST:PORT", type=_address, default=_address(DEFAULT_LISTEN),
                      help=f"address to serve /metrics on (default {DEFAULT_LISTEN})")
    mode.add_argument("--textfile", metavar="DIR",
                      help=f"write DIR/{TEXTFILE_NAME} once (node_exporter textfile collector) and exit")
    mode.add_argument("--once", action="store_true", help="print one reading to stdout and exit")
    mode.add_argument("--rules", action="store_true",
                      help="print the Prometheus alert rules (deploy/prometheus/minfree-rules.yml) and exit")
    exporter.add_argument("--json", action="store_true", help="with --once: one JSON document instead")
    exporter.set_defaults(run=run)


def _address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9723`` for IPv6).

    >>> _address("127.0.0.1:9723"), _address("[::1]:80")
    (('127.0.0.1', 9723), ('::1', 80))
    >>> _address("localhost")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected HOST:PORT, got 'localhost'
    """
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


class KernelLogCounter:
    """Failure reports of the live kernel log, tallied as the kernel logs them: the first
    :meth:`poll` reads what the ring buffer holds (this boot so far), each later one only the
    records logged since."""

    def __init__(self, cursor: KmsgCursor) -> None:
        from minfree.analysis.explain import event_kernel, explain_event
        from minfree.analysis.log_failures import FailureTally
        from minfree.commands.scan import running_gfp
        from minfree.logs.scanner import LogScanner
        from minfree.sources.kmsg import KMSG_PATH

        self.cursor = cursor
        self.tally = FailureTally()
        self._found: list = []
        self._lineno = 0
        self.scanner = LogScanner(KMSG_PATH, self._found.append,
                                  prepare=lambda event: explain_event(event, event_kernel(event, None), running_gfp()))

    def poll(self, final: bool = False) -> FailureTally:
        """Feed the new records; a report still open when nothing new came (or ``final``: the
        reading ends here) is completed."""
        records = self.cursor.drain()
        for record in records:
            # "6,339,5140900,-;text" and " KEY=value" dictionary lines (the normalizer drops them)
            for raw in record.decode("utf-8", "replace").splitlines():
                self._lineno += 1
                self.scanner.feed_line(raw, self._lineno)
        if final or not records:
            self.scanner.pause()
        if self._found:
            self.tally.add(self._found)
            self._found.clear()
        return self.tally


class Collector:
    """The prometheus-client collector: one reading of ``root`` per :meth:`collect`."""

    def __init__(self, root: SystemRoot, kernel_log: KernelLogCounter | None,
                 kernel_log_gap: tuple[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 failures_in_kernel: FailureCounter | None = None,
                 failures_in_kernel_missing: str = NOT_COUNTING,
                 failure_records: RingFailures | None = None) -> None:
        """``kernel_log``: None when /dev/kmsg could not be opened (``kernel_log_gap`` says why).
        ``failures_in_kernel``: the in-kernel counter of failed allocations, opened and enabled
        once at start and read at every scrape; None when it could not be opened
        (``failures_in_kernel_missing`` says why). ``failure_records``: that counter's records,
        each classified at the scrape that drains it."""
        self.root = root
        self.kernel_log = kernel_log
        self.kernel_log_gap = kernel_log_gap
        self.failures_in_kernel = failures_in_kernel
        self.failures_in_kernel_missing = failures_in_kernel_missing
        self.failure_records = failure_records
        self.by_class: Counter[tuple[str, int]] = Counter()
        self.started = time.monotonic()
        self.clock = clock
        self._facts: SystemState | None = None
        self._facts_gaps: list[tuple[str, str]] = []
        self._facts_at = 0.0
        self._sizing_key: tuple | None = None
        self._sizing_value: tuple[int | None, int | None] = (None, None)

    def describe(self) -> list:
        return []   # no registration-time scrape

    def collect(self) -> Iterator:
        from minfree.render.prometheus import families

        return families(self.read())

    def facts(self) -> SystemState:
        """What only an administrator changes, read again after :data:`FACTS_SECONDS`."""
        now = self.clock()
        if self._facts is None or now - self._facts_at >= FACTS_SECONDS:
            from minfree.sources import readers

            from minfree.model.zones import PAGE_SIZE_DEFAULT
            from minfree.proc.system import SystemState

            start = len(self.root.gaps)
            version = readers.read_version(self.root)
            self._facts = SystemState(
                origin=self.root.path, is_live=self.root.is_live, gaps=[],
                release=version.release if version else None, kernel=version.version if version else None,
                zones=[], buddy=[], kernel_indices=None, pagetypes=None,
                meminfo=readers.read_meminfo(self.root), psi=None,
                sysctls=readers.read_vm_sysctls(self.root), thp=readers.read_thp(self.root),
                numa=readers.read_numa(self.root), netdevs=readers.read_netdevs(self.root),
                boot_settings={}, lowmem_reserve_ratio=None,
                page_size=os.sysconf("SC_PAGE_SIZE") if self.root.is_live else PAGE_SIZE_DEFAULT)
            self._facts_gaps = self.root.gaps[start:]
            self._facts_at = now
        return self._facts

    def read(self) -> ExporterReading:
        from minfree.analysis.headroom import atomic_headroom
        from minfree.analysis.rates import WATCHED
        from minfree.analysis.zones import ZONE_STATE_STATS
        from minfree.proc.buddyinfo import parse_buddyinfo
        from minfree.proc.sysctl import parse_sysctl_int
        from minfree.proc.zoneinfo import parse_zoneinfo
        from minfree.render.prometheus import TCP_COUNTERS, ExporterReading
        from minfree.sources import readers, specs

        facts = self.facts()
        root = self.root
        root.gaps.clear()
        # the fast-changing memory files first, back to back (one instant), as load_system does
        zoneinfo = readers.read_text(root, specs.ZONEINFO)
        buddyinfo = readers.read_text(root, specs.BUDDYINFO)
        vmstat = readers.read_vmstat(root, WATCHED)   # what the families serve
        psi = readers.read_psi(root)
        sysctls = facts.sysctls
        if sysctls is not None:
            live = {}
            for name in ("min_free_kbytes", "watermark_scale_factor"):
                text = readers.read_text(root, specs.vm_sysctl(name, optional=True))
                live[name] = None if text is None else parse_sysctl_int(text)
            sysctls = replace(sysctls, **live)
        state = replace(
            facts, gaps=root.gaps, zones=parse_zoneinfo(zoneinfo, ZONE_STATE_STATS) if zoneinfo else [],
            buddy=parse_buddyinfo(buddyinfo) if buddyinfo else [], psi=psi, sysctls=sysctls)
        tally = self.kernel_log.poll() if self.kernel_log is not None else None
        default, recommended = self._sizing(state, tally)
        reading = ExporterReading(
            state=state, headroom=atomic_headroom(state), vmstat=vmstat,
            default_min_free_kb=default, recommended_min_free_kb=recommended, failures=tally,
            receive_drops=readers.read_receive_drops(root),
            net_snmp=readers.read_net_snmp(root, {proto for proto, _ in TCP_COUNTERS}),
            softnet_dropped=readers.read_softnet_dropped(root))
        if self.kernel_log is not None:
            reading.related = self.kernel_log.scanner.assembler.related
            reading.kernel_log_lost = self.kernel_log.cursor.lost
        if self.failures_in_kernel is not None:
            try:
                if self.failure_records is not None:
                    # drained before the count is read: every failure drained is in the count (the
                    # program counts, then records), so the classes never add up to more
                    for failure in self.failure_records.drain(self.started):
                        self.by_class[failure.klass, failure.order] += 1
                count = self.failures_in_kernel.read()
            except OSError as error:   # e.g. someone removed the hist trigger: say so, keep serving
                self.failures_in_kernel.close()
                self.failures_in_kernel = None
                self.failures_in_kernel_missing = f"the counter could not be read: {error}"
        if self.failures_in_kernel is not None:
            reading.failed_allocations, reading.failed_allocations_by_order = count.total, count.by_order
            reading.failed_allocations_method = self.failures_in_kernel.kind
            if self.failure_records is not None:
                from minfree.analysis.failure_classes import CLASSES
                from minfree.sources.bpf import MAX_REPORTED_ORDER

                # every series from the first scrape, as the per-order count (increase() sees a rise from 0)
                reading.failed_allocations_by_class = {
                    **{(klass, order): 0 for klass in CLASSES for order in range(MAX_REPORTED_ORDER + 1)},
                    **self.by_class}
        else:
            reading.failed_allocations_missing = self.failures_in_kernel_missing
        reading.gaps = self._facts_gaps + list(root.gaps)
        if self.kernel_log_gap is not None:
            reading.gaps.append(self.kernel_log_gap)
        return reading


    def _sizing(self, state: SystemState, tally: FailureTally | None) -> tuple[int | None, int | None]:
        """(kernel default, tune's recommendation) of min_free_kbytes, computed again only when
        what they depend on changed: the facts, the zones' sizes, the sysctls, the failures."""
        key = (self._facts_at, tuple((z.node, z.zone, z.managed, z.present) for z in state.zones),
               state.sysctls, tally.summary if tally else None)
        if key != self._sizing_key:
            from minfree.analysis.prediction import default_min_free
            from minfree.analysis.sizing import propose

            default = default_min_free(state)
            recommended = None
            if state.zones and state.sysctls is not None:
                recommended = propose(state, failures=tally.summary if tally else None).changes[0].proposed
            self._sizing_key = key
            self._sizing_value = (default.kbytes if default else None, recommended)
        return self._sizing_value


def _kernel_log() -> tuple[KernelLogCounter | None, tuple[str, str] | None]:
    from minfree.sources.kmsg import KMSG_PATH, KmsgCursor

    try:
        return KernelLogCounter(KmsgCursor()), None
    except OSError as error:
        return None, (KMSG_PATH, error.strerror or str(error))


def _failures_in_kernel() -> tuple[FailureCounter | None, str, RingFailures | None]:
    """The in-kernel counter of failed page allocations, counting from now, with its records
    where eBPF has ring buffers (classified as `minfree trace` classifies them); or None and why
    (not root, no tracefs, neither eBPF, hist triggers nor perf events)."""
    from minfree.sources.failcount import EBPF, FailureCounter, running_layout

    counter, why = FailureCounter.open(records=True)
    if counter is None:
        return None, why or "unavailable", None
    records = None
    if counter.kind == EBPF and getattr(counter.counter, "ring", None) is not None:
        from minfree.commands.failure_records import RingFailures

        records = RingFailures(counter.counter, running_layout(), [])
    counter.enable()
    return counter, "", records


def _registry(collector: Collector):
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def run(args: argparse.Namespace) -> int:
    if args.json and not args.once:
        raise UsageError("--json goes with --once (a server and a textfile speak Prometheus text)")
    if args.rules:
        from minfree.render.prometheus_rules import rules_yaml

        sys.stdout.write(rules_yaml())
        return 0
    if args.textfile is not None:
        _check_textfile_dir(Path(args.textfile))
    kernel_log, gap = _kernel_log()
    one_shot = args.once or args.textfile is not None
    # the in-kernel count is a counter only while the exporter lives: a one-shot reading does
    # not open it (it would serve a count of its own few milliseconds)
    failures, missing, records = (None, NOT_COUNTING, None) if one_shot else _failures_in_kernel()
    collector = Collector(SystemRoot("/"), kernel_log, gap, failures_in_kernel=failures,
                          failures_in_kernel_missing=missing, failure_records=records)
    registry = _registry(collector)
    if one_shot:
        from minfree.render.prometheus import exposition, to_json

        if kernel_log is not None:
            kernel_log.poll(final=True)   # the whole ring buffer now: complete the last report
        if args.textfile is not None:
            from minfree.actions.safefs import write_file

            # node_exporter's textfile collector reads files of its user: world-readable
            write_file(Path(args.textfile), TEXTFILE_NAME, exposition(registry.collect()), 0o644)
        elif args.json:
            json.dump(to_json(list(registry.collect())), sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(exposition(registry.collect()).decode())
        return 0
    if kernel_log is not None:
        kernel_log.poll()   # the ring buffer so far, before the first scrape has to wait for it
    return _serve_until_stopped(args.listen, registry, failures)


def _serve_until_stopped(address: tuple[str, int], registry, failures: FailureCounter | None) -> int:
    """Serve until SIGTERM (a service manager's stop) or SIGINT, then close the counter: the
    hist-trigger counter's tracefs instance outlives a process killed without it."""
    import signal

    def stop(signum, frame):  # noqa: ARG001
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return _serve(address, registry)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if failures is not None:
            failures.close()


def _check_textfile_dir(path: Path) -> None:
    """The directory and every one above it must be trusted as the state root acts on is
    (:func:`minfree.actions.safefs.check_trusted`): a planted link or file there would be
    written or read by root."""
    from minfree.actions.safefs import UnsafeError, check_trusted

    try:
        check_trusted(path)
    except UnsafeError as error:
        raise UsageError(f"--textfile {path}: {error}; refusing to write there") from None
    except OSError as error:
        raise UsageError(f"--textfile {path}: {error.strerror or error}") from None


#: Seconds a client may take to send its whole request: the server answers one scrape at a
#: time, so a client that connects and says nothing (or trickles) must not hold it.
REQUEST_TIMEOUT = 3
#: The most a request may hold (request line and headers; a scrape sends a few hundred bytes).
REQUEST_BYTES = 16 << 10
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
            501: "Not Implemented"}


def _serve(address: tuple[str, int], registry) -> int:
    """Answer scrapes in this thread, one at a time, each connection closed after its answer
    (HTTP/1.0): ``GET``/``HEAD`` of ``/metrics`` and ``/`` are one reading, any other path is
    404. The request is read to the end of its headers and only its first line is used (a
    scrape needs nothing else), which costs a fraction of http.server's parsing per scrape."""
    import socket

    from minfree.render.prometheus import CONTENT_TYPE, exposition

    host, port = address
    try:
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"minfree exporter: serving http://{shown}:{port}/metrics", file=sys.stderr, flush=True)
    with listener:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:   # the client left before its connection was accepted
                continue
            with connection:
                try:
                    _answer(connection, registry, CONTENT_TYPE, exposition)
                except OSError:   # the client went away mid-answer: the next scrape is served
                    pass


def _answer(connection, registry, content_type: str, exposition) -> None:
    line = _request_line(connection)
    if line is None:
        return
    method, _, rest = line.partition(" ")
    target, _, version = rest.partition(" ")
    if not target.startswith("/") or not version.startswith("HTTP/"):
        _reply(connection, 400, b"minfree exporter: bad request\n", "text/plain", True)
    elif method not in ("GET", "HEAD"):
        _reply(connection, 501, b"minfree exporter: only GET and HEAD\n", "text/plain", True)
    elif target.split("?", 1)[0] not in ("/", "/metrics"):
        _reply(connection, 404, b"minfree exporter: metrics are at /metrics\n", "text/plain", method == "GET")
    else:
        try:
            body = exposition(registry.collect())
        except Exception as error:   # one bad reading is a failed scrape, never a dead exporter
            print(f"minfree exporter: reading failed: {error!r}", file=sys.stderr, flush=True)
            _reply(connection, 500, b"minfree exporter: reading failed\n", "text/plain", method == "GET")
            return
        _reply(connection, 200, body, content_type, method == "GET")


def _request_line(connection) -> str | None:
    """The request's first line, once its headers have arrived whole; None when the client
    sends nothing, too much or not in time (:data:`REQUEST_TIMEOUT` for the whole request)."""
    deadline = time.monotonic() + REQUEST_TIMEOUT
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or len(data) > REQUEST_BYTES:
            return None
        connection.settimeout(left)
        try:
            part = connection.recv(4096)
        except OSError:   # timed out, or reset
            return None
        if not part:
            return None
        data += part
    return data.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")


def _reply(connection, status: int, body: bytes, content_type: str, send_body: bool) -> None:
    import socket

    head = (f"HTTP/1.0 {status} {_REASONS[status]}\r\nServer: minfree-exporter\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    connection.sendall(head.encode("latin-1") + body if send_body else head.encode("latin-1"))
    connection.shutdown(socket.SHUT_WR)
