"""Read a failure report printed in its canonical shape as one block of bytes (issue 10).

Most reports in a server's log are printed whole and alone: contiguous lines of one prefix
format (dmesg ``[stamp] text``, or syslog with one host), the header, the CPU line, a call
trace and the Mem-Info dump ending on its last buddy line. :func:`read_report` reads such a
block without the line pipeline (normalizer, joiner, assembler and dump builder, ~25 calls a
line): every prefix is checked by one regex over the bytes, the header and the CPU line by
minfree's own parsers (memoised), the trace by one regex, each dump line by memdump's own
classifier and parsers. Anything else returns None and the scanner feeds the lines as before;
:meth:`~minfree.logs.events.Assembler.take_whole` then leaves the assembler as the line
pipeline would have left it.
tests/logs/test_report_block.py holds both to the line pipeline.

>>> from minfree.logs.events import Assembler
>>> data = (b"[  785.581198] kworker/3:2: page allocation failure: order:0, mode:0xa20(GFP_ATOMIC)\\n"
...         b"[  785.581210] CPU: 3 PID: 131 Comm: kworker/3:2 Not tainted 5.10.0-21-amd64 #1\\n"
...         b"[  785.581211] Call Trace:\\n"
...         b"[  785.581212]  dump_stack+0x6b/0x83\\n"
...         b"[  785.581213] Mem-Info:\\n"
...         b"[  785.581214] active_anon:1 inactive_anon:2 free:3\\n"
...         b"[  785.581215] Node 0 Normal free:13144kB min:2004kB low:2504kB high:3004kB\\n"
...         b"[  785.581216] lowmem_reserve[]: 0 0 0 0\\n"
...         b"[  785.581217] Node 0 Normal: 2*4kB (U) 1*8kB (M) = 16kB\\n"
...         b"[  785.581218] eth0: link up\\n")
>>> end = report_end(data, 0, len(data))
>>> event = read_report(data, 0, end, "demo", 10)
>>> (event.process, event.order, event.pid, event.kernel, event.trace_lines)
('kworker/3:2', 0, 131, '5.10.0-21-amd64', ['Call Trace:', ' dump_stack+0x6b/0x83'])
>>> zone = event.dump.result().zones[0]
>>> zone.free_kb, zone.lowmem_reserve, zone.buddy, zone.buddy_total_kb
(13144, [0, 0, 0, 0], [(2, 4, 'U'), (1, 8, 'M')], 16)
>>> found = []
>>> a = Assembler("demo", found.append)
>>> a.take_whole(event)
>>> found[0] is event, (event.seq, event.last_seq, event.lines_seen), a.kernels
(True, (1, 9, 8), {None: '5.10.0-21-amd64'})
"""
from __future__ import annotations

import functools
import re

from minfree.logs import header as hdr
from minfree.logs import memdump as md
from minfree.logs.events import _CPU_LINE, _PID_LINE, MAX_SECONDS, Assembler, Event
from minfree.logs.joiner import _EMBEDDED_STAMP
from minfree.logs.prefix import _PLAIN_CONSOLE, _PLAIN_CONSOLE_FIELDS
from minfree.logs.related import MARKERS, may_be_reported
from minfree.model.kversion import release_from_line
from minfree.model.record import record

MAX_BLOCK = 64 << 10     # a report of one node is ~6 KiB; a longer one is read line by line

