"""Why a reported allocation failed: replay the kernel's watermark check on its memory dump.

The zone lines, ``lowmem_reserve[]`` and buddy lines a failure report prints are exactly what
``__zone_watermark_ok()`` looked at (reference kernel-memory.md §3.9), so the check is
replayed per zone with :func:`minfree.model.wmark_check.check_zonelist`:

* ``below_watermark`` - every zone's free pages were at or under the floor this request may use;
* ``fragmented``      - some zone had free pages above the floor but no free block of order >= N
  on a list the request may use;
* ``empty_lists``     - a request that ignores the watermarks (reclaim's PF_MEMALLOC,
  __GFP_MEMALLOC) found no free block of its order on any buddy list;
* ``unusable_lists``  - an order-0 request: free pages above the floor, all of them on lists it
  may not take (HighAtomic, CMA, Isolate);
* ``passes_on_dump``  - the replay succeeds: the dump was printed a moment after the failure
  (pages freed meanwhile), or the pages sat on per-cpu lists; said, not hidden.
"""
from __future__ import annotations

import functools
import re
from typing import Any

from minfree.analysis import thresholds as T
from minfree.model.gfp import GfpDecoding
from minfree.model.kversion import KernelVersion
from minfree.logs.memdump import MemDump, ZoneDump
from minfree.model.record import record, replace
from minfree.model.rules import KernelRules
from minfree.model.zones import zone_order
from minfree.model.wmark_check import (CheckResult, FreeBlocks, Request, ZoneState,
                                       check_zonelist, rmqueue_lists)

_REQUESTS = {"GFP_ATOMIC": Request.GFP_ATOMIC, "GFP_NOWAIT": Request.GFP_NOWAIT}


@record
class Verdict:
    """Why a reported allocation failed, from the watermark check replayed on its memory dump:
    a reason code, a summary with the key number, a paragraph, and each zone's result."""

    reason: str   # "below_watermark" | "fragmented" | "unusable_lists" | "empty_lists" | "passes_on_dump"
    summary: str                # a few words with the key number
    explanation: str            # one paragraph with the numbers
    zones: tuple[CheckResult, ...]
    assumed_kernel: bool        # the kernel era was inferred, not printed
    context: tuple[str, ...] = ()   # what else the dump shows about the deciding zone

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason, "summary": self.summary, "explanation": self.explanation,
            "assumed_kernel": self.assumed_kernel, "context": list(self.context),
            "zones": [{"node": r.node, "zone": r.zone, "ok": r.ok, "reason": r.reason,
                       "free_pages": r.free, "usable_free_pages": r.free_adj, "mark_pages": r.mark,
                       "floor_pages": r.floor, "protection_pages": r.protection,
                       "approximate": r.approximate} for r in self.zones],
        }


def judge(dump: MemDump, order: int, decoding: GfpDecoding, kernel: KernelVersion | None,
          in_reclaim: bool = False) -> Verdict | None:
    """Replay the check for this request on the dump; None if the dump lacks the zone lines.
    ``in_reclaim``: made by reclaim itself (PF_MEMALLOC), so no watermark applies."""
    page_kb = dump.page_kb or 4
    order_of_zones = zone_order({z.zone for z in dump.zones})
    states = [s for z in dump.zones if (s := _zone_state(z, order_of_zones, page_kb)) is not None]
    if not states:
        return None
    assumed = kernel is None
    version = kernel or era_of_layout(decoding.layout)
    rules = KernelRules.for_version(version)
    request = _REQUESTS.get(decoding.request_class, Request.GFP_KERNEL)
    highest = order_of_zones.index(decoding.zone) if decoding.zone in order_of_zones else 2
    highest = min(highest, _highest_printable(dump, order_of_zones))
    result = check_zonelist(states, order, request, rules, highest_zoneidx=highest,
                            local_node=states[0].node)
    dumps = {(z.node or 0, z.zone): z for z in dump.zones}
    if (in_reclaim or decoding.request_class == "memalloc") and "__GFP_NOMEMALLOC" not in decoding.bits:
        return _without_watermarks(result.results, dumps, order, page_kb, assumed, in_reclaim)
    results = result.results
    if order == 0:
        results = tuple(_order0_lists(r, dumps.get((r.node, r.zone)), rules, decoding) for r in results)
    verdict = _verdict(results, order, request, page_kb, assumed, dumps)
    if verdict.reason == "passes_on_dump":
        return verdict
    deciding = _deciding(verdict)
    zone = dumps.get((deciding.node, deciding.zone))
    notes = _context(zone, decoding, request) if zone is not None else ()
    notes += _cma_elsewhere(dumps, verdict.zones, deciding, decoding, request)
    if not notes:
        return verdict
    return replace(
        verdict, summary="; ".join([verdict.summary, *(short for short, _ in notes)]),
        explanation=" ".join([verdict.explanation, *(long for _, long in notes)]),
        context=tuple(long for _, long in notes))


