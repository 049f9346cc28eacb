"""Which failed page allocations matter: a class for each, from its GFP flags, order and stack.

The rules, first match wins (the GFP bits are decoded with the running kernel's own table):

1. ``logged``: no ``__GFP_NOWARN``. The allocator's slow path ends in ``warn_alloc()``
   (mm/page_alloc.c, 5.10-6.18), which prints ``page allocation failure`` unless its
   ratelimit (``nopage_rs``: 10 per 5 s, then ``warn_alloc: N callbacks suppressed``)
   swallows it. The kernel log shows these, or counts them as suppressed.
2. ``opportunistic``: ``__GFP_NOWARN``, order > 0, and either a call site known to fall back
   to a smaller size (below: ``skb_page_frag_refill`` tries order 3 then order 0,
   net/core/sock.c; SLUB ``allocate_slab`` tries ``oo`` then ``min``, mm/slub.c; THP and
   mTHP fall back to small pages; ``kvmalloc`` falls back to vmalloc; ``alloc_skb_with_frags``
   lowers its order) or, without a known site, ``__GFP_NORETRY`` (the kernel's idiom for
   "try a large block cheaply, fall back"; a heuristic when no stack names the caller).
   A fragmentation signal, not a loss. Also at order 0, a call site known to do the work
   another way when its page does not come (the mmu_gather batches of mm/mmu_gather.c, 6.18:
   ``tlb_next_batch`` flushes at once, ``tlb_remove_table`` frees the table synchronously;
   both GFP_NOWAIT, seen failing live when free memory sat at the min watermark).
3. ``silent_atomic``: ``__GFP_NOWARN`` and no direct reclaim (GFP_ATOMIC, GFP_NOWAIT): the
   caller could not wait, nothing was logged, no /proc/vmstat counter moved, and no known
   fallback: a lost packet, a dropped request. The headline number.
4. ``silent_blocking``: ``__GFP_NOWARN`` with direct reclaim: reclaim (and compaction for
   order > 0) ran and still failed; the caller copes in its own way (a hugetlb pool that
   stays smaller, readahead skipped). Memory was short, nothing was lost in flight.

A known call site is the first stack frame outside the page allocator and the large-kmalloc
path that hands the caller's flags to it unchanged (``_noprof`` suffixes and ``.isra.N``-style
clones ignored).
"""
from __future__ import annotations


from minfree.model.gfp import GfpDecoding
from minfree.model.record import record, replace

LOGGED = "logged"
OPPORTUNISTIC = "opportunistic"
SILENT_ATOMIC = "silent_atomic"
SILENT_BLOCKING = "silent_blocking"
CLASSES = (SILENT_ATOMIC, LOGGED, OPPORTUNISTIC, SILENT_BLOCKING)

#: What each class means, in one line (render and --json share these).
MEANING = {
    LOGGED: "no __GFP_NOWARN: the kernel log shows it (or counts it as suppressed)",
    OPPORTUNISTIC: "a try with a fallback (high order: a fragmentation signal): not a loss",
    SILENT_ATOMIC: "could not sleep, nothing logged, no fallback: real loss",
    SILENT_BLOCKING: "reclaim ran and still failed; the caller copes, nothing logged",
}

#: Page allocator frames (mm/page_alloc.c, mm/mempolicy.c, include/linux/gfp.h, the trace
#: event itself), skipped to find the caller.
_ALLOCATOR = frozenset({
    "__alloc_pages", "__alloc_pages_slowpath", "__alloc_frozen_pages", "alloc_frozen_pages",
    "alloc_pages", "alloc_pages_mpol", "alloc_pages_node", "__alloc_pages_node",
    "alloc_pages_exact", "alloc_pages_exact_nid", "__get_free_pages", "get_zeroed_page",
    "__folio_alloc", "folio_alloc", "folio_alloc_mpol", "__folio_alloc_node",
    "alloc_pages_vma", "alloc_pages_current", "alloc_pages_nodemask", "__alloc_pages_nodemask",
    "alloc_frozen_pages_nolock", "alloc_pages_bulk", "__alloc_pages_bulk", "alloc_slab_page",
    "get_free_pages",  # 6.10+ name of __get_free_pages (with _noprof)
    # kmalloc above KMALLOC_MAX_CACHE_SIZE goes to the page allocator with the caller's flags
    # (mm/slub.c ___kmalloc_large_node, 6.1-6.18; kmalloc_large before 6.1)
    "___kmalloc_large_node", "__kmalloc_large_node", "__kmalloc_large", "kmalloc_large",
    "kmalloc_large_node", "__do_kmalloc_node", "__kmalloc_node", "__kmalloc",
    "__kmalloc_node_track_caller", "kmalloc_node_track_caller",
})

