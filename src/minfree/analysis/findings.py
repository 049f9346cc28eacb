"""The doctor's rules: each small, named, with a severity, the evidence it used, a plain
explanation and the fix. Thresholds live in :mod:`minfree.analysis.thresholds`."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from minfree.analysis import thresholds as T
from minfree.analysis.depletion import Depletion, OrderDepth
from minfree.analysis.failed_allocations import FailedAllocations, severity as failed_severity
from minfree.analysis.nic import receive_order
from minfree.analysis.rates import Activity
from minfree.analysis.zones import ZonesReport
from minfree.model.min_free import MinFreeResult
from minfree.model.record import record
from minfree.proc.system import SystemState

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from typing import Any

    from minfree.analysis.scan_report import ScanReport

SEVERITIES = ("info", "warning", "critical")


@record(frozen=False)
class Finding:
    """One finding of a doctor rule: its id, severity (``SEVERITIES``), title, the evidence it used,
    a plain explanation and the fix."""

    id: str
    severity: str
    title: str
    evidence: dict[str, Any]
    explanation: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "title": self.title,
                "evidence": self.evidence, "explanation": self.explanation, "fix": self.fix}


@record(frozen=False)
class Context:
    """What the doctor's rules read: the machine, its zones, activity over the window, the failures in
    its log, the kernel's default min_free_kbytes, atomic depletion and the in-kernel failure count."""

    state: SystemState
    zones: ZonesReport
    activity: Activity | None
    failures: ScanReport | None
    default: MinFreeResult | None
    depletion: Depletion | None = None
    failed: FailedAllocations | None = None

    @property
    def mem_total_kb(self) -> int | None:
        managed = self.state.managed_kb()
        return managed or (self.state.meminfo.mem_total_kb if self.state.meminfo else None)


Rule = Callable[[Context], Iterator[Finding]]


def recent_failures(ctx: Context) -> Iterator[Finding]:
    report = ctx.failures
    if report is None or not report.events:
        return
    events = report.events
    atomic = [e for e in events if e.decoding is not None and not e.decoding.can_sleep]
    from minfree.analysis.origin import NETWORK_CATEGORIES  # rule tables compiled only with events

    orders = Counter(e.event.order for e in events)
    procs = Counter(e.event.process for e in events)
    origins = Counter(e.origin.category for e in events)
    suppressed = report.related.get("suppressed_reports", 0)
    verdicts = Counter(e.verdict.reason for e in events if e.verdict is not None)
    yield Finding(
        "recent_allocation_failures", "critical" if atomic else "warning",
        f"{sum(e.occurrences for e in events)} page allocation failure report(s) in the kernel log",
        {"events": len(events), "atomic": len(atomic), "orders": dict(orders),
         "processes": dict(procs.most_common(5)), "origins": dict(origins),
         "suppressed_by_ratelimit": suppressed, "verdicts": dict(verdicts)},
        "The kernel logged failed page allocations"
        + ((" from contexts that cannot sleep (interrupts, the network receive path): those "
            "are dropped packets or connections" if any(e.origin.category in NETWORK_CATEGORIES for e in atomic)
            else " from contexts that cannot sleep: each is a request its caller failed or retried "
            "(for the block I/O path, a requeued or failed I/O)")
           + ", and the log shows only a sample of them "
           "(warn_alloc is ratelimited and __GFP_NOWARN callers never log)" if atomic else "")
        + ".",
        "Run `minfree scan` for each report explained; raise the reserve (`minfree tune`) "
        "so atomic bursts find free pages, and compact if the failures are high-order.")


