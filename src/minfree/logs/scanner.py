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
import stat
from typing import BinaryIO, Callable

from minfree.logs.events import Assembler, Event
from minfree.logs.joiner import Joiner
from minfree.logs.newlines import Buffer, count_newlines
from minfree.logs.prefilter import Prefilter
from minfree.logs.prefix import LineNormalizer

BLOCK = 8 << 20          # bytes read at a time
LOOKBACK = 8             # lines fed before a candidate line
MAX_LINE = 1 << 20       # a "line" longer than this is junk: skipped and counted


class LogScanner:
    """Scans one input; events go to ``emit`` as they complete."""

    def __init__(self, source: str, emit: Callable[[Event], None], prefilter: Prefilter | None = None) -> None:
        self.assembler = Assembler(source, emit)
        self.normalizer = LineNormalizer()
        self.joiner = Joiner()
        self.prefilter = prefilter or Prefilter()
        self.bytes = 0
        self.oversized = 0

    @property
    def skipped_lines(self) -> int:
        return self.normalizer.malformed + self.oversized + self.assembler.dump_skipped

    def scan(self, stream: BinaryIO) -> None:
        mapped = _map(stream)
        if mapped is None:
            self._scan_stream(stream)
            return
        with mapped:
            self.bytes = len(mapped)
            self._scan_block(mapped, len(mapped), 0, 1, False)
            self._break()

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
            position, line_at = self._scan_block(data, end, carry_fed, base_line, busy)
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

    # -- internals -------------------------------------------------------------------------

    @property
    def _busy(self) -> bool:
        return self.assembler.busy or self.joiner.holding

    def _break(self) -> None:
        for line, lineno in self.joiner.flush():
            self.assembler.feed(line, lineno)
        self.assembler.discontinuity()

    def _scan_block(self, data: Buffer, end: int, fed: int, base_line: int, busy: bool) -> tuple[int, int]:
        """Feed every region of ``data[:end]``; returns (offset reached, its line number)."""
        position, line_at = fed, base_line + count_newlines(data, 0, fed)
        if busy:
            position, line_at = self._feed(data, position, end, position, line_at)
        for start in self.prefilter.line_starts(data, end):
            if start < position:
                continue
            region = max(position, _lines_back(data, start, LOOKBACK, floor=position))
            if region > position:
                line_at += count_newlines(data, position, region)
                self._break()
            position, line_at = self._feed(data, region, end, start, line_at)
        return position, line_at

    def _feed(self, data: bytes, position: int, end: int, hit: int, line_at: int) -> tuple[int, int]:
        """Feed lines from ``position`` until past ``hit`` and idle; returns where it stopped."""
        normalize, push, feed = self.normalizer.normalize, self.joiner.push, self.assembler.feed
        hit_line = None
        while position < end:
            if position == hit or (hit_line is None and position > hit):
                hit_line = line_at
            newline = data.find(b"\n", position, end)
            stop = end if newline == -1 else newline + 1
            raw = data[position:stop].decode("utf-8", "replace")
            if raw.isspace():
                for logical, number in self.joiner.boundary():
                    feed(logical, number)
            for line in normalize(raw):
                for logical, number in push(line, line_at):
                    feed(logical, number)
            position, line_at = stop, line_at + 1
            # stop once a line after the hit is held back and nothing is open
            if hit_line is not None and self.joiner.held_from > hit_line and not self.assembler.busy:
                for logical, number in self.joiner.flush():
                    feed(logical, number)
                if not self.assembler.busy:
                    break
        return position, line_at


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
        previous = data.rfind(b"\n", floor, position - 1)
        position = floor if previous == -1 else previous + 1
    return max(position, floor)
