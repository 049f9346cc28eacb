"""``minfree watch --json``: one JSON object per sample, one per line (schema in the README).

Schema ``minfree.watch/1``: ``t`` (Unix time), ``page_size``, ``zones`` (every zone of
/proc/zoneinfo: ``node``, ``zone``, ``free``/``min``/``low``/``high``/``promo``/``boost``/
``managed`` in pages, ``free_blocks`` per order from /proc/buddyinfo and the kernel's
``unusable`` and ``extfrag`` indices per order computed from them, in thousandths),
``rates`` (events per second since the previous sample; null on the first), ``psi``
(memory ``some``/``full`` averages, null without PSI), ``failures`` (reports the kernel
logged since the previous sample, as ``scan --follow --json`` prints them),
``failed_allocations`` (added, additive: the in-kernel count of failed page allocations, see
:func:`failed_json`; null when not asked).
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from minfree.analysis.rates import Activity
from minfree.model.fragmentation import indices_by_order
from minfree.proc.system import MemoryReading
from minfree.render.watch_text import WatchStatus

SCHEMA = "minfree.watch/1"


def sample_line(reading: MemoryReading, activity: Activity | None, page_size: int,
                failures: Sequence[dict], failed: dict | None = None) -> str:
    blocks = {(row.node, row.zone): row.counts for row in reading.buddy}
    zones = []
    for z in reading.zones:
        counts = blocks.get((z.node, z.zone))
        unusable, extfrag = indices_by_order(counts) if counts else (None, None)
        zones.append({
            "node": z.node, "zone": z.zone, "free": z.free, "min": z.min, "low": z.low, "high": z.high,
            "promo": z.promo, "boost": z.boost, "managed": z.managed,
            "free_blocks": list(counts) if counts else None,
            "unusable": list(unusable) if unusable else None, "extfrag": list(extfrag) if extfrag else None,
        })
    psi = reading.psi
    return json.dumps({
        "schema": SCHEMA,
        "t": round(reading.wall, 3),
        "page_size": page_size,
        "zones": zones,
        "rates": None if activity is None else {
            "seconds": round(activity.seconds, 3),
            "per_second": {k: round(v, 3) for k, v in activity.per_second.items()}},
        "psi": None if psi is None else {
            kind: None if line is None else {"avg10": line.avg10, "avg60": line.avg60, "avg300": line.avg300,
                                             "total_us": line.total_us}
            for kind, line in (("some", psi.some), ("full", psi.full))},
        "failures": list(failures),
        "failed_allocations": failed,
    }, separators=(",", ":"))


def failed_json(status: WatchStatus) -> dict:
    """The in-kernel count of failed allocations for one sample (``failed_allocations``).

    >>> failed_json(WatchStatus("h", 1.0, 4096, failed_counter="ebpf", failed_interval=1,
    ...                         failed_orders={0: 0, 9: 1}, failed_since_start=2))
    {'counter': 'ebpf', 'interval': 1, 'by_order': {'0': 0, '9': 1}, 'since_start': 2, 'unavailable': None}
    """
    counting = status.failed_counter is not None
    return {"counter": status.failed_counter,
            "interval": status.failed_interval if counting else None,
            "by_order": None if status.failed_orders is None else {str(o): n for o, n in sorted(status.failed_orders.items())},
            "since_start": status.failed_since_start if counting else None,
            "unavailable": status.failed_unavailable}