#: The tracing code itself: tracefs and perf events, the tracepoint iterator, an eBPF program
#: and its raw-tracepoint glue (kernel/trace/bpf_trace.c).
_TRACING = ("trace_event_raw_event_", "perf_trace_", "__traceiter_", "bpf_prog_", "__bpf_trace_",
            "bpf_trace_run")

#: Callers that fall back to a smaller allocation when a high-order one fails.
FALLBACK_SITES = {
    "skb_page_frag_refill": "net/core/sock.c: order 3, then order 0",
    "page_frag_refill": "mm/page_frag_cache.c: order 3, then order 0",
    "__page_frag_cache_refill": "mm/page_frag_cache.c: order 3, then order 0",
    "allocate_slab": "mm/slub.c: the cache's preferred order, then its minimum",
    "alloc_skb_with_frags": "net/core/skbuff.c: lowers the order and retries",
    "__kvmalloc_node": "mm/util.c: kmalloc try, then vmalloc",
    "kvmalloc_node": "mm/util.c: kmalloc try, then vmalloc",
    "vma_alloc_folio": "THP/mTHP fault: falls back to small pages",
    "alloc_anon_folio": "mTHP fault: falls back to smaller folios",
    "do_huge_pmd_anonymous_page": "THP fault: falls back to small pages",
    "__do_huge_pmd_anonymous_page": "THP fault: falls back to small pages",
    "alloc_hugepage_vma": "THP fault: falls back to small pages",
    "collapse_huge_page": "khugepaged: retries later",
    "hpage_collapse_alloc_folio": "khugepaged: retries later",
    "khugepaged_alloc_page": "khugepaged: retries later",
    "page_cache_ra_order": "large-folio readahead: falls back to order 0",
    "ra_alloc_folio": "large-folio readahead: falls back to order 0",
}

#: Callers that do the work another way when even an order-0 page does not come (no loss).
ORDER0_FALLBACK_SITES = {
    "tlb_next_batch": "mm/mmu_gather.c: flushes the TLB and frees the gathered pages at once",
    "tlb_remove_table": "mm/mmu_gather.c: frees the page table synchronously (tlb_remove_table_one)",
}

#: Callers whose sleeping __GFP_NOWARN failure has a name worth printing.
COPING_SITES = {
    "alloc_buddy_hugetlb_folio": "hugetlb pool growth: the pool stays smaller",
    "alloc_buddy_huge_page": "hugetlb pool growth: the pool stays smaller",
    "alloc_fresh_hugetlb_folio": "hugetlb pool growth: the pool stays smaller",
    "only_alloc_fresh_hugetlb_folio": "hugetlb pool growth: the pool stays smaller",
    "alloc_pool_huge_folio": "hugetlb pool growth: the pool stays smaller",
    "page_cache_ra_unbounded": "readahead: skipped",
}


@record
class Classified:
    """The class of one failed allocation (``logged``, ``opportunistic``, ``silent_atomic`` or
    ``silent_blocking``: module doc) and the reason the rule gives."""

    klass: str
    site: str | None  # the first caller outside the page allocator, when a stack was seen
    reason: str


def _base(frame: str) -> str:
    """A frame's function name without offset, clone suffix or ``_noprof``.

    >>> _base("alloc_buddy_hugetlb_folio.isra.0"), _base("folio_alloc_noprof+0x1a/0x40")
    ('alloc_buddy_hugetlb_folio', 'folio_alloc')
    """
    name = frame.split("+", 1)[0].split(".", 1)[0]
    return name.removesuffix("_noprof")


def call_site(stack: tuple[str, ...]) -> str | None:
    """The first frame outside the tracing code and the page allocator (innermost first).

    >>> call_site(("trace_event_raw_event_mm_page_alloc", "__alloc_frozen_pages_noprof",
    ...            "alloc_pages_mpol", "alloc_pages_noprof", "skb_page_frag_refill", "try_fill_recv"))
    'skb_page_frag_refill'
    >>> call_site(("__traceiter_mm_page_alloc", "__alloc_frozen_pages_noprof",
    ...            "only_alloc_fresh_hugetlb_folio.isra.0", "alloc_pool_huge_folio"))
    'only_alloc_fresh_hugetlb_folio'
    >>> call_site(()) is None
    True
    """
    for frame in stack:
        name = _base(frame)
        if name in _ALLOCATOR or name.startswith(_TRACING):
            continue
        return name
    return None


