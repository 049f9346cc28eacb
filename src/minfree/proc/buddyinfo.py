"""Parser for /proc/buddyinfo (reference §6.2; mm/vmstat.c frag_show_print).

``"Node %d, zone %8s "`` then ``"%6lu "`` per order: free blocks of 2^order pages, all
migratetypes together, populated zones only.
"""

from __future__ import annotations

import re

from minfree.model.record import record

_ROW = re.compile(r"^Node\s+(\d{1,10}),\s*zone\s+(\S+)((?:\s+\d{1,20})+)\s*$")   # %6lu: 20 digits

#: No kernel has more orders than this: a block of 2^order pages of at least 4 KiB
#: (PAGE_SHIFT >= 12) must fit a 64-bit address, so order <= 51. A row or a pageblock order
#: beyond it is damage, not a machine (and would cost 2^order-sized integers).
MAX_ORDERS = 64 - 12


@record
class BuddyRow:
    """One row of /proc/buddyinfo: a populated zone of a node and its free blocks per order."""

    node: int
    zone: str
    counts: tuple[int, ...]  # free blocks per order

    @property
    def free_pages(self) -> int:
        return sum(n << o for o, n in enumerate(self.counts))


def parse_buddyinfo(text: str) -> list[BuddyRow]:
    """Parse every well-formed row; other lines are skipped.

    Sample from this machine (6.18.44):

    >>> rows = parse_buddyinfo('''Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
    ... Node 0, zone   Normal   1698   1377    636    226    125     59     48     99     48     31    115
    ... junk''')
    >>> rows[0].counts, rows[0].free_pages, rows[1].zone
    ((0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3), 3840, 'Normal')
    >>> parse_buddyinfo("Node 0, zone   Normal" + " 1" * 100000)   # damage: more orders than any kernel
    []
    """
    rows = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if m and len(m.group(3).split()) <= MAX_ORDERS:
            rows.append(BuddyRow(int(m.group(1)), m.group(2), tuple(int(x) for x in m.group(3).split())))
    return rows
