"""Recognise the header line of a page allocation failure report, in every kernel era.

Shapes (``gfp-flags-by-version.md`` §3, from mm/page_alloc.c and mm/vmalloc.c of each tree):

* 2.6.x, RHEL6: ``asd: page allocation failure. order:1, mode:0x20``
* 3.x-4.5:      ``z_rd_int/2: page allocation failure: order:0, mode:0x20``
* 4.6-4.9:      ``swapper/6: page allocation failure: order:0, mode:0x2080020(GFP_ATOMIC)``
* 4.10-4.19:    ``...mode:0x480020(GFP_ATOMIC), nodemask=(null)`` then a separate
  ``swapper/0 cpuset=/ mems_allowed=0`` line
* 5.0+:         ``...mode:0xa20(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0,4``
* vmalloc through warn_alloc (4.9+): ``swapper/0: vmalloc: allocation failure: 4096 bytes, mode:...``
  and (5.15+) ``modprobe: vmalloc error: size 8192, page order 0, failed to allocate pages, mode:...``

A 4.9 kernel prints the header as three pr_cont records, so on SMP hosts two CPUs' pieces
interleave (corpus 025): ``swapper/8: `` / ``swapper/6: `` / ``page allocation failure:
order:0page allocation failure: order:0, mode:0x2080020(GFP_ATOMIC)`` /
``, mode:0x2080020(GFP_ATOMIC)``.  :func:`find_headers` therefore returns every header
occurrence in a line, each possibly missing its comm or its mode, for the assembler to complete.

>>> [h.comm for h in find_headers("asd: page allocation failure. order:1, mode:0x20")]
['asd']
>>> h = find_headers("systemd-udevd: vmalloc error: size 2395133, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL), nodemask=(null)")[0]
>>> (h.comm, h.kind, h.order, h.mode)
('systemd-udevd', 'vmalloc', None, '0xcc0')
>>> h = find_headers("swapon: vmalloc error: size 4194304, vm_struct allocation failed,")[0]
>>> (h.comm, h.kind, h.mode)
('swapon', 'vmalloc', None)
>>> h = find_headers("kworker/3:2: page allocation failure: order:0, mode:0xa20(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0")[0]
>>> (h.order, h.mode, h.printed_flags, h.cpuset, h.mems_allowed)
(0, '0xa20', 'GFP_ATOMIC', '/', '0')
"""
from __future__ import annotations

import re

from minfree.logs.prefix import LineNormalizer
from minfree.model.record import record

# The text that names the failure; what precedes it (after ": ") is the task's comm.
# Numbers are bounded (%lu: 20 digits) so that int() never meets a 4300-digit string.
_WHAT = re.compile(
    r"page allocation failure(?:[.:]\s*|\s+)order:\s*(?P<order>\d{1,20})"
    r"|vmalloc: allocation failure(?:, allocated \d+ of \d+ bytes|: \d+ bytes)"
    # 5.15+ mm/vmalloc.c: "vmalloc error: size %lu, <what failed>" then warn_alloc's ", mode:";
    # the words may hold "_" ("vm_struct allocation failed"); a paste may wrap before ", mode:"
    r"|vmalloc error: size \d{1,20}(?:, [a-z][a-z0-9_ ]*?(?: (?P<vorder>\d{1,20}))?)*?(?=, mode:|,?\s*$)"
)
_MODE = re.compile(r"\s*,?\s*mode:\s*(?P<mode>0x[0-9a-fA-F]+|\d{1,20})(?:\((?P<names>[^)]*)\))?")
_NODEMASK = re.compile(r",\s*nodemask=(?P<nodemask>\(null\)|[0-9,\-]*)")
_CPUSET = re.compile(r",\s*cpuset=(?P<cpuset>[^,]*),\s*mems_allowed=(?P<mems>[0-9,\-]*)")
_COMM_TAIL = re.compile(r"(?P<comm>[^\s\[\]][^\[\]]{0,63}?):\s*$")
# A stand-alone comm fragment left by interleaved pr_cont output: "swapper/8: "
_FRAGMENT = re.compile(r"^\s*(?P<comm>[^\s:][^:]{0,30}(?::[0-9A-Za-z]+)?):\s*$")
_NOT_COMMS = frozenset({"Call Trace", "Call trace", "Mem-Info", "Mem-info", "Stack", "Code",
                        "Hardware name", "Workqueue", "Modules linked in", "lowmem_reserve[]"})
# 4.14-4.19 print cpuset on its own line: "swapper/0 cpuset=/ mems_allowed=0"
_CPUSET_LINE = re.compile(r"^(?P<comm>.{1,64}?) cpuset=(?P<cpuset>\S*) mems_allowed=(?P<mems>[0-9,\-]*)\s*$")
# 3.10-4.8 print the vmalloc reason on its own line before the standard header.
_VMALLOC_LINE = re.compile(r"^\s*vmalloc: allocation failure(?:, allocated \d+ of \d+ bytes|: \d+ bytes)\s*$")
_STALL = "page allocation stalls for"


#: No kernel allocates blocks of a larger order: MAX_PAGE_ORDER is at most 20 on every
#: architecture (include/linux/mmzone.h, 6.18: CONFIG_ARCH_FORCE_MAX_ORDER <= 20 in arch/*/Kconfig);
#: 63 keeps 1 << order a machine word for every use downstream.
MAX_ORDER_PRINTED = 63