def failed_allocations(ctx: Context) -> Iterator[Finding]:
    failed = ctx.failed
    level = failed_severity(failed) if failed is not None else None
    if level is None:
        return
    orders = failed.failed_orders
    by_order = f" (order {', '.join(f'{o}: {failed.by_order[o]}' for o in orders)})" if orders else ""
    yield Finding(
        "failed_allocations", level,
        f"{failed.total} page allocation(s) failed in the kernel during the {failed.window_s:.1f} s window{by_order}",
        {"total": failed.total, "by_order": {o: failed.by_order[o] for o in orders} if orders else None,
         "counter": failed.counter, "window_s": round(failed.window_s, 3)},
        "The in-kernel counter on the kmem:mm_page_alloc tracepoint counts every failed page "
        "allocation, logged or not. The kernel log shows only those without __GFP_NOWARN, "
        "rate-limited; __GFP_NOWARN ones (most network receive refills, opportunistic "
        "high-order tries, THP, the hugetlb pool) fail silently. The count carries no flags or "
        "call sites: " + ("an order-0 failure has no smaller block to fall back on, so its "
                          "caller failed." if level == "critical" else
                          "small-order failures are fragmentation or exhaustion the reserves did "
                          "not cover." if level == "warning" else
                          "costly orders (above 3) have fallbacks; this is a fragmentation signal."),
        "Run `sudo minfree trace` to see each failure's class (logged, opportunistic, silent "
        "atomic), process and call site; raise the reserves (`minfree tune`) when they are "
        "silent atomic ones, compact (`minfree relieve --compact`) when they are high-order.")


def atomic_now(ctx: Context) -> Iterator[Finding]:
    failing = [a for a in ctx.zones.atomic if not a.ok]
    if not failing:
        return
    worst = failing[0]
    severity = "critical" if worst.order == 0 else "warning"
    yield Finding(
        "atomic_would_fail_now", severity,
        f"an order-{worst.order} GFP_ATOMIC allocation would fail right now",
        {"orders_failing": [a.order for a in failing],
         "explanations": {a.order: a.explanation for a in failing},
         "approximate": any(a.approximate for a in failing)},
        "Replaying the kernel's watermark check on the live zones: no zone has a free block "
        f"of order >= {worst.order} above the floor an atomic request may use. The next such "
        "allocation from an interrupt or the network receive path fails.",
        "Compact now (`minfree relieve --compact`); then raise vm.min_free_kbytes and "
        "vm.watermark_scale_factor (`minfree tune`) so kswapd keeps more free.")


def min_free_vs_default(ctx: Context) -> Iterator[Finding]:
    sysctls = ctx.state.sysctls
    if sysctls is None or sysctls.min_free_kbytes is None or ctx.default is None:
        return
    current, default = sysctls.min_free_kbytes, ctx.default.kbytes
    total = ctx.mem_total_kb
    evidence = {"current_kb": current, "kernel_default_kb": default,
                "default_rule": ctx.default.rule, "mem_managed_kb": total}
    if current < default * (1 - T.DEFAULT_SLACK):
        yield Finding(
            "min_free_below_default", "warning",
            f"vm.min_free_kbytes {current} is below the kernel's own default {default}",
            evidence,
            f"The kernel would choose {default} kB on this host ({ctx.default.explanation}); "
            "someone set less, shrinking the reserve atomic allocations live on.",
            f"Set vm.min_free_kbytes back to at least {default} (`minfree tune`).")
    if total:
        share = current / total
        evidence = {**evidence, "share_of_memory": round(share, 4)}
        if share >= T.MIN_FREE_WARN_SHARE:
            severity = "critical" if share >= T.MIN_FREE_CRIT_SHARE else "warning"
            yield Finding(
                "min_free_too_high", severity,
                f"vm.min_free_kbytes is {share:.1%} of memory",
                evidence,
                "A reserve this large keeps memory from every normal allocation: the kernel "
                "documentation warns a too-high value OOMs the machine, and kswapd reclaims "
                "page cache constantly to hold 1.25-1.5x of it free.",
                "Lower vm.min_free_kbytes and raise vm.watermark_scale_factor instead for "
                "kswapd headroom (`minfree tune` computes both).")


