"""What a network interface asks of the page allocator: the order of its receive buffers."""
from __future__ import annotations

from minfree.analysis import thresholds as T


def receive_order(mtu: int, page_size: int) -> int:
    """Page order of a linear receive skb head for this MTU (heuristic, reference §5.5).

    The head outgrows a page past MTU 3710 (a kmalloc-8k slab, refilled at order 1) and the
    largest kmalloc cache past MTU 7806 (the page allocator, order 2, in softirq):

    >>> receive_order(1500, 4096), receive_order(3711, 4096), receive_order(7806, 4096), receive_order(7807, 4096)
    (0, 1, 1, 2)
    >>> receive_order(9000, 4096), receive_order(9000, 65536)
    (2, 0)
    """
    size = mtu + T.SKB_OVERHEAD_BYTES
    if size <= T.KMALLOC_MAX_CACHE and size <= page_size:
        return 0
    pages = -(-size // page_size)
    return (pages - 1).bit_length()
