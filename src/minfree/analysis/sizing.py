"""The sizing policy of ``minfree tune``; its thresholds, each with its reason, are in
:mod:`minfree.analysis.thresholds`.

The policy starts from the kernel's own default (``default_min_free``: sqrt rule, caps, THP
raise) and adds evidence from this host: NIC speed and MTU, NUMA nodes, THP, and the atomic
failures found in the log. It proposes two sysctls and only advises on the others:

* ``vm.min_free_kbytes`` is the emergency floor (WMARK_MIN): what GFP_ATOMIC may still take
  when everything else must reclaim. It grows in the step the kernel documentation gives,
  ``3 * pageblock_size * nr_online_nodes`` (Documentation/trace/events-kmem.rst; 6 MiB per
  node on x86-64), reference kernel-memory.md §5.1 and §5.6.
* ``vm.watermark_scale_factor`` (4.6+) is the lever for kswapd headroom (LOW - MIN): it widens
  the gap without eating the emergency floor (Weiner, 4.6 commit 795ae7a0de6b; §5.4).

Bounds on every value: the kernel's range (never forced), never below the kernel's default,
and refused above a safe share of memory unless ``force`` (§5.3/§5.4: RHEL warns that 5-10 %
of RAM OOMs the machine at once).
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

from minfree.analysis import thresholds as T
from minfree.analysis.nic import receive_order
from minfree.analysis.prediction import default_min_free, predict_zones
from minfree.analysis.trace_window import MeasuredDemand
from minfree.model.record import field, record
from minfree.proc.system import SystemState

MIN_FREE = "vm.min_free_kbytes"
WSF = "vm.watermark_scale_factor"
TUNABLE_KEYS = (MIN_FREE, WSF)

@record
class Profile:
    """A ``minfree tune --profile`` choice: its name and what its sizing follows."""

    name: str
    description: str


PROFILES: dict[str, Profile] = {
    "generic": Profile("generic", "kernel default plus this host's evidence (NICs, NUMA, log)"),
    "aerospike": Profile("aerospike", "Aerospike best practices: >= 1.1 GiB, 1.25 GiB with cloud NIC drivers"),
}


@record
class FailureSummary:
    """Allocation failures found in the log, reduced to what sizing needs."""

    atomic_order0: int = 0
    atomic_high_order: int = 0
    max_atomic_order: int | None = None
    network: int = 0
    total: int = 0


def summarize_failures(events: Iterable[object]) -> FailureSummary:
    """Count failures of non-sleeping callers (``ExplainedEvent``: decoding.can_sleep False).

    >>> from types import SimpleNamespace as N
    >>> ev = lambda order, sleep, cat: N(event=N(order=order, repeated=0),
    ...     decoding=N(can_sleep=sleep), origin=N(category=cat))
    >>> summarize_failures([ev(0, False, "network-receive"), ev(2, False, "slab"), ev(3, True, "x")])
    FailureSummary(atomic_order0=1, atomic_high_order=1, max_atomic_order=2, network=1, total=3)
    """
    summary = FailureSummary()
    for item in events:
        summary = add_failure(summary, failure_fact(item))
    return summary


#: What sizing needs of one report: (order, times printed, can its caller sleep, origin category).
FailureFact = tuple[int | None, int, bool | None, str | None]


def failure_fact(item: object) -> FailureFact:
    """One report (``ExplainedEvent``) reduced to what :func:`add_failure` counts: small enough
    to cross from a second scanning process with each event."""
    event = getattr(item, "event", None)
    decoding = getattr(item, "decoding", None)
    origin = getattr(item, "origin", None)
    return (getattr(event, "order", None), 1 + int(getattr(event, "repeated", 0) or 0),
            None if decoding is None else bool(decoding.can_sleep), getattr(origin, "category", None))


def add_failure(summary: FailureSummary, fact: FailureFact) -> FailureSummary:
    """``summary`` with one more report counted."""
    order, count, can_sleep, category = fact
    order0, high, max_order = summary.atomic_order0, summary.atomic_high_order, summary.max_atomic_order
    if can_sleep is False and order is not None:
        if order == 0:
            order0 += count
        else:
            high += count
        max_order = order if max_order is None else max(max_order, order)
    return FailureSummary(order0, high, max_order,
                          summary.network + (count if category == "network-receive" else 0), summary.total + count)


@record
class Bounds:
    """The range a proposed sysctl value must stay in: the kernel's own (the sysctl handler's limits,
    never forced) and minfree's floor and safe maximum (both give way to --force)."""

    kernel_min: int
    kernel_max: int
    floor: int | None  # never below (kernel default), unless --force
    safe_max: int | None  # refused above, unless --force

    def as_dict(self) -> dict[str, int | None]:
        return {"kernel_min": self.kernel_min, "kernel_max": self.kernel_max,
                "floor": self.floor, "safe_max": self.safe_max}


