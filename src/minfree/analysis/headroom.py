"""Headroom of GFP_ATOMIC requests, per zone and order, and whether one would succeed now.

What the exporter serves on every scrape: the depth of :mod:`minfree.model.depth` (how many
order-N GFP_ATOMIC requests each zone such a request may use serves before the kernel's
watermark check fails; the headroom is the pages they take), and the zonelist verdict for a
request made on each node (a zone passes now when its depth is not 0). Only the
cheap per-scrape sources are needed (zoneinfo, buddyinfo): without pagetypeinfo (root-only,
walks every free list under the zone lock) the free lists' migratetypes are unknown, and
high-order figures count CMA and isolated lists as usable; they are exact when the zone has
no free CMA pages and no memory is being offlined.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

from minfree.analysis.zones import NORMAL_ZONEIDX, zone_state
from minfree.model.depth import request_depths
from minfree.model.record import field, record
from minfree.model.wmark_check import Request, ZoneState, alloc_flags_for, reduced_floor, zonelist
from minfree.proc.system import SystemState


#: request_depths of the zones seen lately: a zone whose free lists and watermarks did not
#: change since the last scrape (DMA, mostly) costs a lookup. Exact: the depth is a pure
#: function of its arguments (ZoneState and KernelRules are frozen).
_zone_depths = functools.lru_cache(maxsize=64)(request_depths)


class ZoneHeadroom(NamedTuple):
    """(tuples: the exporter makes one per zone and order on every scrape)"""

    node: int
    zone: str
    order: int
    requests: int       # order-N GFP_ATOMIC requests served before the check fails (the depth)
    approximate: bool

    @property
    def pages(self) -> int:
        """What those requests take: the headroom."""
        return self.requests << self.order

    @property
    def ok(self) -> bool:
        """The check passes now in this zone."""
        return self.requests > 0


class RequestVerdict(NamedTuple):
    """An order-N GFP_ATOMIC request made on ``node``: ``serving`` (node, zone) is the first
    zone of its zonelist that passes (None: every zone fails, the request fails)."""

    node: int
    order: int
    serving: tuple[int, str] | None

    @property
    def ok(self) -> bool:
        return self.serving is not None


@record(frozen=False)
class AtomicHeadroom:
    """What the exporter serves each scrape: per order, the depth of every zone a GFP_ATOMIC request
    may use, the verdict of a request made on each node, and each zone's order-0 floor (``floors``)."""

    zones: list[ZoneHeadroom] = field(default_factory=list)
    requests: list[RequestVerdict] = field(default_factory=list)
    #: (node, zone) -> pages an order-0 GFP_ATOMIC request must leave free: the reduced MIN
    #: plus lowmem_reserve for a Normal request
    floors: dict[tuple[int, str], int] = field(default_factory=dict)


def atomic_headroom(state: SystemState) -> AtomicHeadroom:
    """Every order the free lists have (buddyinfo's columns: NR_PAGE_ORDERS), every zone a
    GFP_ATOMIC request may use (index <= Normal, managed pages), every node's zonelist.

    Sample: this machine's Normal zone, one node (6.18: GFP_ATOMIC floor = min - min/2, then
    - 1/4):

    >>> from minfree.proc.zoneinfo import parse_zoneinfo
    >>> from minfree.proc.buddyinfo import parse_buddyinfo
    >>> from minfree.model.kversion import parse_release
    >>> state = SystemState(origin="/", is_live=False, gaps=[], release="6.18.0",
    ...     kernel=parse_release("6.18.0"), buddy=parse_buddyinfo(
    ...         "Node 0, zone   Normal   1000   500   0   0"), zones=parse_zoneinfo('''Node 0, zone   Normal
    ...   pages free     2000
    ...         boost    0
    ...         min      1000
    ...         low      1250
    ...         high     1500
    ...         managed  60000
    ...         protection: (0, 0, 0, 0)
    ... '''), kernel_indices=None, pagetypes=None, meminfo=None, psi=None, sysctls=None, thp=None,
    ...     numa=None, netdevs=None, boot_settings={}, lowmem_reserve_ratio=None)
    >>> report = atomic_headroom(state)
    >>> [(h.order, h.pages, h.ok) for h in report.zones], report.floors
    ([(0, 1625, True), (1, 1000, True), (2, 0, False), (3, 0, False)], {(0, 'Normal'): 375})
    >>> [(r.order, r.serving) for r in report.requests]
    [(0, (0, 'Normal')), (1, (0, 'Normal')), (2, None), (3, None)]
    """
    rules = state.rules
    report = AtomicHeadroom()
    if rules is None:
        return report
    buddy = {(row.node, row.zone): tuple(row.counts) for row in state.buddy}
    flags = alloc_flags_for(Request.GFP_ATOMIC, 0, rules)
    states: list[ZoneState] = []
    for info in state.zones:
        counts = buddy.get((info.node, info.zone))
        if counts is None or not info.managed:
            continue
        zone = zone_state(state, info, counts)
        if zone.index > NORMAL_ZONEIDX:
            continue
        states.append(zone)
        protection = zone.protection[NORMAL_ZONEIDX] if NORMAL_ZONEIDX < len(zone.protection) else 0
        report.floors[(zone.node, zone.name)] = reduced_floor(zone.min, flags) + protection
    orders = max((len(z.blocks.counts) for z in states if z.blocks), default=0)
    passes: dict[tuple[int, str, int], bool] = {}
    pageblock_order = state.pageblock_order
    for zone in states:
        for depth in _zone_depths(zone, orders, Request.GFP_ATOMIC, rules, highest_zoneidx=NORMAL_ZONEIDX,
                                  pageblock_order=pageblock_order):
            report.zones.append(ZoneHeadroom(zone.node, zone.name, depth.order, depth.requests, depth.approximate))
            passes[(zone.node, zone.name, depth.order)] = depth.requests > 0
    for node in sorted({z.node for z in states}):
        ordered = zonelist(states, NORMAL_ZONEIDX, node)
        for order in range(orders):
            serving = next(((z.node, z.name) for z in ordered if passes[(z.node, z.name, order)]), None)
            report.requests.append(RequestVerdict(node, order, serving))
    return report
