"""How many atomic requests of each order the zones can still serve, summed along the zonelist,
and whether high-order blocks or free pages as a whole run short (doctor's depletion findings).

A request walks the zonelist and takes the first zone whose check passes; a zone that fails
keeps failing while nothing is freed (model/depth.py), so the requests a zonelist serves are
the sum of its zones' depths, and the next one comes from the first zone with depth left.
"""
from __future__ import annotations


from minfree.analysis import thresholds as T
from minfree.analysis.zones import NORMAL_ZONEIDX, ZoneView
from minfree.model.record import record
from minfree.model.wmark_check import zonelist


@record
class OrderDepth:
    """How many GFP_ATOMIC requests of one order the zonelist serves before every zone fails,
    and how they spread over its zones."""

    order: int
    requests: int            # GFP_ATOMIC requests of this order served before every zone fails
    next_zone: str | None    # "node/zone" serving the next one; None when none would
    by_zone: dict[str, int]  # requests each zone serves, in zonelist order
    approximate: bool        # migratetypes unknown: every block counted as usable

    @property
    def pages(self) -> int:
        return self.requests << self.order


@record
class Depletion:
    """``reserve_pages``: the unboosted min watermarks of the zones that can serve an order-0
    atomic request, the yardstick of :data:`thresholds.DEPLETION_ORDERS`."""

    orders: tuple[OrderDepth, ...]
    reserve_pages: int

    def at(self, order: int) -> OrderDepth | None:
        return self.orders[order] if order < len(self.orders) else None

    @property
    def order0_pages(self) -> int:
        first = self.at(0)
        return first.pages if first else 0

    @property
    def exhausted(self) -> bool:
        """Fewer pages above the atomic floor than the reserve itself: kswapd is behind."""
        return bool(self.orders) and self.order0_pages < self.reserve_pages

    @property
    def depleted(self) -> list[OrderDepth]:
        """Orders 1-3 whose depth holds fewer pages than the reserve while order 0 has plenty."""
        if not self.orders or self.exhausted:
            return []
        return [d for o in T.DEPLETION_ORDERS if (d := self.at(o)) is not None and d.pages < self.reserve_pages]


def depletion(views: list[ZoneView], local_node: int = 0) -> Depletion | None:
    """Sum each order's depth along the zonelist of ``local_node``; None without a model.

    >>> from minfree.model.depth import Depth
    >>> from minfree.model.wmark_check import ZoneState
    >>> from types import SimpleNamespace as Info
    >>> def view(name, index, min_, boost, depths):
    ...     model = ZoneState(node=0, name=name, index=index, free=0, min=min_, low=min_, boost=boost)
    ...     return ZoneView(info=Info(node=0, zone=name), predicted=None, free_blocks=(), unusable=(),
    ...                     extfrag=(), indices_from="buddyinfo", atomic_floor=0, model=model,
    ...                     atomic_depth=tuple(Depth(o, n) for o, n in enumerate(depths)))
    >>> d = depletion([view("DMA", 0, 87, 0, (1, 0, 0, 0)), view("DMA32", 1, 14248, 3072, (230029, 4983, 2483, 1241))])
    >>> d.reserve_pages, d.at(1).requests, d.at(1).next_zone, [o.order for o in d.depleted]
    (11263, 4983, '0/DMA32', [1, 2, 3])
    """
    by_key = {(v.model.node, v.model.name): v for v in views if v.model is not None and v.atomic_depth}
    if not by_key:
        return None
    ordered = [by_key[(z.node, z.name)] for z in zonelist([v.model for v in by_key.values()], NORMAL_ZONEIDX, local_node)]
    width = min(len(v.atomic_depth) for v in ordered)
    orders = []
    for order in range(width):
        by_zone = {f"{v.model.node}/{v.model.name}": v.atomic_depth[order].requests for v in ordered}
        orders.append(OrderDepth(
            order, sum(by_zone.values()), next((k for k, n in by_zone.items() if n), None), by_zone,
            any(v.atomic_depth[order].approximate for v in ordered)))
    reserve = sum(v.model.min - v.model.boost for v in ordered if v.atomic_depth[0].requests)
    return Depletion(tuple(orders), reserve)
