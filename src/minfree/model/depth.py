"""How many order-N requests in a row the free lists can serve before the watermark check fails.

Each allocation that succeeds takes 2^N pages off NR_FREE_PAGES and one order-N piece off a
free list the request may use: __rmqueue_smallest() splits the smallest block of order >= N
and expand() puts the unused halves back on the free lists at orders N..o-1 (mm/page_alloc.c,
2.6.32-6.18), so orders below N never change and the number of order-N pieces left in blocks
of order >= N falls by exactly one. The check of :mod:`minfree.model.wmark_check` is then
monotone in the number of allocations made, which gives the depth in closed form:

- the order-0 test ``free_adj - k * 2^N > floor + protection`` holds for the first
  ``ceil((free_adj - floor - protection) / 2^N)`` requests;
- 4.4+: a usable block of order >= N exists while usable pieces remain;
- <4.4: each lower order's test ``loop_free - k * 2^N - pages(orders <= o) > need_o`` the same way.

A model, with what it leaves out: nothing is freed or allocated meanwhile (kswapd, other
requests), and pages on the per-cpu lists (not in /proc/buddyinfo or NR_FREE_PAGES, 5.13+ also
holding orders 1-3) are not counted, so the depth is a floor on what the zone can serve.
``tests/model/test_depth.py`` checks it against a one-by-one replay of check_zone().
"""
from __future__ import annotations


from minfree.model.record import record
from minfree.model.rules import KernelRules
from minfree.model.wmark_check import (FreeBlocks, Request, ZoneState, boost_retry_mark, check_terms,
                                       loop_floors, reduced_floor, rmqueue_lists, usable_lists)


#: Lists an unmovable request could be served from before 4.4 (fallbacks[] of mm/page_alloc.c 3.10).
PRE_4_4_LISTS = rmqueue_lists(False, reserve=True)


@record
class Depth:
    """``requests``: order-N requests served before the check fails; ``approximate``: the free
    lists' migratetypes were unknown (buddyinfo), so every block was counted as usable."""

    order: int
    requests: int
    approximate: bool = False

    @property
    def pages(self) -> int:
        return self.requests << self.order


def _passing(slack: int, step: int) -> int:
    """How many k >= 0 satisfy ``slack - k * step > 0``.

    >>> _passing(9, 4), _passing(8, 4), _passing(0, 4)
    (3, 2, 0)
    """
    return (slack - 1) // step + 1 if slack > 0 else 0


def usable_pieces(blocks: FreeBlocks, order: int, allowed: frozenset[str]) -> tuple[int, bool]:
    """Order-N pieces in blocks of order >= N on the lists in ``allowed``: (count, approximate).

    >>> usable_pieces(FreeBlocks.from_pagetypeinfo({"Unmovable": (9, 2, 1), "Isolate": (0, 0, 4)}), 1,
    ...               frozenset("UME"))
    (4, False)
    >>> usable_pieces(FreeBlocks.from_buddyinfo((9, 2, 5)), 1, frozenset("UME"))
    (12, True)
    """
    return pieces_by_order(blocks, order + 1, allowed)[order]


def pieces_by_order(blocks: FreeBlocks, orders: int, allowed: frozenset[str]) -> list[tuple[int, bool]]:
    """:func:`usable_pieces` of orders 0..orders-1 in one pass from the top order down: the
    order-N pieces in blocks of order >= N are exactly the pages there >> N (each block of
    order o >= N holds 2^(o-N) of them), and the list letters that make a count approximate
    accumulate the same way.

    >>> pieces_by_order(FreeBlocks.from_buddyinfo((9, 2, 5)), 4, frozenset("UME"))
    [(33, True), (12, True), (5, True), (0, True)]
    >>> pieces_by_order(FreeBlocks.from_letters((9, 2, 5), ["UM", "MI", "I"]), 3, frozenset("UME"))
    [(13, True), (2, True), (0, False)]
    """
    if blocks.by_type is not None:
        lists = [counts for letter, counts in blocks.by_type if letter in allowed]
        mixed = [False] * len(blocks.counts)
    elif blocks.types is not None:   # a dump's letters: which lists are non-empty, not how full
        lists = [tuple(n if blocks.types[o] & allowed else 0 for o, n in enumerate(blocks.counts))]
        mixed = [len(kinds) > 1 and bool(kinds - allowed) for kinds in blocks.types]
    else:
        lists = [blocks.counts]
        mixed = []   # nothing is known about the lists: every count is approximate (below)
    top = max(orders, len(blocks.counts), *(len(counts) for counts in lists))
    pages = [0] * (top + 1)
    approximate = [False] * (top + 1)
    for o in range(top - 1, -1, -1):
        pages[o] = pages[o + 1] + sum(counts[o] << o for counts in lists if o < len(counts))
        approximate[o] = approximate[o + 1] or (o < len(mixed) and mixed[o])
    if blocks.by_type is None and blocks.types is None:
        approximate = [True] * (top + 1)
    return [(pages[o] >> o, approximate[o]) for o in range(orders)]


