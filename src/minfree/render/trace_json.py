"""The ``minfree trace --json`` document (schema 1).

``{"schema": 1, "window_s": 10.0, "failed_total": N, "counted_in_kernel": N|null,
"records": N, "lost": N, "skipped_lines": N, "by_class": {class: N}, "classes": {class:
meaning}, "by_order": {"3": N}, "top_processes": [[comm, N]], "top_sites": [[site, N]],
"top_gfp_flags": [[names, N]], "failures": [the first 1000 whole: {"t", "order", "gfp", "gfp_flags",
"migratetype", "comm", "pid", "class", "site", "reason"}], "intervals": [{"start", "end",
"failed", "records", "by_class", "by_order", "net", "demand"}], "kernel_counters":
{vmstat name: rise}, "kernel_log": {"printed": N, "suppressed": N} | null, "net": {counter:
rise}, "coincidence": [sentences], "demand_per_s": {order: rate} , "atomic_pages_per_s":
x|null, "kswapd": latency|null, "direct_reclaim": latency|null, "gfp_table": name, "sources":
{what: how}, "missing": [reasons]}``, a latency being ``{"count", "total_s", "p50_s",
"p99_s", "max_s", "unfinished"}``.

``failed_total`` is every failed allocation in the window: the in-kernel count when perf ran,
else the records plus those the ring buffer lost. ``gfp`` is the mask (null when a printed
name was not in the table). With ``--follow --json`` each interval is printed first as its own
line, ``{"schema": 1, "interval": {...}}``.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from minfree.analysis.failure_classes import MEANING
from minfree.analysis.trace_window import Failure, Interval, Latency, Tally, TraceWindow

SCHEMA_VERSION = 1


def print_json(doc: dict[str, Any]) -> None:
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _latency(latency: Latency | None) -> dict[str, Any] | None:
    if latency is None:
        return None
    r = lambda v: None if v is None else round(v, 6)  # noqa: E731
    return {"count": latency.count, "total_s": r(latency.total), "p50_s": r(latency.p50),
            "p99_s": r(latency.p99), "max_s": r(latency.max), "unfinished": latency.unfinished}


def failure(f: Failure) -> dict[str, Any]:
    return {"t": round(f.t, 6), "order": f.order, "gfp": None if f.gfp is None else hex(f.gfp),
            "gfp_flags": f.gfp_names, "migratetype": f.migratetype, "comm": f.comm, "pid": f.pid,
            "class": f.klass, "site": f.site, "reason": f.reason}


def interval(i: Interval) -> dict[str, Any]:
    return {"start": round(i.start, 6), "end": round(i.end, 6), "failed": i.failed,
            "records": i.records, "by_class": dict(i.by_class),
            "by_order": {str(k): v for k, v in sorted(i.by_order.items())},
            "net": dict(i.net), "demand": dict(i.demand)}


def to_json(window: TraceWindow, kernel: dict[str, int], logged: dict[str, int] | None,
            gfp_table: str) -> dict[str, Any]:
    """The document of one window.

    >>> parts, tally = [Interval(0.0, 2.0, failed=1)], Tally()
    >>> tally.add(Failure(0.5, 9, 0x146cca, "GFP_HIGHUSER_MOVABLE|__GFP_NOWARN", 1, "bash", 7,
    ...                   "silent_blocking", "alloc_buddy_hugetlb_folio", "may sleep"), parts)
    >>> w = TraceWindow(window_s=2.0, intervals=parts, tally=tally, counted=1, lost=0, skipped=0,
    ...                 kswapd=None, direct_reclaim=None, sources={}, missing=[])
    >>> doc = to_json(w, {"htlb_buddy_alloc_fail": 1}, None, "tracefs")
    >>> doc["failed_total"], doc["by_class"]["silent_blocking"], doc["by_order"], doc["intervals"][0]["records"]
    (1, 1, {'9': 1}, 1)
    """
    atomic = window.atomic_pages_per_s()
    return {
        "schema": SCHEMA_VERSION,
        "window_s": round(window.window_s, 6),
        "failed_total": window.failed_total,
        "counted_in_kernel": window.counted,
        "records": window.tally.records,
        "lost": window.lost,
        "skipped_lines": window.skipped,
        "by_class": window.by_class(),
        "classes": dict(MEANING),
        "by_order": {str(k): v for k, v in window.by_order().items()},
        "top_processes": [list(p) for p in window.top("comm")],
        "top_sites": [list(p) for p in window.top("site")],
        "top_gfp_flags": [list(p) for p in window.top("gfp_names")],
        "failures": [failure(f) for f in window.tally.kept],
        "intervals": [interval(i) for i in window.intervals],
        "kernel_counters": dict(kernel),
        "kernel_log": logged,
        "net": window.net_totals(),
        "coincidence": window.coincidences(),
        "demand_per_s": {k: round(v, 3) for k, v in window.demand().items()},
        "atomic_pages_per_s": None if atomic is None else round(atomic, 3),
        "kswapd": _latency(window.kswapd),
        "direct_reclaim": _latency(window.direct_reclaim),
        "gfp_table": gfp_table,
        "sources": dict(window.sources),
        "missing": list(window.missing),
    }
