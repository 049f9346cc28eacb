"""/proc/slabinfo: the slab caches, their object sizes and slab orders (root-only, 0400).

Format 2.1 (6.18 mm/slab_common.c cache_show), one cache a line after two header lines::

    slabinfo - version: 2.1
    # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ...
    task_struct          120    147   4224    7    8 : tunables    0    0    0 : slabdata     21     21      0

``objsize`` is the object's size with its metadata (SLUB ``s->size``); ``pagesperslab`` is the
preferred slab size. When a slab of the preferred order cannot be had, SLUB falls back to the
smallest order that holds one object (``s->min = oo_make(get_order(size), size)``, mm/slub.c
calculate_sizes, 2.6.22-6.18): a cache whose objects exceed a page cannot grow without a free
block of that order.
"""
from __future__ import annotations

from minfree.model.record import record


@record
class SlabCache:
    """One cache of /proc/slabinfo: its name, ``<active_objs> <num_objs> <objsize>`` and
    ``<pagesperslab>``."""

    name: str
    active_objs: int
    num_objs: int
    objsize: int
    pages_per_slab: int

    def min_order(self, page_size: int) -> int:
        """The smallest page order one object fits in (get_order(size)).

        >>> SlabCache("task_struct", 120, 147, 4224, 8).min_order(4096)
        1
        >>> SlabCache("kmalloc-4k", 1, 8, 4096, 8).min_order(4096)
        0
        """
        order = 0
        while (page_size << order) < self.objsize:
            order += 1
        return order


def parse_slabinfo(text: str) -> tuple[tuple[SlabCache, ...], int]:
    """Caches of a slabinfo 2.x file, and the number of malformed lines skipped.

    >>> caches, bad = parse_slabinfo('''slabinfo - version: 2.1
    ... # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
    ... kvm_vcpu               0      0  51488    1   16 : tunables    0    0    0 : slabdata      0      0      0
    ... task_struct          120    147   4224    7    8 : tunables    0    0    0 : slabdata     21     21      0
    ... kmalloc-8k            32     32   8192    4    8 : tunables    0    0    0 : slabdata      8      8      0
    ... garbage
    ... ''')
    >>> [(c.name, c.num_objs, c.objsize, c.pages_per_slab) for c in caches], bad
    ([('kvm_vcpu', 0, 51488, 16), ('task_struct', 147, 4224, 8), ('kmalloc-8k', 32, 8192, 8)], 1)
    """
    caches = []
    bad = 0
    for line in text.splitlines():
        if not line.strip() or line.startswith(("slabinfo -", "#")):
            continue
        words = line.split()
        try:
            caches.append(SlabCache(words[0], int(words[1]), int(words[2]), int(words[3]), int(words[5])))
        except (IndexError, ValueError):
            bad += 1
    return tuple(caches), bad
