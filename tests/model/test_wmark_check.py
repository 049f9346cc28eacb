"""The watermark check (reference §3.4, §3.7, §8) for both callers."""

from minfree.model.kversion import KernelVersion
from minfree.model.rules import KernelRules
from minfree.model.wmark_check import (
    FreeBlocks,
    Request,
    ZoneState,
    check_zone,
    check_zonelist,
    reduced_floor,
    alloc_flags_for,
)

R618 = KernelRules.for_version(KernelVersion(6, 18, 44))
R612 = KernelRules.for_version(KernelVersion(6, 12, 0))
R611 = KernelRules.for_version(KernelVersion(6, 11, 0))
R57 = KernelRules.for_version(KernelVersion(5, 7, 14))
R310 = KernelRules.for_version(KernelVersion(3, 10, 108))
RHEL6 = KernelRules.for_version(KernelVersion(2, 6, 32, "2.6.32-642.el6.x86_64", "rhel6"))


def normal(free, **kw):
    args = dict(node=0, name="Normal", index=2, free=free, min=8672, low=10840, protection=(0, 0, 0, 0, 0))
    args.update(kw)
    return ZoneState(**args)


def test_gfp_atomic_floor_8672_to_3252_strict():
    a = 8672 - 8672 // 2
    assert (a, a - a // 4) == (4336, 3252) == (4336, reduced_floor(8672, alloc_flags_for(Request.GFP_ATOMIC, 0, R618)))
    assert check_zone(normal(3253), 0, Request.GFP_ATOMIC, R618).ok
    res = check_zone(normal(3252), 0, Request.GFP_ATOMIC, R618)
    assert (res.ok, res.reason, res.floor, res.free_adj) == (False, "below_watermark", 3252, 3252)
    for request in (Request.GFP_KERNEL, Request.GFP_NOWAIT):
        res = check_zone(normal(8672), 0, request, R618)
        assert (res.ok, res.floor) == (False, 8672)
    assert check_zone(normal(8673), 0, Request.GFP_KERNEL, R618).ok


def test_reference_machine_zonelist_snapshot_2():
    zones = [
        ZoneState(node=0, name="DMA", index=0, free=3840, min=40, low=50, protection=(0, 3019, 6219, 6219, 6219)),
        ZoneState(node=0, name="DMA32", index=1, free=772917, min=8182, low=10227, protection=(0, 0, 3200, 3200, 3200)),
        normal(655000),
    ]
    dma = check_zone(zones[0], 0, Request.GFP_ATOMIC, R618)
    assert (dma.ok, dma.reason, dma.protection) == (False, "protected", 6219)
    dma32 = check_zone(zones[1], 10, Request.GFP_ATOMIC, R618)
    assert (dma32.floor, dma32.needed) == (3069, 3069 + 3200)
    result = check_zonelist(zones, 0, Request.GFP_ATOMIC, R618)
    assert result.ok and result.zone.zone == "Normal"
    assert [r.zone for r in result.results] == ["Normal", "DMA32", "DMA"]


def test_failure_dump_replay_5_4_below_watermark():
    # corpus 006-ceph-devel-5.4.26: order:0 GFP_ATOMIC; "Node 0 Normal free:20672kB min:56392kB
    # low:65880kB ... lowmem_reserve[]: 0 0 0 0 0"
    r54 = KernelRules.for_version(KernelVersion(5, 4, 26))
    letters = ["UMEH", "UMEH", "UMEH", "UMEH", "ME", "MEH", "MEH", "", "", "", ""]
    counts = [347, 250, 655, 80, 29, 7, 6, 0, 0, 0, 0]
    zone = ZoneState.from_kb(node=0, name="Normal", index=2, free_kb=20672, min_kb=56392, low_kb=65880,
                             protection=(0, 0, 0, 0, 0), blocks=FreeBlocks.from_letters(counts, letters))
    res = check_zone(zone, 0, Request.GFP_ATOMIC, r54)
    a = 14098 - 14098 // 2
    assert (zone.free, zone.min, res.floor) == (5168, 14098, a - a // 4) == (5168, 14098, 5287)
    assert (res.ok, res.reason) == (False, "below_watermark")
    assert "5168 <= floor 5287" in res.explanation


def test_fragmented_high_order_and_highatomic_lists():
    # Plenty free, but blocks of order >= 2 only on the HighAtomic list at order 3.
    blocks = FreeBlocks.from_letters([5000, 100, 0, 4], ["UM", "M", "", "H"])
    zone = normal(20000, blocks=blocks)
    assert check_zone(zone, 2, Request.GFP_ATOMIC, R618).ok  # ALLOC_HIGHATOMIC for order > 0
    nowait = check_zone(zone, 2, Request.GFP_NOWAIT, R618)
    assert (nowait.ok, nowait.reason) == (False, "no_free_block")
    assert "only on lists this request may not use" in nowait.explanation
    assert check_zone(zone, 2, Request.GFP_NOWAIT, R612).ok  # before the 2025 Cascardo fix
    assert check_zone(normal(20000, blocks=FreeBlocks.from_letters([5000, 100, 0, 0], ["UM", "M", "", ""])),
                      2, Request.GFP_ATOMIC, R618).reason == "no_free_block"


def test_buddyinfo_only_is_approximate():
    zone = normal(20000, blocks=FreeBlocks.from_buddyinfo([5000, 100, 0, 4]))
    res = check_zone(zone, 2, Request.GFP_NOWAIT, R618)
    assert res.ok and res.approximate


def test_pagetypeinfo_blocks():
    blocks = FreeBlocks.from_pagetypeinfo({"Unmovable": (3, 0, 0), "Movable": (0, 0, 0), "CMA": (0, 0, 9)})
    assert blocks.counts == (3, 0, 9) and blocks.types[2] == frozenset("C")
    assert check_zone(normal(20000, blocks=blocks), 2, Request.GFP_ATOMIC, R618).reason == "no_free_block"


def test_highatomic_deduction_free_vs_reserved():
    zone = normal(10000, reserved_highatomic=2048, free_highatomic=0)
    # GFP_KERNEL has no reserve flags: 6.11 deducts the reserved size, 6.12+ only the free count
    assert check_zone(zone, 0, Request.GFP_KERNEL, R612).ok
    old = check_zone(zone, 0, Request.GFP_KERNEL, R611)
    assert (old.ok, old.free_adj) == (False, 10000 - 2048)


def test_cma_pages_do_not_count_for_atomic():
    res = check_zone(normal(10000, free_cma=5000), 0, Request.GFP_KERNEL, R618)
    assert (res.ok, res.free_adj) == (False, 5000)


def test_boost_exception_order_0_only():
    boosted = normal(3300, min=9184, low=11352, boost=512)
    # boosted floor: a = 9184 - 4592 = 4592, f = 4592 - 1148 = 3444 > 3300; unboosted floor 3252
    res = check_zone(boosted, 0, Request.GFP_ATOMIC, R618)
    assert (res.ok, res.boost_ignored, res.floor) == (True, True, 3252)
    assert not check_zone(boosted, 1, Request.GFP_ATOMIC, R618).ok
    assert not check_zone(boosted, 0, Request.GFP_ATOMIC, R57).ok  # 5.7.14: no exception


def test_fast_path_tests_low_without_reductions():
    fast = check_zone(normal(10000), 0, Request.GFP_ATOMIC, R618, fast_path=True)
    assert (fast.ok, fast.mark, fast.floor, fast.path) == (False, 10840, 10840, "fast")
    assert check_zone(normal(10000), 0, Request.GFP_ATOMIC, R618).ok


def test_pre_4_4_per_order_loop_is_exact_from_buddyinfo():
    # 3.10, GFP_ATOMIC order 2, min 1000 -> floor: 1000-500 = 500, 500-125 = 375.
    # free 1000 - 3 = 997 > 375; o=0: 997 - 600 = 397 > 375>>1 = 187; o=1: 397 - 2*150 = 97 <= 93? no, 97 > 93: ok
    zone = ZoneState(node=0, name="Normal", index=2, free=1000, min=1000, low=1250, protection=(0, 0, 0, 0),
                     blocks=FreeBlocks.from_buddyinfo([600, 150, 10, 0]))
    res = check_zone(zone, 2, Request.GFP_ATOMIC, R310)
    assert res.ok and not res.approximate
    worse = ZoneState(node=0, name="Normal", index=2, free=1000, min=1000, low=1250, protection=(0, 0, 0, 0),
                      blocks=FreeBlocks.from_buddyinfo([600, 160, 5, 0]))
    # o=1: 397 - 320 = 77 <= 93 -> fragmented
    assert check_zone(worse, 2, Request.GFP_ATOMIC, R310).reason == "no_free_block"
    # GFP_NOWAIT on 3.10 gets ALLOC_HARDER only: floor 1000 - 250 = 750
    assert check_zone(zone, 0, Request.GFP_NOWAIT, R310).floor == 750


def test_rhel6_loop_restarts_from_mark_minus_min():
    # RHEL6: free -= 2^N + 1; loop min = (mark - MIN) reduced = 0 at the MIN mark; halves while o < 9>>2
    zone = ZoneState(node=0, name="Normal", index=2, free=1000, min=1000, low=1250, protection=(0, 0, 0),
                     blocks=FreeBlocks.from_buddyinfo([600, 150, 10, 0]))
    res = check_zone(zone, 2, Request.GFP_ATOMIC, RHEL6)
    assert res.ok and res.free_adj == 1000 - 5
    empty_high = ZoneState(node=0, name="Normal", index=2, free=1000, min=1000, low=1250, protection=(0, 0, 0),
                           blocks=FreeBlocks.from_buddyinfo([700, 150, 0, 0]))
    # 995 - 700 = 295 > 0; 295 - 300 = -5 <= 0 -> fails
    assert check_zone(empty_high, 2, Request.GFP_ATOMIC, RHEL6).reason == "no_free_block"


def test_unpopulated_zone_is_not_in_zonelist():
    res = check_zone(ZoneState(node=0, name="Movable", index=3, free=0, min=32, low=32, managed=0),
                     0, Request.GFP_KERNEL, R618, highest_zoneidx=3)
    assert res.reason == "not_populated"


def test_zonelist_failure_lists_every_zone():
    zones = [normal(100), ZoneState(node=1, name="Normal", index=2, free=100, min=8672, low=10840,
                                    protection=(0, 0, 0, 0, 0))]
    result = check_zonelist(zones, 0, Request.GFP_ATOMIC, R618, local_node=1)
    assert not result.ok and [r.node for r in result.results] == [1, 0]
    assert result.explanation.startswith("order-0 GFP_ATOMIC fails in every zone")


def test_each_result_field_holds_its_value():
    """_verdict_at makes its CheckResult positionally (by name costs 0.5 us a result): every
    field of every kind of result holds its own value, each distinct from the others."""
    cases = [   # (rules, request, order, zone changes, fast path, (ok, reason, approximate, boost_ignored, short))
        (R618, Request.GFP_ATOMIC, 0, dict(free=1000), False, (False, "below_watermark", False, False, False)),
        (R618, Request.GFP_ATOMIC, 0, dict(free=3265), False, (False, "protected", False, False, False)),
        (R618, Request.GFP_ATOMIC, 0, dict(free=9000), False, (True, "ok", False, False, False)),
        (R618, Request.GFP_KERNEL, 0, dict(free=20000), True, (True, "ok", False, False, False)),
        (R618, Request.GFP_ATOMIC, 0, dict(free=3300, min=9672, boost=1000), False, (True, "ok", False, True, False)),
        (R618, Request.GFP_ATOMIC, 2, dict(blocks=FreeBlocks.from_letters([9000, 5, 2], ["UM", "H", "M"])), False,
         (True, "ok", False, False, False)),
        (R618, Request.GFP_KERNEL, 2, dict(blocks=FreeBlocks.from_letters([9000, 5, 2], ["UM", "H", "C"])), False,
         (False, "no_free_block", False, False, False)),
        (R618, Request.GFP_ATOMIC, 2, dict(blocks=FreeBlocks.from_buddyinfo([9000, 5, 0])), False,
         (False, "no_free_block", True, False, False)),
        (R618, Request.GFP_ATOMIC, 2, dict(blocks=None), False, (True, "ok", True, False, False)),
        (R310, Request.GFP_ATOMIC, 2, dict(blocks=FreeBlocks.from_buddyinfo([9000, 5, 0])), False,
         (False, "no_free_block", False, False, True)),
        (R310, Request.GFP_ATOMIC, 1, dict(blocks=FreeBlocks.from_letters([300, 5000], ["UM", "C"])), False,
         (False, "no_free_block", False, False, False)),
        (R310, Request.GFP_ATOMIC, 1, dict(blocks=FreeBlocks.from_letters([300, 5000], ["UM", "M"])), False,
         (True, "ok", False, False, False)),
        (R310, Request.GFP_ATOMIC, 1, dict(blocks=None), False, (True, "ok", True, False, False)),
    ]
    for rules, request, order, changes, fast, (ok, reason, approximate, boost_ignored, short) in cases:
        zone = normal(**{"free": 10300, **changes, "node": 3, "free_cma": 7, "protection": (0, 0, 17, 17, 17)})
        res = check_zone(zone, order, request, rules, fast_path=fast)
        flags = alloc_flags_for(request, order, rules, fast_path=fast)
        mark = (zone.low if fast else zone.min) - (zone.boost if boost_ignored else 0)
        unusable = 7 + (1 << order) - 1
        assert (res.ok, res.reason, res.approximate, res.boost_ignored, res.short_order is not None) == (
            ok, reason, approximate, boost_ignored, short), (rules, request, order, changes)
        assert (res.node, res.zone, res.order, res.request, res.path, res.free, res.free_adj, res.mark, res.floor,
                res.protection) == (3, "Normal", order, request.value, "fast" if fast else "slow", zone.free,
                                    zone.free - unusable, mark, reduced_floor(mark, flags), 17)
        assert res.explanation.startswith(f"Node 3 Normal: order-{order} {request.value}")
        if short:
            # the <4.4 loop: order-0 pages (9000) out, free CMA kept, the mark halved once
            assert (res.short_order, res.short_free, res.short_need) == (1, zone.free - 3 - 9000, res.floor >> 1)
        else:
            assert (res.short_order, res.short_free, res.short_need) == (None, None, None)
