"""Headroom (model.wmark_check.headroom) against the check itself: allocate order-N blocks one
at a time from a buddy allocator, re-running the kernel's check before each, and count how
many succeed. The headroom must predict exactly that count, on every era's check."""
from hypothesis import given, settings, strategies as st

from minfree.model.kversion import KernelVersion
from minfree.model.rules import KernelRules
from minfree.model.wmark_check import FreeBlocks, Request, ZoneState, check_zone, headroom

ERAS = {
    "6.18": KernelRules.for_version(KernelVersion(6, 18, 44)),
    "6.1": KernelRules.for_version(KernelVersion(6, 1, 0)),
    "4.19": KernelRules.for_version(KernelVersion(4, 19, 0)),
    "3.10": KernelRules.for_version(KernelVersion(3, 10, 108)),
}
REQUESTS = (Request.GFP_ATOMIC, Request.GFP_NOWAIT, Request.GFP_KERNEL)


def take(counts: list[int], order: int) -> None:
    """__rmqueue_smallest: the smallest free block of order >= N, split down to N (the buddies
    of every order in between go back on the free lists)."""
    o = next(o for o in range(order, len(counts)) if counts[o])
    counts[o] -= 1
    for lower in range(order, o):
        counts[lower] += 1


def successes(zone: ZoneState, counts: list[int], order: int, request: Request, rules: KernelRules) -> int:
    done = 0
    while True:
        state = ZoneState(node=0, name="Normal", index=2, free=sum(n << o for o, n in enumerate(counts)),
                          min=zone.min, low=zone.low, protection=zone.protection,
                          blocks=FreeBlocks.from_buddyinfo(counts))
        if not check_zone(state, order, request, rules).ok:
            return done
        take(counts, order)
        done += 1


zones = st.tuples(
    st.lists(st.integers(0, 8), min_size=7, max_size=7),      # free blocks per order (small: each
    st.integers(0, 600),                                      # success is one loop step) and min
    st.integers(0, 100),                                      # protection for Normal requests
)


@settings(max_examples=150, deadline=None)
@given(zones, st.integers(0, 6), st.sampled_from(sorted(ERAS)), st.sampled_from(REQUESTS))
def test_headroom_predicts_how_many_requests_pass(zone_args, order, era, request):
    counts, mark, protection = zone_args
    rules = ERAS[era]
    zone = ZoneState(node=0, name="Normal", index=2, free=sum(n << o for o, n in enumerate(counts)),
                     min=mark, low=mark + mark // 4, protection=(0, 0, protection, 0),
                     blocks=FreeBlocks.from_buddyinfo(counts))
    room = headroom(zone, order, request, rules)
    assert room.ok == check_zone(zone, order, request, rules).ok == (room.pages > 0)
    expected = -(-room.pages // (1 << order))   # each request takes 2^N pages of the margin
    assert successes(zone, list(counts), order, request, rules) == expected


def test_headroom_is_limited_by_blocks_of_the_order():
    """Plenty of free memory, all of it in order-0 pages: no order-1 headroom at all."""
    rules = ERAS["6.18"]
    zone = ZoneState(node=0, name="Normal", index=2, free=50_000, min=1000, low=1250,
                     blocks=FreeBlocks.from_buddyinfo((50_000, 0, 0)))
    assert headroom(zone, 0, Request.GFP_ATOMIC, rules).pages == 50_000 - 375
    order1 = headroom(zone, 1, Request.GFP_ATOMIC, rules)
    assert (order1.pages, order1.ok) == (0, False)


def test_migratetype_lists_a_request_may_not_use_do_not_count():
    """6.18: HighAtomic lists serve GFP_ATOMIC but not GFP_NOWAIT at order > 0 (ALLOC_HIGHATOMIC)."""
    rules = ERAS["6.18"]
    blocks = FreeBlocks.from_pagetypeinfo({"Unmovable": (100, 0, 0), "HighAtomic": (0, 0, 50)})
    zone = ZoneState(node=0, name="Normal", index=2, free=300, min=40, low=50, blocks=blocks)
    atomic = headroom(zone, 1, Request.GFP_ATOMIC, rules)
    nowait = headroom(zone, 1, Request.GFP_NOWAIT, rules)
    assert (atomic.pages, atomic.approximate) == (200, False)
    assert (nowait.pages, nowait.ok) == (0, False)


@settings(max_examples=300, deadline=None)
@given(zones, st.sampled_from(sorted(ERAS)), st.sampled_from(REQUESTS), st.integers(0, 100))
def test_headroom_never_grows_with_the_order(zone_args, era, request, boost):
    """What lets analysis.headroom stop at the first failing order: a request that fails at
    order N fails at every higher order, and headroom only shrinks."""
    counts, mark, protection = zone_args
    zone = ZoneState(node=0, name="Normal", index=2, free=sum(n << o for o, n in enumerate(counts)),
                     min=mark + boost, low=mark + mark // 4 + boost, boost=boost, protection=(0, 0, protection, 0),
                     blocks=FreeBlocks.from_buddyinfo(counts))
    rooms = [headroom(zone, order, request, ERAS[era]) for order in range(len(counts))]
    assert all(a.pages >= b.pages and (a.ok or not b.ok) for a, b in zip(rooms, rooms[1:]))
