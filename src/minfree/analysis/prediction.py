"""What the kernel model says this machine's reserves are, or would be after a change.

Glue between the readers (:mod:`minfree.sources.system`) and the pure model (:mod:`minfree.model`):
zone sizes come from ``managed`` in zoneinfo (never from MemTotal, reference §8), sysctls from
/proc/sys/vm, and every value below is computed, never copied from zoneinfo, so it can be
compared with what the kernel shows.
"""
from __future__ import annotations


from minfree.model.min_free import MinFreeResult, predict_min_free_kbytes
from minfree.model import protection, watermarks
from minfree.model.protection import predict_protection
from minfree.model.record import record
from minfree.model.watermarks import predict_watermarks
from minfree.model.zones import Watermarks
from minfree.proc.zoneinfo import ZoneInfo, model_zones
from minfree.proc.system import SystemState

# mm/huge_memory.c hugepage_init(): below 512 MiB of RAM THP stays off and khugepaged's
# min_free_kbytes logic never runs.
THP_MIN_TOTALRAM_KB = 512 * 1024
DEFAULT_LOWMEM_RESERVE_RATIO = (256, 256, 32, 0, 0)   # mm/page_alloc.c sysctl_lowmem_reserve_ratio (6.x)


@record
class ZonePrediction:
    """One zone's watermarks and protection (lowmem_reserve) as the kernel model computes them
    for the current sysctls or the ones given, to compare with /proc/zoneinfo."""

    node: int
    zone: str
    watermarks: Watermarks
    protection: tuple[int, ...]


def differences(predicted: ZonePrediction, shown: ZoneInfo) -> list[str]:
    """How zoneinfo differs from a fresh computation ([] = exact), one phrase per kind."""
    found = []
    marks = watermarks.compare(predicted.watermarks, shown.watermarks())
    if not marks.exact:
        found.append(marks.explain())
    shown_protection = tuple(shown.protection or ())
    if shown_protection:   # zoneinfo prints MAX_NR_ZONES entries; the model may know more zones
        guards = protection.compare(predicted.protection[:len(shown_protection)], shown_protection)
        if not guards.exact:
            found.append(guards.explain())
    return found


def default_min_free(state: SystemState) -> MinFreeResult | None:
    """The boot-time default min_free_kbytes of this machine (sqrt rule, caps, THP raise)."""
    rules = state.rules
    if rules is None or not state.zones:
        return None
    total_kb = state.meminfo.mem_total_kb if state.meminfo else None
    return predict_min_free_kbytes(
        model_zones(state.zones), rules, thp_enabled=bool(state.thp_enabled),
        pageblock_nr_pages=1 << state.pageblock_order, page_size=state.page_size,
        watermark_scale_factor=_wsf(state),
        thp_started=total_kb is None or total_kb >= THP_MIN_TOTALRAM_KB)


def predict_zones(state: SystemState, *, min_free_kbytes: int | None = None,
                  watermark_scale_factor: int | None = None,
                  lowmem_reserve_ratio: tuple[int, ...] | None = None) -> list[ZonePrediction]:
    """Per-zone watermarks and protection for the current sysctls, or for the ones given."""
    rules = state.rules
    if rules is None or not state.zones:
        return []
    zones = model_zones(state.zones)
    mfk = min_free_kbytes if min_free_kbytes is not None else (
        state.sysctls.min_free_kbytes if state.sysctls else None)
    if mfk is None:
        return []
    wsf = watermark_scale_factor if watermark_scale_factor is not None else _wsf(state)
    boosts = {(z.node, z.zone): z.boost or 0 for z in state.zones}
    marks = predict_watermarks(zones, mfk, rules, watermark_scale_factor=wsf,
                               page_size=state.page_size, boosts=boosts)
    ratios = lowmem_reserve_ratio or state.lowmem_reserve_ratio or DEFAULT_LOWMEM_RESERVE_RATIO
    shown_width = max((len(z.protection) for z in state.zones if z.protection), default=None)
    protection = predict_protection(zones, ratios, rules, nr_zones=shown_width)
    return [ZonePrediction(z.node, z.zone, marks[(z.node, z.zone)], protection.get((z.node, z.zone), ()))
            for z in state.zones]


def _wsf(state: SystemState) -> int:
    if state.sysctls is not None and state.sysctls.watermark_scale_factor is not None:
        return state.sysctls.watermark_scale_factor
    return 10
