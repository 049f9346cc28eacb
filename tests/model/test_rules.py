"""Version switches of §7 of the reference."""

import pytest

from minfree.model.kversion import KernelVersion
from minfree.model.rules import KernelRules


@pytest.mark.parametrize(
    ("version", "cap", "movable_lowmem", "per_order_loop", "ratio_below_one"),
    [
        (KernelVersion(2, 6, 32, vendor="rhel6"), 65536, True, True, "one"),
        (KernelVersion(3, 10, 0, vendor="rhel7"), 262144, True, True, "one"),
        (KernelVersion(4, 4, 178), 65536, True, False, "one"),
        (KernelVersion(5, 6, 4), 65536, True, False, "zero"),
        (KernelVersion(5, 7, 14), 262144, True, False, "zero"),
        (KernelVersion(6, 5, 0), 262144, True, False, "zero"),
        (KernelVersion(6, 6, 0), 262144, False, False, "zero"),
        (KernelVersion(6, 18, 44), 262144, False, False, "zero"),
    ],
)
def test_version_table(version, cap, movable_lowmem, per_order_loop, ratio_below_one):
    rules = KernelRules.for_version(version)
    assert rules.sqrt_cap_kbytes == cap
    assert rules.movable_is_lowmem is movable_lowmem
    assert rules.per_order_loop is per_order_loop
    assert rules.reserve_ratio_below_one == ratio_below_one


def test_empty_zone_protection_window():
    affected = [KernelVersion(6, 11, 0), KernelVersion(6, 12, 0), KernelVersion(6, 12, 18)]
    fixed = [KernelVersion(6, 10, 9), KernelVersion(6, 12, 19), KernelVersion(6, 14, 0), KernelVersion(6, 18, 44)]
    assert all(KernelRules.for_version(v).reserve_zeroes_empty_upper for v in affected)
    assert not any(KernelRules.for_version(v).reserve_zeroes_empty_upper for v in fixed)


def test_highatomic_and_flag_eras():
    r61, r612, r618 = (KernelRules.for_version(KernelVersion(6, m, 0)) for m in (1, 12, 18))
    assert (r61.alloc_flags_era, r612.alloc_flags_era) == ("gfp_atomic", "min_reserve")
    assert (r61.highatomic_deducts_free, r612.highatomic_deducts_free) == (False, True)
    assert r612.nowait_gets_highatomic and not r618.nowait_gets_highatomic
    assert (r61.zoneinfo_prints_boost, r61.zoneinfo_prints_promo, r612.zoneinfo_prints_promo) == (True, False, True)
    assert KernelRules.for_version(KernelVersion(5, 7, 14)).boost_recompute_bug
    assert not KernelRules.for_version(KernelVersion(5, 10, 0)).boost_recompute_bug
