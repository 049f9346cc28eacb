"""Feed one opened log to a :class:`~minfree.logs.scanner.LogScanner` the fastest way it allows.

A regular file is mapped read-only and scanned in place; every window, once scanned, is dropped
from this process's resident set (``madvise(MADV_DONTNEED)``: the pages stay in the page cache),
so a gigabyte scanned leaves the process as small as it started. From
:data:`PARALLEL_MIN_BYTES` on, and with two CPUs, the file is cut at the line start nearest its
middle: a forked child scans the second half (its events prepared, e.g. explained and
rendered, by the scanner's own ``prepare``) while this process scans the first half. The child
writes each event, pickled, to an unnamed temporary file as it finds it (so neither process
holds the events of a half in memory) and sends the rest of what it found through a pipe; this
process then reads the events back one at a time. Anything else (pipes, stdin, decompressors,
tar members) is streamed.

>>> import io
>>> from minfree.logs.scanner import LogScanner, TailEvent
>>> found = []
>>> scan_stream(LogScanner("demo", found.append),
...             io.BytesIO(b"[2.000000] asd: page allocation failure. order:1, mode:0x20\\n"))
>>> [(e.process, e.order) for e in found]
[('asd', 1)]
"""
from __future__ import annotations

import mmap
import os
import pickle
import signal
import stat
from collections.abc import Iterator
from typing import BinaryIO

from minfree.logs.prefilter import Release, keep_pages
from minfree.logs.scanner import LogScanner, TailEvent

PARALLEL_MIN_BYTES = 256 << 20   # below this a second process costs more than it saves
_FOLIO = 2 << 20                 # the largest unit a file page fault maps (PMD size, x86-64)


def scan_stream(scanner: LogScanner, stream: BinaryIO) -> None:
    """Scan everything ``stream`` holds: mapped when it is a regular file read from its start
    (on two processes when large), else read block by block."""
    mapped = _map(stream)
    if mapped is None:
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
    try:
        spool = _unnamed_file()
    except OSError:
        return False
    with spool:
        try:
            reader, writer = os.pipe()
        except OSError:
            return False
        try:
            pid = os.fork()
        except OSError:
            os.close(reader)
            os.close(writer)
            return False
        if pid == 0:
            os.close(reader)
            _child_scan(scanner, data, split, release, writer, spool)
        os.close(writer)
        with os.fdopen(reader, "rb") as pipe:
            try:
                reached = scanner.scan_head(data, split, release)
                payload = pipe.read()
            except BaseException:
                os.kill(pid, signal.SIGKILL)   # e.g. our output went away: the child's work is moot
                raise
            finally:
                os.waitpid(pid, 0)
        if not payload:
            raise OSError("the second scanning process failed")
        spool.seek(0)
        scanner.merge_tail(data, split, reached, pickle.loads(payload), _spooled(spool), release)
    return True


def _child_scan(scanner: LogScanner, data: mmap.mmap, split: int, release: Release, writer: int,
                spool: BinaryIO) -> None:
    """In the forked child: scan ``data[split:]``, each event to ``spool`` as it is found, the
    rest through ``writer``; exit without returning."""
    status = 1
    try:
        def spill(event: TailEvent) -> None:
            pickle.dump(event, spool, pickle.HIGHEST_PROTOCOL)

        payload = pickle.dumps(scanner.scan_tail(data, split, spill, release))
        spool.flush()
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _spooled(spool: BinaryIO) -> Iterator[TailEvent]:
    """The events the child wrote to ``spool``, one at a time."""
    while True:
        try:
            yield pickle.load(spool)   # our own file, written by our own child
        except EOFError:
            return


def _unnamed_file() -> BinaryIO:
    """A read-write file with no name (``O_TMPFILE``): nothing to clean up, nothing to follow.
    What ``tempfile.TemporaryFile`` makes on Linux, without importing ``tempfile`` (~7 ms with
    ``shutil`` and ``random``, before the scan can start); ``tempfile`` where it is refused."""
    for directory in (os.environ.get("TMPDIR"), "/tmp", "/var/tmp"):
        if directory:
            try:
                return os.fdopen(os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600), "w+b")
            except (OSError, AttributeError):   # no such directory, a filesystem without O_TMPFILE
                continue
    import tempfile

    return tempfile.TemporaryFile()


def _split_point(data: mmap.mmap) -> int | None:
    """Where a second process takes over: the line start nearest the middle of a large file."""
    if len(data) < PARALLEL_MIN_BYTES or (os.cpu_count() or 1) < 2:
        return None
    newline = data.find(b"\n", len(data) // 2)
    return None if newline == -1 or newline + 1 >= len(data) else newline + 1


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
