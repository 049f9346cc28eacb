"""Parse the Mem-Info dump (``show_mem`` / ``show_free_areas``) that follows a failure report.

The kernel prints the dump after the call trace of a page allocation failure, one printk
record per line. Each line here is ONE kernel message with its transport prefix already
removed. :func:`dump_line_kind` names a line on its own; :class:`MemDumpBuilder` collects the
lines of one dump, including pieces of a zone/node/buddy line that a mail client wrapped
(corpus 006, 010) or that a syslog daemon left as separate ``KERN_CONT`` records (4.9), and
:meth:`MemDumpBuilder.result` returns a :class:`MemDump`.

Formats (``reference/gfp-flags-by-version.md`` §5, ``kernel-memory.md`` §3.9), oldest first.
2.6.18 (corpus 002, ``mm/page_alloc.c:show_free_areas``): no ``Node N`` prefix, hot/cold
per-cpu lines, no migratetype letters:

>>> dump_line_kind("Mem-info:")
'meminfo'
>>> dump_line_kind("cpu 0 hot: high 186, batch 31 used:17")
'percpu'
>>> dump_line_kind("Active:258255 inactive:107913 dirty:2421 writeback:0 unstable:0 free:314696 slab:94492 mapped:2747 pagetables:612")
'summary'
>>> b = MemDumpBuilder()
>>> b.feed("Normal free:3316kB min:3756kB low:4692kB high:5632kB active:187336kB inactive:308292kB present:901120kB pages_scanned:0 all_unreclaimable? no")
True
>>> b.feed("lowmem_reserve[]: 0 0 0 17407")
True
>>> b.feed("Normal: 653*4kB 0*8kB 0*16kB 0*32kB 1*64kB 1*128kB 0*256kB 1*512kB 0*1024kB 0*2048kB 0*4096kB = 3316kB")
True
>>> z = b.result().zones[0]
>>> z.node, z.zone, z.free_kb, z.min_kb, z.present_kb, z.lowmem_reserve, z.buddy_total_kb
(None, 'Normal', 3316, 3756, 901120, [0, 0, 0, 17407], 3316)
>>> z.buddy[:2], z.fields
([(653, 4, ''), (0, 8, '')], {'active': 187336, 'inactive': 308292})

5.4.26 (corpus 006, ceph-devel): a zone line wrapped by a mail client at ~75 columns; the
pieces carry no stamp, and the buddy line lists migratetype letters (U M E H C I, R before 4.4):

>>> b = MemDumpBuilder()
>>> for piece in ("Node 0 DMA free:15908kB min:132kB low:164kB high:196kB",
...               "active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB",
...               "unevictable:0kB writepending:0kB present:15992kB managed:15908kB",
...               "mlocked:0kB kernel_stack:0kB pagetables:0kB bounce:0kB free_pcp:0kB",
...               "local_pcp:0kB free_cma:0kB",
...               "lowmem_reserve[]: 0 3444 7878 7878 7878",
...               "Node 0 DMA: 1*4kB (U) 0*8kB 0*16kB 1*32kB (U) 2*64kB (U)",
...               "1*128kB (U) 1*256kB (U) 0*512kB 1*1024kB (U) 1*2048kB (M) 3*4096kB (M) =",
...               "15908kB",
...               "0 pages hwpoisoned"):
...     assert b.feed(piece)
>>> d = b.result()
>>> z = d.zones[0]
>>> z.node, z.zone, z.managed_kb, z.free_pcp_kb, z.fields["local_pcp"], z.lowmem_reserve
(0, 'DMA', 15908, 0, 0, [0, 3444, 7878, 7878, 7878])
>>> z.buddy[-1], z.buddy_total_kb, d.page_kb, d.complete, d.skipped
((3, 4096, 'M'), 15908, 4, True, 0)

Ordinary log lines are not dump lines, even when they look a little like one:

>>> dump_line_kind("Normal: 3 packets dropped"), dump_line_kind(" ? stack_trace_save+0x87/0xb0")
(None, None)
>>> MemDumpBuilder().feed("Hardware name: HPE ProLiant DL385 Gen10/ProLiant DL385")
False
"""
from __future__ import annotations

import functools
import re

from minfree.model.record import field, record, replace

# Zone names the kernel prints (zone_names[] in mm/page_alloc.c, 2.6.18 .. 6.18).
ZONE_NAMES = ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")
_ZONE = "(" + "|".join(sorted(ZONE_NAMES, key=len, reverse=True)) + ")"  # DMA32 before DMA
_NUM = r"\d{1,20}"  # %lu; bounded so that int() never meets a 4300-digit string

