"""Stream a log through the parsers, looking closely only where it matters.

A kernel log of a gigabyte holds a handful of failure reports.  The scanner reads it in
large blocks, asks :class:`~minfree.logs.prefilter.Prefilter` for the lines that may start a
report or a related message, and feeds the parsers a region around each: a few lines before
(comm fragments, the 3.x vmalloc line) and then every line until the report is complete.
Memory stays flat (one block plus a short carry); line numbers are exact.

>>> import io
>>> found = []
>>> s = LogScanner("demo", found.append)
>>> s.scan(io.BytesIO(b"[1.000000] hello\\n[2.000000] asd: page allocation failure. order:1, mode:0x20\\n"))
>>> [(e.process, e.line) for e in found], s.bytes
([('asd', 2)], 77)
"""
from __future__ import annotations

import mmap
import os
import pickle
import stat
from typing import Any, BinaryIO, Callable

from minfree.logs.events import Assembler, Event
from minfree.logs.joiner import Joiner
from minfree.logs.newlines import Buffer, count_newlines
from minfree.logs.prefilter import Prefilter, line_start, release_pages
from minfree.logs.prefix import LineNormalizer

BLOCK = 8 << 20          # bytes read at a time
LOOKBACK = 8             # lines fed before a candidate line
MAX_LINE = 1 << 20       # a "line" longer than this is junk: skipped and counted
PARALLEL_MIN_BYTES = 256 << 20   # below this a second process costs more than it saves


class LogScanner:
    """Scans one input; events go to ``emit`` as they complete."""

    def __init__(self, source: str, emit: Callable[[Any], None], prefilter: Prefilter | None = None,
                 prepare: Callable[[Event], Any] | None = None) -> None:
        """``prepare`` turns each event into what ``emit`` receives (default: the event itself),
        in whichever process found it; its result must keep the event as ``.event``."""
        self._emit = emit
        self._prepare = prepare
        self.assembler = Assembler(source, self._deliver)
        self.normalizer = LineNormalizer()
        self.joiner = Joiner()
        self.prefilter = prefilter or Prefilter()
        self.bytes = 0
        self.oversized = 0
        self.child_skipped = 0   # malformed lines the second process skipped

    @property
    def skipped_lines(self) -> int:
        return self.normalizer.malformed + self.oversized + self.assembler.dump_skipped + self.child_skipped

    def scan(self, stream: BinaryIO) -> None:
        mapped = _map(stream)
        if mapped is None:
            self._scan_stream(stream)
            return
        with mapped:
            self.bytes = len(mapped)
            split = _split_point(mapped)
            if split is None or not self._scan_halves(mapped, split):
                self._scan_block(mapped, 0, 1, False, len(mapped))
                self._break()

    def _scan_halves(self, data: mmap.mmap, split: int) -> bool:
        """Two processes on two cores: a child scans from ``split`` while this one scans up to it
        (and on past it while a report is open). False if no child could be started."""
        try:
            reader, writer = os.pipe()
            pid = os.fork()
        except OSError:
            return False
        if pid == 0:
            os.close(reader)
            _child_scan(self, data, split, writer)
        os.close(writer)
        position, line_at = self._scan_block(data, 0, 1, False, split, feed_end=len(data))
        self._break()
        with os.fdopen(reader, "rb") as pipe:
            payload = pipe.read()
        os.waitpid(pid, 0)
        if not payload:
            raise OSError("the second scanning process failed")
        events, related, by_host, skipped, kernels = pickle.loads(payload)
        if position >= split:
            lines_before_split = line_at - count_newlines(data, split, position)
        else:
            lines_before_split = line_at + count_newlines(data, position, split)
        first_own_line = line_at - lines_before_split + 1   # lines this process already covered
        assembler = self.assembler
        for item in events:
            event = item.event if self._prepare is not None else item
            if event.line >= first_own_line:
                event.line += lines_before_split - 1
                self._emit(item)
        assembler.related.update(related)
        for host, counts in by_host.items():
            assembler.related_by_host[host].update(counts)
        for host, release in kernels.items():
            assembler.kernels.setdefault(host, release)
        self.child_skipped = skipped
        return True

    def _scan_stream(self, stream: BinaryIO) -> None:
        carry = b""
        carry_fed = 0          # bytes of carry already fed (lookback may not re-feed them)
        base_line = 1          # line number of the first byte of the current block
        busy = False           # a report was still open at the end of the previous block
        dropping = False       # inside an oversized line: discard up to its newline
        while True:
            chunk = stream.read(BLOCK)
            eof = not chunk
            self.bytes += len(chunk)
            if dropping and not eof:
                newline = chunk.find(b"\n")
                if newline == -1:
                    continue
                # an empty line stands in for the oversized one: numbering stays exact
                chunk, dropping = b"\n" + chunk[newline + 1:], False
            data = carry + chunk
            end = len(data) if eof else data.rfind(b"\n") + 1
            oversized = not eof and len(data) - end > MAX_LINE
            position, line_at = self._scan_block(
                data, carry_fed, base_line + count_newlines(data, 0, carry_fed), busy, end)
            busy = self._busy
            keep_from = _lines_back(data, end, LOOKBACK, floor=0)
            if keep_from >= position:
                base_line = line_at + count_newlines(data, position, keep_from)
            else:
                base_line = line_at - count_newlines(data, keep_from, position)
            carry = data[keep_from:end] if oversized else data[keep_from:]
            carry_fed = max(0, position - keep_from)
            if oversized:
                self.oversized += 1
                self._break()
                busy, dropping = False, True
            if eof:
                break
        self._break()

    def feed_line(self, raw: str, lineno: int) -> None:
        """One physical line through normalizer, joiner and assembler (also used by --follow)."""
        feed = self.assembler.feed
        if raw.isspace():
            for logical, number in self.joiner.boundary():
                feed(logical, number)
        for line in self.normalizer.normalize(raw):
            for logical, number in self.joiner.push(line, lineno):
                feed(logical, number)

    def pause(self) -> None:
        """The input went quiet or skipped: complete what is open."""
        self._break()

    # -- internals -------------------------------------------------------------------------

    def _deliver(self, event: Event) -> None:
        self._emit(self._prepare(event) if self._prepare is not None else event)

    @property
    def _busy(self) -> bool:
        return self.assembler.busy or self.joiner.holding

    def _break(self) -> None:
        for line, lineno in self.joiner.flush():
            self.assembler.feed(line, lineno)
        self.assembler.discontinuity()

    def _scan_block(self, data: Buffer, position: int, line_at: int, busy: bool, hits_end: int,
                    feed_end: int | None = None) -> tuple[int, int]:
        """Feed every region around candidate lines in ``data[position:hits_end]`` (a report that
        starts there may be fed up to ``feed_end``); ``line_at`` is the line number at
        ``position``. Returns (offset reached, its line number)."""
        feed_end = hits_end if feed_end is None else feed_end
        floor = position
        if busy:
            position, line_at = self._feed(data, position, feed_end, position, line_at)
        for start in self.prefilter.line_starts(data, hits_end, floor):
            if start < position:
                continue
            region = max(position, _lines_back(data, start, LOOKBACK, floor=position))
            if region > position:
                line_at += count_newlines(data, position, region)
                self._break()
            position, line_at = self._feed(data, region, feed_end, start, line_at)
            release_pages(data, region, position - region)
        return position, line_at

    def _feed(self, data: bytes, position: int, end: int, hit: int, line_at: int) -> tuple[int, int]:
        """Feed lines from ``position`` until past ``hit`` and idle; returns where it stopped."""
        feed = self.assembler.feed
        hit_line = None
        while position < end:
            if position == hit or (hit_line is None and position > hit):
                hit_line = line_at
            newline = data.find(b"\n", position, end)
            stop = end if newline == -1 else newline + 1
            self.feed_line(data[position:stop].decode("utf-8", "replace"), line_at)
            position, line_at = stop, line_at + 1
            # stop once a line after the hit is held back and nothing is open
            if hit_line is not None and self.joiner.held_from > hit_line and not self.assembler.busy:
                for logical, number in self.joiner.flush():
                    feed(logical, number)
                if not self.assembler.busy:
                    break
        return position, line_at


