"""Reclaim and compaction activity between two samples: rates, never counters since boot."""
from __future__ import annotations


from minfree.model.record import record
from minfree.proc.psi import MemoryPressure
from minfree.proc.vmstat import VmstatRates, VmstatSample, vmstat_rates, vmstat_total

# Counters doctor reports (mm/vmstat.c vmstat_text); the per-zone allocstall_* are summed.
WATCHED = (
    "allocstall", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
    "kswapd_low_wmark_hit_quickly", "kswapd_high_wmark_hit_quickly", "pageoutrun",
    "compact_stall", "compact_fail", "compact_success", "compact_daemon_wake",
    "drop_pagecache", "oom_kill", "pgalloc",
)


@record(frozen=False)
class Activity:
    """Reclaim and compaction over a window: the /proc/vmstat counters in ``WATCHED`` per second,
    and memory PSI (the avg10 values at its end, the stall time accrued during it)."""

    seconds: float
    per_second: dict[str, float]
    psi_some_avg10: float | None
    psi_full_avg10: float | None
    psi_some_stall_ms: float | None   # memory stall time accrued during the window


def activity(vm_before: VmstatSample, vm_after: VmstatSample, psi_before: MemoryPressure | None,
             psi_after: MemoryPressure | None) -> Activity | None:
    """Rates of the watched counters and PSI over the window; None for an empty window.

    >>> from minfree.proc.psi import PsiLine
    >>> p = lambda total: MemoryPressure(PsiLine(1.5, 0, 0, total), None)
    >>> a = activity(VmstatSample({"allocstall_normal": 2, "compact_stall": 1}, 10.0),
    ...              VmstatSample({"allocstall_normal": 8, "compact_stall": 1}, 12.0), p(1000), p(5000))
    >>> a.per_second, a.psi_some_avg10, a.psi_some_stall_ms
    ({'allocstall': 3.0, 'compact_stall': 0.0}, 1.5, 4.0)
    """
    rates = vmstat_rates(vm_before, vm_after)
    if rates is None:
        return None
    return Activity(rates.seconds, _watched(rates), *_psi(psi_before, psi_after))


def _watched(rates: VmstatRates) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in WATCHED:
        total = vmstat_total(rates.deltas, name)
        if total is not None:
            out[name] = total / rates.seconds
    return out


def _psi(before: MemoryPressure | None, after: MemoryPressure | None):
    if after is None:
        return None, None, None
    some = after.some.avg10 if after.some else None
    full = after.full.avg10 if after.full else None
    stall = None
    if before is not None and before.some and after.some:
        stall = (after.some.total_us - before.some.total_us) / 1000.0
    return some, full, stall