def jumbo_frames(ctx: Context) -> Iterator[Finding]:
    netdevs = ctx.state.netdevs or ()
    jumbo = [d for d in netdevs if d.mtu and d.mtu > T.STANDARD_MTU and not d.is_virtual and d.operstate != "down"]
    if not jumbo:
        return
    mtu = max(d.mtu for d in jumbo)
    order = receive_order(mtu, ctx.state.page_size)
    if order == 0:
        return
    verdict = next((a for a in ctx.zones.atomic if a.order == order), None)
    scarce = [z for z in ctx.zones.zones if order < len(z.unusable) and z.info.managed
              and z.unusable[order] >= T.UNUSABLE_HIGH]
    if verdict is None and not scarce:
        return   # no zone data: nothing to judge the free lists by
    if verdict is not None and verdict.ok and not scarce:
        return
    yield Finding(
        "scarce_high_order_blocks", "warning" if verdict is None or verdict.ok else "critical",
        f"MTU {mtu} needs order-{order} atomic receive buffers, and such blocks are scarce",
        {"interfaces": {d.name: d.mtu for d in jumbo}, "order": order,
         "zones_unusable_index": {f"{z.info.node}/{z.info.zone}": z.unusable[order] / 1000 for z in scarce},
         "atomic_order_ok_now": None if verdict is None else verdict.ok},
        f"A received frame of {mtu} bytes needs a {_kib((1 << order) * ctx.state.page_size)} "
        "contiguous buffer allocated in softirq (heuristic from the skb head size, reference "
        "§5.5); most free memory sits in smaller blocks, so refills fail under load.",
        "Keep high-order blocks free: raise vm.min_free_kbytes and watermark_scale_factor "
        "(`minfree tune`), compact (`minfree relieve --compact`), or use a driver mode with "
        "page-sized buffers.")


def high_order_depletion(ctx: Context) -> Iterator[Finding]:
    depletion = ctx.depletion
    if depletion is None or not depletion.depleted:
        return
    page = ctx.state.page_size
    needs = _order_needs(ctx)
    worst = depletion.depleted[0]
    # An atomic path known to need the order (a NIC's receive buffers, failures logged at it)
    # makes the next failure a dropped packet: critical. Slab growth can usually sleep.
    urgent = [d.order for d in depletion.depleted if any(not n.startswith("slab") for n in needs.get(d.order, ()))]
    zones = {f"{z.info.node}/{z.info.zone}": [v / 1000 for v in z.unusable[1:4]]
             for z in ctx.zones.zones if z.model is not None and z.atomic_depth and z.atomic_depth[0].requests}
    yield Finding(
        "high_order_depletion", "critical" if urgent else "warning",
        f"free memory is in small blocks: {_depths(depletion.depleted)} "
        f"GFP_ATOMIC request(s) left before the watermark check fails",
        {"orders": {d.order: {"requests": d.requests, "pages": d.pages, "next_zone": d.next_zone,
                              "by_zone": d.by_zone, "approximate": d.approximate} for d in depletion.orders[1:4]},
         "order0_pages": depletion.order0_pages, "reserve_pages": depletion.reserve_pages,
         "unusable_index_o1_o3": zones, "needed_by": {o: list(n) for o, n in needs.items()}},
        f"{_mib(depletion.order0_pages, page)} is free above the atomic floor, but only "
        f"{_mib(worst.pages, page)} of it is in blocks of order >= {worst.order}, less than the "
        f"{_mib(depletion.reserve_pages, page)} min-watermark reserve the kernel keeps for requests "
        f"that cannot wait (the yardstick is a heuristic, analysis/thresholds.py). The next order-"
        f"{worst.order} request is served from {worst.next_zone or 'no zone'}"
        + (f", and {worst.requests} more succeed" if worst.requests else ", and none succeeds")
        + " before the check fails (the kernel's check replayed on the free lists, nothing freed meanwhile). "
        + _needs_sentence(needs, [d.order for d in depletion.depleted]),
        _compaction_fix(ctx))


