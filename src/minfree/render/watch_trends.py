"""``doctor --history``: what the recorded history says, as sentences and as JSON.

JSON (the ``history`` member of doctor's document), schema ``minfree.history/1``: ``db``,
``window_seconds``, ``since``/``until`` (Unix times), ``samples``, ``first_sample``/
``last_sample``, ``zones`` (per zone: ``node``, ``zone``, ``samples``, ``below_low`` and
``below_min`` episodes, ``below_low_share``, ``lowest_free`` pages at ``lowest_at`` with the
``low``/``min`` marks then, ``first_free``/``last_free``), ``counted_seconds`` and ``counters``
(``{name: {"total", "per_second"}}``), ``psi_some_max``/``psi_full_max`` (avg10, %),
``failures`` (``by_order`` and ``by_origin`` counts; key ``"unknown"`` when not printed).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from minfree.analysis.trends import Trends, ZoneTrend

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA = "minfree.history/1"
#: Counters a reader of the history asks about first, with their meaning.
HEADLINE = (
    ("allocstall", "direct reclaim stalls"),
    ("kswapd_low_wmark_hit_quickly", "kswapd woken again within its nap (low mark hit quickly)"),
    ("compact_stall", "direct compaction stalls"),
    ("compact_fail", "compaction failures"),
    ("oom_kill", "OOM kills"),
    ("failed_alloc", "failed page allocations counted in the kernel, logged or not"),
)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _span(seconds: float) -> str:
    """``last hour`` style wording of a window.

    >>> _span(3600), _span(5400), _span(86400 * 7), _span(90)
    ('the last hour', 'the last 1.5 h', 'the last 7 days', 'the last 90 s')
    """
    if seconds == 3600:
        return "the last hour"
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"the last {seconds // 86400:g} days"
    if seconds >= 3600:
        return f"the last {seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"the last {seconds / 60:g} min"
    return f"the last {seconds:g} s"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def zone_sentence(z: ZoneTrend, window: float, page_size: int) -> str:
    """The trend of one zone in one sentence.

    >>> z = ZoneTrend(0, "Normal", 3600, 40, 2, 0.12, 12800, 0.0, 13006, 10405, 20000, 30000)
    >>> zone_sentence(z, 3600, 4096).split(";")[0]
    'free in Normal (node 0) fell below low 40 times in the last hour (12 % of the samples), below min 2 times'
    """
    mib = page_size / 2**20
    lowest = (f"lowest {z.lowest_free * mib:,.1f} MiB at {_when(z.lowest_at)} "
              f"(low {z.low_then * mib:,.1f}, min {z.min_then * mib:,.1f} MiB)")
    if not z.below_low:
        return f"free in {z.zone} (node {z.node}) stayed above low in {_span(window)}; {lowest}"
    below_min = f"below min {_times(z.below_min)}" if z.below_min else "never below min"
    return (f"free in {z.zone} (node {z.node}) fell below low {_times(z.below_low)} in {_span(window)} "
            f"({z.below_low_share * 100:.0f} % of the samples), {below_min}; {lowest}")


def render(trends: Trends, db: str, window: float, console: Console) -> None:
    console.print()
    console.print(f"[bold]History[/] {db}: {trends.samples} samples in {_span(window)}"
                  + (f" ({_when(trends.first_sample)} to {_when(trends.last_sample)})"
                     if trends.first_sample is not None and trends.last_sample is not None else ""))
    if not trends.samples:
        console.print("  nothing recorded in that window: is `minfree watch --record` running?")
        return
    for zone in trends.zones:
        style = "bold red" if zone.below_min else ("yellow" if zone.below_low else "green")
        console.print(f"  [{style}]•[/] {zone_sentence(zone, window, trends.page_size)}")
    for name, meaning in HEADLINE:
        rate = trends.per_second(name)
        if rate is not None:
            console.print(f"  {meaning} ({name}): {trends.counter_totals[name]:,} ({rate:.3g}/s)")
    if trends.psi_some_max is not None:
        full = f", full {trends.psi_full_max:.2f} %" if trends.psi_full_max is not None else ""
        console.print(f"  highest memory pressure (PSI avg10): some {trends.psi_some_max:.2f} %{full}")
    total = sum(trends.failures_by_order.values())
    orders = ", ".join(f"order {o if o is not None else '?'}: {n}"
                       for o, n in sorted(trends.failures_by_order.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
    console.print(f"  failure reports logged while recording: {total}" + (f" ({orders})" if total else ""))


def to_json(trends: Trends, db: str, window: float) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "db": db,
        "window_seconds": window,
        "since": trends.since,
        "until": trends.until,
        "samples": trends.samples,
        "first_sample": trends.first_sample,
        "last_sample": trends.last_sample,
        "page_size": trends.page_size,
        "zones": [{
            "node": z.node, "zone": z.zone, "samples": z.samples, "below_low": z.below_low,
            "below_min": z.below_min, "below_low_share": round(z.below_low_share, 4),
            "lowest_free": z.lowest_free, "lowest_at": z.lowest_at, "low": z.low_then, "min": z.min_then,
            "first_free": z.first_free, "last_free": z.last_free,
        } for z in trends.zones],
        "counted_seconds": round(trends.counted_seconds, 3),
        "counters": {name: {"total": total, "per_second": trends.per_second(name)}
                     for name, total in trends.counter_totals.items()},
        "psi_some_max": trends.psi_some_max,
        "psi_full_max": trends.psi_full_max,
        "failures": {
            "by_order": {("unknown" if k is None else str(k)): v for k, v in trends.failures_by_order.items()},
            "by_origin": {("unknown" if k is None else k): v for k, v in trends.failures_by_origin.items()},
        },
    }