# every line "[stamp] text" that the normalizer makes into that and nothing more
_CONSOLE_BLOCK = re.compile(rb"(?:" + _PLAIN_CONSOLE + rb")*")
# syslog: "Mmm dd hh:mm:ss host kernel: " before such a stamp; one host for the whole block
_SYSLOG_HEAD = re.compile(rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([^\s:\[\]]{1,255}) kernel: \[")
_SYSLOG_FIELDS = re.compile(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) [^ ]+ kernel: \[ *(\d{1,12}\.\d{6})\] ([^\n]*)\n")
# a stamp glued inside a line: the joiner would split it there
# (the joiner's pattern with its "[" first, then what stands before it: a scan for "[" is fast)
_STAMP_REST = _EMBEDDED_STAMP.pattern.removeprefix(r"\[")
_GLUED = re.compile(r"\[(?<=[^\n]\[)" + _STAMP_REST)
# the call trace section, "\n" after each line: frames, markers, stack words, register dump
# lines; each is a line trace.trace_line_kind names (tests/logs/test_report_block.py)
_TRACE = re.compile(
    r"(?:(?: (?:\[<[0-9a-f]{8,16}>\] )?(?:\? )?[A-Za-z_][\w.]{0,200}\+0x[0-9a-f]{1,16}/0x[0-9a-f]{1,16}"
    r"(?: \[[\w-]{1,64}\])?"
    r"| <(?:IRQ|/IRQ|TASK|/TASK|SOFTIRQ|/SOFTIRQ|NMI)>| [0-9a-f]{16}(?: [0-9a-f]{16}){0,7}|Call Trace:"
    r"| ?(?:RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\d{1,2}|FS|GS|CS|DS|ES|CR\d|DR\d|EFLAGS|ORIG_RAX|PKRU)"
    r" ?: ?[\[<(\w][^\n]*"
    r"| ?Code: [^\n]*)\n)*")
# what Assembler.feed reads in a line beyond routing it: the needles of a vmalloc line, a
# banner, a header (find_headers) and a related message (related_kind)
_NEEDLES = ("vmalloc", "OOM killer ", "Linux version ", "allocation failure", *MARKERS)
# after the header, also a mode or cpuset continuation (Assembler._continue_header)
_NOT_PLAIN = (*_NEEDLES, "mode:", " cpuset=")   # tested with "in": a third of one search of them all
# before a report (nothing open), also a line ending in ":" (a comm fragment); and an rsyslog
# escape (the normalizer makes two lines of one)
_READ_BEFORE = re.compile("|".join([*map(re.escape, _NEEDLES), ": ?\n", "#01"]).encode())
# dmesg lines of which the normalizer makes one line each (a caller id, a tag or a vendor
# column after the stamp changes nothing else); and a stamp glued inside a line (not the one
# after a syslog "kernel: "): the joiner would split the line there
_STAMPED_LINES = re.compile(rb"(?:\[ *\d{1,12}\.\d{6}\][^\n\r\0]*\n)*")
_GLUED_BYTES = re.compile((r"\[(?<=[^\n]\[)(?<!kernel: \[)" + _STAMP_REST).encode())


@record
class ReadDump:
    """A dump read whole: what ``Event.dump`` offers downstream (a closed
    :class:`~minfree.logs.memdump.MemDumpBuilder` offers the same)."""

    dump: md.MemDump

    def result(self) -> md.MemDump:
        return self.dump

    def close(self) -> None:
        """Nothing follows: it was read whole (as ``MemDumpBuilder.close``)."""


def report_end(data: bytes, start: int, limit: int) -> int:
    """The end of the report whose header line starts at ``start``: after the run of buddy lines
    that follows its ``Mem-Info:``, when that run ends before ``limit``; else -1."""
    limit = min(limit, start + MAX_BLOCK)
    meminfo = data.find(b"] Mem-Info:\n", start, limit)
    if meminfo == -1:
        return -1
    buddy = data.find(b" = ", meminfo, limit)   # no summary, zone or node line holds " = "
    if buddy == -1:
        return -1
    position = data.rfind(b"\n", meminfo, buddy) + 1
    while True:
        newline = data.find(b"\n", position, limit)
        if newline == -1:
            return -1
        if data.find(b" = ", position, newline) == -1 or data.find(b"*", position, newline) == -1:
            return position
        position = newline + 1


def plain_lines(data: bytes, start: int, end: int, like: int) -> bool:
    """Whether ``data[start:end]`` is plain lines of the prefix format of the line at ``like``."""
    if data[like] == 0x5B:   # "["
        return _CONSOLE_BLOCK.fullmatch(data, start, end) is not None
    head = _SYSLOG_HEAD.match(data, like)
    return head is not None and _syslog_block(head.group(1)).fullmatch(data, start, end) is not None


def pass_over(assembler: Assembler, data: bytes, start: int, end: int, lines: int) -> bool:
    """Count the ``lines`` lines ``data[start:end]`` before a report as the assembler would count them,
    nothing open, when it would do nothing else with them: stamped lines (syslog: plain lines of
    the report's host) holding nothing it reads (a related message, a banner, a comm fragment);
    False (nothing done) for other lines: they are fed."""
    if start == end:
        return True
    if data[end] == 0x5B:   # "["
        if _STAMPED_LINES.fullmatch(data, start, end) is None:
            return False
    elif not plain_lines(data, start, end, end):
        return False
    if _READ_BEFORE.search(data, start, end) or _GLUED_BYTES.search(data, start, end):
        return False
    assembler.count_quiet(lines)
    return True


def read_report(data: bytes, start: int, end: int, source: str, lineno: int) -> Event | None:
    """The event of the canonical report in ``data[start:end]`` (whole lines, the header first),
    as the line pipeline makes it but for what depends on the lines before (seq, host kernel,
    OOM state: ``Assembler.take_whole``); None when the block is not one this reads exactly."""
    lines = _split(data, start, end)
    if lines is None:
        return None
    host, times, stamps, texts = lines
    found = _header(texts[0])
    if found is None:
        return None
    event = Event(
        source=source, line=lineno, host=host, time=times[0], mono=float(stamps[0]), caller=None,
        process=found.comm, order=found.order, kind=found.kind, what=found.what, mode=found.mode,
        mode_text=found.mode_text, printed_flags=found.printed_flags, nodemask=found.nodemask,
        cpuset=found.cpuset, mems_allowed=found.mems_allowed, lines_seen=len(texts) - 1,
    )
    if max(map(float, stamps)) - event.mono > MAX_SECONDS:   # the assembler would close it there
        return None
    after = "\n".join(texts[1:])
    if any(needle in after for needle in _NOT_PLAIN) or _GLUED.search(after) or _EMBEDDED_STAMP.search(texts[0], 1):
        return None
    first = _identify(event, texts)
    if first is None:
        return None
    try:
        meminfo = texts.index("Mem-Info:", first)
    except ValueError:   # "] Mem-Info:" was inside another line
        return None
    if _TRACE.fullmatch("\n".join(texts[first:meminfo]) + "\n") is None:
        return None
    event.trace_lines = texts[first:meminfo]
    dump = _read_dump(texts, meminfo)
    if dump is None:
        return None
    event.dump = ReadDump(dump)
    return event


# -- reading -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _syslog_block(host: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d " + re.escape(host) + rb" kernel: " + _PLAIN_CONSOLE + rb")*")


def _split(data: bytes, start: int, end: int):
    """(host, times, stamps, texts) of the block's lines, when each is a plain line of one
    prefix format (what the normalizer makes of it is its stamp and its text, nothing more)."""
    if data[start] == 0x5B:   # "["
        if _CONSOLE_BLOCK.fullmatch(data, start, end) is None:
            return None
        block = data[start:end].decode("ascii")
        fields = _PLAIN_CONSOLE_FIELDS.findall(block)
        host = None
        times = stamps = [stamp for _, stamp, _ in fields]
    else:
        head = _SYSLOG_HEAD.match(data, start)
        if head is None or _syslog_block(head.group(1)).fullmatch(data, start, end) is None:
            return None
        block = data[start:end].decode("ascii")
        if "#01" in block:   # an rsyslog escape: the normalizer splits the line there
            return None
        fields = _SYSLOG_FIELDS.findall(block)
        host = head.group(1).decode("ascii")
        times = [time for time, _, _ in fields]
        stamps = [stamp for _, stamp, _ in fields]
    if not fields:
        return None
    return host, times, stamps, [text for _, _, text in fields]


@functools.lru_cache(maxsize=4096)   # a host's header lines recur: the same process, order and mode
def _header(text: str) -> hdr.Header | None:
    """The one header of a header line that opens a report by itself."""
    if not may_be_reported(text):
        return None
    headers = hdr.find_headers(text)
    if len(headers) != 1 or headers[0].comm is None or headers[0].mode is None:
        return None
    return None if (headers[0].mode_text or "").endswith("nodemask=") else headers[0]


def _identify(event: Event, texts: list[str]) -> int | None:
    """The CPU/Pid, hardware and workqueue lines after the header (Assembler._identify); the
    index of the line after them, None when the CPU line cuts its release."""
    at = 1
    text = texts[1]
    if text.startswith(("CPU:", "Pid:")):
        match = _CPU_LINE.match(text) or _PID_LINE.match(text)
        if match is None:
            return None
        event.pid = int(match.group("pid"))
        if "cpu" in match.groupdict():
            event.cpu = int(match.group("cpu"))
        release = _release(text)
        if release is None or release.endswith("-"):
            return None
        event.kernel = release
        at = 2
    while at < len(texts):
        text = texts[at]
        if text.startswith("Hardware name: "):
            event.hardware = text[15:].strip()
        elif text.startswith("Workqueue: "):
            event.workqueue = text[11:].strip()
        else:
            break
        at += 1
    return at


def _release(text: str) -> str | None:
    """release_from_line of a CPU line, read once per taint tail (where the release is)."""
    if "Linux version" in text:
        return release_from_line(text)
    # the taint state that comes first: no match of release_from_line starts before it
    found = [at for at in (text.find("Not tainted"), text.find("Tainted:")) if at >= 0]
    return _release_of_tail(text[min(found):]) if found else None


_release_of_tail = functools.lru_cache(maxsize=4096)(release_from_line)


def _read_dump(texts: list[str], meminfo: int) -> md.MemDump | None:
    """The dump of ``texts[meminfo:]`` as MemDumpBuilder reads it: each line a whole dump line of
    a kind it keeps (its own classifier and parsers; the lines before the first buddy line by
    the plan of their shape once it recurs), complete on the last line only."""
    buddy = meminfo + 1
    while buddy < len(texts) and " = " not in texts[buddy]:   # no line before the buddy lines holds " = "
        buddy += 1
    first = meminfo + 1   # after the per-cpu lines (2.6.24 .. 3.x), which hold nothing the dump keeps
    while first < buddy and (texts[first].endswith(("per-cpu:", "per-cpu: empty"))
                             or texts[first].lstrip().startswith(("CPU ", "cpu "))):
        first += 1
    section = None
    if first == meminfo + 1 or _PERCPU_LINES.fullmatch("\n".join(texts[meminfo + 1:first]) + "\n"):
        section = _read_planned(texts[first:buddy])
    if section is None:
        section = _read_lines(texts[meminfo:buddy])
        if section is None:
            return None
    summary, nodes, zones = section[:3]
    last = len(texts) - 1
    for at in range(buddy, last + 1):
        line = texts[at].strip()
        count = len(zones)
        if (not 0 < len(line) <= md._MAX_LINE or md._classify(line) != "buddy" or not md._closed("buddy", line)
                or not md._attach_buddy(line, zones) or len(zones) != count):
            return None
        # the assembler closes the report on the buddy line that completes the dump
        if all(zone.buddy_total_kb is not None for zone in zones) != (at == last):
            return None
    if not zones or any(zone.free_kb is None for zone in zones):
        return None
    page_sizes = [zone.buddy[0][1] for zone in zones if zone.buddy]
    return md.MemDump(zones=zones, summary=summary, nodes=nodes, page_kb=min(page_sizes) if page_sizes else None,
                      complete=True, skipped=0)


def _read_lines(texts: list[str]):
    """(summary, nodes, zones, kind of each line) of dump lines before the buddy lines, each
    by memdump's classifier and parser, as MemDumpBuilder adds them; None when one is not a
    whole line of a kind it keeps."""
    summary: dict[str, int] = {}
    nodes: dict[int, dict[str, int]] = {}
    zones: list[md.ZoneDump] = []
    kinds: list[str] = []
    reserve_for = None   # the zone whose line came just before
    for text in texts:
        line = text.strip()
        kind = md._classify(line) if 0 < len(line) <= md._MAX_LINE else None
        if kind not in _SECTION_KINDS:
            return None
        kinds.append(kind)
        previous, reserve_for = reserve_for, None
        if kind == "summary":
            summary.update(md._summary_values(line))
        elif kind == "zone":
            zone = md._parse_zone(line)
            if zone is None:
                return None
            reserve_for = zone
            zones.append(zone)
        elif kind == "reserve":
            if previous is None:
                return None
            previous.lowmem_reserve = md._parse_reserve(line)
        elif kind == "node":
            node = md._parse_node(line)
            if node is None:
                return None
            nodes[node[0]] = node[1]
    return summary, nodes, zones, kinds


# -- plans ---------------------------------------------------------------------------------
# A host prints the lines between "Mem-Info:" and the buddy lines in one shape (the text without
# its digits) report after report. Once a shape recurs (memdump's _ShapeReaders: after
# _RECURRING sightings, _SHAPES shapes at most), its plan reads them all at once: one pattern,
# the text with its numbers as groups, and per line which groups make which value, taken from
# the names printed before each number and checked against _read_lines on the text it was
# made from. A text of the same shape holds the same names in the same places, so _read_lines
# would read it the same way (tests/logs/test_report_block.py holds the plans to it).
_SECTION_KINDS = frozenset({"meminfo", "percpu", "summary", "zone", "node", "reserve"})
# lines memdump's classifier names "percpu", "\n" after each
_PERCPU_LINES = re.compile(r"(?:[ \t\x0b\x0c]*(?:" + md._PERCPU.pattern + r"|(?:Node \d{1,20} )?" + md._ZONE
                           + r" per-cpu:(?: empty)?)[ \t\x0b\x0c]*\n)*")
_RUNS = re.compile(r"(?<![A-Za-z_\d])(\d+)")   # a number: not the 32 of DMA32
_KB_NAME = re.compile(r"([a-z_]+(?:\([a-z]+\))?): ?$")   # the field name before a kB number


class _Plan:
    """The plan of one shape, made from the first text of that shape read once it recurred:
    (pattern, steps), False when no plan reads that shape exactly, None until made."""

    __slots__ = ("made",)

    def __init__(self, shape: bytes) -> None:
        self.made: tuple[re.Pattern[str], list[tuple]] | bool | None = None


_PLANS = md._ShapeReaders(_Plan, md._DIGITS)


def _read_planned(texts: list[str]):
    """(summary, nodes, zones) of the lines by the plan of their shape; None without one."""
    text = "\n".join(texts)
    plan = _PLANS.reader_of(text)
    if plan is None:
        return None
    if plan.made is None:
        plan.made = _make_plan(text, texts) or False
    if not plan.made:
        return None
    match = plan.made[0].fullmatch(text)
    return None if match is None else _run(plan.made[1], list(map(int, match.groups())))


def _run(steps: list[tuple], values: list[int]):
    """(summary, nodes, zones) of a plan's steps, given the numbers its pattern matched."""
    summary: dict[str, int] = {}
    nodes: dict[int, dict[str, int]] = {}
    zones: list[md.ZoneDump] = []
    value = values.__getitem__
    for kind, groups, names, where, attrs in steps:
        if kind == "summary":
            summary.update(zip(names, map(value, groups)))
        elif kind == "reserve":
            zones[-1].lowmem_reserve = list(map(value, groups))
        elif kind == "node":
            nodes[values[where]] = dict(zip(names, map(value, groups)))
        else:   # a zone: its ZoneDump attributes, then the other kB fields in printed order
            zone = md.ZoneDump(None if where is None else values[where], kind,
                               **{attr: values[group] for attr, group in attrs})
            zone.fields = dict(zip(names, map(value, groups)))
            zones.append(zone)
    return summary, nodes, zones


def _make_plan(text: str, texts: list[str]) -> tuple[re.Pattern[str], list[tuple]] | None:
    """The plan of the shape of ``text`` (``texts`` joined), or None when it cannot read it
    exactly as _read_lines does."""
    read = _read_lines(texts)
    if read is None or not set(read[3]) <= {"summary", "zone", "node", "reserve"} or "-" in text:
        return None
    steps, group = [], 0
    for line, kind in zip(texts, read[3]):
        runs = list(_RUNS.finditer(line))
        groups = list(range(group, group + len(runs)))
        group += len(runs)
        stripped = line.strip()
        if kind == "summary":
            steps.append((kind, groups, [name.lower() for name, _ in md._SUMMARY_PAIR.findall(line)], None, ()))
            continue
        if kind == "reserve":
            steps.append((kind, groups, None, None, ()))
            continue
        where = groups.pop(0) if stripped.startswith("Node ") else None
        fields = {}   # kB field name -> its group
        for run, number in zip(runs[where is not None:], groups):
            name = _KB_NAME.search(line, 0, run.start())
            if name is not None and line.startswith(("kB", "KB"), run.end()):
                if name.group(1) in fields:   # a name printed twice: not planned
                    return None
                fields[name.group(1)] = number
        if kind == "node":
            steps.append((kind, list(fields.values()), list(fields), where, ()))
            continue
        attrs = tuple((attr, fields.pop(name)) for name, attr in md._ZONE_ATTRS.items() if name in fields)
        steps.append((md._ZONE_LINE.fullmatch(stripped).group(2), list(fields.values()), list(fields), where, attrs))
    pattern = re.compile("".join(
        re.escape(part) if i % 2 == 0 else "([0-9]{1,20})" for i, part in enumerate(_RUNS.split(text))))
    match = pattern.fullmatch(text)
    if match is None:
        return None
    got = _run(steps, list(map(int, match.groups())))
    if not _same_section(got, read):
        return None
    return pattern, steps


def _same_section(got, read) -> bool:
    """The same values, dicts in the same order."""
    return (got == read[:3] and list(got[0].items()) == list(read[0].items())
            and [list(v.items()) for v in got[1].values()] == [list(v.items()) for v in read[1].values()]
            and list(got[1]) == list(read[1])
            and [list(z.fields.items()) for z in got[2]] == [list(z.fields.items()) for z in read[2]])
