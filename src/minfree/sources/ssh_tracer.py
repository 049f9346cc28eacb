"""The remote end of ``minfree fleet trace``: a bounded tracer the fleet runs on each target.

Nothing is installed on the target: ``minfree.sources.ssh_trace`` sends this module's source
(with :mod:`minfree.sources.tracefs_control`, which it uses) through the session's stdin to the
same constant bootstrap as the collector (``python3 -I -S``, standard library only), then one
line, the window in seconds. The tracer then:

1. finds tracefs (``/sys/kernel/tracing``, else ``/sys/kernel/debug/tracing``; nothing is
   mounted) and sends the kernel's ``mm_page_alloc`` format (its GFP flag table) and release;
2. makes a tracefs instance of its own, ``instances/minfree-fleet-<random>`` (its own ring
   buffer: other tracers are not disturbed), on ``trace_clock`` ``mono``, with the event
   ``kmem/mm_page_alloc``, the filter ``pfn == 0xffffffffffffffff`` (only failed allocations:
   the raw pfn is -1) and, when the kernel takes it, a ``stacktrace`` trigger with the same
   condition; ``trace_pipe`` is opened before the event is enabled (opening it needs a small
   kmalloc, which may fail on the very host being diagnosed);
3. reads ``trace_pipe`` for the window and sends what it reads, at most ``MAX_BYTES`` (beyond,
   the records read are counted and dropped), then the instance's lost events;
4. disables the event and removes the instance on every exit: the window's end, the client
   gone (end of stdin), SIGTERM, SIGHUP, SIGINT, a write to a closed session, an error.

Frames, as the collector's (``STATUS N``, a newline, N bytes): ``format`` (the format file, or
empty), ``release``, ``start`` (``MONOTONIC WALL STACKS``: the window's start on both clocks,
``1`` when stacks are recorded), ``data`` (trace text, as many as needed), ``lost`` (overrun
and dropped events of every CPU, plus records dropped beyond ``MAX_BYTES``), ``end``; or
``err`` (``ERRNO MESSAGE``) when tracing cannot run, e.g. without root.

>>> parse_window(b"2.5\\n"), parse_window(b"1e9\\n"), parse_window(b"nan\\n")
(2.5, None, None)
"""
from __future__ import annotations

import errno
import os
import select
import signal
import sys
import time

from minfree.sources.tracefs_control import instance_lost, write_control

TRACEFS_DIRS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
EVENT = "kmem/mm_page_alloc"
FILTER = "pfn == 0xffffffffffffffff"
INSTANCE_PREFIX = "minfree-fleet-"
#: The most trace text brought back per host (~250 000 failures with their stacks).
MAX_BYTES = 64 << 20
MAX_WINDOW = 86400.0
_FORMAT_BYTES = 1 << 20
_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Stop(Exception):
    """A signal or the client's end of stdin: end the window now."""


def parse_window(line: bytes) -> float | None:
    """The window in seconds the client asked for; None when it is not one."""
    try:
        value = float(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if 0 < value <= MAX_WINDOW else None


def _send(out, status: bytes, body: bytes = b"") -> None:
    out.write(status + b" %d\n" % len(body) + body)
    out.flush()


def _read_small(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, _FORMAT_BYTES)
    finally:
        os.close(fd)


class _Window:
    """Reads the pipe into frames, up to MAX_BYTES; counts the event lines dropped beyond."""

    def __init__(self, pipe: int, out) -> None:
        self.pipe, self.out, self.sent, self.dropped = pipe, out, 0, 0

    def drain(self) -> None:
        while True:
            try:
                data = os.read(self.pipe, 1 << 16)
            except BlockingIOError:
                return
            if not data:
                return
            if self.sent + len(data) <= MAX_BYTES:
                _send(self.out, b"data", data)
                self.sent += len(data)
            else:
                self.dropped += data.count(b": mm_page_alloc:")


def _trace(tracefs: str, window: float, out, stdin: int) -> None:
    instance = os.path.join(tracefs, "instances", INSTANCE_PREFIX + os.urandom(6).hex())
    event = os.path.join(instance, "events", EVENT)     # the instance's own: never the top level's
    pipe = None
    try:
        os.mkdir(instance)          # inside the try: a signal right after it still removes it
        write_control(os.path.join(instance, "trace_clock"), "mono")
        write_control(os.path.join(event, "filter"), FILTER)
        try:
            write_control(os.path.join(event, "trigger"), "stacktrace if " + FILTER)
            stacks = 1
        except OSError:
            stacks = 0
        pipe = os.open(os.path.join(instance, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        reader = _Window(pipe, out)
        write_control(os.path.join(event, "enable"), "1")
        start = time.monotonic()
        _send(out, b"start", f"{start:.6f} {time.time():.6f} {stacks}".encode())
        end = start + window
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            ready = select.select([pipe, stdin], [], [], min(left, 0.25))[0]
            if stdin in ready and not os.read(stdin, 4096):
                raise _Stop()
            reader.drain()
        write_control(os.path.join(event, "enable"), "0")
        reader.drain()
        _send(out, b"lost", str(instance_lost(instance) + reader.dropped).encode())
    finally:
        try:
            write_control(os.path.join(event, "enable"), "0")
        except OSError:
            pass
        if pipe is not None:
            os.close(pipe)
        try:
            os.rmdir(instance)
        except FileNotFoundError:
            pass


def _stop(signum, frame) -> None:  # noqa: ARG001
    for sig in _SIGNALS:            # one stop: the clean-up is not interrupted again
        signal.signal(sig, signal.SIG_IGN)
    raise _Stop()


def main() -> None:
    out = sys.stdout.buffer
    for sig in _SIGNALS:
        signal.signal(sig, _stop)
    try:
        window = parse_window(sys.stdin.buffer.readline())
        if window is None:
            raise OSError(errno.EINVAL, "the window is not a number of seconds")
        tracefs = next((d for d in TRACEFS_DIRS if os.path.isdir(os.path.join(d, "instances"))), None)
        if tracefs is None:
            raise OSError(errno.ENOENT, "tracefs is not mounted (or not readable: tracing needs root)")
        try:
            fmt = _read_small(os.path.join(tracefs, "events", EVENT, "format"))
        except FileNotFoundError:
            raise OSError(errno.ENOENT, f"no {EVENT} tracepoint on this kernel") from None
        _send(out, b"format", fmt)
        _send(out, b"release", os.uname().release.encode())
        _trace(tracefs, window, out, sys.stdin.fileno())
        _send(out, b"end")
    except _Stop:
        pass
    except OSError as error:
        try:
            _send(out, b"err", f"{error.errno or errno.EIO} {error.strerror or error}".encode())
        except OSError:
            pass