@record
class Change:
    """One proposed sysctl value. ``refused`` says why it will not be applied (None: ok)."""

    key: str
    current: int | None
    proposed: int
    reason: str
    bounds: Bounds
    refused: str | None = None
    forced: str | None = None  # the bound --force overrode
    no_effect: str | None = None  # why writing this value would change no watermark

    @property
    def applies(self) -> bool:
        return self.refused is None and self.proposed != self.current

    @property
    def effective(self) -> int | None:
        return self.proposed if self.refused is None else self.current


@record
class Advice:
    """Advice on a knob minfree does not set: the key, its current value, the suggested value and why
    (reference §5.1, §5.2)."""

    key: str
    current: str | None
    suggestion: str
    reason: str


@record(frozen=False)
class Proposal:
    """What ``minfree tune`` proposes under one profile: a change for each sysctl it sizes (maybe
    refused), advice on other knobs, and notes."""

    profile: str
    changes: list[Change]
    advice: list[Advice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> list[Change]:
        return [c for c in self.changes if c.refused is not None]

    def effective(self, key: str) -> int | None:
        return next((c.effective for c in self.changes if c.key == key), None)


def node_count(state: SystemState) -> int:
    return max(1, len({z.node for z in state.zones if z.managed}))


def min_free_step_kb(state: SystemState) -> int:
    """``3 * pageblock_size * nr_online_nodes`` in kB (events-kmem.rst; 6144 kB/node on x86-64)."""
    return 3 * (1 << state.pageblock_order) * (state.page_size // 1024) * node_count(state)


def min_free_bounds(state: SystemState) -> Bounds:
    default = default_min_free(state)
    return Bounds(*T.MIN_FREE_KERNEL_RANGE, floor=default.kbytes if default else None,
                  safe_max=int(state.managed_kb() * T.MIN_FREE_WARN_SHARE))


def wsf_bounds(state: SystemState) -> Bounds | None:
    rules = state.rules
    if rules is None or not rules.watermark_scale_factor_max:
        return None
    return Bounds(T.WSF_KERNEL_MIN, rules.watermark_scale_factor_max, floor=None, safe_max=None)


def high_share(state: SystemState, min_free_kbytes: int, wsf: int) -> float:
    """Σ predicted HIGH over all zones, as a share of managed memory."""
    total = sum(z.managed or 0 for z in state.zones)
    if not total:
        return 0.0
    highs = sum(p.watermarks.unboosted().high for p in predict_zones(
        state, min_free_kbytes=min_free_kbytes, watermark_scale_factor=wsf))
    return highs / total


def _physical_up_nics(state: SystemState):
    return [d for d in state.netdevs or () if not d.is_virtual and d.operstate in (None, "up", "unknown")]


def _size_min_free(state: SystemState, profile: str, failures: FailureSummary,
                   demand: MeasuredDemand | None = None, force: bool = False) -> tuple[int, list[str]]:
    default = default_min_free(state)
    base = default.kbytes if default else (state.sysctls.min_free_kbytes if state.sysctls else 0) or 0
    reasons = [f"kernel default {base} kB ({default.rule} rule)" if default else f"current {base} kB"]
    step = min_free_step_kb(state)
    steps = 0
    nics = _physical_up_nics(state)
    jumbo = [d for d in nics if d.mtu and d.mtu > T.STANDARD_MTU]
    if jumbo:
        steps += T.STEPS_JUMBO
        reasons.append(f"jumbo frames on {', '.join(d.name for d in jumbo)}: order-1+ atomic RX refills")
    order2 = [d for d in jumbo if receive_order(d.mtu, state.page_size) >= 2]
    if order2:
        steps += T.STEPS_ORDER2_MTU
        reasons.append(f"MTU {max(d.mtu for d in order2)}: order-2 GFP_ATOMIC per received packet")
    fast = [d for d in nics if d.speed_mbps and d.speed_mbps >= T.FAST_NIC_MBPS]
    if fast:
        steps += T.STEPS_FAST_NIC
        reasons.append(f"{', '.join(f'{d.name} {d.speed_mbps} Mb/s' for d in fast)}: atomic receive bursts")
    if failures.atomic_high_order:
        steps += T.STEPS_ATOMIC_HIGH_ORDER
        reasons.append(f"{failures.atomic_high_order} atomic failure(s) up to order {failures.max_atomic_order} in the log")
    elif failures.atomic_order0:
        steps += T.STEPS_ATOMIC_ORDER0
        reasons.append(f"{failures.atomic_order0} order-0 atomic failure(s) in the log")
    value = base + steps * step
    if steps:
        reasons.append(f"+{steps} x {step} kB (3 pageblocks per node, events-kmem.rst)")
    if demand is not None and demand.recover_s:
        pages = math.ceil(demand.pages_during(demand.recover_s) / T.ATOMIC_WINDOW_SHARE_OF_MIN)
        needed = pages * (state.page_size // 1024)
        if needed > value:
            value = needed
            reasons.append(f"measured by minfree trace: {demand.pages_per_s:.0f} non-blocking pages/s x "
                           f"{demand.recover_s * 1000:.1f} ms direct-reclaim p99 must fit below min (W_atomic)")
    if profile == "aerospike":
        cloud = sorted({d.driver for d in state.netdevs or () if d.driver in T.CLOUD_NIC_DRIVERS})
        target = T.AEROSPIKE_CLOUD_MIN_FREE_KB if cloud else T.AEROSPIKE_MIN_FREE_KB
        floor = "Aerospike best practices: at least 1.1 GiB" + (
            f", 1.25 GiB with cloud drivers ({', '.join(cloud)})" if cloud else "")
        safe_max = min_free_bounds(state).safe_max
        if target > value and (force or safe_max is None or target <= safe_max):
            value = target
            reasons.append(floor)
        elif target > value:
            # a small host: the floor would be a dangerous share of memory; the most it can hold safely
            value = max(value, safe_max)
            reasons.append(f"{floor}, sized for its 1 GiB shared-memory allocations; that is "
                           f"{target / state.managed_kb():.0%} of this host's {state.managed_kb() / 2**20:.1f} GiB "
                           f"managed memory (safe: {T.MIN_FREE_WARN_SHARE:.0%}, so a host under "
                           f"{target / T.MIN_FREE_WARN_SHARE / 2**20:.0f} GiB cannot hold it): capped at the "
                           f"safe {safe_max} kB; --force applies the full floor, or size the reserve from what "
                           "this host really takes: `minfree trace --json > t.json`, then "
                           "`minfree tune --trace t.json`")
    current = state.sysctls.min_free_kbytes if state.sysctls else None
    if current is not None and current > value:
        safe_max = min_free_bounds(state).safe_max
        if safe_max is None or current <= safe_max:
            value = current
            reasons.append(f"the current {current} kB is already above this: kept")
        else:   # the reserve doctor calls too high (min_free_too_high): never kept, never proposed
            reasons.append(f"the current {current} kB is above the safe cap {safe_max} kB "
                           f"({T.MIN_FREE_WARN_SHARE:.0%} of memory): lowered")
    return value, reasons


def wsf_effective_from(state: SystemState, min_free_kbytes: int, bounds: Bounds) -> int | None:
    """The smallest watermark_scale_factor that moves any zone's watermarks, None if none does.
    Below it the gap between min and low is min/4 in every zone: the kernel takes
    ``max(min >> 2, managed * wsf / 10000)`` (mm/page_alloc.c __setup_per_zone_wmarks, 4.6-6.18),
    so the answer comes from the model itself, not a second formula."""
    def marks(wsf: int) -> list:
        return [p.watermarks for p in predict_zones(state, min_free_kbytes=min_free_kbytes,
                                                    watermark_scale_factor=wsf)]

    floor = marks(bounds.kernel_min)
    if marks(bounds.kernel_max) == floor:
        return None
    low, high = bounds.kernel_min, bounds.kernel_max   # marks(low) == floor != marks(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if marks(middle) == floor else (low, middle)
    return high


def _no_effect(wsf: int, effective_from: int | None) -> str | None:
    if effective_from is not None and wsf >= effective_from:
        return None
    start = (f"from {effective_from} it moves the gap of at least one zone" if effective_from is not None
             else "no value in the kernel's range does")
    return (f"{wsf} changes no watermark here: in every zone min/4 is larger than managed x {wsf}/10000, "
            f"and the kernel keeps the larger as the gap between min and low "
            f"(mm/page_alloc.c __setup_per_zone_wmarks, 4.6+); {start}")


def _size_wsf(state: SystemState, failures: FailureSummary, current: int,
              demand: MeasuredDemand | None = None, effective_from: int | None = None) -> tuple[int, list[str]]:
    if effective_from is not None and current >= effective_from:
        reasons = [f"current {current} ({current / 100:g} % of a zone between min and low, where that is "
                   "more than min/4)"]
    else:
        reasons = [f"current {current} (no effect here: min/4 is the gap between min and low in every zone)"]
    value = current
    lowmem_pages = state.managed_kb(lowmem_only=True) // max(1, state.page_size // 1024)
    line_rate = sum(d.speed_mbps or 0 for d in _physical_up_nics(state)) * 1_000_000 // 8
    if line_rate and lowmem_pages:
        burst_pages = math.ceil(line_rate * T.KSWAPD_REACTION_SECONDS / state.page_size)
        needed = math.ceil(burst_pages * 10_000 / lowmem_pages)
        if needed > value:
            value = needed
            reasons.append(f"kswapd lead to hold {T.KSWAPD_REACTION_SECONDS * 1000:g} ms of NIC line rate "
                           f"({burst_pages} pages)")
    if demand is not None and demand.kswapd_s and lowmem_pages:
        lead = demand.pages_during(demand.kswapd_s)
        needed = math.ceil(lead * 10_000 / lowmem_pages)
        if needed > value:
            value = needed
            reasons.append(f"measured by minfree trace: {demand.pages_per_s:.0f} non-blocking pages/s x "
                           f"{demand.kswapd_s * 1000:.1f} ms kswapd p99 = {lead} pages between min and low")
    if (failures.atomic_order0 or failures.atomic_high_order) and T.WSF_AFTER_ATOMIC_FAILURES > value:
        value = T.WSF_AFTER_ATOMIC_FAILURES
        reasons.append("atomic failures in the log: kswapd started too late; keep 1 % ahead of min")
    if value > current and (effective_from is None or value < effective_from):
        # the lead asked for is already smaller than min/4: writing it would change nothing
        reasons.append(f"{value} would change no watermark (min/4 already exceeds it in every zone): kept")
        value = current
    return value, reasons


def _check(key: str, value: int, bounds: Bounds, force: bool, *, above_safe: str | None) -> tuple[str | None, str | None]:
    """(refused, forced) for one value."""
    if not bounds.kernel_min <= value <= bounds.kernel_max:
        return f"outside the kernel's range {bounds.kernel_min}..{bounds.kernel_max}", None
    problem = None
    if bounds.floor is not None and value < bounds.floor:
        problem = f"below the kernel's own default {bounds.floor} (the kernel would raise it again)"
    elif bounds.safe_max is not None and value > bounds.safe_max:
        problem = f"above the safe cap {bounds.safe_max} ({T.MIN_FREE_WARN_SHARE:.0%} of memory: RHEL and " \
                  "the kernel documentation warn this OOMs the machine)"
    elif above_safe is not None:
        problem = above_safe
    if problem is None:
        return None, None
    return (None, problem) if force else (problem + "; --force to apply anyway", None)


def propose(state: SystemState, *, profile: str = "generic", overrides: Mapping[str, int] | None = None,
            failures: FailureSummary | None = None, force: bool = False,
            demand: MeasuredDemand | None = None) -> Proposal:
    """The values to set, each with its reason and bounds; refusals instead of unsafe values.
    ``demand`` (a ``minfree trace`` result) sizes both from measured rates."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    overrides = dict(overrides or {})
    failures = failures or FailureSummary()
    sysctls = state.sysctls
    proposal = Proposal(profile, [])

    current_mfk = sysctls.min_free_kbytes if sysctls else None
    mfk_bounds = min_free_bounds(state)
    if MIN_FREE in overrides:
        mfk, why = overrides[MIN_FREE], ["set by the user (--set)"]
    else:
        mfk, why = _size_min_free(state, profile, failures, demand, force)
    refused, forced = _check(MIN_FREE, mfk, mfk_bounds, force, above_safe=None)
    if mfk == current_mfk and MIN_FREE not in overrides:
        refused = forced = None   # kept as it is: nothing is written, nothing to refuse
    mfk_change = Change(MIN_FREE, current_mfk, mfk, "; ".join(why), mfk_bounds, refused, forced)
    proposal.changes.append(mfk_change)

    bounds = wsf_bounds(state)
    current_wsf = sysctls.watermark_scale_factor if sysctls else None
    if bounds is not None and current_wsf is not None:
        effective_mfk = mfk_change.effective or current_mfk or 0
        effective_from = wsf_effective_from(state, effective_mfk, bounds)
        if WSF in overrides:
            wsf, why = overrides[WSF], ["set by the user (--set)"]
        else:
            wsf, why = _size_wsf(state, failures, current_wsf, demand, effective_from)
        above = None
        if bounds.kernel_min <= wsf <= bounds.kernel_max:
            share = high_share(state, effective_mfk, wsf)
            if share > T.SAFE_HIGH_SHARE:
                above = (f"the high watermarks would hold {share:.1%} of memory (safe: "
                         f"{T.SAFE_HIGH_SHARE:.0%}), taken from the page cache")
        refused, forced = _check(WSF, wsf, bounds, force, above_safe=above)
        if wsf == current_wsf and WSF not in overrides:
            refused = forced = None   # kept as it is: nothing is written, nothing to refuse
        proposal.changes.append(Change(WSF, current_wsf, wsf, "; ".join(why), bounds, refused, forced,
                                       _no_effect(wsf, effective_from)))
    elif WSF in overrides:
        proposal.notes.append("this kernel has no vm.watermark_scale_factor (4.6+): --set ignored")

    default = default_min_free(state)
    effective = mfk_change.effective
    if (default and default.thp_kbytes and state.thp_enabled and effective is not None
            and effective < default.thp_kbytes):
        proposal.notes.append(
            f"{effective} kB is below the THP recommendation {default.thp_kbytes} kB: writing "
            "/sys/kernel/mm/transparent_hugepage/enabled (even its current value) raises it again")
    proposal.advice.extend(advise(state, profile))
    return proposal


def advise(state: SystemState, profile: str) -> list[Advice]:
    """Advice on knobs minfree does not set (reference §5.1, §5.2)."""
    advice: list[Advice] = []
    s = state.sysctls
    if s is not None and s.vfs_cache_pressure == 0:
        advice.append(Advice("vm.vfs_cache_pressure", "0", "100",
                             "0 never reclaims dentries/inodes and can easily lead to out-of-memory"))
    if s is not None and s.zone_reclaim_mode and node_count(state) > 1:
        advice.append(Advice("vm.zone_reclaim_mode", str(s.zone_reclaim_mode), "0",
                             "node-local reclaim stalls allocations while other nodes have free memory"))
    last_resort = T.SWAPPINESS_LAST_RESORT
    if s is not None and s.swappiness == 0:   # every profile: the rule doctor warns by
        advice.append(Advice("vm.swappiness", "0", str(last_resort), T.SWAPPINESS_ZERO_RISK))
    if profile == "aerospike":
        if s is not None and s.swappiness is not None and s.swappiness > last_resort:
            advice.append(Advice("vm.swappiness", str(s.swappiness), str(last_resort),
                                 "Aerospike best practices: swap off or swappiness=0; "
                                 f"{last_resort}, not 0, keeps swap a last resort without the OOM risk "
                                 "of 0 (RHEL 6.4+ note; doctor warns about 0); or turn swap off (swapoff -a)"))
        if state.thp is not None and state.thp.enabled not in (None, "never"):
            advice.append(Advice("transparent_hugepage/enabled", state.thp.enabled, "never",
                                 "Aerospike best practices: disable THP"))
    if state.thp is not None and state.thp.defrag == "always" and profile != "aerospike":
        advice.append(Advice("transparent_hugepage/defrag", "always", "madvise or defer+madvise",
                             "'always' makes every THP fault compact memory directly: latency stalls"))
    return advice