def atomic_headroom_low(ctx: Context) -> Iterator[Finding]:
    depletion = ctx.depletion
    if depletion is None or not depletion.exhausted:
        return
    page = ctx.state.page_size
    pages = depletion.order0_pages
    rate = ctx.activity.per_second.get("pgalloc") if ctx.activity else None
    evidence = {"order0_pages": pages, "reserve_pages": depletion.reserve_pages,
                "by_zone": depletion.orders[0].by_zone, "pgalloc_per_s": None if rate is None else round(rate, 1)}
    lasts = ""
    if rate:
        evidence["seconds_at_allocation_rate"] = round(pages / rate, 3)
        lasts = (f" At the {rate:,.0f} pages/s allocated over the window, that lasts "
                 f"{pages / rate:.2f} s if kswapd frees nothing meanwhile.")
    yield Finding(
        "atomic_headroom_low", "warning",
        f"only {_mib(pages, page)} left above the floor GFP_ATOMIC may use",
        evidence,
        f"{pages} pages are free above the atomic floor in the zones that serve the request, fewer "
        f"than the {_mib(depletion.reserve_pages, page)} min-watermark reserve itself: kswapd is "
        "behind and atomic requests already live on the reserve (exhaustion, not fragmentation)."
        + lasts,
        "Raise vm.min_free_kbytes and vm.watermark_scale_factor (`minfree tune`) so kswapd starts "
        "earlier; find what fills memory.")


def _order_needs(ctx: Context) -> dict[int, list[str]]:
    """What on this host asks for orders 1-3: NIC receive buffers, failed orders in this boot's
    log, slab caches whose slabs need that order at least."""
    needs: dict[int, list[str]] = {}
    for dev in ctx.state.netdevs or ():
        if dev.mtu and not dev.is_virtual and dev.operstate != "down":
            order = receive_order(dev.mtu, ctx.state.page_size)
            if order in T.DEPLETION_ORDERS:
                needs.setdefault(order, []).append(f"NIC {dev.name} (MTU {dev.mtu}) receive buffers")
    if ctx.failures is not None:
        failed = Counter(e.event.order for e in ctx.failures.events)
        for order, count in sorted(failed.items()):
            if order in T.DEPLETION_ORDERS:
                needs.setdefault(order, []).append(f"{count} order-{order} failure report(s) in this boot's log")
    caches: dict[int, list[str]] = {}
    for cache in ctx.state.slab_caches() or ():
        order = cache.min_order(ctx.state.page_size)
        if cache.num_objs and order in T.DEPLETION_ORDERS:
            caches.setdefault(order, []).append(cache.name)
    for order, names in sorted(caches.items()):
        needs.setdefault(order, []).append(
            f"slab caches in use whose smallest slab is order {order}: {', '.join(names[:4])}"
            + (f" and {len(names) - 4} more" if len(names) > 4 else ""))
    return needs


def _needs_sentence(needs: dict[int, list[str]], orders: list[int]) -> str:
    named = [f"order {o}: {'; '.join(needs[o])}" for o in orders if o in needs]
    if named:
        return "Needed here: " + "; ".join(named) + "."
    return ("Every kernel allocates at these orders (SLUB slabs up to order 3, kmalloc-8k at order 1, "
            "the network page-frag refill at order 3).")


