"""NUMA nodes: online/possible/has_memory lists and each node's MemTotal/MemFree.

Files under /sys/devices/system/node (CONFIG_NUMA; absent otherwise).
min_free_kbytes is split over the lowmem zones of ALL nodes (kernel-memory.md
§5.4), so a doctor needs the node count and sizes. Node MemTotal equals the
sum of the node's managed pages, unlike /proc/meminfo under deferred init (§8).
"""

from __future__ import annotations

from minfree.model.record import record


@record
class NodeMemory:
    """MemTotal and MemFree of one online node (kB), from /sys/devices/system/node/nodeN/meminfo;
    None when unreadable."""

    node: int
    mem_total_kb: int | None
    mem_free_kb: int | None


@record
class NumaTopology:
    """The node lists of /sys/devices/system/node (``online``, ``possible``, ``has_memory``; None
    when unreadable) and the memory of each online node."""

    online: tuple[int, ...]
    possible: tuple[int, ...] | None
    has_memory: tuple[int, ...] | None
    nodes: tuple[NodeMemory, ...]

    @property
    def memory_nodes(self) -> tuple[int, ...]:
        """Nodes holding memory (has_memory, else online): the ones with zones."""
        return self.has_memory if self.has_memory is not None else self.online


#: No node or CPU id reaches this (MAX_NUMNODES is 1 << NODES_SHIFT <= 1024, NR_CPUS <= 8192 on
#: x86-64, arch/x86/Kconfig, 6.18): a larger id is damage, and would cost a range of that size.
_MAX_ID = 1 << 16


def parse_id_list(text: str) -> tuple[int, ...] | None:
    """A kernel id list (``%*pbl``: ``0-3,8,10-11``) as sorted ids; None if malformed.

    Samples from this machine (node/online, cpu/online) and a 2-socket host:

    >>> parse_id_list("0-1\\n"), parse_id_list("0\\n"), parse_id_list("0-3,8,10-11")
    ((0, 1), (0,), (0, 1, 2, 3, 8, 10, 11))
    >>> parse_id_list("\\n"), parse_id_list("3-1"), parse_id_list("a"), parse_id_list("0-4000000000")
    ((), None, None, None)
    """
    ids: set[int] = set()
    body = text.strip()
    if not body:
        return ()
    for part in body.split(","):
        low, sep, high = part.strip().partition("-")
        if not low.isdecimal() or (sep and not high.isdecimal()):
            return None
        if len(low) > 5 or len(high) > 5:   # more digits than any id has
            return None
        first, last = int(low), int(high) if sep else int(low)
        if last < first or last >= _MAX_ID:
            return None
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))