def _order0_lists(result: CheckResult, zone: ZoneDump | None, rules: KernelRules,
                  decoding: GfpDecoding) -> CheckResult:
    """An order-0 request that passes the watermark check still needs a page on a list it may
    take. It is served through the per-cpu lists: rmqueue_bulk() -> __rmqueue() takes its own
    migratetype, CMA only for movable requests, and the fallbacks[] types (MIGRATE_RESERVE before
    4.4), never MIGRATE_HIGHATOMIC nor MIGRATE_ISOLATE (mm/page_alloc.c: buffered_rmqueue() 4.4-4.12,
    rmqueue() 4.13-5.19, rmqueue_buddy() 6.0-6.2 take HighAtomic only "if (order > 0 &&
    alloc_flags & ALLOC_HARDER)"). 6.3+ adds HighAtomic fallbacks for order 0 (ALLOC_OOM, then
    ALLOC_NON_BLOCK) that are not modelled: there the result stands. Corpus 158 (4.8): DMA32
    has 30 MB free, every block "(H)", and an order-0 GFP_ATOMIC request gets none of it."""
    if not result.ok or zone is None or not zone.buddy or rules.alloc_flags_era == "min_reserve":
        return result
    letters = [types for count, _, types in zone.buddy if count]
    if not letters or not all(letters):
        return result        # no migratetype letters printed: the lists are unknown
    allowed = rmqueue_lists("__GFP_MOVABLE" in decoding.bits, reserve=rules.per_order_loop)
    if any(not allowed.isdisjoint(types) for types in letters):
        return result
    return replace(
        result, ok=False, reason="no_free_block",
        explanation=f"{result.explanation.replace(' ok: ', ' passes the watermark check: ', 1)}, but every "
                    "free page is on a list this request may not take")


def _without_watermarks(results: tuple[CheckResult, ...], dumps: dict[tuple[int, str], ZoneDump],
                        order: int, page_kb: int, assumed: bool, in_reclaim: bool) -> Verdict:
    """ALLOC_NO_WATERMARKS (PF_MEMALLOC in reclaim, or __GFP_MEMALLOC): no watermark is tested,
    the request fails only when no zone it may use has a free block of order >= N on its buddy
    lists (mm/page_alloc.c __alloc_pages_slowpath -> get_page_from_freelist with
    ALLOC_NO_WATERMARKS, 3.x-6.18). Pages counted free but on other CPUs' per-cpu lists cannot
    serve it. Corpus 147: kswapd0, DMA free:56kB but every buddy count 0."""
    who = "reclaim itself (PF_MEMALLOC)" if in_reclaim else "__GFP_MEMALLOC"
    zones = []
    for r in results:
        zone = dumps.get((r.node, r.zone))
        blocks = [(count, kb) for count, kb, _ in (zone.buddy or ())] if zone is not None else []
        if not blocks:
            zones.append(r)      # no buddy line: nothing to read
            continue
        found = any(count and _order(kb, page_kb) >= order for count, kb in blocks)
        zones.append(replace(
            r, ok=found, reason="ok" if found else "no_free_block",
            explanation=f"Node {r.node} {r.zone}: " + (f"a free block of order >= {order} on its lists"
                                                       if found else f"no free block of order >= {order} on its lists")))
    known = [z for z in zones if z.reason in ("ok", "no_free_block")]
    details = "; ".join(z.explanation for z in known)
    if not known or any(z.ok for z in known):
        room = next((z for z in known if z.ok), None)
        return Verdict(
            "passes_on_dump", f"the dump shows room in {room.zone}" if room else "no buddy lines to read",
            f"An allocation by {who} ignores the watermarks; " + (
                f"Node {room.node} {room.zone} shows a free block of order >= {order}: it was freed "
                f"after the failure, or taken in between. Zone by zone: {details}." if room else
                "the dump prints no buddy lines to tell whether a free block existed."),
            tuple(zones), assumed)
    first = known[0]
    return Verdict(
        "empty_lists",
        f"no free block at all: {first.zone} {first.free * page_kb:,} kB counted free, none on its buddy lists",
        f"Exhaustion past every reserve: an allocation by {who} ignores the watermarks, and no zone it "
        f"may use had a free block of order >= {order} on its buddy lists; what the zone lines count "
        f"free ({first.free * page_kb:,} kB in {first.zone}) sat on per-cpu lists or was in flight. "
        f"Zone by zone: {details}.", tuple(zones), assumed)