# Keys of the global summary printk (in pages), every version 2.6.18 .. 6.18 (§5).
_SUMMARY_KEYS = frozenset(
    {
        "active", "inactive", "dirty", "writeback", "unstable", "free", "slab", "mapped",
        "pagetables", "bounce", "active_anon", "inactive_anon", "isolated_anon",
        "active_file", "inactive_file", "isolated_file", "unevictable",
        "slab_reclaimable", "slab_unreclaimable", "shmem", "free_pcp", "free_cma",
        "kernel_misc_reclaimable", "sec_pagetables",
    }
)
# show_mem() page counts printed after show_free_areas(): lib/show_mem.c (2.6.28 .. 6.0),
# mm/show_mem.c (6.1+), arch/i386/mm/pgtable.c:show_mem (2.6.18, corpus 002).
_TRAILER_SUFFIXES = frozenset(
    {
        "pages RAM", "pages of RAM", "pages HighMem/MovableOnly", "pages HighMem",
        "pages of HIGHMEM", "pages reserved", "reserved pages", "pages cma reserved",
        "pages in pagetable cache", "pages hwpoisoned", "pages shared", "pages non-shared",
        "pages swap cached", "pages dirty", "pages writeback", "pages mapped", "pages slab",
        "pages pagetables",
    }
)

_MEMINFO = frozenset({"Mem-Info:", "Mem-info:"})
_COUNT_LINE = re.compile(rf"({_NUM}) (.+)")
_SWAP_TRAILER = re.compile(
    rf"Swap cache stats: add {_NUM}, delete {_NUM}, find {_NUM}/{_NUM}"  # 2.6.32 .. 5.15
    rf"|Swap cache: add {_NUM}, delete {_NUM}, find {_NUM}/{_NUM}(?:, race {_NUM}\+{_NUM})?"  # 2.6.18
    rf"|Free swap  = -?{_NUM}kB|Total swap = {_NUM}kB"  # show_swap_cache_info, 2.6.18 .. 6.18
    rf"|Free swap: +{_NUM}kB"  # 2.6.18 i386 show_mem
)
_FREE_PAGES = re.compile(rf"Free pages: +{_NUM}kB \({_NUM}kB HighMem\)")  # 2.6.18
_PERCPU = re.compile(
    rf"cpu {_NUM} (?:hot|cold): high {_NUM}, batch {_NUM} used:{_NUM}"  # 2.6.18
    # 2.6.24 "CPU %4d: Hot: hi:%5d, btch:%4d usd:%4d   Cold: ..."; 2.6.28 .. 3.x "CPU %4d: hi:..."
    rf"|CPU +{_NUM}: (?:Hot: )?hi: *{_NUM}, btch: *{_NUM} usd: *{_NUM}"
    rf"(?: +Cold: hi: *{_NUM}, btch: *{_NUM} usd: *{_NUM})?"
)
# The start of a zone, per-cpu or buddy line after its zone name; the empty group that matched
# names the kind (match.lastindex: the zone name is the group before them).
_ZONE_TAIL = rf"{_ZONE}(?: free:{_NUM}kB()| per-cpu:(?: empty)?$()|: (?:{_NUM}\*{_NUM}kB|empty)())"
_ZONE_KIND = re.compile(_ZONE_TAIL)
_ZONE_KINDS = (None, None, "zone", "percpu", "buddy")   # by lastindex
# After "Node N ": hugepages, a node line ("active_anon:22396kB ...", 4.9+) or a zone's line.
_NODE_KIND = re.compile(rf"Node {_NUM} (?:hugepages_total=()|[a-z_]+(?:\([a-z]+\))?: ?{_NUM}kB()|{_ZONE_TAIL})")
_NODE_KINDS = (None, "hugepages", "node", None, "zone", "percpu", "buddy")   # by lastindex
_RESERVE = re.compile(rf"lowmem_reserve\[\]:(?: +-?{_NUM})*")
_SUMMARY_LINE = re.compile(rf"\s*(?:[A-Za-z_]+:{_NUM}(?:\s+|$))+")   # "name:N" tokens only
_SUMMARY_PAIR = re.compile(rf"([A-Za-z_]+):({_NUM})")

# Pieces of a line that was wrapped or split into KERN_CONT records, by kind of line.
_FIELD_TOKEN = re.compile(
    rf"[a-z_]+(?:\([a-z]+\))?:(?:{_NUM}(?:kB|KB)?)?|{_NUM}(?:kB|KB)|all_unreclaimable\?|yes|no"
)
_BUDDY_TOKEN = re.compile(rf"{_NUM}\*{_NUM}kB|\([A-Z]*\)|=|={_NUM}kB|{_NUM}kB")
_RESERVE_TOKEN = re.compile(rf"-?{_NUM}")
_HUGEPAGES_TOKEN = re.compile(rf"hugepages_[a-z]+={_NUM}(?:kB)?")
_FRAGMENT_TOKENS = {
    "zone": _FIELD_TOKEN,
    "node": _FIELD_TOKEN,
    "buddy": _BUDDY_TOKEN,
    "reserve": _RESERVE_TOKEN,
    "hugepages": _HUGEPAGES_TOKEN,
}
# show_node() and "%s: " are separate KERN_CONT records (4.9): "Node 0 " then "DMA: ".
_BARE_NODE = re.compile(rf"Node ({_NUM})")
_BARE_BUDDY_HEAD = re.compile(rf"(?:Node {_NUM} )?{_ZONE}:")
_BUDDY_DONE = re.compile(rf"(?:= ?{_NUM}kB|: empty)$")

