"""Stream a log through the parsers, looking closely only where it matters.

A kernel log of a gigabyte holds a handful of failure reports.  The scanner reads it in
large blocks, asks :class:`~minfree.logs.prefilter.Prefilter` for the lines that may start a
report or a related message, and feeds the parsers a region around each: a few lines before
(comm fragments, the 3.x vmalloc line) and then every line until the report is complete.
Memory stays flat (one block plus a short carry); line numbers are exact.

It reads no file itself: :meth:`LogScanner.scan` takes a stream of bytes,
:meth:`LogScanner.scan_buffer` a whole buffer (a file the caller mapped, with a ``release``
callback that gives scanned pages back), and :meth:`~LogScanner.scan_head`,
:meth:`~LogScanner.scan_tail` and :meth:`~LogScanner.merge_tail` let a caller scan the two
halves of one buffer on two cores (:mod:`minfree.sources.logscan` maps files and forks); a
stream's two halves are :meth:`~LogScanner.scan` with a ``split`` and
:meth:`~LogScanner.scan_tail_stream`.
Events reach ``emit`` in log order (header line, then header order), each as soon as no report
still open can sort before it, so that a caller can write them out as they come.

>>> import io
>>> found = []
>>> s = LogScanner("demo", found.append)
>>> s.scan(io.BytesIO(b"[1.000000] hello\\n[2.000000] asd: page allocation failure. order:1, mode:0x20\\n"))
>>> [(e.process, e.line) for e in found], s.bytes
([('asd', 2)], 77)
"""
from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from typing import Any, BinaryIO, Callable

from minfree.logs.events import Assembler, Event
from minfree.logs.joiner import Joiner
from minfree.logs.newlines import count_newlines
from minfree.logs.prefilter import Buffer, Prefilter, Release, keep_pages, line_start
from minfree.logs.prefix import LineNormalizer
from minfree.logs.report_block import pass_over, plain_lines, read_report, report_end
from minfree.model.record import record

BLOCK = 8 << 20          # bytes read at a time
LOOKBACK = 8             # lines fed before a candidate line
MAX_LINE = 1 << 20       # a "line" longer than this is junk: skipped and counted


@record(frozen=False)
class TailEvent:
    """One event :meth:`LogScanner.scan_tail` found: its header line counted from ``split``,
    the dump lines it skipped, and what ``prepare`` made of it (what ``emit`` receives)."""

    line: int
    dump_skipped: int
    item: Any
    #: ``item`` is the event itself, not prepared: it names no kernel release, and the one the
    #: first half saw for its host is lent to it where both are known (:meth:`merge_tail`)
    unprepared: bool = False


@record(frozen=False)
class TailScan:
    """What else :meth:`LogScanner.scan_tail` found in ``data[split:]``: related-message counts,
    each host's kernel release and the lines skipped. Plain data, so that it can cross a
    process boundary."""

    related: Counter[str]
    related_by_host: dict[str | None, Counter[str]]
    kernels: dict[str | None, str]
    skipped: int
    bytes: int               # bytes scanned from ``split`` on
    carried: Any = None      # the ``carry()`` of the second process if it changed there (:class:`LogScanner`)
    #: what ended a stream's tail early (a damaged archive): raised again once its events are in
    error: Exception | None = None


@record
class HeadScan:
    """Where the scan of the first half stopped (:meth:`LogScanner.scan_head`, or
    :meth:`LogScanner.scan` with a ``split``): the split's offset and line number, and the line
    number it reached (past the split while a report was still open)."""

    split: int
    split_line: int
    reached_line: int


