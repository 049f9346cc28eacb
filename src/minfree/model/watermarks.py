"""Per-zone WMARK_MIN/LOW/HIGH/PROMO from min_free_kbytes (reference §2.1-§2.4).

Models ``__setup_per_zone_wmarks()`` in mm/page_alloc.c: 2.6.32 (setup_per_zone_wmarks,
present_pages, +t/4 +t/2), 3.10/4.4 (managed_pages), 4.6 (watermark_scale_factor), 5.0
(boost), 6.1 (WMARK_PROMO), 6.6-6.18 (Movable clamped like HighMem). Pure; pages in, pages out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from minfree.model.rules import KernelRules
from minfree.model.zones import (
    PAGE_SIZE_DEFAULT,
    Comparison,
    Watermarks,
    Zone,
    compare_values,
    kb_to_pages,
)

SWAP_CLUSTER_MAX = 32  # include/linux/swap.h


def is_lowmem_for_share(zone_name: str, rules: KernelRules) -> bool:
    """Whether a zone's pages count in ``lowmem_pages`` and get a proportional MIN.

    6.18 mm/page_alloc.c __setup_per_zone_wmarks: ``!is_highmem(zone) && zone_idx(zone) !=
    ZONE_MOVABLE``; <=6.5 only ``!is_highmem(zone)``.
    """
    if zone_name == "HighMem":
        return False
    return rules.movable_is_lowmem or zone_name != "Movable"


def lowmem_pages(zones: Iterable[Zone], rules: KernelRules) -> int:
    """Σ size over every zone of every node that shares min_free_kbytes."""
    return sum(z.size(rules.size_field) for z in zones if is_lowmem_for_share(z.name, rules))


def zone_watermarks(
    zone: Zone,
    *,
    pages_min: int,
    total_lowmem: int,
    rules: KernelRules,
    watermark_scale_factor: int = 10,
    boost: int = 0,
) -> Watermarks:
    """Watermarks of one zone, as printed (boost added).

    Snapshot 2 of the reference (§8), Normal zone on 6.18:

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=2, vendor=None))
    >>> zone_watermarks(Zone(0, "Normal", 2, 819200), pages_min=16896, total_lowmem=1595957, rules=r)
    Watermarks(min=8672, low=10840, high=13008, promo=15176, boost=0)
    """
    size = zone.size(rules.size_field)
    # tmp = (u64)pages_min * managed / lowmem_pages (do_div / div64_ul: floor)
    share = pages_min * size // total_lowmem if total_lowmem else 0
    if is_lowmem_for_share(zone.name, rules):
        wmin = share
    else:
        # HighMem (all versions) and Movable (6.6+): clamp(size/1024, SWAP_CLUSTER_MAX, 128)
        wmin = min(max(size // 1024, SWAP_CLUSTER_MAX), 128)
    promo = None
    if rules.scale_factor_gaps:
        # 4.6+: tmp = max(tmp >> 2, mult_frac(managed, watermark_scale_factor, 10000))
        delta = max(share >> 2, size * watermark_scale_factor // 10000)
        low, high = wmin + delta, wmin + 2 * delta
        if rules.has_promo:
            promo = wmin + 3 * delta
    else:
        # <=4.5: LOW = MIN + tmp/4, HIGH = MIN + tmp/2 (HIGH is not LOW + tmp/4)
        low, high = wmin + (share >> 2), wmin + (share >> 1)
    b = boost if rules.has_boost else 0
    return Watermarks(
        min=wmin + b,
        low=low + b,
        high=high + b,
        promo=None if promo is None else promo + b,
        boost=b,
    )


def predict_watermarks(
    zones: Iterable[Zone],
    min_free_kbytes: int,
    rules: KernelRules,
    *,
    watermark_scale_factor: int = 10,
    page_size: int = PAGE_SIZE_DEFAULT,
    boosts: Mapping[tuple[int, str], int] | None = None,
) -> dict[tuple[int, str], Watermarks]:
    """Watermarks of every zone of every node, keyed by ``(node, zone name)``.

    ``zones`` must list every zone of every node (empty ones add 0 and still get marks).
    ``boosts`` gives the current ``watermark_boost`` per zone (printed values include it).

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=2, vendor=None))
    >>> zs = [Zone(0, "DMA", 0, 3840), Zone(0, "DMA32", 1, 772917), Zone(0, "Normal", 2, 131072),
    ...       Zone(0, "Movable", 3, 0)]
    >>> wm = predict_watermarks(zs, 67584, r)
    >>> wm[(0, "DMA")], wm[(0, "Movable")].as_dict()
    (Watermarks(min=71, low=88, high=105, promo=122, boost=0), {'min': 32, 'low': 32, 'high': 32, 'promo': 32})
    """
    zones = list(zones)
    total = lowmem_pages(zones, rules)
    pages_min = kb_to_pages(min_free_kbytes, page_size)
    boosts = boosts or {}
    return {
        (z.node, z.name): zone_watermarks(
            z,
            pages_min=pages_min,
            total_lowmem=total,
            rules=rules,
            watermark_scale_factor=watermark_scale_factor,
            boost=boosts.get((z.node, z.name), 0),
        )
        for z in zones
    }


def compare(predicted: Watermarks, shown: Watermarks) -> Comparison:
    """Predicted vs shown marks of one zone; ``explain()`` says "stale by N pages" if not exact.

    >>> compare(Watermarks(64, 80, 96, 112), Watermarks(64, 80, 96, 112)).exact
    True
    >>> compare(Watermarks(64, 80, 96, 112), Watermarks(63, 79, 95, 111)).max_abs_delta
    1
    """
    return compare_values(predicted.as_dict(), shown.as_dict())


def boost_inflation_suspected(shown: Watermarks, rules: KernelRules) -> bool:
    """5.0-5.7: a recompute while boosted leaves ``high - low != low - min`` (§2.2, §7).

    Only meaningful on 4.6+ gap arithmetic; flags values a predictor should not call wrong.
    """
    base = shown.unboosted()
    return rules.boost_recompute_bug and (base.high - base.low) != (base.low - base.min)
