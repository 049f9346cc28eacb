"""Samples of the fast-moving counters (/proc/vmstat, PSI memory), taken over a window.

Counters since boot say little; rates need two samples and the time between them. The
sampler is the one place that waits: ``doctor --window`` today, watch, exporter and trace
later. What the rates mean is ``minfree.analysis.rates``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from minfree.proc.psi import MemoryPressure
from minfree.proc.vmstat import VmstatSample
from minfree.sources.readers import read_psi, read_vmstat
from minfree.sources.root import SystemRoot


@dataclass(frozen=True, slots=True)
class Sample:
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