def _highest_printable(dump: MemDump, order_of_zones: tuple[str, ...]) -> int:
    """An upper bound for the request's zone index from what the dump leaves out. warn_alloc
    prints every populated zone up to gfp_zone() of the request (mm/show_mem.c
    show_free_areas, max_zone_idx); a zone type above those printed that a printed zone's
    lowmem_reserve[] shows populated (its entry grows there) was above the request's zone.
    Corpus 147 (ppc32, 6.9): only DMA printed, "lowmem_reserve[]: 0 0 1280 1280": the populated
    type 2 is HighMem, so a GFP_KERNEL request's Normal is type 1, not x86-64's 2."""
    printed = [z for z in dump.zones if z.zone in order_of_zones]
    if not printed:
        return len(order_of_zones)
    top = max([order_of_zones.index(z.zone) for z in printed])
    for zone in printed:
        reserve = zone.lowmem_reserve or []
        for j in range(top + 1, len(reserve)):
            if reserve[j] > reserve[j - 1]:
                return j - 1
    return len(order_of_zones)


def _deciding(verdict: Verdict) -> CheckResult:
    """The zone the one line names: the fragmented one with most free, else the request's own."""
    fragmented = [r for r in verdict.zones if r.reason == "no_free_block"]
    return max(fragmented, key=lambda r: r.free_adj) if fragmented else verdict.zones[0]


def _context(zone: ZoneDump, decoding: GfpDecoding, request: Request) -> tuple[tuple[str, str], ...]:
    """What the zone's own counters add, (a few words, a sentence) each: page cache filling it,
    free memory the request could not use because it is CMA."""
    notes: list[tuple[str, str]] = []
    file_kb = zone.fields.get("active_file", 0) + zone.fields.get("inactive_file", 0)
    size_kb = zone.managed_kb or zone.present_kb
    if "inactive_file" in zone.fields and size_kb and file_kb >= T.CACHE_SHARE * size_kb:
        # heuristic share (thresholds.CACHE_SHARE): the zone is mostly page cache
        sleeps = decoding.can_sleep
        notes.append((
            f"page cache {file_kb / size_kb:.0%} of {zone.zone}",
            f"Page cache filled the zone: {zone.zone} held {file_kb:,} kB of file pages "
            f"({file_kb / size_kb:.0%} of its {size_kb:,} kB), "
            + ("reclaimable, yet reclaim did not free enough in time."
               if sleeps else "which kswapd reclaims but this request, unable to sleep, could not wait for.")))
    free_cma = zone.free_cma_kb or 0
    if cma_unusable(zone.free_kb, free_cma, decoding):
        notes.append((f"{free_cma:,} kB of it CMA, unusable here",
                      f"Of its {zone.free_kb:,} kB free, {free_cma:,} kB was CMA, which only movable "
                      f"allocations may use: this {request.value} request could not."))
    return tuple(notes)


def _cma_elsewhere(zones: dict[tuple[int, str], ZoneDump], results: tuple[CheckResult, ...],
                   deciding: CheckResult, decoding: GfpDecoding, request: Request) -> tuple[tuple[str, str], ...]:
    """The other replayed zones whose free memory was CMA the request could not use (corpus 154:
    DMA 142,188 kB free, free_cma 142,492 kB, every buddy block "(C)"). The two counters are
    read at different moments, so free_cma may exceed free. ``zones``: the dump's, by (node, name)."""
    notes = []
    for r in results:
        zone = zones.get((r.node, r.zone))
        if (r.node, r.zone) == (deciding.node, deciding.zone) or zone is None:
            continue
        if cma_unusable(zone.free_kb, zone.free_cma_kb, decoding):
            notes.append((f"{zone.zone} free is CMA, unusable here",
                          f"Node {r.node} {zone.zone} had {zone.free_kb:,} kB free and "
                          f"{zone.free_cma_kb:,} kB of free CMA, which only movable allocations "
                          f"may use: this {request.value} request could not use it."))
    return tuple(notes)


