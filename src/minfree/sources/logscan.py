"""Feed one opened log to a :class:`~minfree.logs.scanner.LogScanner` the fastest way it allows.

A regular file is mapped read-only and scanned in place; every window, once scanned, is dropped
from this process's resident set (``madvise(MADV_DONTNEED)``: the pages stay in the page cache),
so a gigabyte scanned leaves the process as small as it started. From
:data:`PARALLEL_MIN_BYTES` on, and with two CPUs, the file is cut at the first line start after
its middle that is not a wrapped piece (:func:`_split_point`): a forked child scans the second half (its events prepared, e.g. explained and
rendered, by the scanner's own ``prepare``) while this process scans the first half. The child
writes each event, pickled, to an unnamed temporary file as it finds it (so neither process
holds the events of a half in memory) and sends the rest of what it found through a pipe; this
process then reads the events back one at a time. A compressed regular file from
:data:`PARALLEL_MIN_COMPRESSED` on is streamed the same way on two processes when scanning it
costs enough more than decoding it (:func:`_scan_stream_halves`): a child decodes it again up to
a line start near its middle, tells this process where, and scans on from there. Anything else
(pipes, stdin, tar members, small compressed files) is streamed by this process alone.

>>> import io
>>> from minfree.logs.scanner import LogScanner
>>> found = []
>>> scan_stream(LogScanner("demo", found.append),
...             io.BytesIO(b"[2.000000] asd: page allocation failure. order:1, mode:0x20\\n"))
>>> [(e.process, e.order) for e in found]
[('asd', 1)]
"""
from __future__ import annotations

import functools
import mmap
import os
import pickle
import select
import stat
import struct
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from minfree.logs.prefilter import Release, keep_pages
from minfree.logs.scanner import HeadScan, LogScanner, TailEvent, TailScan
from minfree.sources.forked import ForkedChild, pickled_error
from minfree.sources.logfiles import CompressedFile, unwrapped_newline

PARALLEL_MIN_BYTES = 256 << 20   # below this a second process costs more than it saves
#: a compressed file from this size on is scanned on two processes (its second half is decoded
#: twice: once to find where it starts, once to scan it)
PARALLEL_MIN_COMPRESSED = 32 << 20
SCAN_PROBE = 32 << 20    # decompressed bytes scanned here before a child may be started
DECODE_PROBE = 32 << 20  # decompressed bytes the child decodes before it judges the cost
SPLIT_RATIO = 2.0        # scanning must cost this many times decoding (see _share)
FREE_CORE = 0.6          # the child must have had this share of a core while it decoded them
MAX_SHARE = 0.7          # the child's part starts after at most this share of the compressed bytes
_FOLIO = 2 << 20                 # the largest unit a file page fault maps (PMD size, x86-64)


def scan_stream(scanner: LogScanner, stream: BinaryIO) -> None:
    """Scan everything ``stream`` holds: mapped when it is a regular file read from its start
    (on two processes when large), else read block by block (a large compressed file on two
    processes too)."""
    mapped = _map(stream)
    if mapped is None:
        if not (isinstance(stream, CompressedFile) and _scan_stream_halves(scanner, stream)):
            scanner.scan(stream)
        return
    with mapped:
        release = _page_dropper(mapped)
        split = _split_point(mapped)
        if split is None or not _scan_halves(scanner, mapped, split, release):
            scanner.scan_buffer(mapped, release)


def _scan_halves(scanner: LogScanner, data: mmap.mmap, split: int, release: Release) -> bool:
    """A child scans from ``split`` while this process scans up to it (and on past it while a
    report is open). False if no child could be started."""
    def tail(spill: Callable[[TailEvent], None], _tell_split: Callable[[int], None]) -> TailScan:
        return scanner.scan_tail(data, split, spill, release)

    child = _Tail(tail)
    try:
        if not child.start():
            return False
        head = child.finish(lambda: scanner.scan_head(data, split, release))
        assert head is not None   # a mapped head always stops at the split
        child.merge(scanner, head)
    finally:
        child.close()
    return True


