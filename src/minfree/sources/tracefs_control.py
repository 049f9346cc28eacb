"""tracefs control files, standard library only: written without following links, and an
instance's lost events. Shared by :mod:`minfree.sources.tracefs` (``minfree trace``) and the
remote tracer of ``fleet trace`` (:mod:`minfree.sources.ssh_tracer`, sent to the hosts with
this module), so it imports nothing of minfree.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as instance:
...     os.makedirs(os.path.join(instance, "per_cpu", "cpu0"))
...     with open(os.path.join(instance, "per_cpu", "cpu0", "stats"), "w") as f:
...         _ = f.write("entries: 0\\noverrun: 3\\ncommit overrun: 0\\ndropped events: 2\\n")
...     instance_lost(instance)
5
"""
from __future__ import annotations

import os

#: Per-CPU counters of events the ring buffer lost (kernel/trace/trace.c tracing_stats_read).
LOST_COUNTERS = ("overrun", "dropped events")


def write_control(path: str, text: str, *, append: bool = False) -> None:
    """Write ``text`` to the control file ``path`` (truncating, or appending: a ``trigger``
    file opened with O_TRUNC drops every trigger of the event first; a link there is refused)."""
    mode = os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, os.O_WRONLY | mode | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def instance_lost(instance: str) -> int:
    """Events the instance's ring buffer lost, every CPU (``per_cpu/cpuN/stats``)."""
    total = 0
    per_cpu = os.path.join(instance, "per_cpu")
    for cpu in os.listdir(per_cpu):
        try:
            with open(os.path.join(per_cpu, cpu, "stats"), encoding="ascii", errors="replace") as handle:
                for line in handle:
                    key, _, value = line.partition(":")
                    if key.strip() in LOST_COUNTERS and value.strip().isdecimal():
                        total += int(value)
        except OSError:
            continue
    return total