def cma_unusable(free: int | None, free_cma: int | None, decoding: GfpDecoding) -> bool:
    """Free memory was mostly (half or more: a heuristic share) CMA pageblocks, and the request
    may not use them: the watermark check leaves NR_FREE_CMA_PAGES out and __rmqueue() skips
    MIGRATE_CMA unless the request has ALLOC_CMA, which only movable requests get
    (mm/page_alloc.c gfp_to_alloc_flags(), 3.7 .. 6.18)."""
    return bool(free and free_cma and "__GFP_MOVABLE" not in decoding.bits and free_cma * 2 >= free)


def summary_cma(dump: MemDump, decoding: GfpDecoding) -> tuple[int, int] | None:
    """(free, free_cma) in pages from the dump's global summary when :func:`cma_unusable` holds
    there: the part of a dump that is left when its zone lines were cut (corpus 151)."""
    free, free_cma = dump.summary.get("free"), dump.summary.get("free_cma")
    return (free, free_cma) if cma_unusable(free, free_cma, decoding) else None


# mm/vmalloc.c __vmalloc_node_range() (5.15+): __get_vm_area_node() found no free range of
# virtual addresses; no page was asked of the buddy allocator.
VM_STRUCT_FAILED = "vm_struct allocation failed"


def no_replay(dump: MemDump | None, decoding: GfpDecoding | None, what: str = "") -> str:
    """Why there is no verdict, as one sentence, with what a dump without zone lines still says;
    ``what``: the header's words (a vm_struct failure asked for addresses, not pages)."""
    if VM_STRUCT_FAILED in what:
        return ("vm_struct allocation failed: the vmalloc address range had no free hole of this "
                "size; no page was asked of the page allocator, so there is no watermark check to "
                "replay.")
    if dump is None:
        return ("the log has no memory dump for this report, so the kernel's watermark check "
                "cannot be replayed.")
    text = ("the log has only part of the memory dump for this report (no zone lines), so the "
            "kernel's watermark check cannot be replayed")
    cma = summary_cma(dump, decoding) if decoding is not None else None
    if cma is None:
        return text + "."
    free, free_cma = cma
    return (f"{text}; its summary shows {free:,} free pages, {free_cma:,} of them ({free_cma / free:.0%}) "
            f"CMA, which only movable allocations may use: this {'|'.join(decoding.names)} "
            "request could not.")


def blocks_elsewhere(verdict: Verdict | None) -> bool:
    """The verdict is fragmentation with blocks of the order free only on lists the request may
    not take (its one line then ends "(only 217 x 8 kB (C), ...)", corpus 156)."""
    return verdict is not None and verdict.reason == "fragmented" and "usable block of order" in verdict.summary


def era_of_layout(layout: str) -> KernelVersion:
    """When the log names no kernel, the GFP layout of its mode still dates it: the first
    release of that layout ("4.4", "5.1-6.2", "2.6.32-4.3+rhel6"); the newest rules otherwise.

    >>> era_of_layout("5.1-6.2"), era_of_layout("2.6.32-4.3+rhel6").vendor
    (KernelVersion(major=5, minor=1, patch=0, release='', vendor=None), 'rhel6')
    """
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", layout)
    if match is None:
        return KernelVersion(6, 18, 0)
    vendor = layout.partition("+")[2] or None
    return KernelVersion(int(match[1]), int(match[2]), int(match[3] or 0), vendor=vendor)


def _zone_state(zone: ZoneDump, order_of_zones: tuple[str, ...], page_kb: int) -> ZoneState | None:
    if zone.free_kb is None or zone.min_kb is None or zone.zone not in order_of_zones:
        return None
    if zone.managed_kb == 0 or (zone.managed_kb is None and zone.present_kb == 0):
        return None   # an empty zone is in no zonelist (mm/page_alloc.c build_zonerefs_node)
    return ZoneState.from_kb(
        node=zone.node or 0, name=zone.zone, index=order_of_zones.index(zone.zone),
        free_kb=zone.free_kb, min_kb=zone.min_kb, low_kb=zone.low_kb or zone.min_kb,
        boost_kb=zone.boost_kb or 0, protection=zone.lowmem_reserve or (),
        free_cma_kb=zone.free_cma_kb or 0,
        reserved_highatomic_kb=zone.reserved_highatomic_kb or 0,
        free_highatomic_kb=zone.free_highatomic_kb or 0,
        managed_kb=zone.managed_kb, blocks=_free_blocks(zone.buddy, page_kb) if zone.buddy else None,
        page_size=page_kb * 1024,
    )


