"""lowmem_reserve per version (reference §2.5, §8)."""

from minfree.model.kversion import KernelVersion
from minfree.model.protection import compare, node_protection, predict_protection
from minfree.model.rules import KernelRules
from minfree.model.zones import Zone

RATIOS = [256, 256, 32, 0, 0]


def rules(*v):
    return KernelRules.for_version(KernelVersion(*v))


def test_reference_snapshots_6_18():
    p1 = node_protection([3840, 772917, 131072, 0, 0], RATIOS, rules(6, 18, 44))
    assert p1[0] == (0, 772917 // 256, (772917 + 131072) // 256, 3531, 3531) == (0, 3019, 3531, 3531, 3531)
    assert p1[1] == (0, 0, 512, 512, 512)
    p3 = node_protection([3840, 772917, 2883584, 0, 0], RATIOS, rules(6, 18, 44))
    assert (p3[0], p3[1]) == ((0, 3019, 14283, 14283, 14283), (0, 0, 11264, 11264, 11264))
    assert p3[2] == (0, 0, 0, 0, 0)  # ratio[Normal] = 32 but the upper zones are empty: 0 // 32


def test_ratio_below_one_before_and_after_5_0():
    sizes = [4000, 100000, 200000, 0]
    old = node_protection(sizes, [256, 0, 32], rules(4, 4, 0))
    assert old[1] == (0, 0, 200000 // 1, 200000)  # ratio 0 forced to 1: 100 %
    new = node_protection(sizes, [256, 0, 32, 0], rules(5, 0, 0))
    assert new[1] == (0, 0, 0, 0)


def test_empty_lower_zone_cleared_from_5_10():
    sizes = [0, 100000, 200000, 0, 0]
    assert node_protection(sizes, RATIOS, rules(5, 4, 59))[0] == (0, 390, 1171, 1171, 1171)
    assert node_protection(sizes, RATIOS, rules(5, 10, 0))[0] == (0, 0, 0, 0, 0)


def test_missing_zone_indices_count_as_empty():
    # 2.6.32-style zoneinfo omits the empty Movable zone; protection still has 4 entries.
    zones = [Zone(0, "DMA", 0, 0, 3924), Zone(0, "DMA32", 1, 0, 745000), Zone(0, "Normal", 2, 0, 1310720)]
    prot = predict_protection(zones, [256, 256, 32], rules(2, 6, 32), nr_zones=4)
    assert prot[(0, "DMA32")] == (0, 0, 1310720 // 256, 1310720 // 256)


def test_compare_length_mismatch():
    assert not compare((0, 1), (0, 1, 2)).exact