def _compaction_fix(ctx: Context) -> str:
    """Only knobs this kernel has: compaction and extfrag_threshold 2.6.35+ (CONFIG_COMPACTION;
    RHEL6 backports them), compaction_proactiveness 5.9+ (Documentation/admin-guide/sysctl/vm.rst)."""
    kernel = ctx.state.kernel
    sysctls = ctx.state.sysctls
    rules = ctx.state.rules
    reserves = "give kswapd more room with the reserves (`minfree tune`)"
    if rules is not None and not rules.has_compaction:
        return (f"This kernel has no memory compaction (2.6.35+): only reclaim rebuilds high-order "
                f"blocks; {reserves}.")
    proactive = (sysctls is not None and sysctls.compaction_proactiveness is not None) or (
        kernel is not None and kernel.base >= (5, 9, 0))
    parts = ["Compact now (`minfree relieve --compact`)"]
    if proactive:
        parts.append("keep it compacted in the background with vm.compaction_proactiveness (5.9+; e.g. 20-40)")
    parts.append("lower vm.extfrag_threshold so the kernel compacts rather than reclaims for high orders")
    return "; ".join(parts) + f", and {reserves}."


def _depths(orders: list[OrderDepth]) -> str:
    return ", ".join(f"{d.requests} order-{d.order}" for d in orders)


def _mib(pages: int, page_size: int) -> str:
    return f"{pages * page_size / 2**20:,.1f} MiB"


def kswapd_behind(ctx: Context) -> Iterator[Finding]:
    act = ctx.activity
    if act is None:
        return
    hits = act.per_second.get("kswapd_low_wmark_hit_quickly", 0.0)
    stalls = act.per_second.get("allocstall", 0.0)
    if hits <= T.LOW_WMARK_HIT_PER_SEC and stalls <= T.ALLOCSTALL_PER_SEC:
        return
    yield Finding(
        "watermarks_hit_often", "warning",
        "kswapd cannot keep up: watermarks are hit within its nap, or tasks stall in reclaim",
        {"window_s": round(act.seconds, 3), "kswapd_low_wmark_hit_quickly_per_s": round(hits, 2),
         "allocstall_per_s": round(stalls, 2),
         "pgscan_direct_per_s": round(act.per_second.get("pgscan_direct", 0.0), 1)},
        "The kernel documentation of watermark_scale_factor names exactly these signs: the free "
        "memory kswapd maintains is too small for the allocation bursts, so free pages reach "
        "the min watermark where atomic allocations fail.",
        "Raise vm.watermark_scale_factor (widens the gap kswapd works in): "
        f"`minfree tune --set vm.watermark_scale_factor={T.WSF_AFTER_ATOMIC_FAILURES}` shows what it does "
        "to every zone, or that min/4 already sets the gap, before --apply (tune's own sizing does not "
        "see these rates, measured over this window only).")


def compaction_failing(ctx: Context) -> Iterator[Finding]:
    act = ctx.activity
    if act is None:
        return
    fail, success = act.per_second.get("compact_fail", 0.0), act.per_second.get("compact_success", 0.0)
    if fail <= 0 or fail / (fail + success) <= T.COMPACT_FAIL_SHARE:
        return
    yield Finding(
        "compaction_failing", "warning", "memory compaction fails more often than it succeeds",
        {"compact_fail_per_s": round(fail, 2), "compact_success_per_s": round(success, 2),
         "compact_stall_per_s": round(act.per_second.get("compact_stall", 0.0), 2)},
        "Compaction cannot build high-order blocks: unmovable pages pin the pageblocks.",
        "Keep more free memory (min_free_kbytes, watermark_scale_factor); consider vm.defrag_mode=1 (6.15+).")


