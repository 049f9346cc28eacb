"""A brute-force replay of order-N requests, the yardstick of model/depth.py: each request is
first checked with check_zone(), then takes the smallest usable block, and the split halves go
back on the same list (mm/page_alloc.c __rmqueue_smallest() and expand())."""
from __future__ import annotations

from minfree.model.record import replace

from minfree.model.depth import PRE_4_4_LISTS
from minfree.model.rules import KernelRules
from minfree.model.wmark_check import FreeBlocks, Request, ZoneState, alloc_flags_for, check_zone, usable_lists


def _take(zone: ZoneState, order: int, allowed: frozenset[str]) -> ZoneState | None:
    """``zone`` after one order-N allocation from the smallest usable block; None if none."""
    lists = {letter: list(counts) for letter, counts in zone.blocks.by_type}
    found = min(((o, letter) for letter, counts in lists.items() if letter in allowed
                 for o in range(order, len(counts)) if counts[o]), default=None)
    if found is None:
        return None
    o, letter = found
    lists[letter][o] -= 1
    for half in range(order, o):
        lists[letter][half] += 1
    size = 1 << order
    by_type = tuple((k, tuple(v)) for k, v in lists.items())
    columns = list(zip(*(v for _, v in by_type)))
    blocks = FreeBlocks(tuple(map(sum, columns)),
                        tuple(frozenset(k for (k, _), n in zip(by_type, col) if n) for col in columns), by_type)
    return replace(
        zone, free=zone.free - size,
        free_highatomic=zone.free_highatomic - (size if letter == "H" else 0),
        free_cma=zone.free_cma - (size if letter == "C" else 0), blocks=blocks)


def replay(zone: ZoneState, order: int, rules: KernelRules, cap: int,
           request: Request = Request.GFP_ATOMIC) -> int:
    """Order-N requests served one by one until check_zone() fails (at most ``cap``)."""
    allowed = PRE_4_4_LISTS if rules.per_order_loop else usable_lists(alloc_flags_for(request, order, rules))
    served = 0
    while served < cap and check_zone(zone, order, request, rules).ok:
        if order == 0:   # no block test: any free page will do
            zone = replace(zone, free=zone.free - 1)
        else:
            after = _take(zone, order, allowed)
            if after is None:
                break
            zone = after
        served += 1
    return served