# No possessive quantifiers here or anywhere (tests/test_regex_portability.py): Python 3.11.2,
# Debian 12's, matches this pattern made possessive wrongly ("free:0kB min:0kB page" passed).
_FIELD = r"[a-z_]+(?:\([a-z]+\))?:(?:\d{1,20})?(?:kB|KB)?"
# A zone or node line made only of fields and "all_unreclaimable? yes|no", whitespace between:
# one pass in C; _kb_fields then takes the fields with a value in kB from its tokens.
_FIELDS_ONLY = re.compile(rf"\s*(?:(?:{_FIELD}|all_unreclaimable\?(?:\s+(?:yes|no))?)(?:\s+|$))*")
_JOIN_SPACE = re.compile(r"(?<=:) +(?=\d)")  # "shmem_thp: 0kB" (4.9 .. 6.5) -> "shmem_thp:0kB"
_ZONE_LINE = re.compile(rf"(?:Node ({_NUM}) )?{_ZONE} (free:.*)")
_NODE_LINE = re.compile(rf"Node ({_NUM}) (.*)")
_BUDDY_LINE = re.compile(rf"(?:Node ({_NUM}) )?{_ZONE}: ?(.*)")
# The orders of a buddy line as whitespace-separated tokens: "N*SkB", each followed by "()"
# tokens and at most one "(LETTERS)", which it keeps; one pass in C, then one for the values.
_BUDDY_ORDERS = re.compile(rf"\s*(?:{_NUM}\*{_NUM}kB(?:\s+\(\))*(?:\s+\([A-Z]+\))?(?:\s+|\Z))*")
_BUDDY_ENTRIES = re.compile(rf"({_NUM})\*({_NUM})kB(?:\s+\(\))*(?:\s+\(([A-Z]+)\))?")
_KB = re.compile(rf"({_NUM})kB")
_CUT_FIELD = re.compile(r"[a-z_]+(?:\([a-z]+\))?:\w{0,3}")  # "unevictable:o": a field cut short

# ZoneDump attributes filled from zone-line fields of the same name (kB; "KB" for the
# highatomic pair, mm/show_mem.c 5.10+). All other kB fields go to ZoneDump.fields.
_ZONE_ATTRS = {
    "free": "free_kb",
    "boost": "boost_kb",
    "min": "min_kb",
    "low": "low_kb",
    "high": "high_kb",
    "reserved_highatomic": "reserved_highatomic_kb",
    "free_highatomic": "free_highatomic_kb",
    "managed": "managed_kb",
    "present": "present_kb",
    "free_cma": "free_cma_kb",
    "free_pcp": "free_pcp_kb",
}
_OPEN_KINDS = frozenset(_FRAGMENT_TOKENS)  # kinds whose line may continue on the next lines
_VALUE_KINDS = frozenset({"summary", "node", "zone", "reserve", "buddy"})
_KEPT_KINDS = _OPEN_KINDS | _VALUE_KINDS   # the builder keeps lines of these kinds
# First characters of every line kind above (summary keys included, "Active" of 2.6.18).
_FIRST_CHARS = frozenset("0123456789NDHMlcCFTS") | frozenset(key[0] for key in _SUMMARY_KEYS) | {"A"}
_MAX_LINE = 4096  # a dump line is < 1 KiB (printk LOG_LINE_MAX); longer input is not one
_MAX_RECORDS = 65536  # dump lines kept: 1024 nodes x 6 zones x 3 lines + summary fit


@record(frozen=False)
class ZoneDump:
    """One zone of the dump: its zone line, ``lowmem_reserve[]`` and buddy (free area) line."""

    node: int | None
    zone: str
    free_kb: int | None = None
    boost_kb: int | None = None
    min_kb: int | None = None
    low_kb: int | None = None
    high_kb: int | None = None
    reserved_highatomic_kb: int | None = None
    free_highatomic_kb: int | None = None
    managed_kb: int | None = None
    present_kb: int | None = None
    free_cma_kb: int | None = None
    free_pcp_kb: int | None = None
    lowmem_reserve: list[int] | None = None  # pages, one per zone type
    buddy: list[tuple[int, int, str]] | None = None  # (count, block_kb, letters) per order
    buddy_total_kb: int | None = None
    fields: dict[str, int] = field(default_factory=dict)  # every other "name:NNNkB", in kB


