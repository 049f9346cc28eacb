"""In-kernel counting of one tracepoint with a filter: ``perf_event_open(2)`` through ctypes.

A counting perf event (no sampling, no ring buffer) on a tracepoint id, one per online CPU
(``pid = -1``: every task on that CPU; or one task on every CPU), with ``PERF_EVENT_IOC_SET_FILTER`` holding a tracefs
filter expression. The kernel evaluates the filter and increments the count; nothing is
copied to user space, and the event is this process's own: other tracers are not disturbed.
Needs CONFIG_PERF_EVENTS, tracepoints, and root (or ``perf_event_paranoid`` <= -1).

The ABI used (include/uapi/linux/perf_event.h, unchanged since 2.6.32): ``struct
perf_event_attr`` of ``PERF_ATTR_SIZE_VER0`` = 64 bytes (``type``, ``size``, ``config``,
``sample_period``, ``sample_type``, ``read_format``, the flag bits, ``wakeup_events``,
``bp_type``, ``config1``); ``PERF_TYPE_TRACEPOINT`` = 2; the flag bit 0 is ``disabled``;
ioctls ``ENABLE`` ``_IO('$', 0)``, ``DISABLE`` ``_IO('$', 1)``, ``SET_FILTER``
``_IOW('$', 6, char *)``; ``read()`` of a counting event with ``read_format`` 0 gives one
u64. Filters on perf tracepoint events came with 2.6.32 as well.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
import struct

PERF_TYPE_TRACEPOINT = 2
PERF_FLAG_FD_CLOEXEC = 1 << 3
_ATTR = struct.Struct("=IIQQQQQIIQ")  # PERF_ATTR_SIZE_VER0
_IOC_ENABLE = 0x2400
_IOC_DISABLE = 0x2401
_IOC_SET_FILTER = (1 << 30) | (ctypes.sizeof(ctypes.c_void_p) << 16) | (0x24 << 8) | 6
#: __NR_perf_event_open per architecture (arch/*/syscall tables).
_SYSCALL = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "i686": 336, "i386": 336,
            "armv7l": 364, "ppc64le": 319, "ppc64": 319, "s390x": 331}


class PerfUnavailable(OSError):
    """Why an in-kernel counter could not be set up, in one line."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _open_one(tracepoint_id: int, cpu: int, pid: int = -1) -> int:
    number = _SYSCALL.get(platform.machine())
    if number is None:
        raise PerfUnavailable(errno.ENOSYS, f"perf_event_open: unknown syscall number on {platform.machine()}")
    attr = _ATTR.pack(PERF_TYPE_TRACEPOINT, _ATTR.size, tracepoint_id, 0, 0, 0, 1, 0, 0, 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(ctypes.c_long(number), buf, ctypes.c_int(pid), ctypes.c_int(cpu),
                      ctypes.c_int(-1), ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC))
    if fd < 0:
        code = ctypes.get_errno()
        raise PerfUnavailable(code, f"perf_event_open(tracepoint {tracepoint_id}, cpu {cpu}): {os.strerror(code)}")
    return int(fd)


class FilteredCounter:
    """One tracepoint counted in the kernel on every given CPU where ``filter`` holds (with
    ``pid``: only that task's events, on any CPU: ``cpus=(-1,)``).

    Opened disabled; :meth:`enable` starts every CPU's count, :meth:`read` sums them,
    :meth:`close` releases the events. Raises :class:`PerfUnavailable` with the reason.
    """

    def __init__(self, tracepoint_id: int, filter_expr: str, cpus: tuple[int, ...], pid: int = -1) -> None:
        self.filter = filter_expr
        self.fds: list[int] = []
        try:
            for cpu in cpus:
                fd = _open_one(tracepoint_id, cpu, pid)
                self.fds.append(fd)
                try:
                    fcntl.ioctl(fd, _IOC_SET_FILTER, filter_expr.encode() + b"\0")
                except OSError as exc:
                    raise PerfUnavailable(exc.errno, f"perf filter {filter_expr!r} rejected: {exc.strerror}") from exc
        except BaseException:
            self.close()
            raise

    def enable(self) -> None:
        for fd in self.fds:
            fcntl.ioctl(fd, _IOC_ENABLE, 0)

    def disable(self) -> None:
        for fd in self.fds:
            fcntl.ioctl(fd, _IOC_DISABLE, 0)

    def read(self) -> tuple[int, None]:
        """The count summed over CPUs since :meth:`enable` (and no demand: see sources.bpf)."""
        return sum(struct.unpack("=Q", os.read(fd, 8))[0] for fd in self.fds), None

    def close(self) -> None:
        fds, self.fds = self.fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
