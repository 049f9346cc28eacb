"""Dataclasses shared by the kernel-reserve model (pure: no I/O).

Units inside the model are pages; :func:`kb_to_pages` / :func:`pages_to_kb` convert the
``*_kbytes`` sysctls and the kB figures of a failure dump.
"""

from __future__ import annotations

from collections.abc import Mapping

from minfree.model.record import field, record

PAGE_SIZE_DEFAULT = 4096

#: Zone names in zone-index order on 64-bit x86 (include/linux/mmzone.h ``enum zone_type``).
ZONE_ORDER_64BIT = ("DMA", "DMA32", "Normal", "Movable", "Device")
#: Zone names in zone-index order on 32-bit kernels with HIGHMEM.
ZONE_ORDER_32BIT = ("DMA", "Normal", "HighMem", "Movable", "Device")

#: Zones with zone_idx <= gfp_zone(GFP_USER) == ZONE_NORMAL: the ones nr_free_buffer_pages()
#: and the THP rule (5.0+) count (mm/page_alloc.c nr_free_zone_pages, mm/khugepaged.c).
USER_ZONES = frozenset({"DMA", "DMA32", "Normal"})


def page_shift(page_size: int = PAGE_SIZE_DEFAULT) -> int:
    """log2 of the page size.

    >>> page_shift(4096), page_shift(65536)
    (12, 16)
    """
    return page_size.bit_length() - 1


def kb_to_pages(kbytes: int, page_size: int = PAGE_SIZE_DEFAULT) -> int:
    """``kbytes >> (PAGE_SHIFT - 10)``, as the kernel converts min_free_kbytes.

    >>> kb_to_pages(67584)
    16896
    """
    return kbytes >> (page_shift(page_size) - 10)


def pages_to_kb(pages: int, page_size: int = PAGE_SIZE_DEFAULT) -> int:
    """``pages << (PAGE_SHIFT - 10)``.

    >>> pages_to_kb(16896)
    67584
    """
    return pages << (page_shift(page_size) - 10)


def zone_order(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The zone-index order (the columns of ``protection``/``lowmem_reserve[]``) for the zone
    names seen on one machine (include/linux/mmzone.h ``enum zone_type``). 2.6.1x i386 kernels
    have DMA32 as well as HighMem and print it empty (corpus 002).

    >>> zone_order({"DMA", "Normal", "HighMem"})
    ('DMA', 'Normal', 'HighMem', 'Movable', 'Device')
    >>> zone_order({"DMA", "DMA32", "Normal"})[:3]
    ('DMA', 'DMA32', 'Normal')
    >>> zone_order({"DMA", "DMA32", "Normal", "HighMem"})[:4]
    ('DMA', 'DMA32', 'Normal', 'HighMem')
    """
    if "HighMem" not in names:
        return ZONE_ORDER_64BIT
    if "DMA32" in names:
        return ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")
    return ZONE_ORDER_32BIT


@record
class Zone:
    """The size of one zone, as the watermark code sees it.

    ``managed`` is zone_managed_pages() (3.10+); ``present`` is used instead on 2.6.32/RHEL6
    (KernelRules.size_field). ``index`` is zone_idx() within the node.
    """

    node: int
    name: str
    index: int
    managed: int
    present: int = 0

    def size(self, size_field: str) -> int:
        return self.present if size_field == "present" else self.managed


@record
class Watermarks:
    """One zone's watermarks in pages, as /proc/zoneinfo prints them (``_watermark + boost``).

    ``promo`` is None before 6.1 (no WMARK_PROMO).
    """

    min: int
    low: int
    high: int
    promo: int | None = None
    boost: int = 0

    def unboosted(self) -> Watermarks:
        """The stored ``_watermark[]`` values (boost removed)."""
        b = self.boost
        promo = None if self.promo is None else self.promo - b
        return Watermarks(self.min - b, self.low - b, self.high - b, promo, 0)

    def as_dict(self) -> dict[str, int]:
        out = {"min": self.min, "low": self.low, "high": self.high}
        if self.promo is not None:
            out["promo"] = self.promo
        return out


@record
class Comparison:
    """Predicted vs shown integers: ``diffs`` maps a field to (predicted, shown)."""

    exact: bool
    diffs: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def max_abs_delta(self) -> int:
        return max((abs(s - p) for p, s in self.diffs.values()), default=0)

    def explain(self, what: str = "") -> str:
        """One line: "exact" or "stale by up to N pages (min 8672 vs 8670, ...)"."""
        prefix = f"{what}: " if what else ""
        if self.exact:
            return f"{prefix}exact"
        parts = ", ".join(f"{k} predicted {p} shown {s}" for k, (p, s) in self.diffs.items())
        return f"{prefix}stale by up to {self.max_abs_delta} pages ({parts})"


def compare_values(predicted: Mapping[str, int], shown: Mapping[str, int]) -> Comparison:
    """Compare the fields both mappings have.

    >>> compare_values({"min": 8672, "low": 10840}, {"min": 8670, "low": 10840}).explain("Normal")
    'Normal: stale by up to 2 pages (min predicted 8672 shown 8670)'
    """
    diffs = {k: (predicted[k], shown[k]) for k in predicted if k in shown and predicted[k] != shown[k]}
    return Comparison(exact=not diffs, diffs=diffs)
