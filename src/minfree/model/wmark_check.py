"""Would an order-N request of a GFP class succeed in a zone / a zonelist? (reference §3)

Models ``gfp_to_alloc_flags()``, ``__zone_watermark_unusable_free()``, ``__zone_watermark_ok()``
and ``zone_watermark_fast()`` of mm/page_alloc.c: the per-order loop of 2.6.32/3.10 (and the
RHEL6 variant), the free-list test of 4.4+, the reserve flags of §3.2 and the boost exception
of §2.4. Pure: the caller supplies one zone's state in pages.

Two callers: ``minfree scan`` replays a failure dump (kB values, the ``(UMEH)`` letters of the
buddy line); ``minfree doctor`` asks about the live zones (zoneinfo + pagetypeinfo/buddyinfo).
"""

from __future__ import annotations

import functools
from enum import Enum
from collections.abc import Iterable, Mapping, Sequence

from minfree.model.record import record
from minfree.model.rules import KernelRules
from minfree.model.zones import PAGE_SIZE_DEFAULT, page_shift

#: Migratetype letters of show_migration_types() (mm/show_mem.c), R = MIGRATE_RESERVE (<4.4).
MIGRATETYPE_LETTERS = {
    "Unmovable": "U",
    "Movable": "M",
    "Reclaimable": "E",
    "HighAtomic": "H",
    "CMA": "C",
    "Isolate": "I",
    "Reserve": "R",
}
#: MIGRATE_PCPTYPES: always usable by the high-order test (4.4+).
PCP_TYPES = frozenset("UME")


class Request(Enum):
    """Request classes (include/linux/gfp_types.h)."""

    GFP_ATOMIC = "GFP_ATOMIC"  # __GFP_HIGH | __GFP_KSWAPD_RECLAIM (6.3+), non-blocking
    GFP_NOWAIT = "GFP_NOWAIT"  # __GFP_KSWAPD_RECLAIM (| __GFP_NOWARN 6.12+), non-blocking
    GFP_KERNEL = "GFP_KERNEL"  # blocking: __GFP_RECLAIM | __GFP_IO | __GFP_FS


@record
class FreeBlocks:
    """Free blocks per order, and (when known) which migratetype lists hold them.

    ``types[o]`` is the set of migratetype letters (U M E H C I R) whose order-o list is
    non-empty; None when only totals are known (buddyinfo), which makes a high-order verdict
    approximate on 4.4+. ``by_type`` holds each list's counts per order when they are known
    (pagetypeinfo), as ``(letter, counts)`` pairs.
    """

    counts: tuple[int, ...]
    types: tuple[frozenset[str], ...] | None = None
    by_type: tuple[tuple[str, tuple[int, ...]], ...] | None = None

    @classmethod
    def from_buddyinfo(cls, counts: Sequence[int]) -> FreeBlocks:
        return cls(tuple(counts), None)

    @classmethod
    def from_letters(cls, counts: Sequence[int], letters: Sequence[str]) -> FreeBlocks:
        """From a failure dump buddy line: ``22*4kB (UMEH) 5*8kB (M) 0*16kB ...``; orders
        without letters have empty sets.

        >>> b = FreeBlocks.from_letters([22, 5, 0, 1], ["UMEH", "M", ""])
        >>> b.types[1], b.types[3], b.types[0] is FreeBlocks.from_letters([7], ["UMEH"]).types[0]
        (frozenset({'M'}), frozenset(), True)
        """
        types = tuple(map(_letter_set, letters))
        if len(types) != len(counts):
            types = (types + (frozenset(),) * len(counts))[:len(counts)]
        return cls(tuple(counts), types)

    @classmethod
    def from_pagetypeinfo(cls, per_type: Mapping[str, Sequence[int]]) -> FreeBlocks:
        """From pagetypeinfo rows ``{"Unmovable": (...), "Movable": (...), ...}``.

        >>> b = FreeBlocks.from_pagetypeinfo({"Unmovable": (3, 1), "Movable": (5, 0)})
        >>> b.counts, b.types[1], b.by_type
        ((8, 1), frozenset({'U'}), (('U', (3, 1)), ('M', (5, 0))))
        """
        width = max((len(v) for v in per_type.values()), default=0)
        counts = tuple(sum(v[o] for v in per_type.values() if o < len(v)) for o in range(width))
        by_type = tuple((MIGRATETYPE_LETTERS.get(mt, mt[:1]), tuple(v)) for mt, v in per_type.items())
        types = tuple(
            frozenset(letter for letter, v in by_type if o < len(v) and v[o] > 0)
            for o in range(width)
        )
        return cls(counts, types, by_type)


