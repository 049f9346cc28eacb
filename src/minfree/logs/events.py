"""Assemble failure events from logical kernel lines.

One event per failure header (:mod:`minfree.logs.header`).  After its header an event
collects what the kernel prints for it: the separate cpuset line (4.14-4.19), the
``CPU: N PID: N Comm: X ... <release>`` line, ``Hardware name``/``Workqueue``, the call trace
and the Mem-Info dump.  Lines are routed by printk caller id when the log has them (two
CPUs' reports interleave line by line, corpus 010), else by host.  An event closes when its
dump is complete, when unrelated lines follow, when a new report starts, or at a gap in the
input.  Orphan traces and dumps (no header) never make an event; related messages (OOM kills,
SLUB failures, TCP out of memory, stalls, suppressed reports) are counted per host.

>>> from minfree.logs.prefix import LogLine
>>> done = []
>>> a = Assembler("demo.log", done.append)
>>> a.feed(LogLine("asd: page allocation failure. order:1, mode:0x20", host="db1"), 7)
>>> a.feed(LogLine("Call Trace:", host="db1"), 8)
>>> a.feed(LogLine(" [<ffffffff8143ae32>] ? sk_clone+0x22/0x2e0", host="db1"), 9)
>>> a.discontinuity()
>>> e = done[0]
>>> (e.process, e.order, e.mode, e.host, e.line, len(e.trace_lines))
('asd', 1, '0x20', 'db1', 7, 2)
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from operator import attrgetter
from typing import Callable

from minfree.model.kversion import release_from_line, release_wrapped
from minfree.logs import header as hdr
from minfree.logs.memdump import MemDumpBuilder, dump_line_kind
from minfree.logs.prefix import LogLine
from minfree.logs.related import OomVictim, may_be_reported, oom_victim, related_detail, related_kind
from minfree.logs.trace import trace_line_kind
from minfree.model.record import field, record

_CPU_LINE = re.compile(r"^CPU: (?P<cpu>\d{1,10}) (?:UID: \d+ )?PID: (?P<pid>\d{1,10}) Comm: (?P<comm>.+?)"
                       r"(?: (?:Not tainted|Tainted:).*)?$")
_PID_LINE = re.compile(r"^Pid: (?P<pid>\d{1,10}), comm: (?P<comm>.+?)(?: (?:Not tainted|Tainted:).*)?$")
_NODEMASK_VALUE = re.compile(r"^\s*(?:\(null\)|\d+(?:[-,]\d+)*)\s*$")
_SEPARATOR = re.compile(r"^\s*=+\s*$")   # 2.6.1x i386 stack separator "======================="

_IDENTIFYING = ("CPU:", "Pid:", "Hardware name:", "Workqueue:")   # what _identify reads
_COMPLETING = frozenset({"buddy", "trailer"})
RouteKey = tuple[str | None, str | None]   # (host, caller id): what routes a line to its report
_UNPREFIXED: RouteKey = (None, None)   # the key of a line that no prefix named (no host, no caller)
MAX_UNRELATED = 3        # unrelated lines in a row that end an open report
MAX_EVENT_LINES = 5000   # no report is longer (a 2.6.32 per-cpu dump of 256 CPUs is ~800)
MAX_SECONDS = 30.0       # a report is printed within a few ms; 30 s later it is something else
FRAGMENT_REACH = 6       # lines within which a "comm: " fragment can still meet its header
MAX_SILENCE = 400        # lines without one of its own: the CPU that printed a report moved on
_NEVER = 1 << 62         # no report open: none can fall silent
_BY_SEQ = attrgetter("seq")


@record(frozen=False)
class Event:
    """One page allocation failure report as found in a log."""

    source: str
    line: int
    host: str | None
    time: str | None
    mono: float | None
    caller: str | None
    process: str | None
    order: int | None
    kind: str                       # "page" | "vmalloc"
    what: str
    mode: str | None
    mode_text: str | None
    printed_flags: str | None
    nodemask: str | None = None
    cpuset: str | None = None
    mems_allowed: str | None = None
    pid: int | None = None
    cpu: int | None = None
    kernel: str | None = None       # release printed with the report (CPU/Pid line)
    host_kernel: str | None = None  # release of the boot banner above it, else of another report
    cut_header: str | None = None   # a CPU/Pid line cut after its taint state: release follows
    hardware: str | None = None
    workqueue: str | None = None
    vmalloc_detail: str | None = None
    repeated: int = 0               # "last message repeated N times" right after the header
    oom_nearby: OomVictim | None = None   # an OOM kill of the same host just before or during it
    oom_killer_disabled: bool = False     # between "OOM killer disabled." and "enabled." (suspend)
    trace_lines: list[str] = field(default_factory=list)
    dump: MemDumpBuilder | None = None
    lines_seen: int = 0
    unrelated: int = 0
    last_seq: int = 0
    seq: int = 0                    # order of the headers in the input


@record(frozen=False)
class _Fragment:
    """A line ending in "comm: " (a wrapped header's first half): the process name, its host and
    the line's sequence number, for the header that follows within FRAGMENT_REACH lines."""

    comm: str
    host: str | None
    seq: int


class Assembler:
    """Feed logical lines in order; completed events go to ``emit``."""

    def __init__(self, source: str, emit: Callable[[Event], None]) -> None:
        self.source = source
        self.emit = emit
        # the reports still open, by the key their lines come under (the last of each list is the
        # one being printed); a key leaves with its last report, so the dict is empty exactly when
        # none is open, and a log of many callers leaves no trail of empty lists
        self.open_reports: dict[RouteKey, list[Event]] = {}
        self._fragments: deque[_Fragment] = deque(maxlen=8)
        self._vmalloc: tuple[str, int] | None = None
        self._seq = 0
        # the line at which the report heard from least recently falls silent, at the earliest
        # (each report's last line only moves later): closing there, not every N lines, makes a
        # close depend on the lines between, not on how many came before (a file's second half,
        # scanned from its middle, closes a report where a scan from its start does)
        self._silent_from = _NEVER
        self._created = 0
        self._last_header: Event | None = None
        self.kernels: dict[str | None, str] = {}
        self._booted: dict[str | None, str] = {}   # per host: release of the last boot banner
        self._last_oom: dict[str | None, tuple[OomVictim, int, float | None]] = {}   # victim, seq, mono
        self._oom_disabled: set[str | None] = set()   # hosts inside a suspend/hibernation
        self.related: Counter[str] = Counter()
        self.related_by_host: dict[str | None, Counter[str]] = defaultdict(Counter)
        self.count_before: int | None = None   # related messages from this line on: another scan counts them
        self.dump_skipped = 0

    @property
    def busy(self) -> bool:
        """True while a report may still receive lines."""
        if self.open_reports:
            return True
        recent = self._seq - FRAGMENT_REACH
        return bool(self._fragments and self._fragments[-1].seq > recent) or (
            self._vmalloc is not None and self._vmalloc[1] > recent)

    @property
    def vmalloc_pending(self) -> bool:
        """A vmalloc line was seen that a header to come may still take."""
        return self._vmalloc is not None

    def count_quiet(self, lines: int) -> None:
        """``lines`` lines fed elsewhere that :meth:`feed` would only have counted, nothing open
        (stamped lines holding nothing it reads: :func:`~minfree.logs.report_block.pass_over`)."""
        self._seq += lines
        if self._seq >= self._silent_from:   # as _close_silent, nothing open
            self._silent_from = _NEVER
        self._last_header = None

    def take_whole(self, event: Event) -> None:
        """A report read whole elsewhere (:func:`~minfree.logs.report_block.read_report`), each
        of its lines taken at once, nothing open: the same event and the same state after as
        :meth:`feed` of each line would leave (tests/logs/test_report_block.py)."""
        self._seq += 1
        if self._seq >= self._silent_from:
            self._close_silent()
        header = self._seq
        event.host_kernel = self._booted.get(event.host)
        event.oom_nearby = self._oom_before(event.host, event.mono)
        event.oom_killer_disabled = event.host in self._oom_disabled
        self._created += 1
        event.seq = self._created
        # each line after the header asks whether reports fell silent (_close_silent): this one
        # never is, but the next line that asks moves on
        silent = min(self._silent_from, header + MAX_SILENCE + 1)
        last = header + event.lines_seen
        while silent <= last:
            silent += MAX_SILENCE
        self._silent_from = silent
        self._seq = event.last_seq = last
        self._last_header = None
        if event.kernel is not None:
            self._set_kernel(event, event.kernel)
        self._finish(event)

    def first_open(self) -> tuple[int, int] | None:
        """(line, seq) of the earliest report still open, None when none is: every event
        emitted from now on sorts at or after it (headers come in line order)."""
        if not self.open_reports:
            return None
        return min((e.line, e.seq) for events in self.open_reports.values() for e in events)

    def feed(self, line: LogLine, lineno: int) -> None:
        self._seq += 1
        if self._seq >= self._silent_from:
            self._close_silent()
        if line.repeat:
            if self._last_header is not None:
                self._last_header.repeated += line.repeat
            return
        if line.tag is not None and line.tag != "kernel":
            return
        self._last_header = None
        text = line.text
        key = (line.host, line.caller)
        kind = None
        # most lines of a report are none of the messages handled here: they skip the tests below
        if may_be_reported(text) or text.startswith(("OOM killer ", "Linux version ")):
            if "vmalloc:" in text and hdr.vmalloc_line(text):
                self._vmalloc = (text.strip(), self._seq)
                return
            if text.startswith("OOM killer "):
                # kernel/power/process.c (3.19+): printed by freeze_processes()/thaw_processes()
                if text.startswith("OOM killer disabled"):
                    self._oom_disabled.add(line.host)
                elif text.startswith("OOM killer enabled"):
                    self._oom_disabled.discard(line.host)
                return
            if text.startswith("Linux version ") and (release := release_from_line(text)):
                # the boot banner names the kernel of every report below it, up to the next boot
                self._booted[line.host] = self.kernels[line.host] = release
                self._oom_disabled.discard(line.host)
                return
            headers = hdr.find_headers(text)
            if headers:
                self._open_events(headers, line, lineno, key)
                return
            kind = related_kind(text)
            if kind is not None and (self.count_before is None or lineno < self.count_before):
                self.related[kind[0]] += kind[1]
                self.related_by_host[line.host][kind[0]] += kind[1]
            if kind is not None and kind[0] == "oom_kill" and (victim := oom_victim(text)) is not None:
                self._last_oom[line.host] = (victim, self._seq, line.mono)
                for open_events in (e for k, e in self.open_reports.items() if k[0] == line.host):
                    for event in open_events:
                        event.oom_nearby = event.oom_nearby or victim
        events = self.open_reports.get(key)
        if events is None and self.open_reports and (adopted := self._adopt(line, key)) is not None:
            key, events = adopted
        if events is not None:
            self._extend(events, line, key, related=kind is not None)
            return
        if text.endswith((":", ": ")) and (comm := hdr.comm_fragment(text)) is not None:
            self._fragments.append(_Fragment(comm, line.host, self._seq))

    def discontinuity(self) -> None:
        """Lines were skipped: nothing open can continue across the gap."""
        for key in list(self.open_reports):
            self._close_key(key)
        self._fragments.clear()
        self._vmalloc = None
        self._last_header = None
        # lines were skipped: only a stamped OOM kill can still be placed in time
        self._last_oom = {host: last for host, last in self._last_oom.items() if last[2] is not None}

    # -- opening ---------------------------------------------------------------------------

    def _open_events(self, headers: list[hdr.Header], line: LogLine, lineno: int, key: RouteKey) -> None:
        open_events = self.open_reports.get(key)
        if open_events is not None and any(e.lines_seen for e in open_events):
            self._close_key(key)
            open_events = None
        if open_events is None:
            open_events = self.open_reports[key] = []   # headers is never empty
        for found in headers:
            event = Event(
                source=self.source, line=lineno, host=line.host, time=line.time, mono=line.mono,
                caller=line.caller, process=found.comm or self._take_fragment(line.host),
                order=found.order, kind=found.kind, what=found.what, mode=found.mode,
                mode_text=found.mode_text, printed_flags=found.printed_flags,
                nodemask=found.nodemask, cpuset=found.cpuset, mems_allowed=found.mems_allowed,
                host_kernel=self._booted.get(line.host), oom_nearby=self._oom_before(line.host, line.mono),
                oom_killer_disabled=line.host in self._oom_disabled,
            )
            if self._vmalloc is not None and self._seq - self._vmalloc[1] <= 3:
                event.kind, event.vmalloc_detail = "vmalloc", self._vmalloc[0]
                self._vmalloc = None
            self._created += 1
            event.last_seq, event.seq = self._seq, self._created
            open_events.append(event)
            self._last_header = event
            self._silent_from = min(self._silent_from, self._seq + MAX_SILENCE + 1)

    def _adopt(self, line: LogLine, key: RouteKey) -> tuple[RouteKey, list[Event]] | None:
        """A pasted report whose lines are not all prefixed: the header without the syslog prefix
        the rest has (corpus 102), or a trace line pasted without it. Such a line goes to the only
        report open; a report opened by an unprefixed header takes the host of what follows."""
        if len(self.open_reports) != 1:
            return None
        ((open_key, events),) = self.open_reports.items()
        if _UNPREFIXED not in (key, open_key):
            return None
        if open_key != _UNPREFIXED:
            return open_key, events
        del self.open_reports[_UNPREFIXED]
        self.open_reports[key] = events
        for event in events:
            event.host, event.caller = event.host or line.host, event.caller or line.caller
        return key, events

    def _oom_before(self, host: str | None, mono: float | None) -> OomVictim | None:
        """The OOM kill ``host`` logged just before a report stamped ``mono``: within
        MAX_SECONDS by the stamps, else within MAX_SILENCE lines."""
        last = self._last_oom.get(host)
        if last is None:
            return None
        victim, seq, killed = last
        if killed is not None and mono is not None:
            return victim if 0 <= mono - killed <= MAX_SECONDS else None
        return victim if self._seq - seq <= MAX_SILENCE else None

    def _take_fragment(self, host: str | None) -> str | None:
        for fragment in self._fragments:
            if fragment.host == host and self._seq - fragment.seq <= FRAGMENT_REACH:
                self._fragments.remove(fragment)
                return fragment.comm
        return None

    # -- extending -------------------------------------------------------------------------

    def _extend(self, events: list[Event], line: LogLine, key: RouteKey, related: bool) -> None:
        text = line.text
        event = events[-1]
        if line.mono is not None and event.mono is not None and line.mono - event.mono > MAX_SECONDS:
            self._close_key(key)
            return
        event.lines_seen += 1
        event.last_seq = self._seq
        if event.cut_header is not None:
            release = release_wrapped(event.cut_header, text)
            event.cut_header = None
            if release is not None:
                self._set_kernel(event, release)
                return
        # most lines of a long report belong to its memory dump: try that first once it started
        if event.dump is not None and self._feed_dump(key, events, event, text):
            return
        if self._continue_header(events, text) or (text.startswith(_IDENTIFYING) and self._identify(events, text)):
            event.unrelated = 0
            return
        if trace_line_kind(text) is not None or _SEPARATOR.match(text):
            event.trace_lines.append(text)
            event.unrelated = 0
            return
        if event.dump is None and self._feed_dump(key, events, event, text):
            return
        if related or dump_line_kind(text) is not None or related_detail(text):
            return
        event.unrelated += 1
        if event.unrelated >= MAX_UNRELATED or event.lines_seen >= MAX_EVENT_LINES:
            self._close_key(key)

    def _continue_header(self, events: list[Event], text: str) -> bool:
        # 4.14 prints the nodemask value as its own record: "(null)" may come lines later (the
        # first event waiting for it takes it; the pattern is tested only when one waits)
        for event in events:
            if event.mode_text and event.mode_text.endswith("nodemask="):
                if not _NODEMASK_VALUE.match(text):
                    break
                event.nodemask = text.strip()
                event.mode_text += event.nodemask
                return True
        if "mode:" not in text and " cpuset=" not in text:
            return False
        waiting = [e for e in events if e.mode is None]
        if waiting and hdr.mode_continuation(text):
            found = hdr.Header(comm=None, order=None, kind="page", what="")
            hdr.apply_mode(found, text)
            for event in waiting[:1]:
                event.mode, event.mode_text = found.mode, found.mode_text
                event.printed_flags, event.nodemask = found.printed_flags, found.nodemask
                event.cpuset, event.mems_allowed = found.cpuset, found.mems_allowed
            return True
        cpuset = hdr.cpuset_line(text)
        if cpuset is not None:
            for event in events:
                if event.cpuset is None and event.process in (None, cpuset[0]):
                    event.process = event.process or cpuset[0]
                    event.cpuset, event.mems_allowed = cpuset[1], cpuset[2]
                    return True
        return False

    def _identify(self, events: list[Event], text: str) -> bool:
        """A line starting with one of _IDENTIFYING: the CPU/Pid line, hardware, workqueue."""
        match = _CPU_LINE.match(text) or _PID_LINE.match(text)
        if match is not None:
            comm = match.group("comm").strip()
            event = next((e for e in events if e.pid is None and e.process == comm), None)
            event = event or next((e for e in events if e.pid is None), events[-1])
            if event is not events[-1]:
                events.remove(event)
                events.append(event)          # the one being printed is now the active one
            event.process = event.process or comm
            event.pid = int(match.group("pid"))
            if "cpu" in match.groupdict():
                event.cpu = int(match.group("cpu"))
            release = release_from_line(text)
            if release is not None:
                self._set_kernel(event, release)
            if release is None or release.endswith("-"):
                event.cut_header = text       # the release, or its end, is on the next line
            return True
        if text.startswith("Hardware name: "):
            events[-1].hardware = text[15:].strip()
            return True
        if text.startswith("Workqueue: "):
            events[-1].workqueue = text[11:].strip()
            return True
        return False

    def _set_kernel(self, event: Event, release: str) -> None:
        event.kernel = release
        self.kernels[event.host] = release

    def _feed_dump(self, key: RouteKey, events: list[Event], event: Event, text: str) -> bool:
        """``events``: the reports open under ``key``; ``event``: the active one, ``events[-1]``."""
        if event.dump is None:
            if dump_line_kind(text) is None:
                return False
            event.dump = MemDumpBuilder()
        if not event.dump.feed(text):
            return False
        event.unrelated = 0
        # only a buddy or trailer line can complete a dump
        if event.dump.kind in _COMPLETING and event.dump.complete:
            self._close_event(key, events, event)
        return True

    # -- closing ---------------------------------------------------------------------------

    def _close_event(self, key: RouteKey, events: list[Event], event: Event) -> None:
        """Close ``event``, one of the ``events`` open under ``key``."""
        events.remove(event)
        if not events:
            del self.open_reports[key]
        self._finish(event)

    def _finish(self, event: Event) -> None:
        event.host_kernel = event.host_kernel or self.kernels.get(event.host)
        if event.dump is not None:
            event.dump.close()
            self.dump_skipped += event.dump.result().skipped
        self.emit(event)

    def _close_silent(self) -> None:
        """Close every report whose host and caller printed no line of it for MAX_SILENCE lines."""
        for key, events in list(self.open_reports.items()):
            if all(self._seq - e.last_seq > MAX_SILENCE for e in events):
                self._close_key(key)
        self._silent_from = min((max(e.last_seq for e in events) + MAX_SILENCE + 1
                                 for events in self.open_reports.values()), default=_NEVER)

    def _close_key(self, key: RouteKey) -> None:
        events = self.open_reports[key]
        for event in sorted(events, key=_BY_SEQ):
            self._close_event(key, events, event)   # the rest stay open until their turn: see first_open()
