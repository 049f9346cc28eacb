"""Samples of the fast-moving counters (/proc/vmstat, PSI memory), taken over a window, and
the memory reading ``minfree watch`` takes every interval (zones, free blocks, counters, PSI).

Counters since boot say little; rates need two samples and the time between them. The
sampler is the one place that waits: ``doctor --window``, watch, exporter and trace. What the
rates mean is ``minfree.analysis.rates``.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from minfree.model.record import record
from minfree.proc.buddyinfo import parse_buddyinfo
from minfree.proc.psi import MemoryPressure
from minfree.proc.system import MemoryReading
from minfree.proc.vmstat import VmstatSample
from minfree.proc.zoneinfo import parse_zoneinfo
from minfree.sources import specs
from minfree.sources.readers import read_psi, read_text, read_vmstat
from minfree.sources.root import SystemRoot


@record
class Sample:
    """One reading of /proc/vmstat (with its monotonic time) and of /proc/pressure/memory (None
    without PSI)."""

    vmstat: VmstatSample
    psi: MemoryPressure | None


def sample(root: SystemRoot, clock: Callable[[], float] = time.monotonic) -> Sample | None:
    """One reading of vmstat (with its monotonic time) and PSI; None without vmstat."""
    counters = read_vmstat(root)
    if counters is None:
        return None
    return Sample(VmstatSample(counters, clock()), read_psi(root))


def sample_window(root: SystemRoot, window: float,
                  sleep: Callable[[float], None] = time.sleep) -> tuple[Sample, Sample] | None:
    """Samples ``window`` seconds apart; None when the window is 0 or the root is not live (a
    snapshot holds one instant: no rate can be known) or vmstat is unreadable."""
    if window <= 0 or not root.is_live:
        return None
    before = sample(root)
    sleep(window)
    after = sample(root)
    if before is None or after is None:
        return None
    return before, after


def read_memory(root: SystemRoot, clock: Callable[[], float] = time.monotonic,
                wall: Callable[[], float] = time.time) -> MemoryReading | None:
    """zoneinfo and buddyinfo back to back (one instant, as ``load_system`` reads them), then
    vmstat and PSI; None when zoneinfo gave no zone. Small files only: nothing in it grows
    with the history or the uptime, so a loop of it stays flat under memory pressure.

    >>> r = read_memory(SystemRoot("/"))
    >>> bool(r.zones) and {z.zone for z in r.zones} >= {row.zone for row in r.buddy}
    True
    """
    zoneinfo = read_text(root, specs.ZONEINFO)
    buddyinfo = read_text(root, specs.BUDDYINFO)
    zones = parse_zoneinfo(zoneinfo) if zoneinfo else []
    if not zones:
        return None
    counters = read_vmstat(root)
    return MemoryReading(
        wall=wall(), vmstat=VmstatSample(counters or {}, clock()), psi=read_psi(root), zones=zones,
        buddy=parse_buddyinfo(buddyinfo) if buddyinfo else [])
