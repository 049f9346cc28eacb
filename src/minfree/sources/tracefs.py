"""Files of tracefs, the kernel's tracing file system, as text.

tracefs is mounted at ``/sys/kernel/tracing`` (4.1+); older systems, and those that mount only
debugfs, reach it as ``/sys/kernel/debug/tracing`` (``specs.TRACEFS_DIRS``; the first that has
the file wins). Nothing is mounted here: a missing or unreadable tracefs (it is root-only) is an
answer, None, and no gap (most hosts run without it).

``minfree trace`` also makes a live instance of its own (:class:`TraceInstance`).
"""
from __future__ import annotations

import os

from minfree.sources import specs
from minfree.sources.readers import read_text
from minfree.sources.root import SystemRoot
from minfree.sources.tracefs_control import instance_lost, write_control as _write


def read_event_format(root: SystemRoot, event: str = specs.PAGE_ALLOC_EVENT) -> str | None:
    """The ``events/<event>/format`` file of the first tracefs mount that has it, or None."""
    return read_text(root, specs.tracefs_event_format(event))


# --- a tracing instance of our own (live only) -------------------------------------------------
INSTANCE_PREFIX = "minfree-trace-"


class TracefsUnavailable(OSError):
    """Why no tracefs instance could be made, in one line."""


def live_tracefs(base: str = "/") -> str | None:
    """The first mounted tracefs directory (one that has ``instances``), or None."""
    for rel in specs.TRACEFS_DIRS:
        path = os.path.join(base, rel)
        if os.path.isdir(os.path.join(path, "instances")):
            return path
    return None


def event_id(tracefs: str, event: str) -> int:
    """The tracepoint id of ``event`` (``events/<event>/id``), for perf."""
    with open(os.path.join(tracefs, "events", event, "id"), encoding="ascii") as handle:
        return int(handle.read().strip())


def remove_stale_instances(tracefs: str, prefix: str = INSTANCE_PREFIX) -> list[str]:
    """Remove instances a killed minfree left behind (``<prefix><pid>`` of a dead pid, by
    default ``minfree-trace-<pid>``); nothing else is touched. Returns their names."""
    removed = []
    instances = os.path.join(tracefs, "instances")
    for name in os.listdir(instances):
        pid = name[len(prefix):]
        if not name.startswith(prefix) or not pid.isdecimal():
            continue
        if os.path.exists(f"/proc/{pid}"):
            continue
        try:
            os.rmdir(os.path.join(instances, name))
            removed.append(name)
        except OSError:
            continue
    return removed


class TraceInstance:
    """A tracefs instance of this process: its own ring buffer, filters and triggers, so other
    tracers (the top-level buffer, other instances, perf) are not disturbed.

    Everything is set up and ``trace_pipe`` opened before :meth:`enable` (opening a trace file
    needs a small high-order kmalloc: on a host short of memory, do it before counting starts).
    :meth:`close` disables every event and removes the instance.
    """

    def __init__(self, tracefs: str, buffer_kb: int = 1024) -> None:
        self.path = os.path.join(tracefs, "instances", f"{INSTANCE_PREFIX}{os.getpid()}")
        self.enabled: list[str] = []
        self.pipe: int | None = None
        self._tail = b""
        try:
            os.mkdir(self.path)
        except OSError as exc:
            raise TracefsUnavailable(exc.errno, f"cannot create tracefs instance {self.path}: {exc.strerror}") from exc
        try:
            # trace_clock "mono" (4.1+): timestamps on CLOCK_MONOTONIC, as time.monotonic()
            _write(os.path.join(self.path, "trace_clock"), "mono")
            _write(os.path.join(self.path, "buffer_size_kb"), str(buffer_kb))
        except OSError as exc:
            self.close()
            raise TracefsUnavailable(exc.errno, f"cannot configure {self.path}: {exc.strerror}") from exc

    def add_event(self, event: str, filter_expr: str | None = None, *, stacktrace: bool = False) -> None:
        """Prepare ``event`` (``kmem/mm_page_alloc``) with a filter and, optionally, a stack
        trace trigger with the same condition (a trigger's condition is evaluated apart from
        the event's filter). Raises TracefsUnavailable when the kernel refuses it."""
        directory = os.path.join(self.path, "events", event)
        try:
            if filter_expr:
                _write(os.path.join(directory, "filter"), filter_expr)
            if stacktrace:
                condition = f" if {filter_expr}" if filter_expr else ""
                _write(os.path.join(directory, "trigger"), f"stacktrace{condition}")
        except OSError as exc:
            raise TracefsUnavailable(exc.errno, f"{event}: filter or trigger refused: {exc.strerror}") from exc
        self.enabled.append(event)

    def open_pipe(self) -> None:
        self.pipe = os.open(os.path.join(self.path, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)

    def enable(self) -> None:
        for event in self.enabled:
            _write(os.path.join(self.path, "events", event, "enable"), "1")

    def drain(self, limit: int = 1 << 24) -> str:
        """Every complete line waiting in ``trace_pipe`` (a partial last line is kept for the
        next call), at most about ``limit`` bytes per call."""
        if self.pipe is None:
            return ""
        chunks = [self._tail]
        size = 0
        while size < limit:
            try:
                data = os.read(self.pipe, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
            size += len(data)
        data = b"".join(chunks)
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        return data[:cut].decode("utf-8", errors="replace")

    def lost(self) -> int:
        """Records the instance's ring buffer lost (overrun + dropped events, every CPU)."""
        return instance_lost(self.path)

    def disable(self) -> None:
        """Stop recording (what is in the buffer can still be drained)."""
        for event in self.enabled:
            try:
                _write(os.path.join(self.path, "events", event, "enable"), "0")
            except OSError:
                pass

    def close(self) -> None:
        """Disable our events, close the pipe, remove the instance (idempotent)."""
        self.disable()
        self.enabled = []
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            pass
