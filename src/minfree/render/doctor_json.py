"""The `minfree doctor --json` document (schema in the README, "doctor JSON")."""
from __future__ import annotations

from minfree.analysis.depletion import Depletion
from minfree.analysis.doctor import DoctorReport
from minfree.analysis.failed_allocations import FailedAllocations
from minfree.analysis.zones import ZoneView

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 1


def to_json(report: DoctorReport) -> dict[str, Any]:
    state = report.state
    sysctls = state.sysctls
    default = report.default
    return {
        "schema": SCHEMA_VERSION,
        "kernel": state.release,
        "status": report.status,
        "root": state.origin,
        "min_free_kbytes": {
            "current": sysctls.min_free_kbytes if sysctls else None,
            "kernel_default": default.kbytes if default else None,
            "rule": default.rule if default else None,
            "sqrt_rule_kbytes": default.sqrt_kbytes if default else None,
            "thp_rule_kbytes": default.thp_kbytes if default else None,
            "explanation": default.explanation if default else None,
        },
        "sysctls": {} if sysctls is None else {
            k: getattr(sysctls, k) for k in sysctls.__slots__ if getattr(sysctls, k) is not None},
        "lowmem_reserve_ratio": state.lowmem_reserve_ratio,
        "thp": None if state.thp is None else {"enabled": state.thp.enabled, "defrag": state.thp.defrag},
        "page_size": state.page_size,
        "pageblock_order": state.pageblock_order,
        "zones": [_zone_json(z, state.page_size) for z in report.zones.zones],
        "atomic": [{"order": a.order, "ok": a.ok, "zone": a.zone, "approximate": a.approximate,
                    "explanation": a.explanation} for a in report.zones.atomic],
        "atomic_depth": _depth_json(report.depletion),
        "rates": None if report.activity is None else {
            "window_s": round(report.activity.seconds, 3),
            "per_second": {k: round(v, 3) for k, v in report.activity.per_second.items()},
            "psi_some_avg10": report.activity.psi_some_avg10,
            "psi_full_avg10": report.activity.psi_full_avg10,
            "psi_some_stall_ms": report.activity.psi_some_stall_ms},
        "failures_in_log": None if report.failures is None else {
            "events": len(report.failures.events),
            "related": dict(report.failures.related), **_log_window(report)},
        "failed_allocations": _failed_json(report.failed),
        "findings": [f.to_json() for f in report.findings],
        "gaps": [{"path": p, "reason": r} for p, r in state.gaps],
        "notes": state.notes,
    }


def _failed_json(failed: FailedAllocations | None) -> dict[str, Any] | None:
    if failed is None:
        return None
    return {"counter": failed.counter,
            "window_s": None if failed.window_s is None else round(failed.window_s, 3),
            "total": failed.total,
            "by_order": None if failed.by_order is None else {str(o): n for o, n in sorted(failed.by_order.items())},
            "unavailable": failed.unavailable}


def _zone_json(z: ZoneView, page_size: int) -> dict[str, Any]:
    info = z.info
    predicted = None
    if z.predicted is not None:
        marks = z.predicted.watermarks
        predicted = {"min": marks.min, "low": marks.low, "high": marks.high, "promo": marks.promo,
                     "protection": list(z.predicted.protection)}
    return {
        "node": info.node, "zone": info.zone, "managed": info.managed, "present": info.present,
        "free": info.free, "boost": info.boost, "min": info.min, "low": info.low, "high": info.high,
        "promo": info.promo, "protection": list(info.protection) if info.protection else None,
        "predicted": predicted, "stale": z.stale,
        "atomic_reserve_pages": z.atomic_reserve, "atomic_floor_pages": z.atomic_floor,
        "free_blocks": list(z.free_blocks),
        "unusable_index": [v / 1000 for v in z.unusable],
        "extfrag_index": [v / 1000 for v in z.extfrag],
        "indices_from": z.indices_from,
        "atomic_depth": [d.requests for d in z.atomic_depth] or None,
        "page_size": page_size,
    }


def _depth_json(depletion: Depletion | None) -> dict[str, Any] | None:
    if depletion is None:
        return None
    return {
        "reserve_pages": depletion.reserve_pages, "order0_pages": depletion.order0_pages,
        "exhausted": depletion.exhausted, "depleted_orders": [d.order for d in depletion.depleted],
        "orders": [{"order": d.order, "requests": d.requests, "pages": d.pages, "next_zone": d.next_zone,
                    "by_zone": d.by_zone, "approximate": d.approximate} for d in depletion.orders],
    }


def _log_window(report: DoctorReport) -> dict[str, Any]:
    """Which reports ``events`` counts: the last ``since_s`` seconds (null: the whole boot), the
    ones before (``earlier``), the undated ones judged as recent, and when the last one was."""
    window = report.log_window
    if window is None:
        return {}
    last = window.last
    start = window.start
    return {"since_s": window.since_s, "earlier": window.earlier, "undated": window.undated,
            "start": None if start is None else _when(start),
            "last": None if last is None else _when(last)}


def _when(at) -> dict[str, Any]:
    return {"wall_clock": at.wall.isoformat(timespec="seconds") if at.wall is not None else None,
            "printed": at.printed, "uptime_s": at.uptime}