def _split_point(data: mmap.mmap) -> int | None:
    """Where a second process takes over: the line start nearest the middle of a large file."""
    if len(data) < PARALLEL_MIN_BYTES or (os.cpu_count() or 1) < 2:
        return None
    newline = data.find(b"\n", len(data) // 2)
    return None if newline == -1 or newline + 1 >= len(data) else newline + 1


def _child_scan(parent: LogScanner, data: mmap.mmap, split: int, writer: int) -> None:
    """In the forked child: scan ``data[split:]`` with fresh parser state, send what was found
    (line numbers relative to ``split``), exit without returning."""
    status = 1
    try:
        found: list[Any] = []
        child = LogScanner(parent.assembler.source, found.append, parent.prefilter, parent._prepare)
        child._scan_block(data, split, 1, False, len(data))
        child._break()
        assembler = child.assembler
        payload = pickle.dumps((found, assembler.related, dict(assembler.related_by_host),
                                child.skipped_lines, assembler.kernels))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _map(stream: BinaryIO) -> mmap.mmap | None:
    """A read-only map of a regular file behind ``stream``, or None (pipes, decompressors)."""
    try:
        descriptor = stream.fileno()
        info = os.fstat(descriptor)
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0 or stream.tell() != 0:
        return None
    try:
        return mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _lines_back(data: Buffer, offset: int, count: int, floor: int) -> int:
    """Offset of the start of the line ``count`` lines before the one starting at ``offset``."""
    position = offset
    for _ in range(count):
        if position <= floor:
            return floor
        position = line_start(data, position - 1, floor)
    return max(position, floor)
