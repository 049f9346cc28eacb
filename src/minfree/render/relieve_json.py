"""The `minfree relieve --json` document: what was done, how long it took, and every zone's free
blocks and fragmentation indices before and after.

``{"schema": 1, "action": "compact", "seconds": 0.41, "sync_seconds": null,
"before": [zone...], "after": [zone...], "notes": [...]}``, a zone being
``{"node": 0, "zone": "Normal", "free_pages": N, "free_blocks": [per order],
"unusable_index": [per order], "extfrag_index": [per order]}``. Indices are numbers, as in
``doctor --json`` and the kernel's debugfs files (thousandths / 1000; extfrag ``-1.0``: a free
block of that order exists, so fragmentation does not apply).

The human output (``render.relieve_text``) is drawn from this document.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

SCHEMA_VERSION = 1


class ZoneMeasure(Protocol):
    """One zone's measurement (``actions.relieve.ZoneFragmentation``)."""

    node: int
    zone: str
    free_blocks: Sequence[int]
    unusable: Sequence[int]  # thousandths per order
    extfrag: Sequence[int]

    @property
    def free_pages(self) -> int: ...


class Relief(Protocol):
    """What relieve did (``actions.relieve.Relief``)."""

    action: str
    seconds: float
    sync_seconds: float | None
    before: Sequence[ZoneMeasure]
    after: Sequence[ZoneMeasure]
    notes: Sequence[str]


def to_json(relief: Relief) -> dict[str, Any]:
    """The document of one relief.

    >>> from types import SimpleNamespace as N
    >>> zone = N(node=0, zone="DMA", free_pages=3840, free_blocks=(0, 0, 1), unusable=(0, 66, 1000),
    ...          extfrag=(-1000, -1000, 0))
    >>> doc = to_json(N(action="compact", seconds=0.1234567, sync_seconds=None, before=[zone],
    ...                 after=[zone], notes=[]))
    >>> doc["seconds"], doc["after"][0]["unusable_index"], doc["after"][0]["extfrag_index"]
    (0.123457, [0.0, 0.066, 1.0], [-1.0, -1.0, 0.0])
    """
    return {
        "schema": SCHEMA_VERSION,
        "action": relief.action,
        "seconds": round(relief.seconds, 6),
        "sync_seconds": None if relief.sync_seconds is None else round(relief.sync_seconds, 6),
        "before": [_zone(z) for z in relief.before],
        "after": [_zone(z) for z in relief.after],
        "notes": list(relief.notes),
    }


def _zone(z: ZoneMeasure) -> dict[str, Any]:
    return {"node": z.node, "zone": z.zone, "free_pages": z.free_pages, "free_blocks": list(z.free_blocks),
            "unusable_index": [v / 1000 for v in z.unusable],
            "extfrag_index": [v / 1000 for v in z.extfrag]}
