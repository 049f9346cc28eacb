"""Failed page allocations counted by order in the kernel with a hist trigger
(``CONFIG_HIST_TRIGGERS``): the rung of :mod:`minfree.sources.failcount` between the eBPF
counter and the perf counting event (which counts the total only).

The trigger lives in a tracefs instance of this process (``minfree-count-<pid>``), so other
tracers are not disturbed: the instance has its own event files, and a hist trigger there is
soft-enabled (its events reach the table, never a ring buffer: trace_events_trigger.c
``trace_event_trigger_enable_disable`` enables the event in soft mode). The grammar is that of
Documentation/trace/histogram.rst (section 2): ``hist:keys=...:vals=...:sort=... [if
<filter>]``; a trigger is removed by writing it again with ``!`` in front, the same filter
included. Both are appended (O_APPEND): a trigger file opened with O_TRUNC drops every trigger
of the event first (kernel/trace/trace_events_trigger.c ``event_trigger_regex_open``).

On a kernel without hist triggers the event has no ``hist`` file: :class:`HistCounter` then
raises ``TracefsUnavailable`` saying so, and removes the instance it made. This VM's kernel
(6.18, no hist triggers) never runs the live path: it is tested on a directory laid out like
an instance through the same code (``mkdir``/``rmdir`` injectable: tracefs makes the event
files on mkdir and removes them, and the triggers, on rmdir -- kernel/trace/trace_events.c
``event_trace_del_tracer`` calls ``clear_event_triggers``).
"""
from __future__ import annotations

import errno
import os
from typing import Callable

from minfree.sources.failure_count import FailureCount
from minfree.sources.tracefs import TracefsUnavailable, remove_stale_instances
from minfree.sources.tracefs_control import write_control
from minfree.tracing.hist import failures_by_order, parse_hist

INSTANCE_PREFIX = "minfree-count-"
#: Every event that passes the filter, counted by its order.
TRIGGER_KEYS = "hist:keys=order:vals=hitcount:sort=order"


class HistCounter:
    """The hist trigger ``hist:keys=order:vals=hitcount:sort=order if <filter>`` on ``event``
    (``kmem/mm_page_alloc``; the filter selects the failures) in an instance of our own,
    opened and its ``hist`` file open before counting starts (opening a trace file allocates: on a host short
    of memory, do it first). The trigger counts from the moment it is written: :meth:`enable`
    takes the reading then as the baseline, :meth:`disable` freezes the count, :meth:`close`
    removes the trigger and the instance (idempotent)."""

    def __init__(self, tracefs: str, event: str, filter_expr: str, *, mkdir: Callable[[str], None] = os.mkdir,
                 rmdir: Callable[[str], None] = os.rmdir) -> None:
        self.cleaned = remove_stale_instances(tracefs, INSTANCE_PREFIX)
        self.path = os.path.join(tracefs, "instances", f"{INSTANCE_PREFIX}{os.getpid()}")
        self.trigger = f"{TRIGGER_KEYS} if {filter_expr}"
        self._name = event
        self._event = os.path.join(self.path, "events", event)
        self._rmdir = rmdir
        self._fd: int | None = None
        self._installed = False
        self._baseline: FailureCount | None = None
        self._frozen: FailureCount | None = None
        self.skipped = 0  # malformed lines of the last reading
        try:
            mkdir(self.path)
        except OSError as exc:
            raise TracefsUnavailable(exc.errno, f"cannot create tracefs instance {self.path}: {exc.strerror}") from exc
        try:
            self._install()
        except BaseException:
            self.close()
            raise

    def _install(self) -> None:
        if not os.path.isdir(self._event):
            raise TracefsUnavailable(errno.ENOENT, f"no {self._name} tracepoint on this kernel")
        hist = os.path.join(self._event, "hist")
        if not os.path.exists(hist):
            raise TracefsUnavailable(errno.ENOENT, f"no hist triggers on this kernel (no events/{self._name}/hist: "
                                                   "CONFIG_HIST_TRIGGERS is off)")
        try:
            self._fd = os.open(hist, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            write_control(os.path.join(self._event, "trigger"), self.trigger, append=True)
        except OSError as exc:
            raise TracefsUnavailable(exc.errno, f"hist trigger refused: {exc.strerror}") from exc
        self._installed = True

    def _now(self) -> FailureCount:
        """The table as the kernel prints it now (the file rewound and read whole)."""
        os.lseek(self._fd, 0, os.SEEK_SET)
        chunks = []
        while data := os.read(self._fd, 1 << 16):
            chunks.append(data)
        tables = [t for t in parse_hist(b"".join(chunks).decode("ascii", errors="replace"))
                  if t.trigger is not None and t.trigger.startswith(TRIGGER_KEYS)]
        if not tables:
            raise TracefsUnavailable(errno.ENOENT, f"the hist trigger of {self.path} is gone")
        self.skipped = tables[0].skipped
        return FailureCount(tables[0].failed_total(), failures_by_order(tables[0]))

    def enable(self) -> None:
        self._baseline, self._frozen = self._now(), None

    def count(self) -> FailureCount:
        """Failures since :meth:`enable` (until :meth:`disable`): the total and by order."""
        if self._frozen is not None:
            return self._frozen
        return self._now().since(self._baseline)

    def read(self) -> tuple[int, None]:
        """As the other counters read for ``minfree trace``: the total, and no demand."""
        return self.count().total, None

    def disable(self) -> None:
        """Stop counting: later reads give the count now (the trigger stays until close)."""
        try:
            self._frozen = self.count()
        except OSError:
            self._frozen = None

    def close(self) -> None:
        """Close the ``hist`` file, remove the trigger (``!`` + the same trigger) and the
        instance. A failure here is left to the next run's stale-instance removal (and the
        instance's rmdir removes its triggers anyway)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._installed:
            self._installed = False
            try:
                write_control(os.path.join(self._event, "trigger"), "!" + self.trigger, append=True)
            except OSError:
                pass
        try:
            self._rmdir(self.path)
        except OSError:
            pass
