"""What to do about one failure event, from what its explanation shows.

An allocation that could sleep failed after reclaim and compaction gave up: the memory is held
somewhere, and a larger reserve only hides it. One that cannot sleep lives on the reserve below
the min watermark: a larger ``vm.min_free_kbytes`` covers the burst. When the replayed check
found the memory fragmented (verdict ``fragmented``), or the request needs a block of more than
one page, compaction and a wider watermark gap keep such blocks free.
"""
from __future__ import annotations

from minfree.analysis.explain import ExplainedEvent

_HELD = ("this allocation could sleep, so it failed after reclaim and compaction gave up: "
         "look at what holds memory (OOM kills nearby, cgroup limits) before raising reserves.")
_RESERVE = ("an allocation that cannot sleep lives on the reserve below the min watermark: "
            "raise vm.min_free_kbytes so that reserve covers the burst (run `minfree doctor` "
            "for this host's numbers)")
_COMPACT = ("free memory is fragmented for order >= 1 requests: compaction "
            "(`echo 1 > /proc/sys/vm/compact_memory`) helps at once; a larger reserve "
            "and vm.watermark_scale_factor keep blocks free")


def advice(e: ExplainedEvent) -> str:
    """One or two sentences: what to change, and why, for this event."""
    atomic = e.decoding is not None and not e.decoding.can_sleep
    if not atomic:
        return _HELD
    fragmented = e.verdict is not None and e.verdict.reason == "fragmented"
    parts = [_RESERVE]
    if fragmented or (e.event.order or 0) > 0:
        parts.append(_COMPACT)
    return "; ".join(parts) + "."
