"""Watermarks against the worked numbers of reference §8 (6.18, this machine)."""

import pytest

from minfree.model.kversion import KernelVersion
from minfree.model.rules import KernelRules
from minfree.model.watermarks import boost_inflation_suspected, compare, predict_watermarks
from minfree.model.zones import Watermarks, Zone

R618 = KernelRules.for_version(KernelVersion(6, 18, 44))


def node(normal_managed):
    return [Zone(0, "DMA", 0, 3840), Zone(0, "DMA32", 1, 772917), Zone(0, "Normal", 2, normal_managed),
            Zone(0, "Movable", 3, 0), Zone(0, "Device", 4, 0)]


@pytest.mark.parametrize(
    ("normal", "expected"),
    [
        (131072, {"DMA": (71, 88, 105, 122), "DMA32": (14385, 17981, 21577, 25173),
                  "Normal": (2439, 3048, 3657, 4266)}),
        (819200, {"DMA": (40, 50, 60, 70), "DMA32": (8182, 10227, 12272, 14317),
                  "Normal": (8672, 10840, 13008, 15176)}),
        (2883584, {"DMA": (17, 21, 25, 29), "DMA32": (3567, 4458, 5349, 6240),
                   "Normal": (13310, 16637, 19964, 23291)}),
    ],
)
def test_reference_snapshots(normal, expected):
    wm = predict_watermarks(node(normal), 67584, R618)
    for name, marks in expected.items():
        assert wm[(0, name)] == Watermarks(*marks)
    assert wm[(0, "Movable")] == Watermarks(32, 32, 32, 32)  # clamp(0/1024, 32, 128)
    assert wm[(0, "Device")] == Watermarks(0, 0, 0, 0)


def test_hand_arithmetic_snapshot_2():
    lowmem = 3840 + 772917 + 819200
    assert lowmem == 1595957
    share = 16896 * 819200 // lowmem
    delta = max(share >> 2, 819200 * 10 // 10000)
    assert (share, delta) == (8672, 2168)


def test_scale_factor_wins_on_big_zones():
    wm = predict_watermarks(node(819200), 67584, R618, watermark_scale_factor=200)
    # delta = max(8672 >> 2, 819200 * 200 // 10000) = 16384
    assert wm[(0, "Normal")] == Watermarks(8672, 8672 + 16384, 8672 + 2 * 16384, 8672 + 3 * 16384)


def test_boost_raises_every_mark_and_unboosted_restores():
    wm = predict_watermarks(node(819200), 67584, R618, boosts={(0, "Normal"): 512})
    assert wm[(0, "Normal")] == Watermarks(9184, 11352, 13520, 15688, boost=512)
    assert wm[(0, "Normal")].unboosted() == Watermarks(8672, 10840, 13008, 15176)


def test_pre_4_6_rounding_trap():
    # tmp = 7: LOW = MIN + 1, HIGH = MIN + 3 (not LOW + 1)
    r44 = KernelRules.for_version(KernelVersion(4, 4, 178))
    wm = predict_watermarks([Zone(0, "Normal", 2, 1000)], 28, r44)
    assert wm[(0, "Normal")] == Watermarks(7, 8, 10, None)


def test_compare_reports_staleness():
    cmp = compare(Watermarks(8672, 10840, 13008, 15176), Watermarks(8670, 10837, 13004, 15171))
    assert not cmp.exact and cmp.max_abs_delta == 5
    assert cmp.explain("Normal").startswith("Normal: stale by up to 5 pages")


def test_boost_inflation_flag_on_5_0_to_5_7():
    r57 = KernelRules.for_version(KernelVersion(5, 7, 14))
    # unix.stackexchange q/525674: min 9582 low 34505 high 36900 (high-low != low-min)
    shown = Watermarks(9582, 34505, 36900)
    assert boost_inflation_suspected(shown, r57)
    assert not boost_inflation_suspected(shown, R618)