def classify(gfp: GfpDecoding, order: int, stack: tuple[str, ...] = ()) -> Classified:
    """The class of one failed allocation (rules in the module docstring).

    Real records: Debian 6.1 (kernel-failures, no stack) and this machine's 6.18 (stacks):

    >>> from minfree.model.gfp import decode, layout_for
    >>> from minfree.model.kversion import KernelVersion
    >>> six = layout_for(KernelVersion(6, 1, 0))
    >>> classify(decode(0xa20, layout=six), 1).klass                     # GFP_ATOMIC
    'logged'
    >>> classify(decode(0x2a20, layout=six), 2).klass                    # GFP_ATOMIC|__GFP_NOWARN
    'silent_atomic'
    >>> classify(decode(0x12cc0, layout=six), 4).klass                   # GFP_KERNEL|NOWARN|NORETRY
    'opportunistic'
    >>> classify(decode(0x12cc0, layout=six), 0).klass
    'silent_blocking'
    >>> c = classify(decode(0x52a20, layout=six), 3, ("alloc_pages_noprof", "skb_page_frag_refill"))
    >>> c.klass, c.site
    ('opportunistic', 'skb_page_frag_refill')

    Seen live here at the min watermark (GFP_NOWAIT = __GFP_KSWAPD_RECLAIM|__GFP_NOWARN, 6.18):

    >>> six18 = layout_for(KernelVersion(6, 18, 0))
    >>> tlb = ("bpf_prog_97c55ef17ec5fa69_minfree_trace", "bpf_trace_run4", "__traceiter_mm_page_alloc",
    ...        "__alloc_frozen_pages_noprof", "alloc_pages_mpol", "alloc_pages_noprof",
    ...        "get_free_pages_noprof", "tlb_next_batch", "__tlb_remove_folio_pages")
    >>> c = classify(decode(0x2800, layout=six18), 0, tlb)
    >>> c.klass, c.site
    ('opportunistic', 'tlb_next_batch')
    >>> classify(decode(0x2800, layout=six18), 0, tlb[:7] + ("pte_alloc_one",)).klass
    'silent_atomic'

    A charged request (``__GFP_ACCOUNT``) may have been refused by its memory cgroup's limit
    rather than by the buddy allocator (seen live: kvmalloc's try at a cgroup's limit):

    >>> kv = ("__alloc_frozen_pages_noprof", "___kmalloc_large_node", "__kvmalloc_node_noprof", "alloc_fdtable")
    >>> print(classify(decode(0x4428c0, layout=six18), 6, kv).reason)
    __kvmalloc_node falls back (mm/util.c: kmalloc try, then vmalloc); __GFP_ACCOUNT: a memory cgroup's limit may have refused it, not free memory
    """
    result = _classify(gfp, order, call_site(stack))
    if "__GFP_ACCOUNT" in gfp.bits:
        # mm/page_alloc.c __alloc_frozen_pages (6.18): a failed memcg charge frees the page
        # and the tracepoint reports NULL, like a failed allocation
        return replace(result, reason=result.reason + "; __GFP_ACCOUNT: a memory cgroup's limit may have "
                                                      "refused it, not free memory")
    return result


def _classify(gfp: GfpDecoding, order: int, site: str | None) -> Classified:
    if not gfp.nowarn:
        return Classified(LOGGED, site, "no __GFP_NOWARN: warn_alloc() reports it (rate-limited)")
    fallback = FALLBACK_SITES.get(site or "") if order > 0 else ORDER0_FALLBACK_SITES.get(site or "")
    if fallback:
        return Classified(OPPORTUNISTIC, site, f"{site} falls back ({fallback})")
    if order > 0 and "__GFP_NORETRY" in gfp.bits and site not in COPING_SITES:
        return Classified(OPPORTUNISTIC, site,
                          "order > 0 with __GFP_NORETRY|__GFP_NOWARN: a cheap try with a fallback"
                          + ("" if site else " (heuristic: no stack named the caller)"))
    if not gfp.can_sleep:
        return Classified(SILENT_ATOMIC, site, f"{gfp.request_class} with __GFP_NOWARN: could not sleep, "
                          "nothing logged" + (f", {site} has no known fallback" if site else ""))
    why = COPING_SITES.get(site or "", "the caller handles the failure")
    return Classified(SILENT_BLOCKING, site, f"may sleep, reclaim ran and failed; {why}")
