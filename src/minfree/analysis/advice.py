"""What to do about one failure event, from what its explanation shows: one place for the text
and JSON outputs alike.

The advice follows the evidence and the report's kernel:

* the request class: one that could sleep failed after reclaim (and compaction) gave up, so the
  memory is held somewhere; GFP_NOIO/GFP_NOFS reclaim is limited and GFP_NOIO skips compaction;
  one that cannot sleep lives on the reserve below the min watermark; GFP_NOWAIT gets no share
  of that reserve; ``__GFP_MEMALLOC`` ignores the watermarks altogether;
* the order: above PAGE_ALLOC_COSTLY_ORDER no reserve makes such blocks reliably;
* the verdict: "fragmented" only when the replayed dump shows it; with no dump, say so;
* the kernel: only knobs that exist on it (``compact_memory`` 2.6.35+, ``watermark_scale_factor``
  4.6+); with no known kernel, each knob names the release it needs.
"""
from __future__ import annotations

from typing import Any

from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.origin import is_rx_buffer
from minfree.analysis.verdict import VM_STRUCT_FAILED, blocks_elsewhere, summary_cma
from minfree.model.record import record
from minfree.model.rules import PAGE_ALLOC_COSTLY_ORDER, KernelRules

_DOCTOR = "(run `minfree doctor` on the host for its numbers)"


@record
class Advice:
    """One thing to do (or to know), and the kernel knobs it names."""

    key: str            # stable identifier, e.g. "raise_min_free", "costly_order"
    text: str
    knobs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "text": self.text, "knobs": list(self.knobs)}


def _size(order: int) -> str:
    kib = 4 << order
    return f"{kib // 1024} MiB" if kib >= 1024 else f"{kib} KiB"


def _knobs(e: ExplainedEvent) -> tuple[bool | None, bool | None]:
    """(compaction exists, watermark_scale_factor exists) on the report's kernel; None: unknown."""
    if e.kernel is None:
        return None, None
    rules = KernelRules.for_version(e.kernel)
    return rules.has_compaction, rules.watermark_scale_factor_max > 0


def _compact(e: ExplainedEvent, why: str) -> Advice:
    has_compaction, _ = _knobs(e)
    if has_compaction is False:
        return Advice("no_compaction", f"{why}; this kernel ({e.kernel.release}) predates compaction "
                      "(2.6.35): only freeing memory rebuilds blocks (`sync; echo 1 > "
                      "/proc/sys/vm/drop_caches`), and a larger vm.min_free_kbytes keeps more of "
                      "them whole", ("vm.drop_caches", "vm.min_free_kbytes"))
    since = " (2.6.35+)" if has_compaction is None else ""
    return Advice("compact", f"{why}: compaction (`echo 1 > /proc/sys/vm/compact_memory`{since}) "
                  "rebuilds them at once", ("vm.compact_memory",))


def _gap(e: ExplainedEvent) -> Advice:
    """Headroom above min that kswapd refills: watermark_scale_factor where it exists."""
    _, has_wsf = _knobs(e)
    if has_wsf is False:
        return Advice("raise_min_free_gap", "on this kernel (before 4.6) the gaps above min are fixed "
                      "shares of it (low = min + min/4, high = min + min/2): raising "
                      f"vm.min_free_kbytes is the only way to widen them {_DOCTOR}",
                      ("vm.min_free_kbytes",))
    since = " (4.6+)" if has_wsf is None else ""
    return Advice("raise_watermark_scale_factor", "widen the gap kswapd keeps free above min with "
                  f"vm.watermark_scale_factor{since}, so it starts reclaiming before a burst reaches "
                  f"min {_DOCTOR}", ("vm.watermark_scale_factor",))


def _costly(e: ExplainedEvent, order: int, cma_held: bool) -> Advice:
    """What makes a costly-order request succeed: not a reserve. CMA (cma=) needs 3.5+ and
    kvmalloc 4.12+; vmalloc always exists. A CMA area is not offered when the dump shows CMA
    already holding the free memory this request could not use."""
    kernel = e.kernel.base if e.kernel is not None else None
    ways = ["make the caller ask for less (a driver or module parameter: ring or buffer size, MTU)",
            "allocate it at boot (a boot parameter sizing the table or pool)"]
    if not cma_held and (kernel is None or kernel >= (3, 5, 0)):
        ways.append("reserve a CMA area (cma=" + (", 3.5+)" if kernel is None else ")"))
    ways.append("have the caller use vmalloc" + ("/kvmalloc" if kernel is None or kernel >= (4, 12, 0) else ""))
    compaction, _ = _knobs(e)
    if compaction is not False:
        ways.append("compact memory just before it asks (`echo 1 > /proc/sys/vm/compact_memory`"
                    + (", 2.6.35+)" if compaction is None else ")"))
    return Advice("costly_order", f"order {order} is {1 << order} contiguous pages ({_size(order)}), "
                  f"above the kernel's costly order ({PAGE_ALLOC_COSTLY_ORDER}): no reserve keeps "
                  "blocks that large, so vm.min_free_kbytes does not fix it; " + ", or ".join(ways),
                  ("vm.compact_memory",) if compaction is not False else ())