@record(frozen=False)
class MemDump:
    """Everything one Mem-Info dump says about zones, nodes and the global counters."""

    zones: list[ZoneDump]
    summary: dict[str, int]  # global counters in pages, keys lower-cased ("active", "free", ...)
    nodes: dict[int, dict[str, int]]  # per-node line values in kB (4.9+)
    page_kb: int | None  # smallest buddy block size: the page size in kB
    complete: bool  # saw a trailer line, or every zone has a finished buddy line
    skipped: int  # lines that looked like dump lines but could not be parsed


def dump_line_kind(text: str) -> str | None:
    """Name the kind of Mem-Info line ``text`` is, or None for any other kernel message.

    Continuation pieces of a wrapped line (``inactive_file:0kB ...``, ``(UM) = 74496kB``)
    depend on the line before them: they are None here and are claimed by
    :meth:`MemDumpBuilder.feed`.

    >>> dump_line_kind("Node 0 Normal: 53981*4kB (UEM) 4002*8kB (UEM) 363*16kB")
    'buddy'
    >>> dump_line_kind(" free:194503 slab_reclaimable:581050 slab_unreclaimable:110527")
    'summary'
    >>> dump_line_kind("Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0"), dump_line_kind("9388 pages in swap cache")
    ('hugepages', 'swap')
    >>> dump_line_kind("Free swap  = 1993772kB"), dump_line_kind("20346223 total pagecache pages")
    ('trailer', 'pagecache')
    """
    line = text.strip()
    if not line or len(line) > _MAX_LINE:
        return None
    return _classify(line)


def _classify(line: str) -> str | None:
    first = line[0]
    if first not in _FIRST_CHARS:  # most log lines (trace frames, driver messages) end here
        return None
    if first.isdigit():
        return _count_kind(line)
    if line.startswith("Node "):
        match = _NODE_KIND.match(line)
        return None if match is None else _NODE_KINDS[match.lastindex]
    if line in _MEMINFO:
        return "meminfo"
    if first in "DNHM":
        match = _ZONE_KIND.match(line)
        return None if match is None else _ZONE_KINDS[match.lastindex]
    if line.startswith("lowmem_reserve[]:"):
        return "reserve" if _RESERVE.fullmatch(line) else None
    if line.startswith(("cpu ", "CPU ")):
        return "percpu" if _PERCPU.fullmatch(line) else None
    if line.startswith(("Free ", "Total swap", "Swap cache")):
        if _SWAP_TRAILER.fullmatch(line):
            return "trailer"
        return "summary" if _FREE_PAGES.fullmatch(line) else None
    colon = line.find(":")
    if colon < 0 or line[:colon].lower() not in _SUMMARY_KEYS:
        return None
    return "summary" if _summary_values(line) else None


def _count_kind(line: str) -> str | None:
    match = _COUNT_LINE.fullmatch(line)
    if match is None:
        return None
    what = match.group(2)
    if what == "total pagecache pages":
        return "pagecache"
    if what == "pages in swap cache":
        return "swap"
    return "trailer" if what in _TRAILER_SUFFIXES else None


@functools.lru_cache(maxsize=2)   # a summary line is read twice in a row: to name it, then for its values
def _summary_values(line: str) -> dict[str, int] | None:
    """The ``name:N`` pairs of a summary line (pages), or None if it is not one."""
    if _SUMMARY_LINE.fullmatch(line) is None:
        return None
    values: dict[str, int] = {}
    for name, number in _SUMMARY_PAIR.findall(line):
        key = name.lower()
        if key not in _SUMMARY_KEYS:
            return None
        values[key] = int(number)
    return values or None


