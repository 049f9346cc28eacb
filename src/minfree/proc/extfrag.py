"""Parser for debugfs extfrag/unusable_index and extfrag/extfrag_index (reference §4, §6.6).

``Node %d, zone %8s `` then one ``%d.%03d`` (``%2d.%03d`` in 6.1+ extfrag_index) per order.
Values are returned as integers in thousandths, as mm/vmstat.c computes them.
"""

from __future__ import annotations

import re

from minfree.model.record import record

_ROW = re.compile(r"^Node\s+(\d{1,10}),\s*zone\s+(\S+)((?:\s+-?\d{1,20}\.\d{3})+)\s*$")   # bounded: int()


@record
class IndexRow:
    """One row of extfrag/unusable_index or extfrag/extfrag_index: a zone of a node and its index
    per order, in thousandths."""

    node: int
    zone: str
    values: tuple[int, ...]  # thousandths, per order; -1000 prints as -1.000


def _thousandths(token: str) -> int:
    negative = token.startswith("-")
    whole, frac = token.lstrip("-").split(".")
    value = int(whole) * 1000 + int(frac)
    return -value if negative else value


def parse_extfrag(text: str) -> list[IndexRow]:
    """Parse either file.

    Samples from this machine (6.18.44):

    >>> parse_extfrag('''Node 0, zone      DMA 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.066 0.200
    ... Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000
    ... Node 0, zone broken 0.x''')
    [IndexRow(node=0, zone='DMA', values=(0, 0, 0, 0, 0, 0, 0, 0, 0, 66, 200)), IndexRow(node=0, zone='Normal', values=(-1000, -1000, -1000, -1000, -1000, -1000, -1000, -1000, -1000, -1000, -1000))]
    """
    rows = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if m:
            rows.append(IndexRow(int(m.group(1)), m.group(2), tuple(_thousandths(t) for t in m.group(3).split())))
    return rows


#: (node, zone) -> (unusable index per order, extfrag index per order), thousandths.
KernelIndices = dict[tuple[int, str], tuple[tuple[int, ...], tuple[int, ...]]]


def parse_kernel_indices(unusable_text: str, extfrag_text: str) -> KernelIndices:
    """Both debugfs files, joined by zone (a zone missing from either is left out).

    >>> parse_kernel_indices("Node 0, zone      DMA 0.000 0.200", "Node 0, zone      DMA -1.000 0.500")
    {(0, 'DMA'): ((0, 200), (-1000, 500))}
    """
    extfrag = {(row.node, row.zone): row.values for row in parse_extfrag(extfrag_text)}
    return {(row.node, row.zone): (row.values, extfrag[(row.node, row.zone)])
            for row in parse_extfrag(unusable_text) if (row.node, row.zone) in extfrag}