@functools.lru_cache(maxsize=256)   # a few distinct "(UME)" recur in every zone of every report
def _letter_set(letters: str) -> frozenset[str]:
    return frozenset(letters)


@record
class ZoneState:
    """One zone at one instant, in pages. ``min``/``low`` are as printed (boost included)."""

    node: int
    name: str
    index: int  # zone_idx: selects protection[highest_zoneidx] on the other side
    free: int  # NR_FREE_PAGES
    min: int
    low: int
    boost: int = 0
    protection: tuple[int, ...] = ()
    free_cma: int = 0
    reserved_highatomic: int = 0
    free_highatomic: int = 0
    blocks: FreeBlocks | None = None
    managed: int | None = None  # 0 = not in any zonelist

    @classmethod
    def from_kb(
        cls,
        *,
        node: int,
        name: str,
        index: int,
        free_kb: int,
        min_kb: int,
        low_kb: int,
        boost_kb: int = 0,
        protection: Sequence[int] = (),
        free_cma_kb: int = 0,
        reserved_highatomic_kb: int = 0,
        free_highatomic_kb: int = 0,
        managed_kb: int | None = None,
        blocks: FreeBlocks | None = None,
        page_size: int = PAGE_SIZE_DEFAULT,
    ) -> ZoneState:
        """From a failure dump (kB everywhere except ``lowmem_reserve[]``, which is in pages).
        Each value is :func:`~minfree.model.zones.kb_to_pages` of its kB, the shift taken once:

        >>> from minfree.model.zones import kb_to_pages
        >>> z = ZoneState.from_kb(node=0, name="DMA", index=0, free_kb=15928, min_kb=28, low_kb=35,
        ...                       managed_kb=15908, page_size=65536)
        >>> (z.free, z.min, z.managed) == tuple(kb_to_pages(kb, 65536) for kb in (15928, 28, 15908))
        True
        """
        shift = page_shift(page_size) - 10
        return cls(
            node=node,
            name=name,
            index=index,
            free=free_kb >> shift,
            min=min_kb >> shift,
            low=low_kb >> shift,
            boost=boost_kb >> shift,
            protection=tuple(protection),
            free_cma=free_cma_kb >> shift,
            reserved_highatomic=reserved_highatomic_kb >> shift,
            free_highatomic=free_highatomic_kb >> shift,
            blocks=blocks,
            managed=None if managed_kb is None else managed_kb >> shift,
        )


@record
class AllocFlags:
    """What a request gets from gfp_to_alloc_flags() (§3.2), normalised across eras.

    ``half``: min -= min/2 (ALLOC_HIGH <=6.2, ALLOC_MIN_RESERVE 6.3+); ``quarter``: then
    min -= min/4 (ALLOC_HARDER <=6.2, ALLOC_NON_BLOCK under MIN_RESERVE 6.3+); ``reserves``:
    free highatomic pages are not deducted; ``highatomic_lists``: HighAtomic free lists satisfy
    the high-order test; ``boost_exception``: an order-0 retry against the unboosted MIN.
    """

    mark: str  # "min" (slow path) or "low" (fast path)
    half: bool = False
    quarter: bool = False
    reserves: bool = False
    highatomic_lists: bool = False
    cma: bool = False
    boost_exception: bool = False


