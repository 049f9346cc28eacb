"""``minfree relieve``: compact memory or drop caches now, and show what it bought.

* ``compact``: ``echo 1 > /proc/sys/vm/compact_memory`` compacts every zone of every node
  (sysctl_compaction_handler -> compact_nodes(), mm/compaction.c). It moves movable pages
  together so higher orders become free; nothing is thrown away.
* ``drop_caches``: ``sync`` first (dirty pages cannot be dropped), then
  ``echo 3 > /proc/sys/vm/drop_caches``: clean page cache, dentries and inodes are freed
  (drop_caches_sysctl_handler, fs/drop_caches.c). The cost: every later read of those files
  goes to disk again (cold cache, I/O bursts, latency), and it does not defragment by itself;
  free pages still lie wherever the cache was. Compaction is usually the better tool against
  fragmentation; dropping caches only helps when free memory, not contiguity, is short.

Plan, apply, verify, revert, as every action: the plan is one write to one knob (``KNOBS``);
it goes through the one sysctl writer (``actions.sysctl``; both knobs are write-only, even for
root, reference §10, so nothing is read back); what it bought is measured, not assumed: free
blocks per order from /proc/buddyinfo (read through the root, parsed by ``proc.buddyinfo``) and
the kernel's unusable / extfrag indices (``model.fragmentation``), before and after. Nothing
is reverted because no setting changes: compaction and dropped caches leave no state to undo.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from minfree.actions.sysctl import SysctlWriter
from minfree.model.fragmentation import indices_by_order
from minfree.model.record import field, record
from minfree.proc.buddyinfo import parse_buddyinfo
from minfree.sources.root import SystemRoot
from minfree.sources.specs import BUDDYINFO

#: action -> (knob under /proc/sys/vm, value written)
KNOBS = {"compact": ("compact_memory", 1), "drop_caches": ("drop_caches", 3)}
ACTIONS = tuple(KNOBS)
DROP_CACHES_COST = (
    "drop_caches throws away clean page cache, dentries and inodes: later reads go to disk "
    "again (cold cache, I/O bursts, latency) and it does not defragment by itself; "
    "compaction is usually the better tool against fragmentation")


@record
class ZoneFragmentation:
    """One zone's free blocks per order, from /proc/buddyinfo, and the unusable and extfrag
    indices the kernel's formula gives for them."""

    node: int
    zone: str
    free_blocks: tuple[int, ...]
    unusable: tuple[int, ...]  # thousandths, per order (debugfs extfrag/unusable_index)
    extfrag: tuple[int, ...]  # thousandths, per order (debugfs extfrag/extfrag_index)

    @property
    def free_pages(self) -> int:
        return sum(n << o for o, n in enumerate(self.free_blocks))


def fragmentation(buddyinfo: str) -> list[ZoneFragmentation]:
    """Per-zone free blocks and indices from /proc/buddyinfo text.

    Sample (this machine, 6.18):

    >>> rows = fragmentation("Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3\\n")
    >>> rows[0].free_pages, rows[0].unusable[10], rows[0].extfrag[10]
    (3840, 200, -1000)
    """
    return [ZoneFragmentation(row.node, row.zone, row.counts, *indices_by_order(row.counts))
            for row in parse_buddyinfo(buddyinfo)]


def measure(system: SystemRoot) -> list[ZoneFragmentation]:
    """Free blocks and indices of every zone now; OSError when /proc/buddyinfo cannot be read."""
    text = system.read_text(BUDDYINFO.path)
    if text is None:
        raise OSError(f"cannot read /{BUDDYINFO.path} ({system.gaps[-1][1]})")
    return fragmentation(text)


@record(frozen=False)
class Relief:
    """What one ``minfree relieve`` action did: the ``seconds`` it took (with the ``sync`` before
    drop_caches, also alone in ``sync_seconds``), every zone's fragmentation before and after, notes."""

    action: str
    seconds: float
    sync_seconds: float | None
    before: list[ZoneFragmentation]
    after: list[ZoneFragmentation]
    notes: list[str] = field(default_factory=list)


def relieve(action: str, root: Path | str = "/") -> Relief:
    """Run ``action`` ("compact" or "drop_caches") under ``root`` and measure it.

    Raises OSError when the write fails (not root, or the kernel lacks the knob).
    """
    if action not in KNOBS:
        raise ValueError(f"unknown action {action!r}")
    knob, value = KNOBS[action]
    system = SystemRoot(root)
    before = measure(system)
    sync_seconds = None
    start = time.monotonic()
    if action == "drop_caches":
        os.sync()
        sync_seconds = time.monotonic() - start
    SysctlWriter(root).write(knob, value)
    seconds = time.monotonic() - start
    after = measure(system)
    notes = [DROP_CACHES_COST] if action == "drop_caches" else []
    return Relief(action, seconds, sync_seconds, before, after, notes)
