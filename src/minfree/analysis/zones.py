"""Per-zone view for doctor: what the kernel shows, what the model predicts, how fragmented,
whether an atomic request of order 0..3 would succeed right now, and how many more of each
order the free lists can serve."""
from __future__ import annotations


from minfree.model.depth import Depth, request_depths
from minfree.model.fragmentation import indices_by_order
from minfree.model.record import field, record
from minfree.model.wmark_check import (FreeBlocks, Request, ZoneState, check_zonelist,
                                       reduced_floor, alloc_flags_for)
from minfree.model.rules import KernelRules
from minfree.model.watermarks import boost_inflation_suspected
from minfree.model.zones import zone_order
from minfree.analysis.prediction import ZonePrediction, differences, predict_zones
from minfree.proc.zoneinfo import ZoneInfo
from minfree.proc.system import SystemState

ATOMIC_ORDERS = (0, 1, 2, 3)
NORMAL_ZONEIDX = 2  # gfp_zone(GFP_ATOMIC) on 64-bit: ZONE_NORMAL


@record(frozen=False)
class ZoneView:
    """One zone for doctor: /proc/zoneinfo's view beside the model's prediction, its free blocks per
    order and fragmentation indices, and what GFP_ATOMIC may take from it."""

    info: ZoneInfo
    predicted: ZonePrediction | None
    free_blocks: tuple[int, ...]
    unusable: tuple[int, ...]      # thousandths per order
    extfrag: tuple[int, ...]
    indices_from: str              # "debugfs" (the kernel's own) or "buddyinfo" (the same formula, here)
    atomic_floor: int              # pages free must stay above for GFP_ATOMIC (before protection)
    stale: str | None = None       # why predicted != shown, or None when exact
    # GFP_ATOMIC requests of each order (index) served in a row before the check fails; () unknown
    atomic_depth: tuple[Depth, ...] = ()
    model: ZoneState | None = None  # what the watermark check sees; None for an unpopulated zone

    @property
    def atomic_reserve(self) -> int:
        """Pages below min that GFP_ATOMIC may still take (min - reduced floor)."""
        return self.info.min - self.atomic_floor


@record(frozen=False)
class AtomicVerdict:
    """Whether an order-``order`` GFP_ATOMIC request made on node 0 would succeed now: the zone of
    its zonelist that serves it, the check's explanation, and ``approximate``: migratetypes unknown."""

    order: int
    ok: bool
    zone: str | None
    explanation: str
    approximate: bool


@record(frozen=False)
class ZonesReport:
    """Doctor's zones: a :class:`ZoneView` for each zone of /proc/zoneinfo, and the GFP_ATOMIC
    verdicts for the orders in ``ATOMIC_ORDERS``."""

    zones: list[ZoneView] = field(default_factory=list)
    atomic: list[AtomicVerdict] = field(default_factory=list)


def build_zones(state: SystemState) -> ZonesReport:
    predictions = {(p.node, p.zone): p for p in predict_zones(state)}
    buddy = {(row.node, row.zone): tuple(row.counts) for row in state.buddy}
    rules = state.rules
    atomic_flags = alloc_flags_for(Request.GFP_ATOMIC, 0, rules) if rules else None
    report = ZonesReport()
    states: list[ZoneState] = []
    for info in state.zones:
        key = (info.node, info.zone)
        counts = buddy.get(key, ())
        predicted = predictions.get(key)
        floor = reduced_floor(info.min, atomic_flags) if atomic_flags else info.min
        shown = (state.kernel_indices or {}).get(key)
        unusable, extfrag = shown if shown is not None else indices_by_order(counts)
        view = ZoneView(
            info=info, predicted=predicted, free_blocks=counts, unusable=unusable, extfrag=extfrag,
            indices_from="debugfs" if shown is not None else "buddyinfo",
            atomic_floor=floor,
            stale=_staleness(info, predicted, rules),
        )
        if info.managed or (info.managed is None and info.present):
            model = zone_state(state, info, counts)
            states.append(model)
            view.model = model
            if rules is not None:
                view.atomic_depth = tuple(request_depths(
                    model, max(len(counts), 1), Request.GFP_ATOMIC, rules, highest_zoneidx=NORMAL_ZONEIDX,
                    pageblock_order=state.pageblock_order))
        report.zones.append(view)
    if rules is not None and states:
        for order in ATOMIC_ORDERS:
            result = check_zonelist(states, order, Request.GFP_ATOMIC, rules,
                                    highest_zoneidx=NORMAL_ZONEIDX, pageblock_order=state.pageblock_order)
            report.atomic.append(AtomicVerdict(
                order, result.ok, result.zone.zone if result.zone else None, result.explanation,
                any(r.approximate for r in result.results)))
    return report


#: The zoneinfo stat items :func:`zone_state` reads (the exporter parses only these).
ZONE_STATE_STATS = frozenset({"nr_free_cma"})


def zone_state(state: SystemState, info: ZoneInfo, counts: tuple[int, ...]) -> ZoneState:
    key = (info.node, info.zone)
    pagetypes = state.pagetypes
    per_type = pagetypes.free.get(key) if pagetypes is not None else None
    blocks = FreeBlocks.from_pagetypeinfo(per_type) if per_type else FreeBlocks.from_buddyinfo(counts)
    highatomic_free = 0
    reserved = 0
    if per_type and "HighAtomic" in per_type:
        highatomic_free = sum(n << o for o, n in enumerate(per_type["HighAtomic"]))
    if pagetypes is not None and pagetypes.pages_per_block:
        reserved = pagetypes.blocks.get(key, {}).get("HighAtomic", 0) * pagetypes.pages_per_block
    order = zone_order({z.zone for z in state.zones})
    return ZoneState(
        node=info.node, name=info.zone, index=order.index(info.zone) if info.zone in order else len(order),
        free=info.free,
        min=info.min, low=info.low, boost=info.boost or 0, protection=info.protection or (),
        free_cma=info.stats.get("nr_free_cma", 0), reserved_highatomic=reserved,
        free_highatomic=highatomic_free, blocks=blocks, managed=info.managed,
    )


def _staleness(info: ZoneInfo, predicted: ZonePrediction | None, rules: KernelRules | None) -> str | None:
    """Why zoneinfo differs from a fresh computation, or None when it does not."""
    found = differences(predicted, info) if predicted is not None else []
    if found and rules is not None and boost_inflation_suspected(info.watermarks(), rules):
        found.append("high - low != low - min: a recompute while boosted (5.0-5.7 bug) inflated low and high")
    return "; ".join(found) or None