def _free_blocks(buddy: list[tuple[int, int, str]], page_kb: int) -> FreeBlocks:
    """A buddy line's blocks by order (their lists unknown when it prints no migratetype
    letters): as printed when its sizes are the page size doubled from order 0 on (every line a
    kernel prints whole), else each entry put at its size's order, orders it lacks empty
    (:func:`_by_size`)."""
    counts, sizes, letters = zip(*buddy)
    if sizes != _order_sizes(page_kb, len(sizes)):
        counts, letters = _by_size(buddy, page_kb)
    return FreeBlocks.from_letters(counts, letters) if any(letters) else FreeBlocks.from_buddyinfo(counts)


@functools.lru_cache(maxsize=64)   # (page size, orders printed): a handful per log
def _order_sizes(page_kb: int, orders: int) -> tuple[int, ...]:
    return tuple(page_kb << order for order in range(orders))


def _by_size(buddy: list[tuple[int, int, str]], page_kb: int) -> tuple[list[int], list[str]]:
    """(counts, letters) by order of a buddy line's entries, each put at its size's order."""
    orders = [_order(kb, page_kb) for _, kb, _ in buddy]
    counts = [0] * (max(orders) + 1)
    letters = [""] * len(counts)
    for (count, _, types), order in zip(buddy, orders):
        counts[order] = count
        letters[order] = types
    return counts, letters