class MemDumpBuilder:
    """Collects the lines of one Mem-Info dump, in log order, and parses them.

    Lines of other messages may come in between (another CPU's call trace, corpus 010):
    :meth:`feed` returns False for them and they change nothing. Zone lines and the buddy
    lines printed after all of them are matched by (node, zone).

    4.9 with a syslog daemon that did not merge ``KERN_CONT`` records: ``show_node()``'s
    ``"Node 0 "`` and each ``" %ld"`` of ``lowmem_reserve[]`` arrive on their own lines.

    >>> b = MemDumpBuilder()
    >>> [b.feed(t) for t in ("Mem-Info:", "Node 0 ", "DMA free:15908kB min:132kB low:164kB high:196kB",
    ...                      "lowmem_reserve[]:", " 0", " 3444", "Node 0 ", "DMA: ", "1*4kB ", "(U) ", "= 4kB")]
    [True, True, True, True, True, True, True, True, True, True, True]
    >>> z = b.result().zones[0]
    >>> z.node, z.free_kb, z.lowmem_reserve, z.buddy, z.buddy_total_kb
    (0, 15908, [0, 3444], [(1, 4, 'U')], 4)
    """

    def __init__(self) -> None:
        self._parsed = _Parsed()  # every finished line, parsed once
        # the last line while more of it may follow: its kind (None: no such line) and its text,
        # with the pieces a syslog daemon split off it appended
        self._open_kind: str | None = None
        self._open_text = ""
        self._pending_node: int | None = None  # a bare "Node N " KERN_CONT record
        self._active = False  # some dump line was seen
        self._trailer = False
        self._lines = 0
        self._result: MemDump | None = None  # what result() returned, until the next feed
        self._closed = False  # close() was called: no line follows, result() needs no copy
        self.kind: str | None = None  # dump_line_kind() of the last line fed

    def feed(self, text: str) -> bool:
        """Take one kernel message; True if it is (part of) a dump line."""
        if self._closed:   # not done by the assembler; what result() handed out stays as it was
            self._parsed, self._closed = self._parsed.copy(), False
        self._result = None
        line = text.strip()
        if not line or len(line) > _MAX_LINE:
            self.kind = None
            return False
        self.kind = kind = _classify(line)
        if kind is not None:
            self._start(kind, line)
            return True
        if self._open_kind is not None and self._continues(line):
            return True
        if self._active:
            bare_node = _BARE_NODE.fullmatch(line)
            if bare_node is not None:
                self._finish_open()
                self._pending_node = int(bare_node.group(1))
                return True
            if _BARE_BUDDY_HEAD.fullmatch(line):
                self._start("buddy", line)
                return True
        return False

    def _start(self, kind: str, line: str) -> None:
        self._active = True
        if self._open_kind is not None:
            self._finish_open()
        if self._pending_node is not None:
            pending, self._pending_node = self._pending_node, None
            if kind in ("zone", "buddy", "percpu") and not line.startswith("Node "):
                line = f"Node {pending} {line}"
        if kind not in _KEPT_KINDS:
            if kind == "trailer":
                self._trailer = True
            return
        self._lines += 1
        if self._lines > _MAX_RECORDS:
            self._parsed.skipped += 1
        elif kind == "summary" or (kind == "buddy" and _closed(kind, line)):
            self._parsed.add(kind, line)
        elif kind != "hugepages" or not _closed(kind, line):   # a hugepages line holds no value
            self._open_kind, self._open_text = kind, line

    def _finish_open(self) -> None:
        if self._open_kind in _VALUE_KINDS:
            self._parsed.add(self._open_kind, self._open_text)
        self._open_kind = None

    def _continues(self, line: str) -> bool:
        """Append ``line`` to the open line if it is a piece of it."""
        kind = self._open_kind
        token = _FRAGMENT_TOKENS[kind]
        if not all(token.fullmatch(part) for part in line.split()):
            return False
        if len(self._open_text) + len(line) >= _MAX_LINE:
            self._parsed.skipped += 1
            self._finish_open()
            return False
        self._open_text = f"{self._open_text} {line}"
        if _closed(kind, self._open_text):
            self._finish_open()
        return True

    @property
    def complete(self) -> bool:
        """``result().complete`` without its copy: asked after every buddy and trailer line.
        The line still open then is a buddy line cut before its total, which completes no zone."""
        return self._trailer or _every_buddy_line(self._parsed.zones)

    def close(self) -> None:
        """The report ended: no line follows, so :meth:`result` hands out the parsed values
        themselves rather than a copy (the line still open is parsed as it stands)."""
        if self._open_kind is not None:
            self._finish_open()
        self._closed = True

    def result(self) -> MemDump:
        """The dump as parsed so far: a copy, the builder may be fed further afterwards, unless
        it was closed (the same object until then: the scanner asks for it once to count
        skipped lines, the explanation once more)."""
        if self._result is not None:
            return self._result
        if self._closed:
            parsed = self._parsed
        else:
            parsed = self._parsed.copy()
            if self._open_kind in _VALUE_KINDS:   # a line that may still continue, parsed as it stands
                parsed.add(self._open_kind, self._open_text)
        zones = parsed.zones
        page_sizes = [zone.buddy[0][1] for zone in zones if zone.buddy]
        self._result = MemDump(
            zones=zones,
            summary=parsed.summary,
            nodes=parsed.nodes,
            page_kb=min(page_sizes) if page_sizes else None,
            complete=self._trailer or _every_buddy_line(zones),
            skipped=parsed.skipped,
        )
        return self._result


def _every_buddy_line(zones: list[ZoneDump]) -> bool:
    """Some zone line was read, and every zone of one has its finished buddy line (a zone known
    only from its buddy line is of an excerpt cut before its zone line: it is not counted)."""
    from_zone_lines = [zone for zone in zones if zone.free_kb is not None]
    return bool(from_zone_lines) and all(z.buddy_total_kb is not None for z in from_zone_lines)


