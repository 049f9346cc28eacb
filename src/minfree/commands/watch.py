"""``minfree watch``: a live view of the memory reserves, and the history recorder.

Every interval :func:`minfree.sources.sampler.read_memory` reads zoneinfo, buddyinfo, vmstat
and PSI; rates come from :func:`minfree.analysis.rates.activity` between two readings; the
kernel's failure reports arrive from ``/dev/kmsg`` (a reader thread, the scanner of
``scan --follow``). On a terminal the screen is :mod:`minfree.render.watch_text` (keys: q, p,
z); ``--json`` prints one line per sample (:mod:`minfree.render.watch_json`); ``--record``
appends every sample to the history file (:mod:`minfree.store.history`).

Nothing in the loop grows with time: the parsed reading of the previous interval, the last
few failure lines and a bounded queue of kernel-log records are all it keeps.
"""
from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import threading
import time
from collections import deque

from minfree.analysis.explain import ExplainedEvent, explain_event
from minfree.analysis.rates import activity
from minfree.errors import UsageError
from minfree.logs.scanner import LogScanner
from minfree.model.kversion import parse_release
from minfree.proc.system import MemoryReading
from minfree.render.watch_text import WatchStatus, populated
from minfree.sources import specs
from minfree.sources.kmsg import KMSG_PATH, follow_kmsg
from minfree.sources.readers import read_text, read_version
from minfree.sources.root import SystemRoot
from minfree.sources.sampler import read_memory
from minfree.commands.durations import duration
from minfree.store.schema import DEFAULT_DB

#: How long the kernel log must be quiet before a report still open is taken as complete
#: (as ``scan --follow`` does).
QUIET_SECONDS = 1.5
#: Records waiting for the main loop; a flood beyond this blocks the reader thread, never memory.
INBOX_RECORDS = 10000
#: Failure lines kept on screen.
SHOWN_FAILURES = 5
def _interval(text: str) -> float:
    value = duration(text)
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError("the interval must be between 0.1 s and 1 h")
    return value


