"""Reclaim and compaction activity over a short window: rates, never counters since boot."""
from __future__ import annotations

import time
from dataclasses import dataclass

from minfree.proc.psi import MemoryPressure, read_psi
from minfree.sources.root import SystemRoot
from minfree.proc.vmstat import VmstatRates, sample_vmstat, vmstat_rates, vmstat_total

# Counters doctor reports (mm/vmstat.c vmstat_text); the per-zone allocstall_* are summed.
WATCHED = (
    "allocstall", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
    "kswapd_low_wmark_hit_quickly", "kswapd_high_wmark_hit_quickly", "pageoutrun",
    "compact_stall", "compact_fail", "compact_success", "compact_daemon_wake",
    "drop_pagecache", "oom_kill",
)


@dataclass(slots=True)
class Activity:
    seconds: float
    per_second: dict[str, float]
    psi_some_avg10: float | None
    psi_full_avg10: float | None
    psi_some_stall_ms: float | None   # memory stall time accrued during the window


def measure(root: SystemRoot, window: float, sleep=time.sleep) -> Activity | None:
    """Sample vmstat and PSI, wait ``window`` seconds, sample again. None when window is 0
    or the root is not live (a snapshot has one instant: no rate can be known)."""
    if window <= 0 or not root.is_live:
        return None
    before, psi_before = sample_vmstat(root), read_psi(root)
    sleep(window)
    after, psi_after = sample_vmstat(root), read_psi(root)
    if before is None or after is None:
        return None
    rates = vmstat_rates(before, after)
    if rates is None:
        return None
    return Activity(rates.seconds, _watched(rates), *_psi(psi_before, psi_after, rates.seconds))


def _watched(rates: VmstatRates) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in WATCHED:
        total = vmstat_total(rates.deltas, name)
        if total is not None:
            out[name] = total / rates.seconds
    return out


def _psi(before: MemoryPressure | None, after: MemoryPressure | None, seconds: float):
    if after is None:
        return None, None, None
    some = after.some.avg10 if after.some else None
    full = after.full.avg10 if after.full else None
    stall = None
    if before is not None and before.some and after.some:
        stall = (after.some.total_us - before.some.total_us) / 1000.0
    return some, full, stall