def _scan_stream_halves(scanner: LogScanner, stream: CompressedFile) -> bool:
    """A large compressed file, on two processes where that pays: once this process has
    scanned :data:`SCAN_PROBE` bytes (what its scanning costs per byte), a child decodes the
    file again from its start to a share of its compressed bytes (half, or what balances the two
    processes' work: :func:`_share`), tells this process the first line start from there (the
    split) and scans the rest, while this process scans up to the split (and on past it while a
    report is open). Should this process have passed the split
    before it hears of it, or the child find none, or find decoding too dear for what scanning
    the second half would save (:func:`_share`), the child is stopped (or stops) and this
    process scans it all. False if the file is not one to split (nothing was scanned)."""
    if stream.compressed_size < PARALLEL_MIN_COMPRESSED or (os.cpu_count() or 1) < 2 or stream.started:
        return False
    scan_cost = 0.0   # this process's CPU seconds per byte scanned, known to the child at its fork

    def tail(spill: Callable[[TailEvent], None], tell_split: Callable[[int], None]) -> TailScan | None:
        second = stream.second_half(_share(scan_cost))
        if second is None:
            return None   # the input ends or breaks before a split, or decoding it costs too much
        split, rest = second
        tell_split(split)
        with rest:
            return scanner.scan_tail_stream(rest, spill)

    child = _Tail(tail)
    clock: float | None = None

    def split(looked: int) -> int | None:
        nonlocal clock, scan_cost
        if not child.started:
            if clock is None:
                clock = time.process_time()
            if looked < SCAN_PROBE or child.tried:
                return None
            scan_cost = (time.process_time() - clock) / max(looked, 1)
            if not child.start():
                return None
        return child.split(looked)

    try:
        head = child.finish(lambda: scanner.scan(stream, split))
        if head is not None:
            child.merge(scanner, head)
    finally:
        child.close()
    return True


def _share(scan_cost: float) -> Callable[[int], float | None]:
    """In the child, as it decodes the first part: the share of the compressed bytes after which
    its part starts. Half, until :data:`DECODE_PROBE` bytes are decoded; then, from what scanning
    costs (``scan_cost``: CPU seconds per byte, measured by the first process) and decoding costs
    (this process's CPU per byte so far: its clock started at the fork), the share that gives
    both processes the same work: the first scans ``f`` of the input, the child decodes ``f`` and
    scans ``1 - f``, so ``f = s / (2s - d)`` (at most :data:`MAX_SHARE`). None (give up) when
    scanning costs less than :data:`SPLIT_RATIO` times decoding (with both cores busy, decoding
    the first part again then costs about what scanning the second saves), or when this process
    had less than :data:`FREE_CORE` of a core so far (other work holds the second core: a second
    scanner would only add CPU). Heuristics, measured on 1 GiB logs, zstd and gzip, at 200 and
    5000 reports per GiB, on a shared 2-core machine (bench/README.md)."""
    judged: float | None = 0.5
    probed = False
    forked = time.monotonic()

    def share(decoded: int) -> float | None:
        nonlocal judged, probed
        if decoded >= DECODE_PROBE and not probed:
            probed = True
            cpu = time.process_time()
            decode_cost = cpu / decoded
            if scan_cost < SPLIT_RATIO * decode_cost or cpu < FREE_CORE * (time.monotonic() - forked):
                judged = None
            elif 2 * scan_cost > decode_cost:
                judged = min(MAX_SHARE, scan_cost / (2 * scan_cost - decode_cost))
        return judged

    return share


_SPLIT = struct.Struct("<q")