def advise(e: ExplainedEvent) -> tuple[Advice, ...]:
    """What to do for this event, most important first."""
    dec = e.decoding
    order = e.event.order
    costly = order is not None and order > PAGE_ALLOC_COSTLY_ORDER
    verdict = e.verdict.reason if e.verdict is not None else None
    compaction, _ = _knobs(e)
    items: list[Advice] = []
    victim = e.event.oom_nearby
    if victim is not None and not victim.memcg:
        rss = f", anon-rss {victim.anon_rss_kb:,} kB" if victim.anon_rss_kb is not None else ""
        items.append(Advice("oom_nearby", f"the OOM killer killed {victim.comm} (pid {victim.pid}{rss}) "
                            "next to this failure: processes had taken the memory, so no reserve "
                            "setting is the fix; bound that workload (a cgroup memory limit) or add "
                            "memory"))
    if e.event.oom_killer_disabled:
        items.append(Advice("suspend", "the log says the OOM killer was disabled: a suspend or "
                            "hibernation was under way, when the kernel also masks __GFP_IO and "
                            "__GFP_FS from every allocation (pm_restrict_gfp_mask), so reclaim could "
                            "write nothing out and nothing could be killed to free memory; have more "
                            "free before suspending (hibernation: a smaller /sys/power/image_size) or "
                            "find what allocates that much during it (a GPU driver saving VRAM)"))
    if VM_STRUCT_FAILED in e.event.what:
        items.append(Advice("vmalloc_space", "vm_struct allocation failed: the vmalloc address "
                            "range had no free hole of this size, physical memory was not the "
                            "limit: see what fills it (/proc/vmallocinfo; modules and BPF JIT "
                            "images use their own smaller range), and on 32-bit kernels enlarge it "
                            "with the vmalloc= boot parameter"))
        return tuple(items)
    if verdict == "empty_lists":
        # ALLOC_NO_WATERMARKS found nothing: no reserve was left to dip into (corpus 147)
        items.append(Advice("reserves_exhausted", "the allocation ignored every watermark (reclaim's "
                            "PF_MEMALLOC or __GFP_MEMALLOC) and still found no free page: memory "
                            "was used up past all reserves, so no reserve setting is the fix; find "
                            "what holds it (unreclaimable slab, a full swap, OOM kills nearby) or "
                            "add memory"))
        return tuple(items)
    if dec is None:
        items.append(Advice("unknown_mode", "the report names no allocation mode: what the request "
                            "could do is unknown"))
    elif dec.request_class == "memalloc":
        items.append(Advice("memalloc", "__GFP_MEMALLOC ignores every watermark: a failure means the "
                            "zones had no free block of this order at all, so no reserve setting is "
                            "the fix; find what exhausted memory (OOM kills, swap over NFS/NBD "
                            "writeback)"))
    elif dec.can_sleep:
        if "__GFP_IO" not in dec.bits:
            items.append(Advice("noio", "GFP_NOIO: reclaim could not start I/O and compaction is "
                                "skipped without __GFP_IO, so only memory already free could serve "
                                "it: keep more free (vm.min_free_kbytes) and check the caller uses a "
                                "mempool", ("vm.min_free_kbytes",)))
        elif "__GFP_FS" not in dec.bits:
            items.append(Advice("nofs", "GFP_NOFS: reclaim could not enter the filesystem (no "
                                "writeback, no dentry/inode shrinking), so dirty and cached "
                                "filesystem pages stayed: keep more free (vm.min_free_kbytes) and "
                                "look at dirty page limits (vm.dirty_ratio)",
                                ("vm.min_free_kbytes", "vm.dirty_ratio")))
        else:
            compacted = " and compaction" if order and compaction is not False else ""
            items.append(Advice("memory_held", f"this allocation could sleep, so it failed after "
                                f"reclaim{compacted} gave up: look at what holds memory (OOM kills "
                                "nearby, cgroup limits, unreclaimable slab) before raising reserves"))
    elif dec.request_class == "GFP_NOWAIT":
        items.append(Advice("nowait", "GFP_NOWAIT gets no share of the min reserve: its floor is min "
                            "itself, so a larger vm.min_free_kbytes raises that floor as much as "
                            "the memory above it and does not help directly"))
        items.append(_gap(e))
    elif verdict == "unusable_lists":
        summary = e.verdict.summary
        text = "the free pages sat on free lists this request may not take"
        knobs: tuple[str, ...] = ()
        if "HighAtomic" in summary and "more than the reserve's cap" not in summary:
            text += ("; the HighAtomic reserve was within its cap, so every page outside it had been "
                     "allocated: a larger vm.min_free_kbytes keeps more free outside it (kswapd "
                     f"counts the reserve out and starts sooner) {_DOCTOR}")
            knobs = ("vm.min_free_kbytes",)
        else:
            text += ", so no watermark setting would have served it"
            if "HighAtomic" in summary:
                text += ("; a HighAtomic reserve past its cap (about 1% of the zone) is itself the "
                         "fault, worth reporting with the kernel release")
        if "CMA" in summary:
            text += "; the CMA area is sized by the cma= boot parameter or the device tree"
        items.append(Advice("reserved_lists", text, knobs))
    elif not costly:
        items.append(_raise_reserve(e))
    if order and is_rx_buffer(e.origin, e.frames):
        items.append(Advice("rx_buffer_order", f"a receive buffer of {1 << order} contiguous pages "
                            f"({_size(order)}) is sized for jumbo frames (a 1500-byte MTU needs one "
                            "page): a smaller MTU, or a driver mode that receives into single pages, "
                            "removes the need for such blocks in softirq"))
    cma = summary_cma(e.dump, dec) if e.dump is not None and dec is not None else None
    if cma is not None:
        free, free_cma = cma
        items.append(Advice("cma_unusable", f"{free_cma:,} of the {free:,} free pages were CMA, "
                            "which only movable (user and page-cache) allocations may use, so this "
                            f"request saw {free - free_cma:,} free pages: a smaller CMA reservation (the cma= "
                            "boot parameter or the device tree's linux,cma size) leaves more to it, "
                            "or a driver that needs large buffers takes them from the CMA area "
                            "(dma_alloc_coherent with a CMA-backed device)"))
    if costly:
        items.append(_costly(e, order, cma is not None))
    elif order and verdict == "fragmented":
        per_order = any(r.short_order is not None for r in e.verdict.zones)
        items.append(_compact(e, f"the dump shows blocks of {_size(order)} and more only on free lists "
                              "this request may not take (CMA, highatomic or isolated)"
                              if blocks_elsewhere(e.verdict) else
                              # before 4.4 the check wants enough pages in large blocks, not one
                              # (corpus 002, tests/corpus 161: some blocks of the order were free)
                              f"the dump shows too little free memory in blocks of {_size(order)} and "
                              "more for this kernel's per-order check" if per_order else
                              f"the dump shows free memory only in blocks smaller than {_size(order)}"))
    if order and e.verdict is None and e.event.kind == "page":
        has = ("has only part of the memory dump (no zone or buddy lines)" if e.dump is not None
               else "has no memory dump")
        items.append(Advice("dump_missing", f"the log {has} for this report, so whether free "
                            "memory was fragmented or exhausted is unknown: read /proc/buddyinfo on "
                            "the host (`minfree doctor`) while it happens"))
    return tuple(items)


def _raise_reserve(e: ExplainedEvent) -> Advice:
    """The reserve a non-sleeping request lives on, and the two levers `minfree tune` sizes (its
    policy: min_free_kbytes is the floor, watermark_scale_factor how early kswapd refills it)."""
    _, has_wsf = _knobs(e)
    text = ("an allocation that cannot sleep lives on the reserve below the min watermark: raise "
            "vm.min_free_kbytes so that reserve covers the burst")
    if has_wsf is False:
        return Advice("raise_min_free", f"{text} {_DOCTOR}", ("vm.min_free_kbytes",))
    since = " (4.6+)" if has_wsf is None else ""
    return Advice("raise_min_free", f"{text}, or vm.watermark_scale_factor{since} so that kswapd refills "
                  f"it sooner; `minfree tune` sizes both {_DOCTOR}",
                  ("vm.min_free_kbytes", "vm.watermark_scale_factor"))


def advice(e: ExplainedEvent) -> str:
    """The advice as one line of text."""
    return "; ".join(a.text for a in advise(e)) + "."
