"""Parser for /proc/pagetypeinfo (reference §6.3; mm/vmstat.c pagetypeinfo_show).

Root-only (0400) since 5.4: the caller passes None when unreadable and gets None back.
Counts capped at 100000 print as ``>100000`` (5.4+); they parse as 100000 and are listed in
``capped``. The page block order is checked: no kernel has more orders than
:data:`~minfree.proc.buddyinfo.MAX_ORDERS`, and ``Pages per block`` is ``1 << order``
(pagetypeinfo_showfree and pagetypeinfo_show, mm/vmstat.c, 6.18); a file where they disagree
is damaged (None: the caller records a gap).
"""

from __future__ import annotations

import re

from minfree.model.record import field, record
from minfree.proc.buddyinfo import MAX_ORDERS

_ORDER = re.compile(r"^Page block order:\s*(\d{1,20})\s*$")   # numbers: %lu, 20 digits at most
_PER_BLOCK = re.compile(r"^Pages per block:\s*(\d{1,20})\s*$")
_FREE_ROW = re.compile(r"^Node\s+(\d{1,10}),\s*zone\s+(\S+),\s*type\s+(\S+)((?:\s+>?\d{1,20})+)\s*$")
_BLOCKS_HEADER = re.compile(r"^Number of blocks type\s+(.*)$")
_BLOCKS_ROW = re.compile(r"^Node\s+(\d{1,10}),\s*zone\s+(\S+)((?:\s+\d{1,20})+)\s*$")


@record(frozen=False)
class PageTypeInfo:
    """What /proc/pagetypeinfo prints: the pageblock order and size, and per zone the free blocks
    of each migratetype and order and the number of pageblocks of each migratetype."""

    pageblock_order: int | None = None
    pages_per_block: int | None = None
    #: (node, zone) -> migratetype -> free blocks per order
    free: dict[tuple[int, str], dict[str, tuple[int, ...]]] = field(default_factory=dict)
    #: (node, zone, migratetype, order) whose count was printed as ">100000"
    capped: set[tuple[int, str, str, int]] = field(default_factory=set)
    #: (node, zone) -> migratetype -> number of pageblocks of that type
    blocks: dict[tuple[int, str], dict[str, int]] = field(default_factory=dict)


def parse_pagetypeinfo(text: str | None) -> PageTypeInfo | None:
    """Parse the file; None for None/unreadable or text with nothing recognisable.

    Sample from this machine (6.18.44, trimmed):

    >>> info = parse_pagetypeinfo('''Page block order: 9
    ... Pages per block:  512
    ...
    ... Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10
    ... Node    0, zone      DMA, type    Unmovable      0      0      0      0      0      0      0      0      1      0      0
    ... Node    0, zone   Normal, type      Movable    373    110    218    150    201    133    167     81     41     30 >100000
    ...
    ... Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate
    ... Node 0, zone      DMA            1            7            0            0            0
    ... ''')
    >>> info.pageblock_order, info.free[(0, "Normal")]["Movable"][10], info.capped
    (9, 100000, {(0, 'Normal', 'Movable', 10)})
    >>> info.blocks[(0, "DMA")]["Movable"]
    7
    >>> parse_pagetypeinfo(None) is None, parse_pagetypeinfo("nonsense") is None
    (True, True)

    A block order the free table cannot hold is damage:

    >>> parse_pagetypeinfo("Page block order: 2000000000\\nPages per block:  512\\n"
    ...                    "Free pages count per migrate type at order  0  1  2\\n") is None
    True
    """
    if not text:
        return None
    info = PageTypeInfo()
    block_types: list[str] = []
    found = False
    for line in text.splitlines():
        if m := _ORDER.match(line):
            info.pageblock_order, found = int(m.group(1)), True
        elif m := _PER_BLOCK.match(line):
            info.pages_per_block, found = int(m.group(1)), True
        elif (m := _FREE_ROW.match(line)) and len(m.group(4).split()) <= MAX_ORDERS:
            key = (int(m.group(1)), m.group(2))
            mt = m.group(3)
            counts = []
            for order, token in enumerate(m.group(4).split()):
                if token.startswith(">"):
                    info.capped.add((key[0], key[1], mt, order))
                counts.append(int(token.lstrip(">")))
            info.free.setdefault(key, {})[mt] = tuple(counts)
            found = True
        elif m := _BLOCKS_HEADER.match(line):
            block_types = m.group(1).split()
        elif line.startswith("Number of mixed blocks"):
            block_types = []  # CONFIG_PAGE_OWNER table: same row shape, other meaning
        elif block_types and (m := _BLOCKS_ROW.match(line)):
            values = [int(x) for x in m.group(3).split()]
            if len(values) == len(block_types):
                info.blocks[(int(m.group(1)), m.group(2))] = dict(zip(block_types, values))
    if not found or not _block_order_fits(info):
        return None
    return info


def _block_order_fits(info: PageTypeInfo) -> bool:
    """The page block order is one a kernel can have and matches Pages per block."""
    order = info.pageblock_order
    if order is None:
        return True
    return order < MAX_ORDERS and (info.pages_per_block is None or info.pages_per_block == 1 << order)
