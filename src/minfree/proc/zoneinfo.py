"""Parser for /proc/zoneinfo, every era (reference §6.1; mm/vmstat.c zoneinfo_show_print).

2.6.32: ``pages free``/min/low/high/scanned/spanned/present; 3.10: + managed; 5.0+: a
``per-node stats`` block at the node's first zone and ``protection:`` before the zone stats;
6.1: + boost, cma; 6.12: + promo. Values are pages. Never raises on garbage: zones without
``pages free``/min/low/high are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from minfree.model.record import field, record
from minfree.model.zones import Watermarks, Zone, zone_order

_HEADER = re.compile(r"^Node\s+(\d{1,10}),\s*zone\s+(\S+)\s*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w ]*?)\s+(-?\d{1,20})\s*$")   # %ld/%lu: 20 digits
_PROTECTION = re.compile(r"^\s*protection:\s*\(([^)]*)\)")
_COLON = re.compile(r"^\s*([A-Za-z_][\w ]*):\s*(-?\d{1,20})\s*$")
#: How the lines with a colon that change something start (a header, pages free, protection,
#: the colon items the parser keeps); any other line with a colon matches no pattern here.
_COLON_NOTABLE = ("Node", "pages free", "protection", "count", "vm stats threshold", "start_pfn")
_WATERMARK_KEYS = ("boost", "min", "low", "high", "promo", "scanned", "spanned", "present", "managed", "cma")


@record(frozen=False)
class ZoneInfo:
    """One zone of /proc/zoneinfo. Optional fields are None when the era does not print them."""

    node: int
    zone: str
    free: int
    min: int
    low: int
    high: int
    promo: int | None = None
    boost: int | None = None
    scanned: int | None = None
    spanned: int | None = None
    present: int | None = None
    managed: int | None = None
    cma: int | None = None
    protection: tuple[int, ...] | None = None
    stats: dict[str, int] = field(default_factory=dict)  # zone vmstat items (nr_free_pages, ...)
    node_stats: dict[str, int] = field(default_factory=dict)  # "per-node stats" (5.0+)
    pcp_count: int = 0  # Σ pagesets count: pages on per-cpu lists (not in free)
    stat_threshold: int | None = None  # "vm stats threshold"
    start_pfn: int | None = None

    def watermarks(self) -> Watermarks:
        """The marks as printed (boost included; boost 0 where the era does not print it)."""
        return Watermarks(self.min, self.low, self.high, self.promo, self.boost or 0)


def model_zones(zones: list[ZoneInfo]) -> list[Zone]:
    """Zone sizes for the model; zone indices follow the kernel's zone order (old eras hide
    empty zones, so the index is taken from the name, not the position)."""
    order = zone_order({z.zone for z in zones})
    return [
        Zone(
            node=z.node,
            name=z.zone,
            index=order.index(z.zone) if z.zone in order else len(order),
            managed=z.managed if z.managed is not None else 0,
            present=z.present or 0,
        )
        for z in zones
    ]


def _zone_from(fields: dict[str, object]) -> ZoneInfo | None:
    try:
        return ZoneInfo(**fields)  # type: ignore[arg-type]
    except TypeError:
        return None


def _key_value(stripped: str) -> tuple[str, int] | None:
    """``(key, value)`` of a ``key value`` line as :data:`_KEY_VALUE` matches it; the usual
    line, an ASCII name and a number, without the regular expression (the exporter parses the
    file on every scrape).

    >>> _key_value("nr_free_pages 3840"), _key_value("pages free     3840"), _key_value("x -1")
    (('nr_free_pages', 3840), ('pages free', 3840), ('x', -1))
    >>> _key_value("cpu: 0"), _key_value("3840 pages"), _key_value("nr_free 12x")
    (None, None, None)
    """
    parts = stripped.split()
    if len(parts) == 2:
        key, number = parts
        digits = number[1:] if number[:1] == "-" else number
        if key.isascii() and key.isidentifier() and digits.isascii() and digits.isdigit() and len(digits) <= 20:
            return key, int(number)
    kv = _KEY_VALUE.match(stripped)
    return None if kv is None else (kv.group(1).strip(), int(kv.group(2)))


def parse_zoneinfo(text: str, stats: Collection[str] | None = None) -> list[ZoneInfo]:
    """Parse the whole file; with ``stats``, only those zone and per-node stat items are kept
    (the rest of each zone is the same), which spares the exporter most of the file's lines.

    Sample from this machine (6.18.44, trimmed):

    >>> sample = '''Node 0, zone      DMA
    ...   per-node stats
    ...       nr_inactive_anon 1469
    ...   pages free     3840
    ...         boost    0
    ...         min      64
    ...         low      80
    ...         high     96
    ...         promo    112
    ...         spanned  4095
    ...         present  3998
    ...         managed  3840
    ...         cma      0
    ...         protection: (0, 3019, 3915, 3915, 3915)
    ...       nr_free_pages 3840
    ...   pagesets
    ...     cpu: 0
    ...               count:    0
    ...               high:     0
    ...               batch:    1
    ...   vm stats threshold: 4
    ...   node_unreclaimable:  0
    ...   start_pfn:           1
    ... Node 0, zone    DMA32
    ...   pages free     772915
    ...         min      12979
    ...         low      16223
    ...         high     19467
    ... '''
    >>> zs = parse_zoneinfo(sample)
    >>> [(z.zone, z.free, z.min, z.promo, z.managed, z.protection) for z in zs]
    [('DMA', 3840, 64, 112, 3840, (0, 3019, 3915, 3915, 3915)), ('DMA32', 772915, 12979, None, None, None)]
    >>> zs[0].node_stats, zs[0].stats, zs[0].stat_threshold, zs[0].start_pfn
    ({'nr_inactive_anon': 1469}, {'nr_free_pages': 3840}, 4, 1)
    >>> parse_zoneinfo("garbage\\x00\\nNode x, zone")
    []
    >>> few = parse_zoneinfo(sample, stats={"nr_free_pages"})
    >>> few[0].node_stats, few[0].stats, few[0].start_pfn
    ({}, {'nr_free_pages': 3840}, 1)
    """
    wanted = None if stats is None else tuple(stats)
    # With ``stats``, a line that starts with none of these, has no colon and comes where a
    # key value line changes nothing but an unwanted stat item, is passed over at once.
    notable = None if stats is None else ("Node", "per-node stats", "pages free", "pagesets", *stats)
    zones: list[ZoneInfo] = []
    current: dict[str, object] | None = None
    mode = "none"  # node_stats | header | stats | pagesets

    def flush() -> None:
        if current is not None and all(k in current for k in ("free", "min", "low", "high")):
            zone = _zone_from(current)
            if zone is not None:
                zones.append(zone)

    for line in text.splitlines():
        if ":" in line:
            if not line.lstrip().startswith(_COLON_NOTABLE):
                continue   # cpu:, high:, batch:, node_unreclaimable: ... change nothing
        elif notable is not None and mode != "header" and not line.lstrip().startswith(notable):
            continue
        header = _HEADER.match(line) if line.startswith("Node") else None
        if header:
            flush()
            current = {"node": int(header.group(1)), "zone": header.group(2), "stats": {}, "node_stats": {}}
            mode = "none"
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped == "per-node stats":
            mode = "node_stats"
            continue
        if stripped.startswith("pages free"):
            parts = stripped.split()
            if len(parts) == 3 and parts[2].isdigit() and len(parts[2]) <= 20:
                current["free"] = int(parts[2])
                mode = "header"
            continue
        if stripped == "pagesets":
            mode = "pagesets"
            continue
        if ":" in line:   # both patterns need the colon; ``key value`` lines (most) have none
            prot = _PROTECTION.match(line)
            if prot:
                try:
                    current["protection"] = tuple(int(x) for x in prot.group(1).split(",") if x.strip()
                                                      and len(x.strip()) <= 20)
                except ValueError:
                    pass
                if mode == "header":
                    mode = "stats"
                continue
            colon = _COLON.match(line)
            if colon:
                key, value = colon.group(1).strip(), int(colon.group(2))
                if key == "count":
                    current["pcp_count"] = int(current.get("pcp_count", 0)) + value  # type: ignore[call-overload]
                elif key == "vm stats threshold" and "stat_threshold" not in current:
                    current["stat_threshold"] = value
                elif key == "start_pfn":
                    current["start_pfn"] = value
                continue
        if mode == "pagesets" or mode == "none" or (
                wanted is not None and mode != "header" and not stripped.startswith(wanted)):
            continue   # a key value line changes nothing there, or is a stat item not wanted
        pair = _key_value(stripped)
        if pair is None:
            continue
        key, value = pair
        if mode == "node_stats":
            if wanted is None or key in wanted:
                current["node_stats"][key] = value  # type: ignore[index]
        elif mode == "header" and key in _WATERMARK_KEYS and key not in current:
            current[key] = value
        elif mode in ("header", "stats"):
            mode = "stats"
            if wanted is None or key in wanted:
                current["stats"][key] = value  # type: ignore[index]
    flush()
    return zones
