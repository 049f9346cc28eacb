"""Default vm.min_free_kbytes: the square-root rule, its caps, the THP raise (reference §1).

Models mm/page_alloc.c ``init_per_zone_wmark_min()`` / ``calculate_min_free_kbytes()``
(2.6.32 .. 6.18) and ``set_recommended_min_free_kbytes()`` (mm/huge_memory.c 3.10-4.6,
mm/khugepaged.c 5.0-6.18). Pure; zone sizes in pages, results in kB.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from minfree.model.record import record
from minfree.model.rules import KernelRules
from minfree.model.watermarks import predict_watermarks
from minfree.model.zones import PAGE_SIZE_DEFAULT, USER_ZONES, Zone, page_shift

SQRT_FLOOR_KBYTES = 128
MIGRATE_PCPTYPES = 3  # every version read


@record
class MinFreeResult:
    """The value the kernel would show and which rule produced it.

    ``rule`` is one of: "sqrt", "sqrt_floor" (clamped up to 128), "sqrt_cap" (clamped down to
    the cap), "thp" (khugepaged recommendation), "thp_5pct_cap" (the recommendation, limited to
    5 % of lowmem, still wins), "user" (a user-set value kept), "user_raised_by_thp".
    """

    kbytes: int
    rule: str
    sqrt_kbytes: int
    thp_kbytes: int | None
    explanation: str


def nr_free_buffer_pages(
    zones: Iterable[Zone], rules: KernelRules, highs: Mapping[tuple[int, str], int] | None = None
) -> int:
    """Σ max(0, size - high) over zones with zone_idx <= Normal, all nodes.

    6.18 mm/page_alloc.c nr_free_zone_pages(gfp_zone(GFP_USER)); ``highs`` are the current high
    watermarks (unboosted); omit them for the boot-time call, when none exist yet.
    """
    highs = highs or {}
    return sum(
        max(0, z.size(rules.size_field) - highs.get((z.node, z.name), 0))
        for z in zones
        if z.name in USER_ZONES
    )


def sqrt_rule_kbytes(lowmem_pages: int, rules: KernelRules, page_size: int = PAGE_SIZE_DEFAULT) -> int:
    """clamp(int_sqrt(lowmem_kbytes * 16), 128, cap).

    The kernel comment's reference points: 1 GiB -> 4096 kB, 16 GiB -> 16384 kB.

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=0, vendor=None))
    >>> sqrt_rule_kbytes(262144, r), sqrt_rule_kbytes(4194304, r)
    (4096, 16384)
    """
    raw = math.isqrt(lowmem_pages * (page_size // 1024) * 16)
    return min(max(raw, SQRT_FLOOR_KBYTES), rules.sqrt_cap_kbytes)


def thp_zone_count(zones: Iterable[Zone], rules: KernelRules) -> int:
    """Zones set_recommended_min_free_kbytes counts: populated (present > 0); from 5.0 only
    zone_idx <= gfp_zone(GFP_USER)."""
    return sum(
        1
        for z in zones
        if z.present > 0 and (rules.thp_counts_all_zones or z.name in USER_ZONES)
    )


def thp_recommended_kbytes(
    zones: Iterable[Zone],
    rules: KernelRules,
    *,
    pageblock_nr_pages: int,
    highs: Mapping[tuple[int, str], int],
    page_size: int = PAGE_SIZE_DEFAULT,
) -> tuple[int, bool]:
    """``min(11 * pageblock_nr_pages * nr_zones, nr_free_buffer_pages / 20)`` in kB, and whether
    the 5 % cap was the binding term (2 pageblocks + MIGRATE_PCPTYPES² per zone = 11)."""
    zones = list(zones)
    per_zones = pageblock_nr_pages * thp_zone_count(zones, rules) * (2 + MIGRATE_PCPTYPES**2)
    cap = nr_free_buffer_pages(zones, rules, highs) // 20
    pages = min(per_zones, cap)
    return pages << (page_shift(page_size) - 10), cap < per_zones


def _highs_for(
    zones: list[Zone], kbytes: int, rules: KernelRules, wsf: int, page_size: int
) -> dict[tuple[int, str], int]:
    marks = predict_watermarks(zones, kbytes, rules, watermark_scale_factor=wsf, page_size=page_size)
    return {key: wm.high for key, wm in marks.items()}


def predict_min_free_kbytes(
    zones: Iterable[Zone],
    rules: KernelRules,
    *,
    thp_enabled: bool,
    pageblock_nr_pages: int = 512,
    page_size: int = PAGE_SIZE_DEFAULT,
    watermark_scale_factor: int = 10,
    user_kbytes: int | None = None,
    thp_started: bool = True,
) -> MinFreeResult:
    """The min_free_kbytes the kernel shows.

    Without ``user_kbytes``: the value after boot — the square-root rule on Σ size of zones
    <= Normal (no watermark exists yet), then, with THP enabled, the khugepaged raise whose 5 %
    cap subtracts the high watermarks the square-root value produced.

    ``thp_started``: hugepage_init() reached start_stop_khugepaged() (mm/huge_memory.c; it
    returns early, THP off, below 512 MiB of RAM); on 6.1+ that call recomputes the
    square-root rule with high watermarks subtracted when THP is off.

    With ``user_kbytes`` (the value last written to the sysctl): what a recompute
    (memory hotplug, THP re-applied) keeps: 3.11+ keeps the user value unless the square-root
    rule (now with high watermarks subtracted) is larger; <=3.10 forgets it; THP still raises it.

    This machine (§8, snapshot 2): 3 zones, THP madvise -> 67584 from the THP rule.

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=44, vendor=None))
    >>> zs = [Zone(0, "DMA", 0, 3840, 3998), Zone(0, "DMA32", 1, 772917, 782336),
    ...       Zone(0, "Normal", 2, 819200, 5505024), Zone(0, "Movable", 3, 0, 0)]
    >>> res = predict_min_free_kbytes(zs, r, thp_enabled=True)
    >>> res.kbytes, res.rule, res.sqrt_kbytes
    (67584, 'thp', 10106)
    """
    zones = list(zones)
    wsf = watermark_scale_factor
    if user_kbytes is None:
        pages = nr_free_buffer_pages(zones, rules)
        if not thp_enabled and thp_started and rules.thp_off_recalculates:
            # 6.1+ mm/khugepaged.c set_recommended_min_free_kbytes(): with THP disabled it calls
            # calculate_min_free_kbytes() again at boot, now with the high watermarks subtracted.
            first = sqrt_rule_kbytes(pages, rules, page_size)
            pages = nr_free_buffer_pages(zones, rules, _highs_for(zones, first, rules, wsf, page_size))
        raw = math.isqrt(pages * (page_size // 1024) * 16)
        sqrt_kb = sqrt_rule_kbytes(pages, rules, page_size)
        value = sqrt_kb
        rule = "sqrt" if raw == sqrt_kb else ("sqrt_floor" if raw < sqrt_kb else "sqrt_cap")
        why = f"square-root rule {raw} kB" + ("" if rule == "sqrt" else f" clamped to {sqrt_kb} kB")
    else:
        highs = _highs_for(zones, user_kbytes, rules, wsf, page_size)
        sqrt_kb = sqrt_rule_kbytes(nr_free_buffer_pages(zones, rules, highs), rules, page_size)
        if rules.user_min_free_honored and user_kbytes >= sqrt_kb:
            value, rule = user_kbytes, "user"
            why = f"user-set {user_kbytes} kB kept (square-root rule gives {sqrt_kb} kB)"
        else:
            value, rule = sqrt_kb, "sqrt"
            why = f"square-root rule {sqrt_kb} kB replaces the user-set {user_kbytes} kB"
    thp_kb = None
    if thp_enabled and rules.has_thp_rule:
        highs = _highs_for(zones, value, rules, wsf, page_size)
        thp_kb, capped = thp_recommended_kbytes(
            zones, rules, pageblock_nr_pages=pageblock_nr_pages, highs=highs, page_size=page_size
        )
        if thp_kb > value:
            nz = thp_zone_count(zones, rules)
            why = (
                f"THP recommendation {thp_kb} kB ({'5% of lowmem' if capped else f'11 pageblocks x {nz} zones'})"
                f" exceeds {value} kB ({why})"
            )
            value = thp_kb
            rule = "user_raised_by_thp" if rule == "user" else ("thp_5pct_cap" if capped else "thp")
    return MinFreeResult(kbytes=value, rule=rule, sqrt_kbytes=sqrt_kb, thp_kbytes=thp_kb, explanation=why)