@record(frozen=False)
class Header:
    """One header occurrence; ``comm`` or ``mode`` are None when printed elsewhere."""

    comm: str | None
    order: int | None
    kind: str                   # "page" | "vmalloc"
    what: str                   # the failure text as printed ("page allocation failure. order:1")
    mode: str | None = None     # hex as printed: "0x20"
    printed_flags: str | None = None
    mode_text: str | None = None  # everything after "mode:" as printed
    nodemask: str | None = None
    cpuset: str | None = None
    mems_allowed: str | None = None


def find_headers(text: str) -> list[Header]:
    """Every failure header in one logical line (usually one, zero for other lines)."""
    if "allocation failure" not in text and "vmalloc error" not in text:
        return []
    if _STALL in text:
        return []
    headers: list[Header] = []
    spans = [m for m in _WHAT.finditer(text)]
    for index, what in enumerate(spans):
        stop = spans[index + 1].start() if index + 1 < len(spans) else len(text)
        before_start = spans[index - 1].end() if index else 0
        comm_match = _COMM_TAIL.search(text, before_start, what.start())
        comm = comm_match.group("comm").strip() if comm_match else None
        if comm and "`" in comm:
            comm = _after_markup(comm)
        order_text = what.group("order") or what.group("vorder")
        if order_text and int(order_text) > MAX_ORDER_PRINTED:
            continue   # damage, not a kernel's report: no kernel has blocks of that order
        header = Header(
            comm=comm or None,
            order=int(order_text) if order_text else None,
            kind="page" if what.group(0).startswith("page") else "vmalloc",
            what=what.group(0),
        )
        apply_mode(header, text[what.end():stop])
        headers.append(header)
    _share_trailing_modes(headers, text, spans)
    return headers


def _after_markup(comm: str) -> str | None:
    """The comm of a log line pasted as inline code in prose: after the last backtick, behind
    the prefix that line carried (the same grammar as a line start).

    >>> _after_markup("如果是不断出现 `kernel: swapper")
    'swapper'
    >>> _after_markup("see `Feb 20 21:20:06 server1 kernel: swapper")
    'swapper'
    """
    (line, *_) = LineNormalizer().normalize(comm.rsplit("`", 1)[1] + ": ") or [None]
    return line.text[:-2].strip() or None if line is not None else None


def apply_mode(header: Header, rest: str) -> bool:
    """Fill mode/nodemask/cpuset from text that follows the failure words; True if a mode was there."""
    mode = _MODE.match(rest)
    if mode is None:
        return False
    header.mode = _normal_hex(mode.group("mode"))
    header.printed_flags = mode.group("names")
    tail = rest[mode.end():]
    next_mode = tail.find(", mode:")
    if next_mode != -1:
        tail = tail[:next_mode]
    header.mode_text = (rest[mode.start("mode"):mode.end()] + tail).strip()
    if (nodemask := _NODEMASK.match(tail)) is not None:
        header.nodemask = nodemask.group("nodemask")
        tail = tail[nodemask.end():]
    if (cpuset := _CPUSET.match(tail)) is not None:
        header.cpuset = cpuset.group("cpuset")
        header.mems_allowed = cpuset.group("mems")
    return True


def _share_trailing_modes(headers: list[Header], text: str, spans: list[re.Match[str]]) -> None:
    """Interleaved pr_cont: a mode printed after another header's belongs to a mode-less one."""
    missing = [h for h in headers if h.mode is None]
    if not missing or not spans:
        return
    last = headers[-1]
    if last.mode is None:
        return
    tail = text[spans[-1].end():]
    extra = list(_MODE.finditer(tail))[1:]
    for header, mode in zip(missing, extra):
        apply_mode(header, tail[mode.start():])


def _normal_hex(value: str) -> str:
    return value if value.lower().startswith("0x") else hex(int(value))


def header_complete(text: str) -> bool:
    """A failure header that already has its mode and ends cleanly: nothing wraps onto it.

    >>> header_complete("asd: page allocation failure. order:1, mode:0x20")
    True
    >>> header_complete("kworker/3:2: page allocation failure: order:0,")
    False
    """
    if "allocation failure" not in text and "vmalloc error" not in text:
        return False
    headers = find_headers(text)
    tail = text.rstrip()
    return bool(headers) and all(h.mode for h in headers) and not tail.endswith((",", "=", ":", "("))


def comm_fragment(text: str) -> str | None:
    """The comm of a stand-alone ``swapper/8: `` fragment line, else None.

    >>> comm_fragment("swapper/8: ")
    'swapper/8'
    >>> comm_fragment("Call Trace:") is None
    True
    """
    match = _FRAGMENT.match(text)
    if match is None:
        return None
    comm = match.group("comm").strip()
    return None if comm in _NOT_COMMS else comm


def mode_continuation(text: str) -> bool:
    """A wrapped header's next piece: ``mode:0x...`` or ``, mode:0x...``.

    >>> mode_continuation(", mode:0x2080020(GFP_ATOMIC)")
    True
    """
    return _MODE.match(text.strip()) is not None and "mode:" in text[:12]


def cpuset_line(text: str) -> tuple[str, str, str] | None:
    """(comm, cpuset, mems_allowed) of a 4.14-4.19 cpuset line.

    >>> cpuset_line("swapper/0 cpuset=/ mems_allowed=0")
    ('swapper/0', '/', '0')
    """
    match = _CPUSET_LINE.match(text)
    if match is None:
        return None
    return match.group("comm"), match.group("cpuset"), match.group("mems")


def vmalloc_line(text: str) -> bool:
    """The 3.10-4.8 ``vmalloc: allocation failure, allocated X of Y bytes`` line.

    >>> vmalloc_line("vmalloc: allocation failure, allocated 1383612416 of 2147487744 bytes")
    True
    """
    return _VMALLOC_LINE.match(text) is not None
