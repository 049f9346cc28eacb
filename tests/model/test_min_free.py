"""Default min_free_kbytes (reference §1)."""

import math

from minfree.model.kversion import KernelVersion
from minfree.model.min_free import predict_min_free_kbytes, sqrt_rule_kbytes, thp_recommended_kbytes
from minfree.model.rules import KernelRules
from minfree.model.zones import Zone

R618 = KernelRules.for_version(KernelVersion(6, 18, 44))
R56 = KernelRules.for_version(KernelVersion(5, 6, 4))


def one_node(normal, present=True):
    p = 1 if present else 0
    return [Zone(0, "DMA", 0, 3840, 3998 * p), Zone(0, "DMA32", 1, 772917, 782336 * p),
            Zone(0, "Normal", 2, normal, normal * p), Zone(0, "Movable", 3, 0, 0)]


def test_this_machine_thp_rule():
    res = predict_min_free_kbytes(one_node(819200), R618, thp_enabled=True)
    assert (res.kbytes, res.rule) == (3 * 11 * 512 * 4, "thp") == (67584, "thp")
    assert res.sqrt_kbytes == math.isqrt((3840 + 772917 + 819200) * 4 * 16) == 10106


def test_kernel_comment_reference_points_and_caps():
    assert [sqrt_rule_kbytes(gib * 262144, R618) for gib in (1, 4, 16, 64)] == [4096, 8192, 16384, 32768]
    assert sqrt_rule_kbytes(1 << 40, R56) == 65536 and sqrt_rule_kbytes(1 << 40, R618) == 262144
    assert sqrt_rule_kbytes(10, R618) == 128


def test_rule_names_for_clamps():
    tiny = [Zone(0, "Normal", 2, 100, 100)]
    assert predict_min_free_kbytes(tiny, R618, thp_enabled=False).rule == "sqrt_floor"
    huge = [Zone(0, "Normal", 2, 1 << 36, 1 << 36)]
    assert predict_min_free_kbytes(huge, R56, thp_enabled=False).rule == "sqrt_cap"


def test_thp_five_percent_cap_on_small_machine():
    # 256 MiB Normal only: sqrt = isqrt(65536*64) = 2048 kB = 512 pages -> MIN 512,
    # delta = max(128, 65) = 128, HIGH 768; cap = (65536 - 768) // 20 = 3238 pages < 11*512
    zones = [Zone(0, "Normal", 2, 65536, 65536)]
    res = predict_min_free_kbytes(zones, R618, thp_enabled=True)
    assert res.sqrt_kbytes == 2048
    assert (res.kbytes, res.rule) == ((65536 - 768) // 20 * 4, "thp_5pct_cap") == (12952, "thp_5pct_cap")


def test_thp_zone_count_all_populated_before_5_0():
    zones = one_node(819200) + [Zone(0, "Movable", 3, 100000, 100000)]
    zones = [z for z in zones if not (z.name == "Movable" and z.present == 0)]
    r44 = KernelRules.for_version(KernelVersion(4, 4, 0))
    kb_44, _ = thp_recommended_kbytes(zones, r44, pageblock_nr_pages=512, highs={})
    kb_618, _ = thp_recommended_kbytes(zones, R618, pageblock_nr_pages=512, highs={})
    assert (kb_44, kb_618) == (4 * 22528, 3 * 22528)


def test_user_set_semantics():
    zones = one_node(819200)
    kept = predict_min_free_kbytes(zones, R618, thp_enabled=False, user_kbytes=20000)
    assert (kept.kbytes, kept.rule) == (20000, "user")
    lower = predict_min_free_kbytes(zones, R618, thp_enabled=False, user_kbytes=1024)
    assert lower.rule == "sqrt" and lower.kbytes > 1024  # hotplug recompute raises a tiny value
    raised = predict_min_free_kbytes(zones, R618, thp_enabled=True, user_kbytes=20000)
    assert (raised.kbytes, raised.rule) == (67584, "user_raised_by_thp")
    r310 = KernelRules.for_version(KernelVersion(3, 10, 108))
    forgotten = predict_min_free_kbytes(zones, r310, thp_enabled=False, user_kbytes=20000)
    assert forgotten.rule == "sqrt" and forgotten.kbytes < 20000  # <=3.10 does not honour it


def test_thp_without_populated_zones_counts_nothing():
    res = predict_min_free_kbytes(one_node(819200, present=False), R618, thp_enabled=True)
    assert res.rule == "sqrt" and res.thp_kbytes == 0
