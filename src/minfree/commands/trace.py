"""``minfree trace``: count every failed page allocation as it happens, classify it, and set it
beside the network's loss counters and the kernel's reclaim latency over the same window.

What runs, best first, and how it degrades (each missing piece is said, with its reason):

1. one raw-tracepoint eBPF program on ``mm_page_alloc`` (``sources.bpf``, 4.17+): counts
   failed allocations and non-blocking allocations (the demand) per order, and writes each
   failure (order, raw GFP mask, task, kernel stack) into a BPF ring buffer (5.8+); the only
   hook on the hot tracepoint;
2. without ring buffers: the eBPF counter, and the records from a tracefs instance of our
   own (``sources.tracefs.TraceInstance``) with the filter ``pfn == 0xffffffffffffffff`` and
   a ``stacktrace`` trigger (without the trigger: no call sites, classes from the flags);
3. without eBPF: a hist trigger keyed on the order, with the same filter, in an instance of
   its own where the kernel has hist triggers (``sources.hist_counter``: the count per order,
   no demand), else a perf counting event on ``kmem:mm_page_alloc`` with the same filter, one
   per CPU (``sources.perf``: the count, no demand); and the tracefs records; without perf
   the count is the records plus what the buffer lost; with nothing (not root, no eBPF and
   no tracefs) the command says why and exits 1.

Without tracefs (not mounted, or refused as confidentiality lockdown refuses it) the eBPF
program still counts and records (it attaches by the tracepoint's name); what is lost is the
reclaim latencies, the perf and tracefs fallbacks and the running kernel's own GFP table (the
era table decodes). ``tests/commands/test_trace_degrade.py`` makes each refusal real.

The tracefs instance also carries the vmscan events (kswapd wake/sleep, direct reclaim
begin/end: rare, so cheap). ``--count-only`` keeps only the in-kernel count.

Everything is opened before counting starts (opening a trace file needs a small high-order
kmalloc, which may fail on the very host being diagnosed); every event is this process's own
(its instance, its eBPF program, its perf fds), so other tracers are not disturbed; SIGINT, SIGTERM and SIGHUP
end the window early, and the instance is removed and the fds closed on every exit.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
from minfree.sources.failcount import FAILED_FILTER, PAGE_ALLOC, direct_reclaim_bit, running_layout

VMSCAN_EVENTS = ("vmscan/mm_vmscan_kswapd_wake", "vmscan/mm_vmscan_kswapd_sleep",
                 "vmscan/mm_vmscan_direct_reclaim_begin", "vmscan/mm_vmscan_direct_reclaim_end")
#: /proc/vmstat counters of failures the kernel does count (the rest it does not).
KERNEL_COUNTERS = ("htlb_buddy_alloc_fail", "thp_fault_fallback", "thp_collapse_alloc_failed",
                   "compact_fail", "compact_stall", "allocstall_dma32", "allocstall_normal",
                   "allocstall_movable")

EXAMPLES = """examples:
  sudo minfree trace                          10 s: failed allocations, classified, with drops
  sudo minfree trace --duration 60 --json     one JSON document (schema in render/trace_json.py)
  sudo minfree trace --follow --interval 5    a line every 5 s until Ctrl-C, then the summary
  sudo minfree trace --count-only             the in-kernel count alone (cheapest)
  sudo minfree trace --json > t.json; minfree tune --trace t.json   reserves from the measured demand
