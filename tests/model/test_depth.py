"""model/depth.py: the closed form equals a one-by-one replay of check_zone() in every era of
the watermark check, and the cases the closed form must get right are named."""
from __future__ import annotations

from types import SimpleNamespace as V

from hypothesis import given, settings, strategies as st

from depth_replay import replay
from minfree.model.depth import request_depth, request_depths, usable_pieces
from minfree.model.rules import KernelRules
from minfree.model.wmark_check import FreeBlocks, MIGRATETYPE_LETTERS, Request, ZoneState

NAMES = {letter: name for name, letter in MIGRATETYPE_LETTERS.items()}
ERAS = {
    "2.6.32-rhel6": V(major=2, minor=6, patch=32, vendor="rhel6"),
    "3.10": V(major=3, minor=10, patch=0, vendor=None),
    "4.19": V(major=4, minor=19, patch=0, vendor=None),
    "5.10": V(major=5, minor=10, patch=0, vendor=None),
    "6.1": V(major=6, minor=1, patch=0, vendor=None),
    "6.12": V(major=6, minor=12, patch=0, vendor=None),
    "6.18": V(major=6, minor=18, patch=0, vendor=None),
}
R61 = KernelRules.for_version(ERAS["6.1"])


def zone(lists: dict[str, tuple[int, ...]], *, min_: int, boost: int = 0, protection: int = 0,
         reserved_highatomic: int = 0) -> ZoneState:
    blocks = FreeBlocks.from_pagetypeinfo({NAMES[k]: v for k, v in lists.items()})
    pages = {k: sum(n << o for o, n in enumerate(v)) for k, v in lists.items()}
    return ZoneState(node=0, name="DMA32", index=1, free=sum(pages.values()), min=min_ + boost,
                     low=min_ + boost, boost=boost, protection=(0, 0, protection, protection),
                     free_cma=pages.get("C", 0), free_highatomic=pages.get("H", 0),
                     reserved_highatomic=max(reserved_highatomic, pages.get("H", 0)), blocks=blocks)


lists_strategy = st.dictionaries(
    st.sampled_from("UMEHCI"), st.tuples(*[st.integers(0, 12)] * 6), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(lists=lists_strategy, era=st.sampled_from(sorted(ERAS)), request=st.sampled_from(list(Request)),
       order=st.integers(0, 5), min_=st.integers(0, 300), boost=st.integers(0, 100),
       protection=st.integers(0, 60), reserved=st.integers(0, 64))
def test_closed_form_equals_replay(lists, era, request, order, min_, boost, protection, reserved) -> None:
    rules = KernelRules.for_version(ERAS[era])
    z = zone(lists, min_=min_, boost=boost, protection=protection, reserved_highatomic=reserved)
    depth = request_depth(z, order, request, rules)
    assert depth.requests == replay(z, order, rules, cap=100_000, request=request)
    assert not depth.approximate


@settings(max_examples=150, deadline=None)
@given(lists=lists_strategy, era=st.sampled_from(sorted(ERAS)), request=st.sampled_from(list(Request)),
       min_=st.integers(0, 300), boost=st.integers(0, 100), protection=st.integers(0, 60))
def test_all_orders_in_one_pass_equal_replay(lists, era, request, min_, boost, protection) -> None:
    """request_depths (the exporter's one pass over the free lists, orders 0-7, beyond the
    lists' six orders too) is the replay of every order."""
    rules = KernelRules.for_version(ERAS[era])
    z = zone(lists, min_=min_, boost=boost, protection=protection)
    depths = request_depths(z, 8, request, rules)
    assert [d.order for d in depths] == list(range(8))
    assert [d.requests for d in depths] == [replay(z, order, rules, cap=100_000, request=request) for order in range(8)]


def test_order0_boost_exception_uses_the_unboosted_min() -> None:
    # 6.1 zone_watermark_fast(): order-0 __GFP_ATOMIC retries against min - boost.
    z = zone({"U": (900,)}, min_=400, boost=400)
    boosted, unboosted = (800 - 800 // 2) - (800 - 800 // 2) // 4, (400 - 200) - 50
    assert request_depth(z, 0, Request.GFP_ATOMIC, R61).requests == 900 - unboosted > 900 - boosted
    assert request_depth(z, 0, Request.GFP_KERNEL, R61).requests == 900 - 800


def test_highatomic_blocks_serve_atomic_requests_only() -> None:
    z = zone({"U": (400,), "H": (0, 0, 2)}, min_=100)
    assert request_depth(z, 2, Request.GFP_ATOMIC, R61).requests == 2
    assert request_depth(z, 2, Request.GFP_KERNEL, R61).requests == 0


def test_protection_keeps_a_lower_zone_for_its_own_callers() -> None:
    z = zone({"U": (100, 50)}, min_=40, protection=150)
    floor = 40 - 20 - 5   # GFP_ATOMIC: min - min/2, then - a quarter
    assert request_depth(z, 1, Request.GFP_ATOMIC, R61).requests == (200 - 1 - floor - 150 - 1) // 2 + 1


def test_without_migratetypes_every_block_counts_and_the_depth_says_so() -> None:
    pieces, approximate = usable_pieces(FreeBlocks.from_buddyinfo((5, 3, 1)), 1, frozenset("UME"))
    assert (pieces, approximate) == (5, True)
    z = ZoneState(node=0, name="Normal", index=2, free=5 + 6 + 4, min=0, low=0,
                  blocks=FreeBlocks.from_buddyinfo((5, 3, 1)))
    depth = request_depth(z, 1, Request.GFP_ATOMIC, R61)
    assert depth.requests == 5 and depth.approximate


def test_an_unpopulated_zone_serves_nothing() -> None:
    z = ZoneState(node=0, name="Movable", index=3, free=0, min=0, low=0, managed=0)
    assert request_depth(z, 0, Request.GFP_ATOMIC, R61).requests == 0
