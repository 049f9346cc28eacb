"""Version switches of the kernel-reserve arithmetic (reference kernel-memory.md §7).

Every field names one behaviour that changed across releases; :meth:`KernelRules.for_version`
sets it from a :class:`minfree.model.kversion.KernelVersion` (anything with ``major``, ``minor``,
``patch`` and ``vendor`` works). Brackets that the reference could only infer from two trees
are noted next to the field.
"""

from __future__ import annotations

import functools

from minfree.model.record import record

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from typing import Protocol

    class VersionLike(Protocol):
        major: int
        minor: int
        patch: int
        vendor: str | None


#: include/linux/mmzone.h (2.6.23-6.18): orders above it are "costly"; the allocator retries
#: them less and no watermark keeps blocks of that size available.
PAGE_ALLOC_COSTLY_ORDER = 3


@record
class KernelRules:
    """Which side of each version switch one kernel is on (:meth:`for_version`), by the reference's
    sections: §1 min_free_kbytes, §2 watermarks, §2.5 lowmem_reserve, §3 the watermark check."""

    # --- min_free_kbytes (§1) -----------------------------------------------------------
    size_field: str  # "present" (2.6.32, RHEL6) or "managed" (3.10+)
    sqrt_cap_kbytes: int  # 65536; 262144 from 5.7 (and RHEL7)
    user_min_free_honored: bool  # 3.11+: a recompute only raises a user-set value
    has_thp_rule: bool  # set_recommended_min_free_kbytes exists (2.6.38+, RHEL6 backport)
    thp_counts_all_zones: bool  # <5.0: every populated zone; 5.0+: zone_idx <= Normal
    thp_off_recalculates: bool  # 6.1+: THP off -> calculate_min_free_kbytes() again
    # --- watermarks (§2) ----------------------------------------------------------------
    scale_factor_gaps: bool  # 4.6+: delta = max(t/4, managed*wsf/10000); before: +t/4, +t/2
    has_promo: bool  # 6.1+: WMARK_PROMO = HIGH + delta
    zoneinfo_prints_promo: bool  # 6.12 (absent in 6.6)
    movable_is_lowmem: bool  # <=6.5: Movable gets a proportional MIN; 6.6+: clamped 32..128
    has_boost: bool  # 5.0+
    zoneinfo_prints_boost: bool  # 6.1 (absent in 5.10)
    boost_recompute_bug: bool  # 5.0-5.7: a recompute while boosted inflates LOW/HIGH
    watermark_scale_factor_max: int  # 1000 (4.6-5.x), 3000 (6.1+); 0 when there is no sysctl
    has_compaction: bool  # 2.6.35+ (mm/compaction.c, /proc/sys/vm/compact_memory); RHEL6 backport
    # --- lowmem_reserve (§2.5) ----------------------------------------------------------
    reserve_ratio_below_one: str  # "one" (<=4.x: ratio forced to 1) or "zero" (5.0+: disabled)
    reserve_clears_empty_lower: bool  # 5.10+: an empty lower zone gets no protection
    reserve_zeroes_empty_upper: bool  # 6.11 .. 6.12.18 (commit 96a5c186efff, reverted)
    # --- watermark check (§3) -----------------------------------------------------------
    per_order_loop: bool  # <4.4: subtract each lower order, halve min per order
    rhel6_loop: bool  # RHEL6: free -= 2^N + 1, loop restarts from mark - MIN
    has_highatomic: bool  # 4.4+: MIGRATE_HIGHATOMIC
    highatomic_deducts_free: bool  # 6.12+: nr_free_highatomic; before: nr_reserved_highatomic
    alloc_flags_era: str  # "nowait_harder" (<4.4), "gfp_atomic" (4.4-6.2), "min_reserve" (6.3+)
    boost_exception: bool  # 5.10+: order-0 __GFP_HIGH at MIN ignores the boost
    nowait_gets_highatomic: bool  # 6.3 .. 6.17: GFP_NOWAIT order>0 gets ALLOC_HIGHATOMIC

    @classmethod
    def for_version(cls, version: VersionLike) -> KernelRules:
        """Rules for one kernel.

        >>> from types import SimpleNamespace as V
        >>> r = KernelRules.for_version(V(major=6, minor=18, patch=44, vendor=None))
        >>> r.sqrt_cap_kbytes, r.movable_is_lowmem, r.alloc_flags_era, r.has_promo
        (262144, False, 'min_reserve', True)
        >>> KernelRules.for_version(V(major=2, minor=6, patch=32, vendor="rhel6")).size_field
        'present'
        """
        return _rules_for((version.major, version.minor, version.patch), version.vendor)

    @classmethod
    def _build(cls, v: tuple[int, int, int], vendor: str | None) -> KernelRules:
        rhel6 = vendor == "rhel6"
        rhel7 = vendor == "rhel7"
        return cls(
            size_field="present" if v < (3, 0, 0) else "managed",
            # Joel Savitz bound increase: 5.6.4 has 65536, 5.7.14 has 262144; RHEL7 backport.
            sqrt_cap_kbytes=262144 if (v >= (5, 7, 0) or rhel7) else 65536,
            # Hocko 5f12733e9d97 "mm: honor min_free_kbytes set by user" (3.11).
            user_min_free_honored=v >= (3, 11, 0) or rhel7,
            has_thp_rule=v >= (2, 6, 38) or rhel6,
            thp_counts_all_zones=v < (5, 0, 0),
            thp_off_recalculates=v >= (6, 1, 0),
            # Weiner 795ae7a0de6b (4.6).
            scale_factor_gaps=v >= (4, 6, 0),
            has_promo=v >= (6, 1, 0),
            zoneinfo_prints_promo=v >= (6, 12, 0),
            # liuq "mm/min_free_kbytes: modify min_free_kbytes calculation rules" (6.6).
            movable_is_lowmem=v < (6, 6, 0),
            # 1c30844d2dfe "reclaim small amounts of memory when an external fragmentation
            # event occurs" (5.0).
            has_boost=v >= (5, 0, 0),
            zoneinfo_prints_boost=v >= (6, 1, 0),
            boost_recompute_bug=(5, 0, 0) <= v < (5, 8, 0),
            watermark_scale_factor_max=(
                3000 if v >= (6, 1, 0) else 1000 if v >= (4, 6, 0) else 0
            ),
            # Gorman 748446bb6b5a "mm: compaction: memory compaction core" (2.6.35); RHEL 6 ships
            # it with its transparent hugepage backport.
            has_compaction=v >= (2, 6, 35) or rhel6,
            reserve_ratio_below_one="zero" if v >= (5, 0, 0) else "one",
            reserve_clears_empty_lower=v >= (5, 10, 0),
            # 96a5c186efff (6.11), reverted by eae116d1f044 (6.12.19 stable; mainline 6.14).
            # 6.13.y is assumed affected: its stable backport of the revert is unverified.
            reserve_zeroes_empty_upper=(6, 11, 0) <= v < (6, 12, 19) or (6, 13, 0) <= v < (6, 14, 0),
            # Gorman 97a16fc82a7c "only enforce watermarks for order-0 allocations" (4.4).
            per_order_loop=v < (4, 4, 0),
            rhel6_loop=rhel6,
            has_highatomic=v >= (4, 4, 0),
            # Yu Zhao "mm/page_alloc: keep track of free highatomic" (6.12.0 has it).
            highatomic_deducts_free=v >= (6, 12, 0),
            # Gorman 1ebbb21811b7 (6.3): ALLOC_MIN_RESERVE / ALLOC_NON_BLOCK.
            alloc_flags_era=(
                "min_reserve" if v >= (6, 3, 0) else "gfp_atomic" if v >= (4, 4, 0) else "nowait_harder"
            ),
            # Present in 5.10 and 6.1, absent in 5.7.14 (bracketed).
            boost_exception=v >= (5, 10, 0),
            # Cascardo "only set ALLOC_HIGHATOMIC for __GFP_HIGH allocations" (2025-08):
            # absent in 6.12.0, present in 6.18.2 (bracketed; 6.13-6.17 assumed without it).
            nowait_gets_highatomic=(6, 3, 0) <= v < (6, 18, 0),
        )


# Immutable and a pure function of (release numbers, vendor): a scan asks for the same few
# kernels once per report.
@functools.lru_cache(maxsize=256)
def _rules_for(v: tuple[int, int, int], vendor: str | None) -> KernelRules:
    return KernelRules._build(v, vendor)
