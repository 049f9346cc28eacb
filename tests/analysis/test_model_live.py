"""The model against the running kernel (bars 1-3): exact, or stale and said so.

Read order matters: reading /proc/sys/vm/lowmem_reserve_ratio recomputes ``protection:``
(reference §10), so zoneinfo is read first. On this VM the Normal zone grows lazily
(deferred_init=lazy, §8): every comparison retries on a fresh, self-consistent snapshot.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import pytest

from minfree.model.record import replace
from minfree.analysis.prediction import default_min_free, differences, predict_zones
from minfree.model.fragmentation import indices_by_order
from minfree.proc.system import SystemState
from minfree.sources.readers import read_kernel_indices
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system

pytestmark = pytest.mark.live

VM = Path("/proc/sys/vm")
RETRIES = 8


def read_state(*, ratios_too: bool = True) -> SystemState:
    """The product's own reading of the live machine (zoneinfo first, lowmem_reserve_ratio last)."""
    state = load_system(SystemRoot("/"))
    assert state.zones, "no zone parsed from /proc/zoneinfo"
    if not ratios_too:
        state.lowmem_reserve_ratio = None   # compare the watermarks only
    return state


def reserve_fields(state: SystemState) -> list[tuple]:
    """The fields the model predicts or uses (free counts and stats move all the time)."""
    return [(z.node, z.zone, z.managed, z.present, z.boost, z.min, z.low, z.high, z.promo, z.protection)
            for z in state.zones]


def mismatches(state: SystemState, ratios_too: bool) -> list[str]:
    """What doctor would call stale: the product's prediction against zoneinfo."""
    shown = {(z.node, z.zone): z for z in state.zones}
    problems = []
    for predicted in predict_zones(state):
        zone = shown[(predicted.node, predicted.zone)]
        if not ratios_too:
            zone = replace(zone, protection=None)
        problems += [f"node {zone.node} {zone.zone} (managed {zone.managed}): {d}"
                     for d in differences(predicted, zone)]
    return problems


def compare_live(ratios_too: bool = True) -> list[str]:
    """Retry until one snapshot matches; return the last mismatch list (empty = exact)."""
    problems: list[str] = ["not compared"]
    for attempt in range(RETRIES):
        state = read_state(ratios_too=ratios_too)
        if reserve_fields(state) != reserve_fields(read_state(ratios_too=False)):
            continue  # the zone grew while reading
        if problems != ["not compared"] and problems:
            warnings.warn(f"stale zoneinfo before attempt {attempt + 1}: " + "; ".join(problems))
        problems = mismatches(state, ratios_too)
        if not problems:
            return []
        time.sleep(0.2)
    return problems


def vm_int(name: str) -> int:
    return int((VM / name).read_text())


def write_sysctl(name: str, value: int) -> None:
    (VM / name).write_text(f"{value}\n")


def test_default_min_free_kbytes_matches():
    result = shown = None
    for _ in range(RETRIES):
        state = read_state()
        result, shown = default_min_free(state), state.sysctls.min_free_kbytes
        if result.kbytes == shown:
            return
    pytest.fail(f"predicted {result.kbytes} kB ({result.explanation}), shown {shown} kB; "
                "a different value means it was user-set or THP settings changed since boot")


def test_watermarks_and_protection_as_found():
    problems = compare_live()
    assert not problems, "live zoneinfo is stale or the model is wrong: " + "; ".join(problems)


@pytest.mark.root
def test_exact_after_forced_recompute():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    original = vm_int("watermark_scale_factor")
    try:
        write_sysctl("watermark_scale_factor", original)  # same value: forces setup_per_zone_wmarks()
        problems = compare_live()
        assert not problems, "after a forced recompute: " + "; ".join(problems)
    finally:
        write_sysctl("watermark_scale_factor", original)
    assert vm_int("watermark_scale_factor") == original


@pytest.mark.root
def test_other_sysctl_values_then_restore():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    min_free = vm_int("min_free_kbytes")
    wsf = vm_int("watermark_scale_factor")
    failures: list[str] = []
    try:
        for value in (min_free // 2, min_free * 2):
            write_sysctl("min_free_kbytes", value)
            problems = compare_live(ratios_too=False)
            if problems:
                failures.append(f"min_free_kbytes={value}: " + "; ".join(problems))
        write_sysctl("min_free_kbytes", min_free)
        other_wsf = 50 if wsf != 50 else 30
        write_sysctl("watermark_scale_factor", other_wsf)
        problems = compare_live(ratios_too=False)
        if problems:
            failures.append(f"watermark_scale_factor={other_wsf}: " + "; ".join(problems))
    finally:
        write_sysctl("min_free_kbytes", min_free)
        write_sysctl("watermark_scale_factor", wsf)
    assert (vm_int("min_free_kbytes"), vm_int("watermark_scale_factor")) == (min_free, wsf)
    assert not compare_live(ratios_too=False), "restored values do not reproduce zoneinfo"
    assert not failures, " | ".join(failures)


def test_fragmentation_indices_match_debugfs():
    """The model's indices from buddyinfo equal the kernel's debugfs files (read as doctor reads them)."""
    root = SystemRoot("/")
    if read_kernel_indices(root) is None:
        pytest.skip("debugfs extfrag files unreadable (debugfs not mounted?)")
    matched = 0
    for _ in range(40):
        first, state, second = read_kernel_indices(root), load_system(root), read_kernel_indices(root)
        if first != second or first != state.kernel_indices:
            continue  # free lists changed between reads: not a consistent snapshot
        buddy = {(r.node, r.zone): r.counts for r in state.buddy}
        assert first
        for key, kernel in first.items():
            assert indices_by_order(buddy[key]) == kernel, key
        matched += 1
        if matched >= 5:
            return
    assert matched, "no consistent debugfs/buddyinfo snapshot in 40 tries"