def alloc_flags_for(request: Request, order: int, rules: KernelRules, *, fast_path: bool = False) -> AllocFlags:
    """Reserve flags of a request (§3.2).

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=0, vendor=None))
    >>> alloc_flags_for(Request.GFP_ATOMIC, 1, r)
    AllocFlags(mark='min', half=True, quarter=True, reserves=True, highatomic_lists=True, cma=False, boost_exception=True)
    >>> alloc_flags_for(Request.GFP_NOWAIT, 1, r).highatomic_lists
    False
    """
    if fast_path:
        # get_page_from_freelist(..., ALLOC_WMARK_LOW | ...): no reserve flags at all.
        return AllocFlags(mark="low")
    atomic = request is Request.GFP_ATOMIC
    nonblocking = request in (Request.GFP_ATOMIC, Request.GFP_NOWAIT)
    era = rules.alloc_flags_era
    if era == "nowait_harder":
        # 2.6.32/3.10: ALLOC_HIGH = __GFP_HIGH; ALLOC_HARDER when the caller cannot wait.
        return AllocFlags(mark="min", half=atomic, quarter=nonblocking)
    if era == "gfp_atomic":
        # 4.4-6.2: ALLOC_HARDER from __GFP_ATOMIC; it also unlocks the HighAtomic reserve.
        return AllocFlags(
            mark="min",
            half=atomic,
            quarter=atomic,
            reserves=atomic,
            highatomic_lists=atomic,
            boost_exception=atomic and rules.boost_exception,
        )
    # 6.3+: ALLOC_MIN_RESERVE (__GFP_HIGH), ALLOC_NON_BLOCK, ALLOC_HIGHATOMIC for order > 0.
    highatomic = order > 0 and (atomic or (nonblocking and rules.nowait_gets_highatomic))
    return AllocFlags(
        mark="min",
        half=atomic,
        quarter=atomic,  # NON_BLOCK reduces MIN only together with MIN_RESERVE
        reserves=nonblocking,  # ALLOC_RESERVES includes NON_BLOCK
        highatomic_lists=highatomic,
        boost_exception=atomic and rules.boost_exception,
    )


def reduced_floor(mark: int, flags: AllocFlags) -> int:
    """The mark after the reserve reductions (§3.4); GFP_ATOMIC: a = m - m/2, f = a - a/4.

    >>> reduced_floor(8672, AllocFlags(mark="min", half=True, quarter=True))
    3252
    """
    floor = mark
    if flags.half:
        floor -= floor // 2
    if flags.quarter:
        floor -= floor // 4
    return floor


@record
class CheckResult:
    """Verdict for one zone. ``reason``: "ok", "below_watermark" (free_adj <= floor),
    "protected" (above the floor, but lowmem_reserve for the request's zone stops it),
    "no_free_block" (enough free pages, but no usable block of order >= N), "not_populated"."""

    ok: bool
    reason: str
    node: int
    zone: str
    order: int
    request: str
    path: str  # "slow" (MIN, reserve flags) or "fast" (LOW, no flags)
    free: int
    free_adj: int
    mark: int  # the watermark tested, as printed (boost included) unless boost_ignored
    floor: int  # mark after the reserve reductions
    protection: int
    approximate: bool = False
    boost_ignored: bool = False
    explanation: str = ""
    # <4.4 per-order loop failures: at order k, the pages in blocks of order >= k and the
    # halved mark they had to exceed
    short_order: int | None = None
    short_free: int | None = None
    short_need: int | None = None

    @property
    def needed(self) -> int:
        """free_adj must be strictly greater than this."""
        return self.floor + self.protection


def usable_lists(flags: AllocFlags) -> frozenset[str]:
    """Free lists whose blocks pass the 4.4+ high-order test: the PCP types, CMA with
    ALLOC_CMA, HighAtomic with ALLOC_HIGHATOMIC|ALLOC_OOM.

    >>> sorted(usable_lists(AllocFlags(mark="min", highatomic_lists=True)))
    ['E', 'H', 'M', 'U']
    """
    return _USABLE_LISTS[flags.cma, flags.highatomic_lists]


_USABLE_LISTS = {(cma, highatomic): PCP_TYPES | {letter for letter, taken in (("C", cma), ("H", highatomic)) if taken}
                 for cma in (False, True) for highatomic in (False, True)}


def _usable_block(blocks: FreeBlocks, order: int, flags: AllocFlags) -> tuple[bool, bool]:
    """4.4+ high-order test: (found, approximate): a block of order >= N on a usable list."""
    allowed = usable_lists(flags)
    for o in range(order, len(blocks.counts)):
        if not blocks.counts[o]:
            continue
        if blocks.types is None:
            return True, True
        if blocks.types[o] & allowed:
            return True, False
    return False, blocks.types is None


def rmqueue_lists(movable: bool, reserve: bool) -> frozenset[str]:
    """Free lists __rmqueue() takes a block from for a request: its own migratetype and its
    fallbacks[] (the PCP types), MIGRATE_RESERVE ("R", every type's last resort) when
    ``reserve`` (before 4.4), MIGRATE_CMA only for movable requests; never MIGRATE_HIGHATOMIC
    nor MIGRATE_ISOLATE (mm/page_alloc.c fallbacks[] and __rmqueue(); the versions are cited by
    :func:`_rmqueue_block_before_4_4` and ``analysis.verdict._order0_lists``).

    >>> sorted(rmqueue_lists(True, reserve=False)), sorted(rmqueue_lists(False, reserve=True))
    (['C', 'E', 'M', 'U'], ['E', 'M', 'R', 'U'])
    """
    return _RMQUEUE_LISTS[movable, reserve]


