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

from minfree.model.kversion import parse_release
from minfree.model import protection, watermarks
from minfree.model.fragmentation import extfrag_index, unusable_index
from minfree.model.min_free import predict_min_free_kbytes
from minfree.model.rules import KernelRules
from minfree.proc.buddyinfo import parse_buddyinfo
from minfree.proc.extfrag import parse_extfrag
from minfree.proc.pagetypeinfo import parse_pagetypeinfo
from minfree.proc.zoneinfo import ZoneInfo, model_zones, parse_zoneinfo

pytestmark = pytest.mark.live

VM = Path("/proc/sys/vm")
THP = Path("/sys/kernel/mm/transparent_hugepage")
DEBUGFS = Path("/sys/kernel/debug/extfrag")
RETRIES = 8


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        pytest.skip(f"{path} unreadable: {exc}")


def rules() -> KernelRules:
    version = parse_release(os.uname().release)
    assert version is not None
    return KernelRules.for_version(version)


def zoneinfo() -> list[ZoneInfo]:
    zones = parse_zoneinfo(read(Path("/proc/zoneinfo")))
    assert zones, "no zone parsed from /proc/zoneinfo"
    return zones


def thp_enabled() -> bool:
    """6.18 hugepage_pmd_enabled(): global always/madvise, or the PMD-size control
    always/madvise (or inherit with the global one on). Shmem is ignored (never here)."""
    selected = lambda text: text[text.index("[") + 1 : text.index("]")]  # noqa: E731
    global_mode = selected(read(THP / "enabled"))
    pmd_path = THP / "hugepages-2048kB" / "enabled"
    pmd_mode = selected(pmd_path.read_text()) if pmd_path.exists() else "inherit"
    global_on = global_mode in ("always", "madvise")
    return global_on or pmd_mode in ("always", "madvise") or (pmd_mode == "inherit" and global_on)


def mismatches(zones: list[ZoneInfo], min_free_kbytes: int, wsf: int, ratios: list[int] | None) -> list[str]:
    r = rules()
    sizes = model_zones(zones)
    predicted = watermarks.predict_watermarks(
        sizes, min_free_kbytes, r, watermark_scale_factor=wsf,
        boosts={(z.node, z.zone): z.boost or 0 for z in zones},
    )
    prot = (
        protection.predict_protection(sizes, ratios, r, nr_zones=len(zones[0].protection or ()))
        if ratios is not None else {}
    )
    problems = []
    for z in zones:
        key = (z.node, z.zone)
        cmp = watermarks.compare(predicted[key], z.watermarks())
        if not cmp.exact:
            problems.append(cmp.explain(f"node {z.node} {z.zone} (managed {z.managed})"))
        if ratios is not None:
            pcmp = protection.compare(prot[key], z.protection or ())
            if not pcmp.exact:
                problems.append(pcmp.explain(f"node {z.node} {z.zone} protection"))
    return problems


def reserve_fields(zones: list[ZoneInfo]) -> list[tuple]:
    """The fields the model predicts or uses (free counts and stats move all the time)."""
    return [(z.node, z.zone, z.managed, z.present, z.boost, z.min, z.low, z.high, z.promo, z.protection)
            for z in zones]


def compare_live(ratios_too: bool = True) -> list[str]:
    """Retry until one snapshot matches; return the last mismatch list (empty = exact)."""
    problems: list[str] = ["not compared"]
    for attempt in range(RETRIES):
        zones = zoneinfo()
        min_free = int(read(VM / "min_free_kbytes"))
        wsf = int(read(VM / "watermark_scale_factor"))
        ratios = [int(x) for x in read(VM / "lowmem_reserve_ratio").split()] if ratios_too else None
        if reserve_fields(zones) != reserve_fields(zoneinfo()):
            continue  # the zone grew while reading
        if problems != ["not compared"] and problems:
            warnings.warn(f"stale zoneinfo before attempt {attempt + 1}: " + "; ".join(problems))
        problems = mismatches(zones, min_free, wsf, ratios)
        if not problems:
            return []
        time.sleep(0.2)
    return problems


def write_sysctl(name: str, value: int) -> None:
    (VM / name).write_text(f"{value}\n")


def test_default_min_free_kbytes_matches():
    result = None
    for _ in range(RETRIES):
        zones = zoneinfo()
        shown = int(read(VM / "min_free_kbytes"))
        pagetype = parse_pagetypeinfo(read(Path("/proc/pagetypeinfo")))
        order = pagetype.pageblock_order if pagetype and pagetype.pageblock_order else 9
        result = predict_min_free_kbytes(
            model_zones(zones), rules(), thp_enabled=thp_enabled(), pageblock_nr_pages=1 << order,
            watermark_scale_factor=int(read(VM / "watermark_scale_factor")),
        )
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
    original = int(read(VM / "watermark_scale_factor"))
    try:
        write_sysctl("watermark_scale_factor", original)  # same value: forces setup_per_zone_wmarks()
        problems = compare_live()
        assert not problems, "after a forced recompute: " + "; ".join(problems)
    finally:
        write_sysctl("watermark_scale_factor", original)
    assert int(read(VM / "watermark_scale_factor")) == original


@pytest.mark.root
def test_other_sysctl_values_then_restore():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    min_free = int(read(VM / "min_free_kbytes"))
    wsf = int(read(VM / "watermark_scale_factor"))
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
    assert (int(read(VM / "min_free_kbytes")), int(read(VM / "watermark_scale_factor"))) == (min_free, wsf)
    assert not compare_live(ratios_too=False), "restored values do not reproduce zoneinfo"
    assert not failures, " | ".join(failures)


def test_fragmentation_indices_match_debugfs():
    names = ("unusable_index", "extfrag_index")
    matched = 0
    for _ in range(40):
        first = [read(DEBUGFS / n) for n in names]
        buddy_a = read(Path("/proc/buddyinfo"))
        second = [read(DEBUGFS / n) for n in names]
        buddy_b = read(Path("/proc/buddyinfo"))
        if first != second or buddy_a != buddy_b:
            continue  # free lists changed between reads: not a consistent snapshot
        buddy = {(r.node, r.zone): r.counts for r in parse_buddyinfo(buddy_a)}
        for text, fn in zip(first, (unusable_index, extfrag_index)):
            rows = parse_extfrag(text)
            assert rows
            for row in rows:
                counts = buddy[(row.node, row.zone)]
                assert tuple(fn(counts, o) for o in range(len(counts))) == row.values, (fn.__name__, row)
        matched += 1
        if matched >= 5:
            return
    assert matched, "no consistent debugfs/buddyinfo snapshot in 40 tries"