def _order(block_kb: int, page_kb: int) -> int:
    return max(0, (block_kb // page_kb).bit_length() - 1)


def _blocks_unusable(zone: ZoneDump | None, order: int, page_kb: int) -> str:
    """The free blocks of order >= ``order`` the dump shows for a zone whose check found none
    usable, as words ("1 block of 32 kB (H)"), "" when there are none."""
    if zone is None or not zone.buddy:
        return ""
    found = [f"{count} x {kb} kB" + (f" ({types})" if types else "")
             for count, kb, types in zone.buddy if count and _order(kb, page_kb) >= order]
    return ", ".join(found)


# Buddy-line letters of the lists no ordinary request falls back to (mm/page_alloc.c
# show_migration_types(), 4.4+; "R" MIGRATE_RESERVE before 4.4 is a fallback of every type).
_LIST_NAMES = {"H": "HighAtomic", "C": "CMA", "I": "Isolate"}
_HIGHATOMIC = ("; HighAtomic pageblocks are the reserve the kernel keeps for high-order atomic "
               "requests (4.4+), given back only from direct reclaim (unreserve_highatomic_pageblock())")


def _list_names(zone: ZoneDump | None) -> str:
    """The reserved lists a zone's free blocks sit on, in words ("HighAtomic", "CMA")."""
    letters = {t for _, _, types in (zone.buddy if zone is not None and zone.buddy else ()) for t in types}
    return " and ".join(_LIST_NAMES[t] for t in sorted(letters) if t in _LIST_NAMES) or "reserved"


def _highatomic_cap(zone: ZoneDump | None, page_kb: int) -> tuple[int, int] | None:
    """(kB free on HighAtomic-only lists, the most the reserve may hold) when every unusable
    block is "(H)": reserve_highatomic_pageblock() stops at managed/100 + one pageblock (4.4-6.6,
    mm/page_alloc.c); the pageblock is taken at its largest for 4 kB pages (order 10, 4 MB) so
    "more than the cap" is never claimed wrongly. None when the dump cannot tell."""
    if zone is None or not zone.buddy or not zone.managed_kb or page_kb != 4:
        return None
    if any(count and types and set(types) - {"H"} for count, _, types in zone.buddy):
        return None
    held = sum(count * block_kb for count, block_kb, types in zone.buddy if types == "H")
    return held, zone.managed_kb // 100 + (page_kb << 10)


def _cap_words(held: int, cap: int) -> str:
    if held > cap:
        return (f"; it held {held:,} kB, more than its cap of about {cap:,} kB (1% of the zone plus a "
                "pageblock): the reserve grew past its limit")
    return (f"; it held {held:,} kB, within its cap of about {cap:,} kB (1% of the zone plus a "
            "pageblock): other allocations had taken every page outside it")


def _verdict(results: tuple[CheckResult, ...], order: int, request: Request, page_kb: int,
             assumed: bool, dumps: dict[tuple[int, str], ZoneDump]) -> Verdict:
    kb = lambda pages: f"{pages * page_kb:,} kB"  # noqa: E731
    asked = f"an order-{order} {request.value} request"
    details = "; ".join([r.explanation for r in results])
    ok = next((r for r in results if r.ok), None)
    if ok is not None:
        return Verdict(
            "passes_on_dump", f"the dump shows room in {ok.zone}",
            f"Replaying the kernel's check on the printed dump, {asked} would pass in Node {ok.node} "
            f"{ok.zone} ({kb(ok.free_adj)} usable free > {kb(ok.needed)} needed): the dump was taken "
            f"after the failure and memory was freed in between, or pages sat on per-cpu lists. "
            f"Zone by zone: {details}.", results, assumed)
    fragmented = [r for r in results if r.reason == "no_free_block"]
    if fragmented:
        worst = max(fragmented, key=lambda r: r.free_adj)
        size = f"{(1 << order) * page_kb} kB contiguous"
        if worst.short_order is not None:
            # before 4.4 the check wants the pages in blocks of order >= k to exceed min >> k
            k = worst.short_order
            zone = dumps.get((worst.node, worst.zone))
            in_blocks = sum(count * block_kb for count, block_kb, _ in (zone.buddy or ())
                            if _order(block_kb, page_kb) >= k) if zone is not None else None
            held = f"{in_blocks:,} kB" if in_blocks is not None else kb(worst.short_free)
            return Verdict(
                "fragmented",
                f"fragmented: {kb(worst.free_adj)} free in {worst.zone}, {held} of it in blocks of "
                f"order >= {k}, not above {kb(worst.short_need)}",
                f"Fragmentation, not exhaustion: Node {worst.node} {worst.zone} had "
                f"{kb(worst.free_adj)} free, above the {kb(worst.needed)} this request must leave, "
                f"but only {held} of it in blocks of order >= {k}; this kernel's check (before 4.4) "
                f"wants the pages it counts there ({worst.short_free}) above the mark halved per "
                f"order ({worst.short_need} pages) for {asked} ({size}). Zone by zone: {details}.",
                results, assumed)
        elsewhere = _blocks_unusable(dumps.get((worst.node, worst.zone)), order, page_kb)
        if order == 0:
            # enough free pages, none on a list an order-0 request takes (corpus 158: all "(H)")
            zone = dumps.get((worst.node, worst.zone))
            lists = _list_names(zone)
            cap = _highatomic_cap(zone, page_kb)
            return Verdict(
                "unusable_lists",
                f"unusable lists: {kb(worst.free_adj)} free in {worst.zone}, all on {lists} free lists"
                + (f", more than the reserve's cap (~{cap[1]:,} kB)" if cap and cap[0] > cap[1] else ""),
                f"Not exhaustion: Node {worst.node} {worst.zone} had {kb(worst.free_adj)} free, above "
                f"the {kb(worst.needed)} this request must leave, but every free page sat on {lists} "
                f"free lists ({elsewhere}), which {asked} may not take: order-0 pages come through "
                f"the per-cpu lists, refilled by __rmqueue() from the request's own migratetype and "
                f"its fallbacks only{_HIGHATOMIC if 'HighAtomic' in lists else ''}"
                + (_cap_words(*cap) if cap else "") + f". Zone by zone: {details}.",
                results, assumed)
        where = (f"its blocks of order >= {order} ({elsewhere}) sat on free lists {asked} may not use"
                 if elsewhere else f"there was no free block of order >= {order} at all")
        return Verdict(
            "fragmented",
            f"fragmented: {kb(worst.free_adj)} free in {worst.zone} but no "
            + (f"usable block of order >= {order} (only {elsewhere})" if elsewhere
               else f"block of order >= {order}"),
            f"Fragmentation, not exhaustion: Node {worst.node} {worst.zone} had {kb(worst.free_adj)} "
            f"free, above the {kb(worst.needed)} this request must leave, but {where} ({size}). "
            f"Zone by zone: {details}.", results, assumed)
    preferred = results[0]    # zonelist order: the request's own zone comes first
    protected = [r.zone for r in results[1:] if r.reason == "protected"]
    held = (f"; {', '.join(protected)} had more free but lowmem protection keeps it for "
            "lower-zone callers" if protected else "")
    return Verdict(
        "below_watermark",
        f"below watermark: {preferred.zone} {kb(preferred.free_adj)} free <= {kb(preferred.needed)}",
        f"Exhaustion: every zone was at or below the floor {asked} may use. Its own zone, Node "
        f"{preferred.node} {preferred.zone}, had {kb(preferred.free_adj)} usable free against a "
        f"floor of {kb(preferred.floor)} (min {kb(preferred.mark)} less the part this request may "
        f"take) plus {kb(preferred.protection)} lowmem protection{held}. Zone by zone: {details}.",
        results, assumed)