@record(frozen=False)
class _Parsed:
    """The values of the finished dump lines, in the shape of :class:`MemDump`."""

    zones: list[ZoneDump] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    nodes: dict[int, dict[str, int]] = field(default_factory=dict)
    skipped: int = 0
    reserve_for: int | None = None  # index of the zone whose line came just before

    def add(self, kind: str, text: str) -> None:
        """Parse one finished line of a kind in _VALUE_KINDS."""
        previous, self.reserve_for = self.reserve_for, None
        if kind == "summary":  # "Free pages: ..." (2.6.18, in kB) has no page counts
            self.summary.update(_summary_values(text) or {})
        elif kind == "zone":
            zone = _parse_zone(text)
            if zone is None:
                self.skipped += 1
            else:
                self.reserve_for = len(self.zones)
                self.zones.append(zone)
        elif kind == "reserve":
            if previous is None:
                self.skipped += 1
            else:
                self.zones[previous].lowmem_reserve = _parse_reserve(text)
        elif kind == "buddy":
            if not _attach_buddy(text, self.zones):
                self.skipped += 1
        else:
            node = _parse_node(text)
            if node is None:
                self.skipped += 1
            else:
                self.nodes[node[0]] = node[1]

    def copy(self) -> _Parsed:
        return _Parsed(
            zones=[_copy_zone(zone) for zone in self.zones],
            summary=dict(self.summary),
            nodes={node: dict(values) for node, values in self.nodes.items()},
            skipped=self.skipped,
            reserve_for=self.reserve_for,
        )


def _copy_zone(zone: ZoneDump) -> ZoneDump:
    return replace(
        zone,
        lowmem_reserve=None if zone.lowmem_reserve is None else list(zone.lowmem_reserve),
        buddy=None if zone.buddy is None else list(zone.buddy),
        fields=dict(zone.fields),
    )


def _closed(kind: str, text: str) -> bool:
    """Whether a buddy or hugepages line is finished: nothing of it can follow."""
    if kind == "buddy":   # the match is at most 25 characters long: "= " 20 digits "kB"
        return _BUDDY_DONE.search(text, len(text) - 25) is not None
    return kind == "hugepages" and "hugepages_size=" in text


# A host prints its zone and buddy lines in a few shapes, the same fields in the same
# order: only the numbers change. For a shape (the line without its digits 0-9; a buddy line's
# orders also without capitals, its migratetype letters) a reader makes one pattern: the shape
# with its numbers as groups. A line that pattern matches holds the same tokens as the shape,
# so the general reading would find the same fields in it, with these numbers
# (tests/logs/test_fast_paths.py holds each reader to the general reading). A pattern costs
# 0.4-0.8 ms to compile and saves ~20 us a line in a scan (7-14 us of parsing, and the garbage
# of the token loop), so it is made for a shape seen more than _RECURRING times: a log with a
# dozen reports (or doctor's kernel log) compiles none. Only ASCII lines: their shape is
# bytes.translate of a copy (0.3 us; str.translate takes ~2 us).
_RECURRING = 32
_SHAPES = 128   # shapes a _ShapeReaders holds, counted or with their reader made
_DIGITS = b"0123456789"
_DIGITS_AND_CAPITALS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _ShapeReaders:
    """The readers of one kind of line, by shape (the line without the bytes ``taken_out``):
    one map, shape -> its count of sightings, then (seen more than _RECURRING times) -> its
    reader, made once by ``make`` and kept (None: no reader reads lines of that shape; the
    general reading does).

    The one eviction rule: the map holds at most _SHAPES shapes; a new shape that finds it full
    first drops the shapes still being counted (their counts start again), and when every shape
    in it has its reader, nothing is dropped and the new shape is not counted. A log of ever-new
    shapes so keeps at most _SHAPES of them (each at most _MAX_LINE long) and makes at most
    _SHAPES readers; a reader once made is never made again, and a common shape keeps its own.
    """

    __slots__ = ("_make", "_taken_out", "_shapes", "made")

    def __init__(self, make, taken_out: bytes) -> None:
        self._make = make
        self._taken_out = taken_out
        self._shapes: dict[bytes, object] = {}
        self.made = 0   # readers made (and held) since the map was last emptied

    def reader_of(self, text: str):
        """The reader of ``text``'s shape once that shape recurs; None before, when it has none,
        and for a line that is not ASCII."""
        if not text.isascii():
            return None
        shape = text.encode().translate(None, self._taken_out)
        shapes = self._shapes
        seen = shapes.get(shape, 0)   # one step: fleet's threads read dumps side by side
        if seen.__class__ is not int:   # its reader, made before (or None)
            return seen
        if not seen and len(shapes) >= _SHAPES and not self._drop_counted():
            return None
        if seen < _RECURRING:
            shapes[shape] = seen + 1
            return None
        made = shapes[shape] = self._make(shape)
        self.made += 1
        return made

    def _drop_counted(self) -> bool:
        """Forget the shapes without a reader; False when there were none. (The items are listed
        in one step and dropped one by one, whatever another thread does meanwhile; the map may
        then hold a shape more per thread.)"""
        counted = [shape for shape, made in list(self._shapes.items()) if made.__class__ is int]
        for shape in counted:
            self._shapes.pop(shape, None)
        return bool(counted)

    def __len__(self) -> int:
        return len(self._shapes)

    def cache_clear(self) -> None:
        """Forget every shape and reader (as a ``functools`` cache's; bench/per_report.py)."""
        self._shapes.clear()
        self.made = 0