class LogScanner:
    """Scans one input; events go to ``emit`` as they complete."""

    def __init__(self, source: str, emit: Callable[[Any], None], prefilter: Prefilter | None = None,
                 prepare: Callable[[Event], Any] | None = None,
                 relocate: Callable[[Any, int], Any] | None = None,
                 carry: Callable[[], Any] | None = None,
                 take: Callable[[Any, int], None] | None = None) -> None:
        """``prepare`` turns each event into what ``emit`` receives (default: the event itself),
        in whichever process found it; ``relocate(item, line)`` gives a prepared item of the
        second half its line in the whole input (default: sets ``item.event.line``). What
        ``prepare`` keeps of its own in the second process, ``carry()`` there, comes back to
        ``take(state, shift)`` here (``shift``: add it to a line of the second half) when the
        second process's own events replaced it (else None: a state from before the fork is
        this process's already, numbered in the whole input)."""
        self._emit = emit
        self._prepare = prepare
        self._relocate = relocate or _set_event_line
        self._carry = carry
        self._take = take
        self._pending: list[tuple[int, int, Any]] = []   # (line, seq, item): a heap, in log order
        self.assembler = Assembler(source, self._deliver)
        self.normalizer = LineNormalizer()
        self.joiner = Joiner()
        self.prefilter = prefilter or Prefilter()
        self.bytes = 0
        self.oversized = 0
        self.tail_skipped = 0    # malformed lines the scan of a buffer's tail skipped

    @property
    def skipped_lines(self) -> int:
        return self.normalizer.malformed + self.oversized + self.assembler.dump_skipped + self.tail_skipped

    def scan(self, stream: BinaryIO, split: Callable[[int], int | None] | None = None) -> HeadScan | None:
        """Read ``stream`` to its end, :data:`BLOCK` bytes at a time, into one buffer kept for
        the whole scan (a new block of 8 MiB per read costs ~0.7 s of page faults per GiB).

        With ``split``, the first half of a two-part scan whose second half another process
        scans (:meth:`scan_tail_stream`): before each block ``split(looked)`` says where that
        half starts (a line start; None while it is not known; ``looked``: every line before it
        was looked at, so an answer from there on is usable). From then on the scan stops there
        as :meth:`scan_head` does and returns where it left off; None when it scanned it all."""
        buffer = bytearray(MAX_LINE + BLOCK)   # room for the lines carried over, then a block
        kept = 0               # bytes carried over at the start of buffer
        carry_fed = 0          # bytes of carry already fed (lookback may not re-feed them)
        base_line = 1          # line number of the first byte of the current block
        busy = False           # a report was still open at the end of the previous block
        dropping = False       # inside an oversized line: discard up to its newline
        read = 0               # bytes read: the end of the current block in the stream
        looked = 0             # every line starting before this offset of the stream was looked at
        stop: int | None = None   # where the other process's half starts, once known
        split_line = 0         # its line number, once this scan has reached it
        while True:
            if len(buffer) < kept + BLOCK:   # a carry of lines of megabytes
                buffer = buffer[:kept] + bytearray(BLOCK)
            got = _read_into(stream, buffer, kept)
            eof = not got
            self.bytes += got
            read += got
            data: Buffer = buffer
            size = kept + got
            if dropping and not eof:
                newline = buffer.find(b"\n", kept, size)
                if newline == -1:
                    continue
                # an empty line stands in for the oversized one: numbering stays exact
                data, dropping = bytes(buffer[:kept]) + buffer[newline:size], False
                size = len(data)
            end = size if eof else data.rfind(b"\n", 0, size) + 1
            oversized = not eof and size - end > MAX_LINE
            origin = read - size   # data[i] is byte origin + i of the stream (i past the carry)
            line_at = base_line + count_newlines(data, 0, carry_fed)
            if split is not None and stop is None:
                stop = split(looked)
            if stop is None or stop - origin > end:
                position, line_at = self._scan_block(data, carry_fed, line_at, busy, end)
            elif not split_line:   # the block holding the split: no report starts past it
                at = stop - origin
                position, line_at = self._scan_block(data, carry_fed, line_at, busy, at, feed_end=end)
                split_line = _line_number(data, at, position, line_at)
            else:                  # past the split: a report still open runs on
                position, line_at = self._feed(data, carry_fed, end, carry_fed, line_at, end)
            busy = self._busy
            looked = origin + end
            if eof or split_line and (not busy or oversized):   # an oversized line is the child's
                self._break()
                return HeadScan(stop, split_line, line_at) if split_line else None
            keep_from = _lines_back(data, end, LOOKBACK, floor=0)
            base_line = _line_number(data, keep_from, position, line_at)
            keep_to = end if oversized else size
            kept = keep_to - keep_from
            buffer[:kept] = data[keep_from:keep_to]
            carry_fed = max(0, position - keep_from)
            if oversized:
                self.oversized += 1
                self._break()
                busy, dropping = False, True
                looked += 1   # the oversized line was counted here: a split at its start is passed

    def scan_buffer(self, data: Buffer, release: Release = keep_pages) -> None:
        """The whole of ``data`` at once; each scanned window is handed to ``release``."""
        self.bytes = len(data)
        self._scan_block(data, 0, 1, False, len(data), release=release)
        self._break()

    def scan_head(self, data: Buffer, split: int, release: Release = keep_pages) -> HeadScan:
        """The first half of a two-part scan: ``data[:split]``, and on past ``split`` while a
        report is open. Returns where it stopped, for :meth:`merge_tail`."""
        self.bytes = len(data)
        position, line_at = self._scan_block(data, 0, 1, False, split, feed_end=len(data), release=release)
        self._break()
        return HeadScan(split, _line_number(data, split, position, line_at, release), line_at)

    def scan_tail(self, data: Buffer, split: int, emit: Callable[[TailEvent], None],
                  release: Release = keep_pages) -> TailScan:
        """The second half: ``data[split:]`` (``split`` is a line start) with fresh parser
        state; each event, prepared as this scanner prepares them, goes to ``emit`` as a
        :class:`TailEvent`, in log order. Meant for another process."""
        tail, kept = self._tail_scanner(emit), self._kept()
        tail._scan_block(data, split, 1, False, len(data), release=release)
        tail._break()
        return self._tail_scan(tail, len(data) - split, kept)

    def scan_tail_stream(self, stream: BinaryIO, emit: Callable[[TailEvent], None]) -> TailScan:
        """:meth:`scan_tail` of a stream that starts at the split. When reading it fails (a
        damaged archive), the events complete before the failure go to ``emit`` (as
        :meth:`broke_off` sends them) and the error comes back in the result."""
        tail, kept = self._tail_scanner(emit), self._kept()
        try:
            tail.scan(stream)
        except Exception as error:  # noqa: BLE001 - the first process raises it, after these events
            tail.broke_off()
            return self._tail_scan(tail, tail.bytes, kept, error)
        return self._tail_scan(tail, tail.bytes, kept)

    def merge_tail(self, head: HeadScan, tail: TailScan, found: Iterable[TailEvent]) -> None:
        """Take in what :meth:`scan_tail` found (``found``: its events in the order it emitted
        them), numbered in the whole input. ``head`` is where the first half stopped: events it
        already reported (it may have run past the split) are not emitted twice."""
        lines_before_split = head.split_line - 1
        first_own_line = head.reached_line - lines_before_split   # lines the head already covered
        counted_by_head = 0      # dump lines the tail skipped in events the head reported too
        if self._take is not None:
            self._take(tail.carried, lines_before_split)
        for event in found:
            if event.line >= first_own_line:
                line = event.line + lines_before_split
                if event.unprepared:
                    raw = event.item
                    raw.line = line
                    known = self.assembler.kernels.get(raw.host)
                    if known is not None:
                        # a release the head saw for this host, as one scan lends it (Assembler._finish)
                        raw.host_kernel = known
                    self._emit(self._prepare(raw) if self._prepare is not None else raw)
                else:
                    self._emit(self._relocate(event.item, line))
            else:
                counted_by_head += event.dump_skipped
        assembler = self.assembler
        assembler.related.update(tail.related)
        for host, counts in tail.related_by_host.items():
            assembler.related_by_host[host].update(counts)
        for host, kernel in tail.kernels.items():
            assembler.kernels.setdefault(host, kernel)
        self.tail_skipped = tail.skipped - counted_by_head
        self.bytes = head.split + tail.bytes

    def feed_line(self, raw: str, lineno: int) -> None:
        """One physical line through normalizer, joiner and assembler (also used by --follow)."""
        feed = self.assembler.feed
        if raw.isspace():
            self.joiner.boundary(feed)
        for line in self.normalizer.normalize(raw):
            self.joiner.push(line, lineno, feed)

    def pause(self) -> None:
        """The input went quiet or skipped: complete what is open."""
        self._break()

    def broke_off(self) -> None:
        """The input failed mid-way: events already complete go out (in log order), even
        those held back behind a report still open; what is open is dropped."""
        while self._pending:
            self._emit(heapq.heappop(self._pending)[2])

    # -- internals -------------------------------------------------------------------------

    def _tail_scanner(self, emit: Callable[[TailEvent], None]) -> LogScanner:
        """A scanner with fresh parser state whose events, prepared as ours are, go to ``emit``
        as :class:`TailEvent`."""
        prepare = self._prepare

        def found(event: Event) -> TailEvent:
            skipped = event.dump.result().skipped if event.dump is not None else 0
            if event.kernel is None and event.host_kernel is None:
                return TailEvent(event.line, skipped, event, unprepared=True)
            return TailEvent(event.line, skipped, prepare(event) if prepare is not None else event)

        return LogScanner(self.assembler.source, emit, self.prefilter, found)

    def _kept(self) -> Any:
        """What ``prepare`` keeps of its own (``carry()``), as the second process starts."""
        return self._carry() if self._carry is not None else None

    def _tail_scan(self, tail: LogScanner, scanned: int, kept: Any, error: Exception | None = None) -> TailScan:
        """What the second process found; its ``carry()`` only if its own events changed it (a
        process forked part way through the first half has the first process's as it was)."""
        assembler = tail.assembler
        carried = self._kept()
        return TailScan(assembler.related, dict(assembler.related_by_host), assembler.kernels,
                        tail.skipped_lines, scanned, None if carried is kept else carried, error)

    def _deliver(self, event: Event) -> None:
        item = self._prepare(event) if self._prepare is not None else event
        pending = self._pending
        heapq.heappush(pending, (event.line, event.seq, item))   # (line, seq) is unique
        first_open = self.assembler.first_open()
        while pending and (first_open is None or pending[0][:2] < first_open):
            self._emit(heapq.heappop(pending)[2])

    @property
    def _busy(self) -> bool:
        return self.assembler.busy or self.joiner.holding

    def _break(self) -> None:
        self.joiner.flush(self.assembler.feed)
        self.assembler.discontinuity()

    def _idle_after(self, hit_line: int | None) -> bool:
        """After a line was fed: once a line after the hit is held back and nothing is open,
        the held line goes out too; True if still nothing is open (the region is done)."""
        if hit_line is None or self.joiner.held_from <= hit_line or self.assembler.busy:
            return False
        self.joiner.flush(self.assembler.feed)
        return not self.assembler.busy

    def _scan_block(self, data: Buffer, position: int, line_at: int, busy: bool, hits_end: int,
                    feed_end: int | None = None, release: Release = keep_pages) -> tuple[int, int]:
        """Feed every region around candidate lines in ``data[position:hits_end]`` (a report that
        starts there may be fed up to ``feed_end``); ``line_at`` is the line number at
        ``position``. Returns (offset reached, its line number)."""
        feed_end = hits_end if feed_end is None else feed_end
        floor = position
        if busy:
            position, line_at = self._feed(data, position, feed_end, position, line_at, hits_end)
        for start in self.prefilter.line_starts(data, hits_end, floor, release):
            if start < position:
                continue
            region = max(position, _lines_back(data, start, LOOKBACK, floor=position))
            if region > position:
                line_at += count_newlines(data, position, region, release)
                self._break()
            fed_from = position    # all before it was given back: a touched page maps its folio
            read = self._read_report(data, region, start, line_at, feed_end, hits_end)
            position, line_at = read or self._feed(data, region, feed_end, start, line_at, hits_end)
            release(fed_from, position - fed_from)
        return position, line_at

    def _read_report(self, data: Buffer, region: int, start: int, line_at: int, feed_end: int,
                     hits_end: int) -> tuple[int, int] | None:
        """The region of ``start`` when a report in its canonical shape begins there (or on the
        next line, after a "callbacks suppressed"), read as one block (:mod:`.report_block`): the
        lines before it fed (or only counted), the report taken whole, then the line after it,
        as the line path does (tests/logs/test_report_block.py). Nothing is open at a region's
        start. Returns what :meth:`_feed` returns; None when nothing was fed (not such a report)."""
        assembler = self.assembler
        newline = data.find(b"\n", start, hits_end)
        if newline == -1 or not self._plain_state:
            return None
        header = start
        if data.find(b"allocation failure", start, newline) == -1:
            header = newline + 1
            newline = data.find(b"\n", header, hits_end)
            if newline == -1 or data.find(b"allocation failure", header, newline) == -1:
                return None
        end = report_end(data, header, hits_end)
        after = data.find(b"\n", end, hits_end) + 1 if end != -1 else 0
        if not after or not plain_lines(data, end, after, header):
            return None   # the line after it must not continue it (the joiner)
        before = count_newlines(data, region, header)
        lineno = line_at + before
        event = read_report(data, header, end, assembler.source, lineno)
        if event is None:
            return None
        if not pass_over(assembler, data, region, header, before):
            self._feed(data, region, header, start, line_at, hits_end)
            self.joiner.flush(assembler.feed)   # the header has a prefix: it continues no line
            if not self._plain_state:   # a line before it opened a report, or left a vmalloc line
                return self._feed(data, header, feed_end, start, lineno, hits_end)
        assembler.take_whole(event)
        lines = event.lines_seen + 1
        # the line after the report: the line path feeds it once the report closed, and goes on
        # while the assembler is busy after it
        self.feed_line(data[end:after].decode("ascii"), lineno + lines)
        self.joiner.flush(assembler.feed)
        if assembler.busy:
            return self._feed(data, after, feed_end, after, lineno + lines + 1, hits_end)
        return after, lineno + lines + 1

    @property
    def _plain_state(self) -> bool:
        """No report open, no vmalloc line that the next header could take, no journal export
        record being read (its lines are not console lines): a report may be read as a block."""
        assembler = self.assembler
        return not assembler.open_reports and not assembler.vmalloc_pending and not self.normalizer.in_export

    def _feed(self, data: Buffer, position: int, end: int, hit: int, line_at: int,
              own_end: int) -> tuple[int, int]:
        """Feed lines from ``position`` until past ``hit`` and idle; returns where it stopped.
        Related messages that start at ``own_end`` or later are left uncounted: the scan of
        what follows ``own_end`` (:meth:`scan_tail`) counts them."""
        hit_line = None
        normalizer, joiner, assembler = self.normalizer, self.joiner, self.assembler
        feed = assembler.feed
        while position < end:
            if position == hit or (hit_line is None and position > hit):
                hit_line = line_at
            if position == own_end:
                assembler.count_before = line_at
            # a run of plain console lines skips the decoding and the normalizer's dispatch; it
            # stops before the hit and before own_end, where the checks above are due
            limit = end
            if position < own_end < limit:
                limit = own_end
            if hit_line is None and position < hit < limit:
                limit = hit
            run, run_end = normalizer.console_run(data, position, limit)
            if run:
                push, lines = joiner.push_stamped, normalizer.console_lines(run)
                for number, line in enumerate(lines, line_at):
                    push(line, number, feed)
                    # while a report is open the region goes on: _idle_after is not asked
                    if hit_line is not None and not assembler.open_reports and self._idle_after(hit_line):
                        return position + normalizer.console_read(run, lines, number - line_at + 1), number + 1
                position, line_at = run_end, line_at + len(lines)
                continue
            newline = data.find(b"\n", position, end)
            stop = end if newline == -1 else newline + 1
            self.feed_line(data[position:stop].decode("utf-8", "replace"), line_at)
            position, line_at = stop, line_at + 1
            if self._idle_after(hit_line):
                break
        return position, line_at


def _set_event_line(item: Any, line: int) -> Any:
    """The default relocation: an event, or a prepared item keeping it as ``.event``."""
    getattr(item, "event", item).line = line
    return item


def _line_number(data: Buffer, offset: int, position: int, line_at: int,
                 release: Release = keep_pages) -> int:
    """The line number at ``offset`` (a line start) of ``data``, from ``line_at`` at ``position``."""
    if position >= offset:
        return line_at - count_newlines(data, offset, position, release)
    return line_at + count_newlines(data, position, offset, release)


def _read_into(stream: BinaryIO, buffer: bytearray, at: int) -> int:
    """Read up to :data:`BLOCK` bytes of ``stream`` into ``buffer[at:]``; 0 at the end."""
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        chunk = stream.read(BLOCK)
        buffer[at:at + len(chunk)] = chunk
        return len(chunk)
    with memoryview(buffer) as view:
        return readinto(view[at:at + BLOCK]) or 0


def _lines_back(data: Buffer, offset: int, count: int, floor: int) -> int:
    """Offset of the start of the line ``count`` lines before the one starting at ``offset``."""
    position = offset
    for _ in range(count):
        if position <= floor:
            return floor
        position = line_start(data, position - 1, floor)
    return max(position, floor)
