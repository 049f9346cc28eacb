"""Why a reported allocation failed: replay the kernel's watermark check on its memory dump.

The zone lines, ``lowmem_reserve[]`` and buddy lines a failure report prints are exactly what
``__zone_watermark_ok()`` looked at (reference kernel-memory.md §3.9), so the check is
replayed per zone with :func:`minfree.model.wmark_check.check_zonelist`:

* ``below_watermark`` - every zone's free pages were at or under the floor this request may use;
* ``fragmented``      - some zone had free pages above the floor but no free block of order >= N
  on a list the request may use;
* ``passes_on_dump``  - the replay succeeds: the dump was printed a moment after the failure
  (pages freed meanwhile), or the pages sat on per-cpu lists; said, not hidden.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from minfree.model.gfp import GfpDecoding
from minfree.model.kversion import KernelVersion
from minfree.logs.memdump import MemDump, ZoneDump
from minfree.model.rules import KernelRules
from minfree.model.zones import zone_order
from minfree.model.wmark_check import (CheckResult, FreeBlocks, Request, ZoneState,
                                       check_zonelist)

_REQUESTS = {"GFP_ATOMIC": Request.GFP_ATOMIC, "GFP_NOWAIT": Request.GFP_NOWAIT}


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: str                 # "below_watermark" | "fragmented" | "passes_on_dump"
    summary: str                # a few words with the key number
    explanation: str            # one paragraph with the numbers
    zones: tuple[CheckResult, ...]
    assumed_kernel: bool        # the kernel era was inferred, not printed

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason, "summary": self.summary, "explanation": self.explanation,
            "assumed_kernel": self.assumed_kernel,
            "zones": [{"node": r.node, "zone": r.zone, "ok": r.ok, "reason": r.reason,
                       "free_pages": r.free, "usable_free_pages": r.free_adj, "mark_pages": r.mark,
                       "floor_pages": r.floor, "protection_pages": r.protection,
                       "approximate": r.approximate} for r in self.zones],
        }


def judge(dump: MemDump, order: int, decoding: GfpDecoding, kernel: KernelVersion | None) -> Verdict | None:
    """Replay the check for this request on the dump; None if the dump lacks the zone lines."""
    page_kb = dump.page_kb or 4
    order_of_zones = zone_order({z.zone for z in dump.zones})
    states = [s for z in dump.zones if (s := _zone_state(z, order_of_zones, page_kb)) is not None]
    if not states:
        return None
    assumed = kernel is None
    version = kernel or era_of_layout(decoding.layout)
    rules = KernelRules.for_version(version)
    request = _REQUESTS.get(decoding.request_class, Request.GFP_KERNEL)
    highest = order_of_zones.index(decoding.zone) if decoding.zone in order_of_zones else 2
    result = check_zonelist(states, order, request, rules, highest_zoneidx=highest,
                            local_node=states[0].node)
    return _verdict(result.results, order, request, page_kb, assumed)


def era_of_layout(layout: str) -> KernelVersion:
    """When the log names no kernel, the GFP layout of its mode still dates it: the first
    release of that layout ("4.4", "5.1-6.2", "2.6.32-4.3+rhel6"); the newest rules otherwise.

    >>> era_of_layout("5.1-6.2"), era_of_layout("2.6.32-4.3+rhel6").vendor
    (KernelVersion(major=5, minor=1, patch=0, release='', vendor=None), 'rhel6')
    """
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", layout)
    if match is None:
        return KernelVersion(6, 18, 0)
    vendor = layout.partition("+")[2] or None
    return KernelVersion(int(match[1]), int(match[2]), int(match[3] or 0), vendor=vendor)


def _zone_state(zone: ZoneDump, order_of_zones: tuple[str, ...], page_kb: int) -> ZoneState | None:
    if zone.free_kb is None or zone.min_kb is None or zone.zone not in order_of_zones:
        return None
    blocks = None
    if zone.buddy:
        counts = [0] * (max(_order(kb, page_kb) for _, kb, _ in zone.buddy) + 1)
        letters = [""] * len(counts)
        for count, kb, types in zone.buddy:
            counts[_order(kb, page_kb)] = count
            letters[_order(kb, page_kb)] = types
        has_letters = any(letters)
        blocks = FreeBlocks.from_letters(counts, letters) if has_letters else FreeBlocks.from_buddyinfo(counts)
    return ZoneState.from_kb(
        node=zone.node or 0, name=zone.zone, index=order_of_zones.index(zone.zone),
        free_kb=zone.free_kb, min_kb=zone.min_kb, low_kb=zone.low_kb or zone.min_kb,
        boost_kb=zone.boost_kb or 0, protection=zone.lowmem_reserve or (),
        free_cma_kb=zone.free_cma_kb or 0,
        reserved_highatomic_kb=zone.reserved_highatomic_kb or 0,
        free_highatomic_kb=zone.free_highatomic_kb or 0,
        managed_kb=zone.managed_kb, blocks=blocks, page_size=page_kb * 1024,
    )


def _order(block_kb: int, page_kb: int) -> int:
    return max(0, (block_kb // page_kb).bit_length() - 1)


def _verdict(results: tuple[CheckResult, ...], order: int, request: Request, page_kb: int,
             assumed: bool) -> Verdict:
    kb = lambda pages: f"{pages * page_kb:,} kB"  # noqa: E731
    asked = f"an order-{order} {request.value} request"
    details = "; ".join(r.explanation for r in results)
    if any(r.ok for r in results):
        ok = next(r for r in results if r.ok)
        return Verdict(
            "passes_on_dump", f"the dump shows room in {ok.zone}",
            f"Replaying the kernel's check on the printed dump, {asked} would pass in Node {ok.node} "
            f"{ok.zone} ({kb(ok.free_adj)} usable free > {kb(ok.needed)} needed): the dump was taken "
            f"after the failure and memory was freed in between, or pages sat on per-cpu lists. "
            f"Zone by zone: {details}.", results, assumed)
    fragmented = [r for r in results if r.reason == "no_free_block"]
    if fragmented:
        worst = max(fragmented, key=lambda r: r.free_adj)
        return Verdict(
            "fragmented",
            f"fragmented: {kb(worst.free_adj)} free in {worst.zone} but no block of order >= {order}",
            f"Fragmentation, not exhaustion: Node {worst.node} {worst.zone} had {kb(worst.free_adj)} "
            f"free, above the {kb(worst.needed)} this request must leave, but no free block of "
            f"order >= {order} ({(1 << order) * page_kb} kB contiguous) on a list {asked} may use. "
            f"Zone by zone: {details}.", results, assumed)
    preferred = results[0]    # zonelist order: the request's own zone comes first
    protected = [r.zone for r in results[1:] if r.reason == "protected"]
    held = (f"; {', '.join(protected)} had more free but lowmem protection keeps it for "
            "lower-zone callers" if protected else "")
    return Verdict(
        "below_watermark",
        f"below watermark: {preferred.zone} {kb(preferred.free_adj)} free <= {kb(preferred.needed)}",
        f"Exhaustion: every zone was at or below the floor {asked} may use. Its own zone, Node "
        f"{preferred.node} {preferred.zone}, had {kb(preferred.free_adj)} usable free against a "
        f"floor of {kb(preferred.floor)} (min {kb(preferred.mark)} less the part this request may "
        f"take) plus {kb(preferred.protection)} lowmem protection{held}. Zone by zone: {details}.",
        results, assumed)