_RMQUEUE_LISTS = {(movable, reserve): PCP_TYPES | {letter for letter, taken in (("C", movable), ("R", reserve)) if taken}
                  for movable in (False, True) for reserve in (False, True)}


def _rmqueue_block_before_4_4(blocks: FreeBlocks, order: int, flags: AllocFlags) -> bool:
    """Before 4.4 the watermark check counts pages only; __rmqueue() then takes a block of order
    >= N from the request's own list or its fallbacks: the PCP types, MIGRATE_RESERVE ("R",
    every type's last resort), MIGRATE_CMA only for movable requests (fallbacks[] and
    __rmqueue(), mm/page_alloc.c 3.7-4.3), never MIGRATE_ISOLATE. Corpus 156 (3.12): every
    block of order >= 1 is "(C)", so an unmovable order-1 request gets nothing.

    >>> b = FreeBlocks.from_letters([2584, 217, 57, 5], ["UMC", "C", "C", "C"])
    >>> _rmqueue_block_before_4_4(b, 1, AllocFlags(mark="min")), _rmqueue_block_before_4_4(b, 1, AllocFlags(mark="min", cma=True))
    (False, True)
    """
    allowed = rmqueue_lists(flags.cma, reserve=True)
    return any(blocks.counts[o] and blocks.types[o] & allowed for o in range(order, len(blocks.counts)))


def loop_floors(
    zone: ZoneState, order: int, floor: int, rules: KernelRules, mark: int, flags: AllocFlags,
    pageblock_order: int,
) -> list[tuple[int, int]]:
    """<4.4 __zone_watermark_ok loop, as (pages in orders <= o, need) per lower order o: free
    pages minus the first must stay above the second. Each lower order's pages drop out and min
    halves per order (2.6.32 mm/page_alloc.c:1364, 3.10:1626); RHEL6 restarts from mark - MIN
    and halves only while o < pageblock_order >> 2.

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=3, minor=10, patch=0, vendor=None))
    >>> z = ZoneState(node=0, name="Normal", index=2, free=900, min=400, low=500,
    ...               blocks=FreeBlocks.from_buddyinfo([500, 100, 25]))
    >>> loop_floors(z, 2, 400, r, 400, AllocFlags(mark="min"), 9)
    [(500, 200), (700, 100)]
    """
    counts = zone.blocks.counts if zone.blocks else ()
    need = floor
    if rules.rhel6_loop:
        need = reduced_floor(mark - (zone.min - zone.boost), flags)
    below = 0
    floors = []
    for o in range(order):
        below += (counts[o] if o < len(counts) else 0) << o
        if not rules.rhel6_loop or o < (pageblock_order >> 2):
            need >>= 1
        floors.append((below, need))
    return floors


@record
class CheckTerms:
    """The quantities one zone's check compares, before any verdict (§3.7).

    ``free_adj``: NR_FREE_PAGES minus __zone_watermark_unusable_free(); ``loop_free``: what the
    <4.4 per-order loop starts from (3.10 deducts free CMA only for the order-0 comparison).
    """

    flags: AllocFlags
    free_adj: int
    loop_free: int
    mark: int
    protection: int


def check_terms(zone: ZoneState, order: int, request: Request, rules: KernelRules, *,
                highest_zoneidx: int = 2, fast_path: bool = False) -> CheckTerms:
    flags = alloc_flags_for(request, order, rules, fast_path=fast_path)
    return CheckTerms(flags, *_terms(zone, order, rules, flags, highest_zoneidx))


def _terms(zone: ZoneState, order: int, rules: KernelRules, flags: AllocFlags,
           highest_zoneidx: int) -> tuple[int, int, int, int]:
    """:class:`CheckTerms` after its flags: (free_adj, loop_free, mark, protection)."""
    protection = zone.protection[highest_zoneidx] if highest_zoneidx < len(zone.protection) else 0
    mark = zone.low if flags.mark == "low" else zone.min
    # __zone_watermark_unusable_free(): 2^N - 1, highatomic (unless reserves), CMA (unless ALLOC_CMA)
    unusable = (1 << order) + 1 if rules.rhel6_loop else (1 << order) - 1
    if rules.has_highatomic and not flags.reserves:
        unusable += zone.free_highatomic if rules.highatomic_deducts_free else zone.reserved_highatomic
    if not flags.cma:
        unusable += zone.free_cma
    loop_free = zone.free - (unusable - (0 if flags.cma else zone.free_cma))
    return zone.free - unusable, loop_free, mark, protection