"""


class _Stop(Exception):
    """SIGTERM or SIGHUP: end the window, clean up, report what was seen."""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 86400 seconds: {text}")
    return value


def add_parser(subparsers) -> None:
    trace = subparsers.add_parser(
        "trace", help="count failed page allocations as they happen (silent ones too), classified",
        description="Count every failed page allocation (kmem:mm_page_alloc with no page), the "
                    "silent __GFP_NOWARN ones included, by second, order, GFP flags, process and "
                    "call site; classify each (logged / opportunistic / silent atomic / silent "
                    "blocking); show NIC, softnet and TCP drops over the same window. Needs root.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    trace.add_argument("--duration", type=_positive, default=None,
                       help="seconds to trace (default 10; with --follow: until interrupted)")
    trace.add_argument("--interval", type=_positive, default=1.0, help="seconds per row (default 1)")
    trace.add_argument("--follow", action="store_true", help="print each interval as it ends")
    trace.add_argument("--json", action="store_true",
                       help="JSON (with --follow: one JSON object per line, then the summary)")
    trace.add_argument("--count-only", action="store_true",
                      help="only the in-kernel count of failures (no records, no classes)")
    trace.set_defaults(run=run)


def _lockdown() -> str | None:
    try:
        with open("/sys/kernel/security/lockdown", encoding="ascii") as handle:
            text = handle.read()
    except OSError:
        return None
    return "kernel lockdown (confidentiality) disables tracing" if "[confidentiality]" in text else None


class _Tap:
    """Everything the kernel counts or delivers for one window, opened before it starts."""

    def __init__(self, args: argparse.Namespace, layout) -> None:
        from minfree.tracing.records import TraceParser

        self.layout = layout
        self.counter = None
        self.tracefs: str | None = None
        self.instance = None
        self.ring_failures = None   # commands.failure_records.RingFailures, with eBPF records
        self.kmsg_seq: int | None = None
        self.parser = TraceParser()
        self.records: list = []  # vmscan records (tracefs)
        self.fresh: list = []  # analysis.trace_window.Failure not yet taken, from either source
        self.start = 0.0
        self.sources: dict[str, str] = {}
        self.missing: list[str] = []
        try:
            self._open(args, direct_reclaim_bit(layout))
        except BaseException:
            self.close()
            raise

    def _open(self, args: argparse.Namespace, direct_reclaim_bit: int) -> None:
        from minfree.sources import tracefs
        from minfree.sources.failcount import EBPF, HIST, PERF, open_in_kernel

        base = self.tracefs = tracefs.live_tracefs()
        locked = _lockdown()
        if locked:
            self.missing.append(locked)
        if base is None:  # eBPF attaches by the tracepoint's name: it needs no tracefs
            self.missing.append("tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing): "
                                "no reclaim latencies, no perf or tracefs fallback, GFP names from "
                                f"the {self.layout.name} table")
        elif not os.path.isdir(os.path.join(base, "events", PAGE_ALLOC)):
            self.missing.append(f"no {PAGE_ALLOC} tracepoint on this kernel")
            return
        self.counter, kind = open_in_kernel(base, lambda: self._bpf(args, direct_reclaim_bit), self.missing,
                                            "so no demand")
        if kind == EBPF:
            self.sources["in-kernel count"] = "eBPF raw tracepoint program (failures and demand per order)"
        elif kind == HIST:
            self.sources["in-kernel count"] = "hist trigger in a tracefs instance (failures per order)"
        elif kind == PERF:
            self.sources["in-kernel count"] = f"perf counting event, {len(self.counter.fds)} CPU(s)"
        if args.count_only:
            return
        self.kmsg_seq = _kmsg_last_seq()
        if base is None:
            return
        try:
            removed = tracefs.remove_stale_instances(base)
            if removed:
                self.sources["cleaned"] = "removed stale instance(s) " + ", ".join(removed)
            self.instance = tracefs.TraceInstance(base)
            if self.ring is None:
                try:
                    self.instance.add_event(PAGE_ALLOC, FAILED_FILTER, stacktrace=True)
                    self.sources["records"] = "tracefs instance with stack traces"
                except tracefs.TracefsUnavailable as exc:
                    self.instance.add_event(PAGE_ALLOC, FAILED_FILTER)
                    self.sources["records"] = "tracefs instance"
                    self.missing.append(f"call sites: stacktrace trigger refused ({exc.strerror})")
            for event in VMSCAN_EVENTS:
                if os.path.isdir(os.path.join(self.instance.path, "events", event)):
                    self.instance.add_event(event)
                else:
                    self.missing.append(f"{event}: not on this kernel")
            self.instance.open_pipe()
        except (tracefs.TracefsUnavailable, OSError) as exc:
            self.missing.append(f"{'reclaim latencies' if self.ring is not None else 'records'}: "
                                f"{exc.strerror or exc}")
            if self.instance is not None:
                self.instance.close()
            self.instance = None

    def _bpf(self, args: argparse.Namespace, direct_reclaim_bit: int):
        """The eBPF counter, with a record of each failure in its ring buffer (5.8+) unless
        --count-only; without ring buffers, the counter alone (records then come from tracefs)."""
        from minfree.sources.bpf import RawTracepointCounter
        from minfree.sources.perf import PerfUnavailable

        if args.count_only:
            return RawTracepointCounter(direct_reclaim_bit)
        try:
            counter = RawTracepointCounter(direct_reclaim_bit, records=True)
        except PerfUnavailable as exc:
            counter = RawTracepointCounter(direct_reclaim_bit)  # when this fails too, the caller says so
            instead = "records from tracefs instead" if self.tracefs else "and no tracefs: no records"
            self.missing.append(f"eBPF records: {exc.strerror} ({instead})")
            return counter
        from minfree.commands.failure_records import RingFailures, kallsyms_text

        # kallsyms read now (a large read on a host short of memory), parsed when a stack needs it
        self.ring_failures = RingFailures(counter, self.layout, self.missing, kallsyms_text(), keep=True)
        self.sources["records"] = "eBPF ring buffer with kernel stacks"
        return counter

    @property
    def ring(self):
        return getattr(self.counter, "ring", None)

    @property
    def usable(self) -> bool:
        return self.counter is not None or self.instance is not None

    def enable(self) -> None:
        if self.instance is not None:
            self.instance.enable()
        if self.counter is not None:
            self.counter.enable()
        self.start = time.monotonic()

    def read(self) -> tuple[int | None, dict[str, int]]:
        """Drain the records waiting, then the in-kernel counts so far."""
        self._drain()
        return self.counts()

    def _drain(self, final: bool = False) -> None:
        from minfree.analysis.trace_window import failure_from_record

        records = []
        if self.instance is not None:
            records = self.parser.feed(self.instance.drain().splitlines())
            if final:
                records += self.parser.flush()
        for record in records:
            if record.event.startswith("mm_vmscan"):
                self.records.append(record)
                continue
            failure = failure_from_record(record, self.layout, self.start)
            if failure is not None:
                self.fresh.append(failure)
        if self.ring is not None and self.ring_failures is not None:
            self.fresh.extend(self.ring_failures.drain(self.start))

    def counts(self) -> tuple[int | None, dict[str, int]]:
        if self.counter is None:
            return None, {}
        failed, demand = self.counter.read()
        return failed, demand or {}

    def finish(self) -> None:
        """Stop recording and counting (records first: a failure between the two is counted,
        never recorded but uncounted), then drain every record left."""
        if self.instance is not None:
            self.instance.disable()
        if self.counter is not None:
            self.counter.disable()
        self._drain(final=True)

    def take(self) -> list:
        """The failures drained since the last call."""
        fresh, self.fresh = self.fresh, []
        return fresh

    def lost(self, recorded: int) -> int:
        """Records lost. eBPF: failures counted but not recorded (its ring buffer was full).
        tracefs: the ring buffer's overrun and dropped counters (the reader's ``[LOST N
        EVENTS]`` notices report the same events, so the larger of the two)."""
        if self.ring is not None:
            return max(0, (self.counts()[0] or 0) - recorded)
        return max(self.instance.lost() if self.instance is not None else 0, self.parser.lost)

    def close(self) -> None:
        if self.counter is not None:
            self.counter.close()
        if self.instance is not None:
            self.instance.close()


def _kmsg_seq(record: bytes) -> int | None:
    """The sequence number of a /dev/kmsg record ("PRIORITY,SEQUENCE,USEC,FLAGS;TEXT")."""
    fields = record.split(b";", 1)[0].split(b",")
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _from_kernel(record: bytes) -> bool:
    """Whether the kernel wrote the record: facility 0 (PRIORITY = facility << 3 | level);
    lines user space writes into /dev/kmsg carry LOG_USER or another facility."""
    prio = record.split(b",", 1)[0]
    return prio.isdigit() and int(prio) >> 3 == 0


def _kmsg_last_seq() -> int | None:
    """The newest record's sequence number now: what the kernel logs later is the window's."""
    from minfree.sources.kmsg import read_kmsg_records

    try:
        records = read_kmsg_records()
    except OSError:
        return None
    return max((seq for seq in map(_kmsg_seq, records) if seq is not None), default=-1)


def _kmsg_counts(after_seq: int | None) -> dict[str, int] | None:
    """Failure reports the kernel printed in the window (mm/page_alloc.c warn_alloc:
    "<comm>: page allocation failure: order:N, mode:...") and those its ratelimit suppressed
    ("warn_alloc: N callbacks suppressed")."""
    from minfree.logs.related import related_kind
    from minfree.sources.kmsg import read_kmsg_records

    if after_seq is None:
        return None
    try:
        records = read_kmsg_records()
    except OSError:
        return None
    printed = suppressed = 0
    for record in records:
        seq = _kmsg_seq(record)
        if seq is None or seq <= after_seq or not _from_kernel(record):
            continue
        text = record.split(b";", 1)[-1].split(b"\n", 1)[0].decode("utf-8", errors="replace")
        if "page allocation failure" in text:
            printed += 1
        kind = related_kind(text)
        if kind is not None and kind[0] == "suppressed_reports":
            suppressed += kind[1]
    return {"printed": printed, "suppressed": suppressed}


def _raise_broken_pipe() -> None:
    raise BrokenPipeError()


def _stdout_console():
    """The console of stdout, on which a closed pipe is a BrokenPipeError (cli: exit 0), not
    rich's own exit 1."""
    from minfree.render.console import console

    out = console()
    out.on_broken_pipe = _raise_broken_pipe
    return out


