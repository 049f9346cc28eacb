"""Records of a tracefs text buffer (``trace`` / ``trace_pipe``), one per event, with the
kernel stack a ``stacktrace`` trigger wrote after it.

A line is ``<comm>-<pid> [<cpu>] <flags> <timestamp>: <event>: <fields>``
(kernel/trace/trace_output.c ``trace_print_context``; ``(tgid)`` after the pid with
``record-tgid``, the flags column only with ``irq-info``); the fields are the event's
``print fmt`` output, ``key=value`` separated by spaces. A stack is a ``<stack trace>`` line
of the same CPU followed by `` => function`` lines; the kernel writes it right after the
event it belongs to, on the same CPU (``trace_buffer_unlock_commit_regs`` commits the event,
then ``ftrace_trace_stack``), while ``trace_pipe`` merges CPUs by time, so a stack belongs
to the last event of its CPU. For a failed allocation the printed ``pfn`` is 0 (``pfn=0x0``
on 6.x, ``pfn=0`` on 5.10): only the raw field is -1, so these records are those a filter
``pfn == 0xffffffffffffffff`` let through.

Lines that are neither (headers, ``CPU:N [LOST M EVENTS]``, junk) are counted as skipped,
except comment lines.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from minfree.model.record import field, record

__all__ = ["TraceParser", "TraceRecord", "parse_trace"]

_LINE = re.compile(
    r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:[\w.]{4,6}\s+)?(?P<ts>\d+\.\d+):\s+(?:(?P<stack><stack trace>)|(?P<event>\w+):\s*(?P<body>.*))\s*$")
_STACK_FRAME = re.compile(r"^\s*=>\s*(?P<frame>\S+)")
_LOST = re.compile(r"^CPU:(\d+) \[LOST (\d+) EVENTS\]")
_FIELD = re.compile(r"(\w+)=(\S*)")


@record(frozen=False)
class TraceRecord:
    """One event: who (comm, pid), where (cpu), when (seconds on the instance's trace clock),
    its name, its printed fields, and the stack the trigger wrote (innermost first)."""

    event: str
    comm: str
    pid: int
    cpu: int
    ts: float
    fields: dict[str, str]
    stack: tuple[str, ...] = ()

    def number(self, name: str) -> int | None:
        """A numeric field (decimal or 0x hex), None when absent or not a number."""
        value = self.fields.get(name)
        if value is None:
            return None
        try:
            return int(value, 0)
        except ValueError:
            return None


@record(frozen=False)
class TraceParser:
    """Parse a stream of complete lines fed in chunks: :meth:`feed` returns the records whose
    stack (if any) has been seen; :meth:`flush` returns the rest. ``skipped`` counts
    unreadable lines and ``lost`` the events the kernel reported lost."""

    skipped: int = 0
    lost: int = 0
    _pending: dict[int, TraceRecord] = field(default_factory=dict)
    _stack: list[str] | None = None  # frames of the stack being read
    _owner: TraceRecord | None = None  # the record they belong to (None: an orphan stack)

    def feed(self, lines: Iterable[str]) -> list[TraceRecord]:
        done: list[TraceRecord] = []
        for line in lines:
            frame = _STACK_FRAME.match(line)
            if frame is not None:
                if self._stack is not None:
                    self._stack.append(frame.group("frame"))
                continue
            self._end_stack()
            if not line.strip() or line.startswith("#"):
                continue
            match = _LINE.match(line)
            if match is None:
                lost = _LOST.match(line)
                if lost:
                    self.lost += int(lost.group(2))
                else:
                    self.skipped += 1
                continue
            cpu = int(match.group("cpu"))
            if match.group("stack"):
                owner = self._pending.get(cpu)
                self._owner = None if owner is None or owner.stack else owner
                self._stack = []
                continue
            previous = self._pending.pop(cpu, None)
            if previous is not None:
                done.append(previous)
            self._pending[cpu] = TraceRecord(
                event=match.group("event"), comm=match.group("comm").strip(), pid=int(match.group("pid")),
                cpu=cpu, ts=float(match.group("ts")), fields=dict(_FIELD.findall(match.group("body"))))
        return done

    def _end_stack(self) -> None:
        if self._owner is not None and self._stack:
            self._owner.stack = tuple(self._stack)
        self._owner = None
        self._stack = None

    def flush(self) -> list[TraceRecord]:
        self._end_stack()
        done = sorted(self._pending.values(), key=lambda r: r.ts)
        self._pending.clear()
        return done


def parse_trace(text: str) -> tuple[list[TraceRecord], int]:
    """Every record of a whole buffer, and the count of skipped lines.

    Real sample (this machine, Linux 6.18: a hugetlb pool growth that failed, with its stack;
    and a Debian 5.10 record, whose failed pfn prints as 0):

    >>> text = '''\\
    ...             bash-41522   [000] .....  4711.918523: mm_page_alloc: page=0000000000000000 pfn=0x0 order=9 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_NOWARN|__GFP_RETRY_MAYFAIL|__GFP_COMP|__GFP_HARDWALL|__GFP_THISNODE
    ...             bash-41522   [000] .....  4711.918530: <stack trace>
    ...  => trace_event_raw_event_mm_page_alloc
    ...  => __alloc_frozen_pages_noprof
    ...  => alloc_buddy_hugetlb_folio.isra.0
    ...  => nr_hugepages_store_common
    ...           <idle>-0       [000] ..s1.    11.231307: mm_page_alloc: page=0000000000000000 pfn=0 order=1 migratetype=0 gfp_flags=GFP_ATOMIC
    ... garbage
    ... '''
    >>> records, skipped = parse_trace(text)
    >>> [(r.comm, r.pid, r.number("order"), r.number("pfn"), r.stack[-2:]) for r in records]
    [('<idle>', 0, 1, 0, ()), ('bash', 41522, 9, 0, ('alloc_buddy_hugetlb_folio.isra.0', 'nr_hugepages_store_common'))]
    >>> records[1].fields["gfp_flags"].split("|")[:2], skipped
    (['GFP_HIGHUSER_MOVABLE', '__GFP_NOWARN'], 1)
    """
    parser = TraceParser()
    records = parser.feed(text.splitlines())
    records.extend(parser.flush())
    records.sort(key=lambda r: r.ts)
    return records, parser.skipped