def boost_retry_mark(zone: ZoneState, order: int, flags: AllocFlags) -> int | None:
    """zone_watermark_fast(): an order-0 __GFP_HIGH request (5.10-6.2: __GFP_ATOMIC) that fails
    at a boosted MIN retries against the unboosted MIN; None when no retry happens."""
    if order == 0 and flags.boost_exception and flags.mark == "min" and zone.boost:
        return zone.min - zone.boost
    return None


@record
class _Asked:
    """What the check of one request needs whatever the zone: made once for a zonelist."""

    order: int
    request: str          # Request.value
    rules: KernelRules
    flags: AllocFlags
    path: str             # CheckResult.path: "fast" or "slow"
    pageblock_order: int
    words: str            # "order-N GFP_X", with " fast path"


def _asked(order: int, request: Request, rules: KernelRules, fast_path: bool, pageblock_order: int) -> _Asked:
    name = request.value   # an Enum's value is a Python property: read once
    flags = alloc_flags_for(request, order, rules, fast_path=fast_path)
    return _Asked(order=order, request=name, rules=rules, flags=flags, path="fast" if fast_path else "slow",
                  pageblock_order=pageblock_order, words=f"order-{order} {name}" + (" fast path" if fast_path else ""))


def check_zone(
    zone: ZoneState,
    order: int,
    request: Request,
    rules: KernelRules,
    *,
    highest_zoneidx: int = 2,
    fast_path: bool = False,
    pageblock_order: int = 9,
) -> CheckResult:
    """Replay the watermark check for one zone (§3.7).

    ``highest_zoneidx`` is gfp_zone(gfp): Normal (2 on x86-64) for GFP_KERNEL/GFP_ATOMIC.
    ``fast_path`` tests LOW without reserve flags (failing it only wakes kswapd).

    The Normal zone of §8 (MIN 8672) against GFP_ATOMIC: floor 3252.

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=0, vendor=None))
    >>> z = ZoneState(node=0, name="Normal", index=2, free=3253, min=8672, low=10840,
    ...               protection=(0, 0, 0, 0, 0))
    >>> res = check_zone(z, 0, Request.GFP_ATOMIC, r)
    >>> res.ok, res.floor, res.explanation
    (True, 3252, 'Node 0 Normal: order-0 GFP_ATOMIC ok: free 3253 > floor 3252 (min 8672 reduced) + protection 0')
    >>> check_zone(z, 0, Request.GFP_KERNEL, r).reason
    'below_watermark'
    """
    return _check_zone(zone, _asked(order, request, rules, fast_path, pageblock_order), highest_zoneidx)


def _check_zone(zone: ZoneState, asked: _Asked, highest_zoneidx: int) -> CheckResult:
    terms = _terms(zone, asked.order, asked.rules, asked.flags, highest_zoneidx)
    where = f"Node {zone.node} {zone.name}: {asked.words}"
    if zone.managed == 0:
        _, _, mark, protection = terms
        return CheckResult(ok=False, reason="not_populated", node=zone.node, zone=zone.name, order=asked.order,
                           request=asked.request, path=asked.path, free=zone.free, free_adj=0, mark=mark,
                           floor=mark, protection=protection,
                           explanation=f"{where}: zone has no managed pages, not in any zonelist")
    result = _verdict_at(zone, asked, terms, where, terms[2], False)
    retry_mark = boost_retry_mark(zone, asked.order, asked.flags) if not result.ok else None
    if retry_mark is not None:
        retry = _verdict_at(zone, asked, terms, where, retry_mark, True)
        if retry.ok:
            return retry
    return result