def _kb_fields(text: str) -> dict[str, int] | None:
    """``name:NNNkB`` fields of a zone or node line, in kB; None if other text is in it.

    ``name:N`` without a unit (``pages_scanned``, in pages) and ``all_unreclaimable? yes``
    are recognised and left out.

    >>> _kb_fields("free:3512kB min:5728kB pages_scanned:0 all_unreclaimable? no")
    {'free': 3512, 'min': 5728}
    """
    reader = _KB_READERS.reader_of(text)   # see _RECURRING
    if reader is not None:
        match = reader[0].fullmatch(text)
        if match is not None:
            return dict(zip(reader[1], map(int, match.groups())))
    return _read_kb_fields(text)


def _kb_reader(shape: bytes) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """(pattern, kB field names) for the zone or node lines of this digit-less ``shape``: a run
    of digits after each field's colon; or None when such a line is not one
    :func:`_read_kb_fields` reads (then it reads the line itself).

    >>> pattern, names = _kb_reader(b"free:kB min:kB pages_scanned: all_unreclaimable? no")
    >>> names, pattern.fullmatch("free:3512kB min:5728kB pages_scanned:0 all_unreclaimable? no").groups()
    (('free', 'min'), ('3512', '5728'))
    """
    text = shape.decode()
    if _read_kb_fields(text) is None:   # every colon of a valid shape ends a field's name
        return None
    pieces = text.split(":")
    pattern, names = [re.escape(pieces[0])], []
    for before, after in zip(pieces, pieces[1:]):
        if after.startswith(("kB", "KB")):   # "name:NkB": a kB field (without digits: not one)
            names.append(before.split()[-1])
            pattern.append(":([0-9]{1,20})")
        else:                                # "name:N" or "name:" before a space or the end
            pattern.append(":(?:[0-9]{1,20})?")
        pattern.append(re.escape(after))
    return re.compile("".join(pattern)), tuple(names)


_KB_READERS = _ShapeReaders(_kb_reader, _DIGITS)


def _read_kb_fields(text: str) -> dict[str, int] | None:
    """:func:`_kb_fields` of any line, the general way: validated by one regex, then read token by
    token."""
    if ": " in text:
        text = _JOIN_SPACE.sub("", text)
    if _FIELDS_ONLY.fullmatch(text) is None:
        return None
    # every token is now a field, "all_unreclaimable?", "yes" or "no": a token ending in the
    # unit is a kB field when digits stand between its colon and the unit (a third faster than
    # a findall of the fields; tests/logs/test_fast_paths.py holds it to that findall)
    values: dict[str, int] = {}
    for token in text.split():
        if token.endswith(("kB", "KB")):
            name, _, number = token[:-2].partition(":")
            if number:
                values[name] = int(number)
    return values


def _parse_zone(text: str) -> ZoneDump | None:
    """A zone line; one cut inside its last field keeps the fields before the cut (corpus 156,
    quoted by hand: "... inactive_file:172784kB unevictable:o").

    >>> z = _parse_zone("Normal free:13144kB min:2004kB low:2504kB high:3004kB inactive_file:172784kB unevictable:o")
    >>> z.free_kb, z.min_kb, z.fields
    (13144, 2004, {'inactive_file': 172784})
    """
    match = _ZONE_LINE.fullmatch(text)
    if match is None:
        return None
    values = _kb_fields(match.group(3))
    if values is None:
        head, _, last = match.group(3).rpartition(" ")
        values = _kb_fields(head) if _CUT_FIELD.fullmatch(last) else None
        if values is None or "min" not in values:
            return None
    node = None if match.group(1) is None else int(match.group(1))
    zone = ZoneDump(node=node, zone=match.group(2))
    for name, attr in _ZONE_ATTRS.items():
        if name in values:
            setattr(zone, attr, values.pop(name))
    zone.fields = values   # the other fields, in printed order
    return zone


def _parse_node(text: str) -> tuple[int, dict[str, int]] | None:
    match = _NODE_LINE.fullmatch(text)
    if match is None:
        return None
    values = _kb_fields(match.group(2))
    return None if values is None else (int(match.group(1)), values)


