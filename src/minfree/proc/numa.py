"""NUMA nodes: online/possible/has_memory lists and each node's MemTotal/MemFree.

Files under /sys/devices/system/node (CONFIG_NUMA; absent otherwise).
min_free_kbytes is split over the lowmem zones of ALL nodes (kernel-memory.md
§5.4), so a doctor needs the node count and sizes. Node MemTotal equals the
sum of the node's managed pages, unlike /proc/meminfo under deferred init (§8).
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True, slots=True)
class NodeMemory:
    node: int
    mem_total_kb: int | None
    mem_free_kb: int | None


@dataclass(frozen=True, slots=True)
class NumaTopology:
    online: tuple[int, ...]
    possible: tuple[int, ...] | None
    has_memory: tuple[int, ...] | None
    nodes: tuple[NodeMemory, ...]

    @property
    def memory_nodes(self) -> tuple[int, ...]:
        """Nodes holding memory (has_memory, else online): the ones with zones."""
        return self.has_memory if self.has_memory is not None else self.online