def run(args: argparse.Namespace) -> int:
    from minfree.analysis.trace_window import Interval, Tally, TraceWindow, counter_deltas, reclaim_latencies
    from minfree.proc.vmstat import vmstat_total
    from minfree.render.console import console
    from minfree.render import trace_text
    from minfree.sources.netstat import physical_interfaces, read_net_counters
    from minfree.sources.readers import read_vmstat
    from minfree.sources.root import SystemRoot

    err = console(sys.stderr)
    if args.duration is None and not args.follow:
        args.duration = 10.0
    if args.duration is not None and args.interval > args.duration:
        args.interval = args.duration
    if os.geteuid() != 0:
        trace_text.render_error("minfree trace needs root (eBPF, perf events and tracefs); run it with sudo.", err)
        return EXIT_UNAVAILABLE
    root = SystemRoot("/")
    interfaces = physical_interfaces(root)
    layout = running_layout()
    tap = _Tap(args, layout)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def stop(signum, frame):  # noqa: ARG001
        raise _Stop()

    try:
        if not tap.usable:
            trace_text.render_error("minfree trace: nothing can count here: " + "; ".join(tap.missing), err)
            return EXIT_UNAVAILABLE
        for sig in previous:
            signal.signal(sig, stop)
        vm_before = read_vmstat(root) or {}
        net_before = read_net_counters(root, interfaces)
        intervals: list[Interval] = []
        tap.enable()
        start = tap.start
        last_failed, last_demand, last_net = 0, {}, net_before
        tick = start
        tally, out = Tally(), _stdout_console()
        try:
            while args.duration is None or tick - start < args.duration - 1e-9:
                step = args.interval if args.duration is None else min(args.interval, args.duration - (tick - start))
                tick += step
                time.sleep(max(0.0, tick - time.monotonic()))
                failed, demand = tap.read()
                net = read_net_counters(root, interfaces)
                interval = Interval(start=intervals[-1].end if intervals else 0.0, end=time.monotonic() - start,
                                    failed=None if failed is None else failed - last_failed,
                                    demand={k: v - last_demand.get(k, 0) for k, v in demand.items()},
                                    net=counter_deltas(last_net, net))
                intervals.append(interval)
                for failure in tap.take():
                    tally.add(failure, intervals)
                last_failed, last_demand, last_net = failed or 0, demand, net
                if args.follow:
                    trace_text.render_interval(interval, args.json, out)
        except (_Stop, KeyboardInterrupt):
            pass
        end = time.monotonic()
        tap.finish()
        counted = tap.counts()[0]
        vm_after = read_vmstat(root) or {}
        logged = _kmsg_counts(tap.kmsg_seq)
        for failure in tap.take():
            tally.add(failure, intervals)
        kswapd, direct = reclaim_latencies(tap.records)
        has_vmscan = tap.instance is not None and any(e.startswith("vmscan") for e in tap.instance.enabled)
        window = TraceWindow(
            window_s=end - start, intervals=intervals, tally=tally,
            counted=counted,
            lost=tap.lost(tally.records), skipped=tap.parser.skipped,
            kswapd=kswapd if has_vmscan else None, direct_reclaim=direct if has_vmscan else None,
            sources=tap.sources, missing=tap.missing)
        kernel = {name: (vmstat_total(vm_after, name) or 0) - (vmstat_total(vm_before, name) or 0)
                  for name in KERNEL_COUNTERS if vmstat_total(vm_after, name) is not None}
    finally:
        tap.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.json:
        from minfree.render.trace_json import print_json, to_json

        print_json(to_json(window, kernel, logged, layout.name))
    else:
        trace_text.render(window, kernel, logged, _stdout_console())
    return EXIT_OK