class _Tail:
    """The child that scans the second half (a :class:`~minfree.sources.forked.ForkedChild`),
    seen from this process: a pipe brings the split (streams: as soon as the child knows it)
    and then, at its end, what it found besides events; the events come through an unnamed
    file, one at a time. :meth:`close` kills a child still at work and reaps it."""

    def __init__(self, work: Callable[[Callable[[TailEvent], None], Callable[[int], None]], TailScan | None]
                 ) -> None:
        self._work = work
        self._child: ForkedChild | None = None
        self._pipe = -1
        self._spool: BinaryIO | None = None
        self._split: int | None = None
        self.tried = False   # start() was called

    @property
    def started(self) -> bool:
        return self._child is not None

    @property
    def running(self) -> bool:
        """Started, and neither stopped nor reaped."""
        return self._child is not None and self._child.running

    def start(self) -> bool:
        """Fork a child that runs ``work(spill, tell_split)``; False if none could be made."""
        self.tried = True
        # here, not at the top: ~5 ms (shutil, random), paid only by a scan large enough for two
        # processes (a second or more); `scan` without --json has it imported already
        import tempfile

        try:
            self._spool = spool = tempfile.TemporaryFile()
            self._child = ForkedChild(lambda to_parent, _from_parent: _child(self._work, to_parent[0], spool),
                                      from_child=1)
        except OSError:
            return False
        (self._pipe,) = self._child.from_child
        return True

    def split(self, looked: int, wait: float = 0.0) -> int | None:
        """The split, once the child has told it and if this process has looked at no line
        past it (``looked``); else None, and a child that can no longer help is stopped.
        Asked between blocks: it waits ``wait`` seconds at most (the tests' ``halves`` fixture
        waits, so that the split is certain there)."""
        if not self.running or not select.select([self._pipe], [], [], wait)[0]:
            return None
        message = os.read(self._pipe, _SPLIT.size)   # one write of 8 bytes: all there or none
        if len(message) == _SPLIT.size:
            self._split = _SPLIT.unpack(message)[0]
            if self._split >= looked:
                return self._split
        self._stop()   # passed (this process scans on alone), or the child found no split
        return None

    def finish(self, head: Callable[[], HeadScan | None]) -> HeadScan | None:
        """Run ``head()`` here (the first half); the child is killed if it fails (e.g. our
        output went away: the child's work is moot) or if it scanned everything itself."""
        try:
            reached = head()
        except BaseException:
            self._stop()
            raise
        if reached is None:
            self._stop()
        return reached

    def merge(self, scanner: LogScanner, head: HeadScan) -> None:
        """Wait for the child's end and merge its half into ``scanner``; then raise the error
        that ended its input (a damaged archive), after every event before it, as one scan does."""
        payload = b"".join(iter(functools.partial(os.read, self._pipe, 1 << 16), b""))
        assert self._child is not None and self._spool is not None
        self._child.wait()
        if not payload:
            raise OSError("the second scanning process failed")
        tail: TailScan = pickle.loads(payload)   # our own child's
        self._spool.seek(0)
        scanner.merge_tail(head, tail, _spooled(self._spool))
        if tail.error is not None:
            raise tail.error

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
        if self._spool is not None:
            self._spool.close()

    def _stop(self) -> None:
        if self._child is not None:
            self._child.stop()


def _child(work: Callable[[Callable[[TailEvent], None], Callable[[int], None]], TailScan | None],
           writer: int, spool: BinaryIO) -> None:
    """In the forked child: run ``work``, each event to ``spool`` as it is found, the split and
    the rest through ``writer``."""
    def spill(event: TailEvent) -> None:
        pickle.dump(event, spool, pickle.HIGHEST_PROTOCOL)

    def tell_split(split: int) -> None:
        os.write(writer, _SPLIT.pack(split))

    found = work(spill, tell_split)
    if found is not None:
        payload = memoryview(_pickled(found))
        spool.flush()
        while payload:
            payload = payload[os.write(writer, payload):]


def _pickled(found: TailScan) -> bytes:
    try:
        return pickle.dumps(found)
    except Exception:
        if found.error is None:
            raise
        found.error = pickle.loads(pickled_error(found.error))   # one that does not pickle: its message does
        return pickle.dumps(found)


def _spooled(spool: BinaryIO) -> Iterator[TailEvent]:
    """The events the child wrote to ``spool``, one at a time."""
    while True:
        try:
            yield pickle.load(spool)   # our own file, written by our own child
        except EOFError:
            return


def _split_point(data: mmap.mmap) -> int | None:
    """Where a second process takes over: the first line start after the middle of a large file
    whose line does not start with a blank (a wrapped piece of the line before it, which the
    joiner would join: the second process could not), within :data:`_FOLIO` of the first."""
    if len(data) < PARALLEL_MIN_BYTES or (os.cpu_count() or 1) < 2:
        return None
    first = data.find(b"\n", len(data) // 2)
    newline = unwrapped_newline(data, first, first + _FOLIO)
    if newline == -1 or newline + 1 >= len(data) or newline >= first + _FOLIO:
        newline = first   # nothing but wrapped pieces after the middle
    return None if first == -1 or first + 1 >= len(data) else newline + 1


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


def _page_dropper(mapped: mmap.mmap) -> Release:
    """The :data:`~minfree.logs.prefilter.Release` of a mapped file: scanned windows leave our
    resident set (where ``MADV_DONTNEED`` exists), a 2 MiB chunk at a time.

    A page fault maps the pages around it too (fault-around, mm/memory.c): a release of the
    bytes just read would be undone by the next read beside them, so whole chunks are given
    back once the scan has passed them. The scan goes forward; a range before the last one
    given back (a new pass, a look back a few lines) starts again from its chunk."""
    if not hasattr(mmap, "MADV_DONTNEED"):
        return keep_pages
    low = 0   # chunks before this are given back

    def release(start: int, length: int) -> None:
        nonlocal low
        if start < low:
            low = start - start % _FOLIO
        end = start + length
        done = len(mapped) if end >= len(mapped) else end - end % _FOLIO
        if done > low:
            mapped.madvise(mmap.MADV_DONTNEED, low, done - low)
            low = done

    return release