def numa_settings(ctx: Context) -> Iterator[Finding]:
    sysctls, numa = ctx.state.sysctls, ctx.state.numa
    nodes = len(numa.memory_nodes) if numa else 1
    if sysctls and sysctls.zone_reclaim_mode and nodes > 1:
        yield Finding(
            "zone_reclaim_mode_on", "warning", f"vm.zone_reclaim_mode={sysctls.zone_reclaim_mode} on {nodes} NUMA nodes",
            {"zone_reclaim_mode": sysctls.zone_reclaim_mode, "nodes": nodes},
            "The kernel reclaims on the local node before using free memory on another: page "
            "cache is thrown away while free memory sits idle, and it never helps atomic requests.",
            "Set vm.zone_reclaim_mode=0 (the kernel default; recommended for file servers and caches).")
    if numa and nodes > 1:
        shares = {n.node: n.mem_free_kb / n.mem_total_kb for n in numa.nodes
                  if n.mem_total_kb and n.mem_free_kb is not None}
        if len(shares) > 1 and max(shares.values()) - min(shares.values()) > T.NUMA_FREE_SPREAD:
            yield Finding(
                "numa_unbalanced", "info", "free memory is unevenly spread across NUMA nodes",
                {"free_share_by_node": {k: round(v, 3) for k, v in shares.items()}},
                "One node runs near its watermarks while another has room; allocations bound to "
                "the busy node (interrupt handlers run where the NIC's IRQ lands) hit its reserve first.",
                "Spread the workload or its memory (numactl --interleave), and size the reserve per node.")


def thp_defrag(ctx: Context) -> Iterator[Finding]:
    thp = ctx.state.thp
    if thp is None or thp.defrag != "always":
        return
    yield Finding(
        "thp_defrag_always", "warning", "transparent_hugepage/defrag is 'always'",
        {"enabled": thp.enabled, "defrag": thp.defrag},
        "Every THP fault may stall in direct compaction and reclaim: latency spikes on database "
        "hosts, and churn that fragments the free lists.",
        "echo madvise > /sys/kernel/mm/transparent_hugepage/defrag (or defer+madvise).")


def vm_extremes(ctx: Context) -> Iterator[Finding]:
    s = ctx.state.sysctls
    if s is None:
        return
    if s.swappiness == 0:
        yield Finding(
            "swappiness_zero", "info", "vm.swappiness is 0",
            {"swappiness": 0},
            T.SWAPPINESS_ZERO_RISK[0].upper() + T.SWAPPINESS_ZERO_RISK[1:] + ".",
            f"Use vm.swappiness={T.SWAPPINESS_LAST_RESORT} (or a little more) to keep swap as a last resort "
            "instead of never; `minfree tune` gives the same advice in every profile.")
    elif s.swappiness is not None and s.swappiness > T.SWAPPINESS_HIGH:
        yield Finding(
            "swappiness_high", "info", f"vm.swappiness is {s.swappiness}",
            {"swappiness": s.swappiness},
            "Anonymous memory is swapped in preference to dropping page cache.",
            "A database host usually wants 1-60.")
    if s.vfs_cache_pressure == 0:
        yield Finding(
            "vfs_cache_pressure_zero", "warning", "vm.vfs_cache_pressure is 0",
            {"vfs_cache_pressure": 0},
            "Dentries and inodes are never reclaimed, which the kernel documentation says can "
            "easily lead to out-of-memory conditions.",
            "Set vm.vfs_cache_pressure=100 (the default).")
    elif s.vfs_cache_pressure is not None and s.vfs_cache_pressure > T.VFS_CACHE_PRESSURE_HIGH:
        yield Finding(
            "vfs_cache_pressure_high", "info", f"vm.vfs_cache_pressure is {s.vfs_cache_pressure}",
            {"vfs_cache_pressure": s.vfs_cache_pressure},
            "Metadata caches are dropped far faster than the kernel's default balance.",
            "Values between 100 and 500 are the usual range.")


