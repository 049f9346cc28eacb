"""NUMA nodes: online/possible/has_memory lists and each node's MemTotal/MemFree.

Files under /sys/devices/system/node (CONFIG_NUMA; absent otherwise).
min_free_kbytes is split over the lowmem zones of ALL nodes (kernel-memory.md
§5.4), so a doctor needs the node count and sizes. Node MemTotal equals the
sum of the node's managed pages, unlike /proc/meminfo under deferred init (§8).
"""

from __future__ import annotations

from dataclasses import dataclass

from minfree.proc.cpus import parse_id_list
from minfree.proc.meminfo import read_node_meminfo
from minfree.sources.root import SystemRoot

NODE_DIR = "sys/devices/system/node"


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


def _ids(root: SystemRoot, name: str, optional: bool) -> tuple[int, ...] | None:
    text = root.read_text(f"{NODE_DIR}/{name}", optional=optional)
    return None if text is None else parse_id_list(text)


def read_numa(root: SystemRoot) -> NumaTopology | None:
    """Node lists and per-node memory; None without /sys/devices/system/node/online.

    The id-list format is parsed by ``minfree.proc.cpus.parse_id_list``.
    """
    online = _ids(root, "online", optional=False)
    if online is None:
        return None
    nodes = []
    for node in online:
        info = read_node_meminfo(root, node)
        nodes.append(NodeMemory(
            node=node,
            mem_total_kb=None if info is None else info.mem_total_kb,
            mem_free_kb=None if info is None else info.mem_free_kb,
        ))
    return NumaTopology(
        online=online,
        possible=_ids(root, "possible", optional=True),
        has_memory=_ids(root, "has_memory", optional=True),  # 2.6.32+ with N_HIGH_MEMORY
        nodes=tuple(nodes),
    )