def _parse_reserve(text: str) -> list[int]:
    """The numbers of a ``lowmem_reserve[]:`` line (pages). Each was matched as one when the line
    was named (_RESERVE) and when a piece of it was appended (_RESERVE_TOKEN)."""
    return [int(number) for number in text[len("lowmem_reserve[]:"):].split()]


def _parse_buddy(text: str) -> tuple[int | None, str, list[tuple[int, int, str]], int | None] | None:
    """(node, zone, entries, total kB) of a buddy line, or None if it is malformed.

    Format (``show_free_areas``, 2.6.18 .. 6.18): ``"%lu*%lukB "`` per order, followed by
    ``"(%s) "`` when the count is non-zero (3.10+), then ``"= %lukB"``; 2.6.18 prints
    ``"empty"`` for an unpopulated zone. Block sizes double from one order to the next.
    """
    match = _BUDDY_LINE.fullmatch(text)
    if match is None:
        return None
    node = None if match.group(1) is None else int(match.group(1))
    orders, equals, total_text = match.group(3).partition("=")
    if not equals and orders.strip() == "empty":
        return node, match.group(2), [], 0
    total: int | None = None
    if total_text.strip():  # "= %lukB"; a line cut right after "=" has no total
        kb = _KB.fullmatch(total_text.strip())
        if kb is None:
            return None
        total = int(kb.group(1))
    entries = _buddy_entries(orders)
    if not entries or [block for _, block, _ in entries] != [entries[0][1] << order for order in range(len(entries))]:
        return None
    return node, match.group(2), entries, total


def _buddy_entries(orders: str) -> list[tuple[int, int, str]] | None:
    """(count, block kB, letters) of each ``"%lu*%lukB "`` of a buddy line, with the ``"(%s) "``
    that follows it (3.10+); None when other text is among them (corpus 006, 5.4.26).

    >>> _buddy_entries("1*4kB (U) 0*8kB 0*16kB 1*32kB (U) 2*64kB (U) ")[:3]
    [(1, 4, 'U'), (0, 8, ''), (0, 16, '')]
    >>> _buddy_entries("1*4kB (U) (M) ") is None
    True
    """
    reader = _ORDERS_READERS.reader_of(orders)   # see _RECURRING
    if reader is not None:
        match = reader.fullmatch(orders)
        if match is not None:
            found = match.groups()
            return list(zip(map(int, found[0::3]), map(int, found[1::3]), found[2::3]))
    if _BUDDY_ORDERS.fullmatch(orders) is None:
        return None
    return [(int(count), int(block_kb), letters) for count, block_kb, letters in _BUDDY_ENTRIES.findall(orders)]


_SHAPE_PARTS = re.compile(r"\s+|\S+")


def _orders_reader(shape: bytes) -> re.Pattern[str] | None:
    """The pattern of a buddy line's orders of this shape (without digits and capitals, it tells
    which orders are empty: 6 shapes in 1104 generated lines): three groups per "N*SkB" (count,
    block kB, and the letters of the last "(...)" after it, an empty group when it has none),
    the other "()" as they are; or None when the shape is not one of orders (then
    _BUDDY_ORDERS judges the line).

    >>> _orders_reader(b" *k () *k ").fullmatch(" 1*4kB (UM) 0*8kB ").groups()
    ('1', '4', 'UM', '0', '8', '')
    """
    pattern: list[str] = []
    letters_at = None   # index in pattern of the group that gives the current order's letters
    for part in _SHAPE_PARTS.findall(shape.decode()):
        if part.isspace():
            pattern.append(re.escape(part))
        elif part == "*k":
            pattern += [r"([0-9]{1,20})\*([0-9]{1,20})kB", "()"]
            letters_at = len(pattern) - 1
        elif part == "()" and letters_at is not None:   # the last "(...)" after an order has its letters
            pattern[letters_at] = r"\(\)" if pattern[letters_at] != "()" else ""
            pattern.append(r"\(([A-Z]*)\)")
            letters_at = len(pattern) - 1
        else:
            return None
    return re.compile("".join(pattern)) if letters_at is not None else None


_ORDERS_READERS = _ShapeReaders(_orders_reader, _DIGITS_AND_CAPITALS)


def _attach_buddy(text: str, zones: list[ZoneDump]) -> bool:
    """Give the buddy line to the first zone of the same (node, zone) that has none yet."""
    parsed = _parse_buddy(text)
    if parsed is None:
        return False
    node, name, entries, total = parsed
    target = next((z for z in zones if z.node == node and z.zone == name and z.buddy is None), None)
    if target is None:  # the zone line is outside the excerpt
        target = ZoneDump(node=node, zone=name)
        zones.append(target)
    target.buddy = entries
    target.buddy_total_kb = total
    return True
