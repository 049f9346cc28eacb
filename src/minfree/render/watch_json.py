"""``minfree watch --json``: one JSON object per sample, one per line (schema in the README).

Schema ``minfree.watch/1``: ``t`` (Unix time), ``page_size``, ``zones`` (every zone of
/proc/zoneinfo: ``node``, ``zone``, ``free``/``min``/``low``/``high``/``promo``/``boost``/
``managed`` in pages, ``free_blocks`` per order from /proc/buddyinfo and the kernel's
``unusable`` and ``extfrag`` indices per order computed from them, in thousandths),
``rates`` (events per second since the previous sample; null on the first), ``psi``
(memory ``some``/``full`` averages, null without PSI), ``failures`` (reports the kernel
logged since the previous sample, as ``scan --follow --json`` prints them).
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from minfree.analysis.rates import Activity
from minfree.model.fragmentation import indices_by_order
from minfree.proc.system import MemoryReading

SCHEMA = "minfree.watch/1"


def sample_line(reading: MemoryReading, activity: Activity | None, page_size: int,
                failures: Sequence[dict]) -> str:
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
    }, separators=(",", ":"))
