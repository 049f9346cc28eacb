"""Fragmentation indices exactly as mm/vmstat.c computes them (reference §4).

``unusable_free_index()`` and ``__fragmentation_index()`` (mm/vmstat.c, identical arithmetic
in 3.10, 4.4, 5.10, 6.1, 6.12, 6.18), integers in thousandths: debugfs prints ``i // 1000`` and
``i % 1000`` as ``%d.%03d``, so -1000 shows as ``-1.000``. Input: free block counts per order
(one /proc/buddyinfo row).
"""

from __future__ import annotations

from collections.abc import Sequence

from minfree.model.record import record


@record
class ContigPageInfo:
    """``struct contig_page_info`` of mm/vmstat.c for one zone and one order."""

    free_pages: int
    free_blocks_total: int
    free_blocks_suitable: int


def contig_page_info(free_counts: Sequence[int], order: int) -> ContigPageInfo:
    """fill_contig_page_info(): totals over every order, and blocks usable for ``order``
    expressed in blocks of that order."""
    free_pages = sum(n << o for o, n in enumerate(free_counts))
    total = sum(free_counts)
    suitable = sum(n << (o - order) for o, n in enumerate(free_counts) if o >= order)
    return ContigPageInfo(free_pages, total, suitable)


def unusable_index(free_counts: Sequence[int], order: int) -> int:
    """Thousandths of free memory in blocks smaller than 2^order (0 = none, 1000 = all).

    Normal zone of this machine (buddyinfo and debugfs read back-to-back, both stable):
    ``Node 0, zone   Normal   1698   1377    636    226    125     59     48     99     48     31    115``
    and ``Node 0, zone   Normal 0.000 0.009 0.025 0.040 0.050 0.061 0.072 0.090 0.163 0.233 0.324``.

    >>> normal = [1698, 1377, 636, 226, 125, 59, 48, 99, 48, 31, 115]
    >>> [format_index(unusable_index(normal, o)) for o in range(11)]
    ['0.000', '0.009', '0.025', '0.040', '0.050', '0.061', '0.072', '0.090', '0.163', '0.233', '0.324']
    >>> unusable_index([0] * 11, 3)
    1000
    """
    return _unusable(contig_page_info(free_counts, order), order)


def _unusable(info: ContigPageInfo, order: int) -> int:
    if info.free_pages == 0:
        return 1000
    return (info.free_pages - (info.free_blocks_suitable << order)) * 1000 // info.free_pages


def extfrag_index(free_counts: Sequence[int], order: int) -> int:
    """__fragmentation_index(): -1000 if a block of order >= ``order`` exists; 0 when no memory
    is free; otherwise towards 1000 the more the failure is due to fragmentation.

    >>> extfrag_index([100, 50, 0, 0], 2)   # 1000 - (1000 + 200*1000//4) // 150
    660
    >>> extfrag_index([1000, 0, 0], 2)      # 1000 - (1000 + 1000*1000//4) // 1000
    749
    >>> extfrag_index([0, 0, 1], 1), extfrag_index([0, 0, 0], 1)
    (-1000, 0)
    """
    return _extfrag(contig_page_info(free_counts, order), order)


def _extfrag(info: ContigPageInfo, order: int) -> int:
    if not info.free_blocks_total:
        return 0
    if info.free_blocks_suitable:
        return -1000
    # 1000 - (1000 + free_pages * 1000 / (1UL << order)) / free_blocks_total, unsigned C division
    return 1000 - (1000 + info.free_pages * 1000 // (1 << order)) // info.free_blocks_total


def indices_by_order(free_counts: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(unusable, extfrag) for every order of one zone, as the debugfs files list them.

    >>> indices_by_order([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3])[0][9:]
    (66, 200)
    """
    # one pass: the pages in blocks of order >= o, summed from the top; in blocks of order o
    # that is suitable = pages >> o exactly (every term is a multiple of 2^o)
    above = [0] * (len(free_counts) + 1)
    for o in range(len(free_counts) - 1, -1, -1):
        above[o] = above[o + 1] + (free_counts[o] << o)
    total = sum(free_counts)
    infos = [ContigPageInfo(above[0], total, above[o] >> o) for o in range(len(free_counts))]
    return (tuple(_unusable(info, o) for o, info in enumerate(infos)),
            tuple(_extfrag(info, o) for o, info in enumerate(infos)))


def format_index(value: int) -> str:
    """Render like debugfs (``%d.%03d`` of C division, truncating toward zero).

    >>> format_index(-1000), format_index(66), format_index(1000)
    ('-1.000', '0.066', '1.000')
    """
    whole = abs(value) // 1000 * (1 if value >= 0 else -1)
    frac = abs(value) % 1000
    return f"{whole}.{frac:03d}"