def _count(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of samples: {text!r}")
    return int(text)


EXAMPLES = """examples:
  minfree watch                          live view, every second (q quit, p pause, z next zone)
  minfree watch --interval 5
  minfree watch --record                 also keep the history in /var/lib/minfree/history.db
  minfree watch --record --db /srv/minfree.db --retention 30d
  minfree watch --json --count 10        ten samples, one JSON object per line
  minfree doctor --history               what the recorded history says (trends)
"""


def add_parser(subparsers) -> None:
    watch = subparsers.add_parser(
        "watch", help="live view of the memory reserves; record their history",
        description="Show the zones against their watermarks, free blocks by order, fragmentation "
                    "indices, reclaim and compaction rates, PSI and new failure reports, every "
                    "interval. With --record, keep every sample in a SQLite history file (what "
                    "`doctor --history` reads). Not on a terminal: one screen per sample as text, "
                    "or nothing but the recording with --record.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    watch.add_argument("--interval", metavar="S", type=_interval, default=1.0,
                       help="seconds between samples (default 1; 0.1 to 3600; 5m works too)")
    watch.add_argument("--record", action="store_true", help="append every sample to the history file")
    watch.add_argument("--db", metavar="PATH", help=f"the history file (default {DEFAULT_DB})")
    watch.add_argument("--retention", metavar="AGE", type=duration, default=duration("7d"),
                       help="drop recorded samples older than this (default 7d; e.g. 12h, 30d)")
    watch.add_argument("--count", metavar="N", type=_count, help="stop after N samples")
    watch.add_argument("--json", action="store_true", help="one JSON object per sample and line (schema in the README)")
    watch.set_defaults(run=run)


def next_tick(start: float, taken: int, interval: float, now: float) -> tuple[float, float]:
    """``(start, due)``: the schedule's start and when sample number ``taken`` is due. Samples
    keep to ``start + n * interval`` (no drift); when the host stalled for more than an
    interval, the missed ticks are skipped (the start moves on by whole intervals), not taken
    back to back.

    >>> next_tick(100.0, 3, 1.0, 102.5)     # on time: due at 103
    (100.0, 103.0)
    >>> next_tick(100.0, 3, 1.0, 107.25)    # stalled: 103 to 106 skipped, this one now, the next at 108
    (104.0, 107.0)
    """
    due = start + taken * interval
    if now - due > interval:
        start += (now - due) // interval * interval
        due = start + taken * interval
    return start, due


class _Stop(Exception):
    """SIGTERM (systemd stopping the recorder): leave the loop like q does."""


def _terminate(signum, frame) -> None:
    raise _Stop


class KernelLog:
    """Failure reports from ``/dev/kmsg`` as they appear: a thread blocks on the device and
    queues raw records; :meth:`poll`, called by the loop, parses what is queued."""

    def __init__(self, path: str = KMSG_PATH) -> None:
        records = follow_kmsg(path, from_end=True)   # OSError when it cannot be opened
        self.inbox: queue.Queue[bytes] = queue.Queue(maxsize=INBOX_RECORDS)
        self.found: list[ExplainedEvent] = []
        self.lineno = 0
        self.last_record = time.monotonic()
        from minfree.commands.scan import running_gfp

        def explain(event):
            running = running_gfp()
            return explain_event(event, parse_release(running.release), running)

        self.scanner = LogScanner(path, self.found.append, prepare=explain)
        threading.Thread(target=self._pump, args=(records,), daemon=True, name="kmsg").start()

    def _pump(self, records) -> None:
        for record in records:
            self.inbox.put(record)

    def poll(self) -> list[ExplainedEvent]:
        """Reports completed since the last call (one still open is given QUIET_SECONDS)."""
        now = time.monotonic()
        while True:
            try:
                record = self.inbox.get_nowait()
            except queue.Empty:
                break
            self.last_record = now
            for line in record.decode("utf-8", "replace").splitlines():
                self.lineno += 1
                self.scanner.feed_line(line, self.lineno)
        if now - self.last_record >= QUIET_SECONDS:
            self.scanner.pause()
        found, self.found[:] = list(self.found), []
        return found


def _run_info(root: SystemRoot, hostname: str | None, interval: float, page_size: int):
    from minfree.store.history import RunInfo

    version = read_version(root)
    boot_id = read_text(root, specs.BOOT_ID)
    return RunInfo(started=time.time(), boot_id=boot_id.strip() if boot_id else None, hostname=hostname,
                   release=version.release if version else None, interval=interval, page_size=page_size)


def run(args: argparse.Namespace) -> int:
    if args.db is not None and not args.record:
        raise UsageError("--db names the history file --record writes; add --record "
                         "(doctor --history DB reads one)")
    root = SystemRoot("/")
    first = read_memory(root)
    if first is None:
        raise UsageError("cannot read /proc/zoneinfo: " + (", ".join(f"{p} {r}" for p, r in root.gaps) or "no zone"))
    page_size = os.sysconf("SC_PAGE_SIZE")
    hostname = (read_text(root, specs.HOSTNAME) or "").strip() or None
    status = WatchStatus(host=hostname or "?", interval=args.interval, page_size=page_size)
    writer = None
    if args.record:
        from minfree.actions.safefs import check_trusted
        from minfree.store.history import HistoryWriter, StoreError

        try:
            writer = HistoryWriter(args.db or DEFAULT_DB, args.retention, _run_info(root, hostname, args.interval, page_size),
                                   trust=check_trusted)
        except StoreError as error:
            raise UsageError(str(error)) from None
        status.recording = writer.path
    counter = _failure_counter(status)
    try:
        log: KernelLog | None = KernelLog()
    except OSError as error:
        log = None
        status.kernel_log = f"{KMSG_PATH}: {error.strerror or error}"
    interactive = not args.json and sys.stdout.isatty() and sys.stdin.isatty()
    if args.record and not interactive and not args.json:
        print(f"minfree watch: recording every {args.interval:g} s to {status.recording} "
              f"(retention {args.retention / 86400:g} days)", flush=True)
    loop = _Loop(root, args, status, writer, log, first, counter)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if interactive:
            loop.interactive()
        else:
            loop.plain(printing=args.json or not args.record)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if counter is not None:
            counter.close()
        if writer is not None:
            writer.close()
    return 0


def _failure_counter(status: WatchStatus):
    """The in-kernel count of failed allocations, counting from now (root only), or None with
    the reason in ``status``."""
    from minfree.sources.failcount import FailureCounter

    counter, status.failed_unavailable = FailureCounter.open()
    if counter is not None:
        counter.enable()
        status.failed_counter = counter.kind
    return counter


class _Loop:
    """The sampling loop: read, record, show; the ticks follow a fixed schedule (no drift)."""

    def __init__(self, root: SystemRoot, args: argparse.Namespace, status: WatchStatus, writer,
                 log: KernelLog | None, first: MemoryReading, counter=None) -> None:
        self.root, self.args, self.status, self.writer, self.log = root, args, status, writer, log
        self.counter = counter   # sources.failcount.FailureCounter, counting since start
        self.failed = None       # its reading at the previous sample
        self.reading = first
        self.previous: MemoryReading | None = None
        self.shown: deque[str] = deque(maxlen=SHOWN_FAILURES)
        self.new_failures: list[ExplainedEvent] = []
        self.samples = 0
        self.start = time.monotonic()

    def done(self) -> bool:
        return self.args.count is not None and self.samples >= self.args.count

    def step(self) -> bool:
        """Take this tick's sample (the first was taken at start), record it, poll the log;
        False when zoneinfo could not be read this time (the last reading stays shown)."""
        fresh = True
        if self.samples:
            reading = read_memory(self.root)
            fresh = reading is not None
            if reading is not None:
                self.previous, self.reading = self.reading, reading
        self.root.gaps.clear()   # a missing PSI file must not grow a list forever
        self.samples += 1
        self._count_failed()
        self.new_failures = self.log.poll() if self.log is not None else []
        if self.new_failures:
            from minfree.render.scan_text import one_line

            for event in self.new_failures:
                self.shown.append(one_line(event))
            self.status.failures_total += len(self.new_failures)
            self.status.failures = list(self.shown)
        if self.writer is not None:
            self._record(fresh)
        return fresh

    def _count_failed(self) -> None:
        """Failed allocations since the previous sample (the first: since the counter opened)."""
        if self.counter is None:
            return
        try:
            count = self.counter.read()
        except OSError as error:
            self.status.failed_counter, self.status.failed_unavailable = None, f"the counter could not be read: {error}"
            self.counter.close()
            self.counter = None
            return
        interval = count.since(self.failed)
        self.failed = count
        self.status.failed_interval, self.status.failed_orders = interval.total, interval.by_order
        self.status.failed_since_start = count.total

    def _record(self, fresh: bool) -> None:
        """This tick's reading (unless it is the last one again) and the new failure reports;
        a write the file refuses (disk full) is reported, and recording goes on with the next
        sample."""
        from minfree.render.scan_text import one_line
        from minfree.store.history import StoreError

        try:
            if fresh:
                self.writer.add(self.reading, self.failed.counters() if self.failed is not None else None)
            for e in self.new_failures:
                self.writer.add_failure(time.time(), e.event.mono, e.event.process, e.event.order,
                                        e.event.mode, e.origin.category, one_line(e))
        except StoreError as error:
            if str(error) != self.status.record_error and not sys.stdout.isatty():
                print(f"minfree watch: {error}", file=sys.stderr, flush=True)
            self.status.record_error = str(error)
        else:
            self.status.record_error = None

    def activity(self):
        if self.previous is None:
            return None
        return activity(self.previous.vmstat, self.reading.vmstat, self.previous.psi, self.reading.psi)

    def deadline(self) -> float:
        """When the next sample is due (see :func:`next_tick`)."""
        self.start, due = next_tick(self.start, self.samples, self.args.interval, time.monotonic())
        return due

    def plain(self, printing: bool) -> None:
        """No terminal: JSON lines, a text screen per sample, or (recording) nothing."""
        console = None
        if printing and not self.args.json:
            from minfree.render.console import console as make_console

            console = make_console()
        while not self.done():
            fresh = self.step()
            if fresh and self.args.json:
                from minfree.render.scan_json import event_to_json
                from minfree.render.watch_json import failed_json, sample_line

                sys.stdout.write(sample_line(self.reading, self.activity(), self.status.page_size,
                                             [event_to_json(e) for e in self.new_failures],
                                             failed_json(self.status)) + "\n")
                sys.stdout.flush()
            elif fresh and console is not None:
                from minfree.render.watch_text import render

                # rendered first, then written here: a closed pipe raises BrokenPipeError (exit
                # 0 in cli) instead of rich's own exit status 1
                with console.capture() as screen:
                    console.print(render(self.reading, self.activity(), self.status))
                sys.stdout.write(screen.get() + "\n")
                sys.stdout.flush()
            if not self.done():
                time.sleep(max(0.0, self.deadline() - time.monotonic()))

    def interactive(self) -> None:
        """The live screen; keys read in cbreak mode between samples."""
        import select
        import termios
        import tty

        from rich.live import Live

        from minfree.render.console import console as make_console
        from minfree.render.watch_text import render

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        frozen: tuple[MemoryReading, object] | None = None
        try:
            with Live(console=make_console(), screen=True, auto_refresh=False) as live:
                while True:
                    if not self.done():
                        self.step()
                    shown = frozen or (self.reading, self.activity())
                    live.update(render(shown[0], shown[1], self.status), refresh=True)
                    if self.done():
                        return
                    while (left := self.deadline() - time.monotonic()) > 0:
                        ready, _, _ = select.select([fd], [], [], left)
                        if not ready:
                            break
                        for key in os.read(fd, 32).decode("utf-8", "replace"):
                            if key in "qQ":
                                return
                            if key in "pP ":
                                self.status.paused = not self.status.paused
                                frozen = (self.reading, self.activity()) if self.status.paused else None
                            elif key in "zZ\t":
                                zones = populated(self.reading.zones)
                                self.status.focus = (self.status.focus + 1) % max(1, len(zones))
                        shown = frozen or (self.reading, self.activity())
                        live.update(render(shown[0], shown[1], self.status), refresh=True)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