def cache_crowding(ctx: Context) -> Iterator[Finding]:
    meminfo = ctx.state.meminfo
    if meminfo is None or not ctx.zones.zones:
        return
    total, free, cached = meminfo.mem_total_kb, meminfo.mem_free_kb, meminfo.kb.get("Cached")
    low_pages = sum(z.info.low for z in ctx.zones.zones if z.info.managed)
    low_kb = low_pages * ctx.state.page_size // 1024
    if not total or free is None or cached is None or not low_kb:
        return
    if free <= T.CROWDED_FREE_FACTOR * low_kb and cached >= T.CACHE_SHARE * total:
        yield Finding(
            "page_cache_crowding", "warning", "page cache fills memory; free memory sits at the watermarks",
            {"mem_free_kb": free, "cached_kb": cached, "mem_total_kb": total, "sum_low_watermarks_kb": low_kb},
            "The classic cause: the page cache grows until free memory reaches the low watermark; "
            "kswapd then reclaims just enough, and a burst of atomic allocations (network receive) "
            "empties the small reserve below min before kswapd catches up.",
            "Raise vm.min_free_kbytes / vm.watermark_scale_factor (`minfree tune`); dropping caches "
            "(`minfree relieve --drop-caches`) only helps until the cache refills.")


def pressure(ctx: Context) -> Iterator[Finding]:
    act = ctx.activity
    psi = ctx.state.psi
    some = act.psi_some_avg10 if act else (psi.some.avg10 if psi and psi.some else None)
    full = act.psi_full_avg10 if act else (psi.full.avg10 if psi and psi.full else None)
    if some is None:
        return
    if (full or 0) >= T.PSI_FULL_CRIT or some >= T.PSI_SOME_WARN:
        yield Finding(
            "memory_pressure", "critical" if (full or 0) >= T.PSI_FULL_CRIT else "warning",
            f"memory pressure: tasks stalled {some:.1f}% of the last 10 s",
            {"psi_some_avg10": some, "psi_full_avg10": full},
            "Tasks wait on reclaim or compaction (PSI memory).",
            "Find what fills memory; keep kswapd ahead with watermark_scale_factor.")


def boot_config_differs(ctx: Context) -> Iterator[Finding]:
    s = ctx.state.sysctls
    if s is None:
        return
    for key, setting in sorted(ctx.state.boot_settings.items()):
        if not key.startswith("vm."):
            continue
        name = key[3:]
        runtime = getattr(s, name, None) if hasattr(s, name) else None
        if runtime is None:
            continue
        try:
            configured = int(setting.value.split()[0])
        except (ValueError, IndexError):
            continue
        if configured != runtime:
            yield Finding(
                "runtime_differs_from_boot_config", "warning",
                f"{key} is {runtime} now but {configured} at boot ({setting.path}:{setting.lineno})",
                {"key": key, "runtime": runtime, "boot": configured, "file": setting.path, "line": setting.lineno},
                "Someone changed it live, or a file changed since boot: the next reboot brings the "
                "configured value back.",
                "Persist the value you want in one sysctl.d file (`minfree tune --apply` does, and "
                "reports every file that sets the same key).")


def stale_watermarks(ctx: Context) -> Iterator[Finding]:
    stale = [z for z in ctx.zones.zones if z.stale]
    if not stale:
        return
    yield Finding(
        "watermarks_stale", "info", "the kernel's watermarks were computed from slightly different zone sizes",
        {f"{z.info.node}/{z.info.zone}": z.stale for z in stale},
        "The kernel recomputes watermarks only when min_free_kbytes, watermark_scale_factor or "
        "THP changes; values computed early in boot miss memory freed later. 'predicted' is a "
        "fresh computation from today's managed pages.",
        "Nothing to fix; any write of vm.watermark_scale_factor (even of its current value) recomputes them.")


RULES: tuple[Rule, ...] = (
    recent_failures, failed_allocations, atomic_now, high_order_depletion, atomic_headroom_low, min_free_vs_default,
    jumbo_frames, kswapd_behind,
    compaction_failing, numa_settings, thp_defrag, vm_extremes, cache_crowding, pressure,
    boot_config_differs, stale_watermarks,
)


def evaluate(ctx: Context) -> list[Finding]:
    findings = [f for rule in RULES for f in rule(ctx)]
    return sorted(findings, key=lambda f: -SEVERITIES.index(f.severity))


def _kib(size: int) -> str:
    return f"{size // 1024} KiB"