def _verdict_at(zone: ZoneState, asked: _Asked, terms: tuple[int, int, int, int], where: str, m: int,
                boost_ignored: bool) -> CheckResult:
    """One zone's result against the mark ``m`` (the printed one, or the unboosted MIN)."""
    order, flags, rules = asked.order, asked.flags, asked.rules
    free_adj, loop_free, _, protection = terms
    floor = reduced_floor(m, flags)
    mark_desc = f"{flags.mark} {m}" + (" unboosted" if boost_ignored else "")
    floor_desc = f"floor {floor} ({mark_desc} reduced)" if floor != m else mark_desc
    blocks = zone.blocks
    approximate, short_order, short_free, short_need = False, None, None, None
    if free_adj <= floor + protection:
        ok, reason = False, "protected" if free_adj > floor else "below_watermark"
        explanation = (
            f"{where} fails: free {free_adj} <= {floor_desc} + protection {protection}"
            + (" (lowmem_reserve keeps it for lower-zone callers)" if reason == "protected" else "")
        )
    elif order == 0:
        ok, reason = True, "ok"
        explanation = f"{where} ok: free {free_adj} > {floor_desc} + protection {protection}"
    elif blocks is None:
        ok, reason, approximate = True, "ok", True
        explanation = f"{where} passes the order-0 test; " + ("per-order counts unknown" if rules.per_order_loop
                                                               else "free lists unknown")
    elif rules.per_order_loop:
        # The <4.4 loop depends on per-order totals only: exact even from buddyinfo.
        floors = loop_floors(zone, order, floor, rules, m, flags, asked.pageblock_order)
        short = next(((o + 1, loop_free - below, need) for o, (below, need) in enumerate(floors)
                      if loop_free - below <= need), None)
        if short is not None:
            ok, reason = False, "no_free_block"
            short_order, short_free, short_need = short
            explanation = (f"{where} fails: fragmented, {short_free} pages free in blocks of order >= "
                           f"{short_order} <= {short_need} (the mark halved per order)")
        elif blocks.types is not None and not _rmqueue_block_before_4_4(blocks, order, flags):
            ok, reason = False, "no_free_block"
            explanation = (f"{where} fails: the watermark check passes, but every block of order >= {order} "
                           "is on a list this request may not take")
        else:
            ok, reason = True, "ok"
            explanation = f"{where} ok: enough free pages at order >= {order}"
    else:
        ok, approximate = _usable_block(blocks, order, flags)
        if ok:
            reason = "ok"
            explanation = (f"{where} ok: free {free_adj} > {floor_desc} + protection {protection}, block of "
                           f"order >= {order} free" + (" (migratetypes unknown: approximate)" if approximate else ""))
        else:
            reason = "no_free_block"
            detail = "only on lists this request may not use" if any(blocks.counts[order:]) else "none at all"
            explanation = (f"{where} fails: fragmented: {free_adj} pages free but no usable block of "
                           f"order >= {order} ({detail})")
    # positional, in CheckResult's field order: by name, a record costs 0.5 us more to make (its
    # __init__ matches 18 keywords); test_each_result_field_holds_its_value holds the order
    return CheckResult(ok, reason, zone.node, zone.name, order, asked.request, asked.path, zone.free, free_adj, m,
                       floor, protection, approximate, boost_ignored, explanation, short_order, short_free,
                       short_need)


@record
class ZonelistResult:
    """Verdict for a whole zonelist: ``ok`` if any zone passes; ``zone`` is the first that does."""

    ok: bool
    zone: CheckResult | None
    results: tuple[CheckResult, ...]
    explanation: str


def zonelist(zones: Iterable[ZoneState], highest_zoneidx: int = 2, local_node: int = 0) -> list[ZoneState]:
    """Fallback order: local node first (highest zone first), then the other nodes by id.

    The kernel orders remote nodes by NUMA distance; node id order is used here.
    """
    eligible = [z for z in zones if z.index <= highest_zoneidx]
    return sorted(eligible, key=lambda z: (z.node != local_node, z.node, -z.index))


def check_zonelist(
    zones: Iterable[ZoneState],
    order: int,
    request: Request,
    rules: KernelRules,
    *,
    highest_zoneidx: int = 2,
    local_node: int = 0,
    fast_path: bool = False,
    pageblock_order: int = 9,
) -> ZonelistResult:
    """Every zone of the zonelist; a request fails only if every zone fails (§3.1 step 4)."""
    asked = _asked(order, request, rules, fast_path, pageblock_order)
    results = tuple([_check_zone(z, asked, highest_zoneidx) for z in zonelist(zones, highest_zoneidx, local_node)])
    first = next((r for r in results if r.ok), None)
    if first is not None:
        text = f"order-{order} {asked.request} succeeds in Node {first.node} {first.zone}"
    else:
        reasons = ", ".join(f"{r.zone}: {r.reason}" for r in results) or "no zone"
        text = f"order-{order} {asked.request} fails in every zone ({reasons})"
    return ZonelistResult(ok=first is not None, zone=first, results=results, explanation=text)