def request_depth(zone: ZoneState, order: int, request: Request, rules: KernelRules, *,
                  highest_zoneidx: int = 2, pageblock_order: int = 9) -> Depth:
    """Order-N requests of a class this zone serves one after another before its check fails.

    The Normal zone of §8 (MIN 8672, GFP_ATOMIC floor 3252), 3260 pages free: eight order-0
    requests pass (3260 - 7 > 3252 is the last), and of order 1 the one block there is.

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=0, vendor=None))
    >>> z = ZoneState(node=0, name="Normal", index=2, free=3260, min=8672, low=10840,
    ...               blocks=FreeBlocks.from_pagetypeinfo({"Unmovable": (3258, 1)}))
    >>> request_depth(z, 0, Request.GFP_ATOMIC, r).requests, request_depth(z, 1, Request.GFP_ATOMIC, r).requests
    (8, 1)
    """
    return _depths(zone, range(order, order + 1), request, rules, highest_zoneidx, pageblock_order)[0]


def request_depths(zone: ZoneState, orders: int, request: Request, rules: KernelRules, *,
                   highest_zoneidx: int = 2, pageblock_order: int = 9) -> list[Depth]:
    """:func:`request_depth` of orders 0..orders-1, the same Depths, with the free lists summed
    once for all orders (what the exporter computes on every scrape).

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=0, vendor=None))
    >>> z = ZoneState(node=0, name="Normal", index=2, free=3260, min=8672, low=10840,
    ...               blocks=FreeBlocks.from_pagetypeinfo({"Unmovable": (3258, 1)}))
    >>> [d.requests for d in request_depths(z, 3, Request.GFP_ATOMIC, r)]
    [8, 1, 0]
    """
    return _depths(zone, range(orders), request, rules, highest_zoneidx, pageblock_order)


def _depths(zone: ZoneState, orders: range, request: Request, rules: KernelRules, highest_zoneidx: int,
            pageblock_order: int) -> list[Depth]:
    if zone.managed == 0:
        return [Depth(order, 0) for order in orders]
    pieces: dict[frozenset[str], list[tuple[int, bool]]] = {}   # usable lists -> pieces_by_order
    depths = []
    for order in orders:
        terms = check_terms(zone, order, request, rules, highest_zoneidx=highest_zoneidx)
        step = 1 << order
        marks = [terms.mark]
        retry = boost_retry_mark(zone, order, terms.flags)
        if retry is not None:
            marks.append(retry)
        served = 0
        for mark in marks:
            floor = reduced_floor(mark, terms.flags)
            passing = _passing(terms.free_adj - floor - terms.protection, step)
            if rules.per_order_loop and order > 0 and zone.blocks is not None:
                for below, need in loop_floors(zone, order, floor, rules, mark, terms.flags, pageblock_order):
                    passing = min(passing, _passing(terms.loop_free - below - need, step))
            served = max(served, passing)
        if order == 0 or zone.blocks is None:
            # Order 0 needs no block test; without free lists only the order-0 test is known.
            depths.append(Depth(order, served, approximate=order > 0))
            continue
        # <4.4 has no list test; __rmqueue_fallback() steals from any list but CMA and Isolate.
        allowed = PRE_4_4_LISTS if rules.per_order_loop else usable_lists(terms.flags)
        if allowed not in pieces:
            pieces[allowed] = pieces_by_order(zone.blocks, orders.stop, allowed)
        count, approximate = pieces[allowed][order]
        depths.append(Depth(order, min(served, count), approximate and not rules.per_order_loop))
    return depths
