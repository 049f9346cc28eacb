"""Parse the call-trace frames of kernel failure reports, in every architecture and era.

Input is one kernel message text with its transport prefix already removed and its leading
whitespace kept (:mod:`minfree.logs.prefix`).  Formats, each from a real report:

x86 4.x and later, arm64 (``%pS`` after one space; ``? `` marks an unreliable frame; corpus 014):

>>> parse_frame(" warn_alloc.cold+0x75/0xd9")
Frame(function='warn_alloc.cold', base='warn_alloc', offset='0x75/0xd9', module=None, unreliable=False, context=None)
>>> parse_frame(" ? i915_gem_shrink+0x26b/0x2b3 [i915]").module
'i915'

x86 2.6/3.x (``[<address>]`` before the symbol; corpus 022) and 2.6.9 i386 symbolic (corpus 004):

>>> parse_frame(" [<ffffffffa060d6ee>] splat_kmem_test13+0x21e/0x640 [splat]").function
'splat_kmem_test13'
>>> parse_frame(" [e1000_alloc_rx_buffers+68/227] e1000_alloc_rx_buffers+0x44/0xe3").offset
'0x44/0xe3'

ARM32 unwinder: the frame is the first (called) name, the second is its caller (corpus 030):

>>> parse_frame("[<c073d1a4>] (bcmgenet_rx_refill) from [<c073d900>] (bcmgenet_rx_poll+0x254/0xa3c)").function
'bcmgenet_rx_refill'

ppc64 (``[sp] [pc] .symbol``, optional ``(unreliable)``; corpus 009):

>>> f = parse_frame("[c00000000090b5c0] [c0000000004f8478] .dump_stack+0xa0/0xcc (unreliable)")
>>> f.function, f.unreliable
('dump_stack', True)

Lines of a trace that are not frames (corpus 006):

>>> [trace_line_kind(t) for t in ("Call Trace:", " <IRQ>", "RSP: 0018:ffffa47c40267bf0 EFLAGS: 00000202",
...                                " 0000000000204020 000000009465df34 ffff881fcc733980", "Mem-Info:")]
['header', 'marker', 'regs', 'stack', None]

:func:`parse_trace` turns the lines into frames and fills in the stack section they sit in:

>>> [(f.function, f.context) for f in parse_trace(["Call Trace:", " <IRQ>", " dump_stack+0x6d/0x95",
...                                                 " </IRQ>", " tcp_recvmsg+0x297/0xb70"])]
[('dump_stack', 'irq'), ('tcp_recvmsg', 'task')]

Every regular expression here is anchored and free of nested or overlapping quantifiers, so
matching time is linear in the line length.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Iterable

from minfree.model.record import record, replace

_SYM = r"[A-Za-z_.$][\w.$]*"
_OFF = r"0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?"
# "%pS" of a module symbol: "sym+0x1/0x2 [mod]", with a build id since 5.14: "[mod 3f2a...]".
_MOD = r"\[(?P<mod>[\w-]+)(?: [0-9a-f]+)?\]"

# All patterns below run on the stripped line, with fullmatch() unless said otherwise; no two
# adjacent parts can match the same text, which keeps them linear (tests/logs/test_trace.py).

# x86 4.x+, arm64, s390 and others: " ? symbol+0xoff/0xlen [module]".
# syzbot and scripts/decode_stacktrace.sh append the source line, and print inlined callers
# with it and " [inline]" in place of an offset: "dump_stack_lvl+0xe4/0x150 lib/dump_stack.c:106",
# "__dump_stack lib/dump_stack.c:88 [inline]".
_SRC = r"[\w./+-]+\.[chsS]:\d+(?: \[inline\])?"
_BARE = re.compile(rf"(?:(?P<q>\?)\s+)?(?P<sym>{_SYM})(?:\+(?P<off>{_OFF})(?:\s+{_MOD})?(?:\s+{_SRC})?"
                   rf"|\s+{_SRC})", re.ASCII)
# x86 2.6/3.x and i386: " [<ffffffff8110f1ca>] ? __alloc_pages_nodemask+0x6ea/0x8d0", possibly
# after an "<IRQ>"/"<EOI>" marker on the same line (2.6.32-3.x x86_64), or "0x0" when the
# address has no symbol (corpus 002).
_ADDRESSED = re.compile(
    rf"(?:<(?P<mark>/?[A-Z#_]{{2,20}})>\s*)?\[<(?P<addr>[0-9a-fA-F]+)>\](?:\s*(?P<q>\?))?"
    rf"(?:\s*(?:(?P<hex>0x[0-9a-fA-F]+)|(?P<sym>{_SYM})(?:\+(?P<off>{_OFF}))?(?:\s+{_MOD})?(?:\s+{_SRC})?))?",
    re.ASCII)
# 2.6.9 i386 symbolic: " [__alloc_pages+441/862] __alloc_pages+0x1b9/0x35e".
_SYMBOLIC = re.compile(
    rf"\[{_SYM}\+\d+/\d+\]\s+(?P<sym>{_SYM})(?:\+(?P<off>{_OFF}))?(?:\s+{_MOD})?", re.ASCII)
# ARM32 unwinder, 2.6-5.x: "[<c0279ba8>] (warn_alloc) from [<c027a6b8>] (__alloc_pages_nodemask+...)";
# 5.16+ (arch/arm/kernel/traps.c dump_backtrace_entry, " %ps from %pS"): " warn_alloc from ...".
_ARM = re.compile(
    rf"(?:\[<[0-9a-fA-F]+>\]\s*\((?P<sym>{_SYM})(?:\+(?P<off>{_OFF}))?(?:\s+{_MOD})?\)"
    rf"|(?P<sym2>{_SYM})(?:\+(?P<off2>{_OFF}))?(?:\s+\[(?P<mod2>[\w-]+)(?: [0-9a-f]+)?\])?)"
    rf"\s+from\s+(?:\[<[0-9a-fA-F]+>\]\s*\(\S|{_SYM}\+0x|0x).*", re.ASCII)
# ARM32 without kallsyms: "Function entered at [<c0013f84>] from [<c03a4ff4>]".
_ARM_NOSYMS = re.compile(r"Function entered at \[<(?P<addr>[0-9a-fA-F]+)>\] from .*", re.ASCII)
# ppc32/ppc64: "[c00000000090b5c0] [c0000000004f8478] .dump_stack+0xa0/0xcc (unreliable)".
_PPC = re.compile(
    rf"\[[0-9a-fA-F]{{8,16}}\]\s+\[(?P<addr>[0-9a-fA-F]{{8,16}})\]\s+"
    rf"(?:(?P<hex>0x[0-9a-fA-F]+)|(?P<sym>{_SYM})(?:\+(?P<off>{_OFF}))?(?:\s+{_MOD})?)"
    rf"(?:\s+\((?P<unrel>unreliable)\))?", re.ASCII)
# x86_64 2.6.9-2.6.1x: several frames per line, "<ffffffff8015f9fe>{__alloc_pages+789}",
# with "<IRQ>"/"<EOI>" markers between them (finditer / match on a prefix).
_OLD_X86_64 = re.compile(r"<(?P<addr>[0-9a-fA-F]{8,16})>\{(?P<sym>[A-Za-z_.$][\w.$]*)(?:\+(?P<off>\d+))?\}"
                         r"|<(?P<mark>/?[A-Z#_]{2,20})>", re.ASCII)
_OLD_X86_64_LINE = re.compile(r"(?:Call Trace:\s*)?(?:<[A-Z#_]{2,20}>\s*)*<[0-9a-fA-F]{8,16}>\{", re.ASCII)
# i386 2.6.1x without frame pointers: two frames per line, "<c01369e2> __alloc_pages+0x1f2/0x2d0
#  <c0149c92> kmem_getpages+0x32/0xa0" (corpus 145, 2.6.17).
_OLD_I386 = re.compile(rf"<(?P<addr>[0-9a-fA-F]{{8}})> (?P<sym>{_SYM})\+(?P<off>{_OFF})(?: {_MOD})?", re.ASCII)
_OLD_I386_LINE = re.compile(rf"<[0-9a-fA-F]{{8}}> {_SYM}\+0x", re.ASCII)

# Pieces of a frame wrapped over two lines by a mail client or console (corpus 001, 010).
_ADDRESS_ONLY = re.compile(r"\[<[0-9a-fA-F]+>\](?:\s*(?P<q>\?))?", re.ASCII)
_MODULE_ONLY = re.compile(_MOD, re.ASCII)

_HEADER = re.compile(r"(?:Call Trace:|Call trace:|Stack:|Backtrace:)(?P<rest>.*)", re.ASCII)   # match()
_MARKER = re.compile(r"<(?P<name>/?[A-Z#_]{2,20})>", re.ASCII)
# "=======================" between stacks (i386 2.6.1x); ppc64 "--- interrupt: 501 at ...",
# "---[ end trace ... ]---", "LR = ..." (match() on a prefix).
_SEPARATOR = re.compile(r"={5,}", re.ASCII)
_OTHER_MARKER = re.compile(r"--- (?:interrupt|Exception)\b|---\[ end trace\b|LR = ", re.ASCII)

_REGISTER = (r"RIP|EIP|RSP|ESP|RAX|EAX|RBX|EBX|RCX|ECX|RDX|EDX|RSI|ESI|RDI|EDI|RBP|EBP|R\d{1,2}|"
             r"FS|GS|CS|DS|ES|SS|CR\d|DR\d|PKRU|EFLAGS|ORIG_RAX|"
             r"pc|lr|sp|ip|fp|psr|r\d{1,2}|x\d{1,2}|pstate|"
             r"NIP|MSR|GPR\d\d|CTR|XER|CFAR|DAR|DSISR|SOFTE|TRAP|CR|IRQMASK|REGS|"
             r"PC|PR|SR|SP|GPR|A\d{1,2}|LBEG|LEND|LCOUNT|SAR")
# "RIP: 0010:tcp_rcv_space_adjust+0x56/0x1c0", "RAX: 0000000000000002 RBX: ...", ARM32
# "r6:c06a3c04 r5:00000000", arm64 "pc : __alloc_pages+0x1a4/0x1070", "x29: ffff8000...",
# "Code: 06 00 00 bf ..." (match()).
_REGS = re.compile(rf"(?:{_REGISTER})\s*:\s*[\[<(\w]|Code: |Flags: |Control: |Table: |"
                   rf"Process \S+ \(pid: |Modules linked in:", re.ASCII)
# The wrapped rest of a "Code:" line: bytes, the faulting one in <..> or (..).
_CODE_BYTES = re.compile(r"(?:[<(]?[0-9a-fA-F]{2,4}[>)]?\s+){5,}[<(]?[0-9a-fA-F]{2,4}[>)]?", re.ASCII)
# Raw stack words (x86 3.x-4.9 before "Call Trace:", corpus 001/025), "addr: words" dumps, and
# ARM's "Exception stack(0x... to 0x...)" title.
_STACK = re.compile(r"Exception stack\(.*|(?:[0-9a-fA-F]{4,16}: )?(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{16})"
                    r"(?:\s+(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{16}))*", re.ASCII)

# Stack-section markers and the context they open; x86 4.14+ names the stack type
# (arch/x86/kernel/dumpstack.c show_trace_log_lvl: "<IRQ>", "<SOFTIRQ>", "<NMI>", "<#DF>"...),
# 2.6/3.x closes the IRQ stack with "<EOI>" and exception stacks with "<EOE>", 5.x+ wraps
# the task part in "<TASK>"/"</TASK>".
_CONTEXT_AFTER = {
    "IRQ": "irq", "SOFTIRQ": "irq", "EOI": "task", "/IRQ": "task", "/SOFTIRQ": "task",
    "TASK": "task", "NMI": "nmi",
}


@record
class Frame:
    """One call-trace frame.

    ``function`` is the symbol as printed (ppc64's leading ``.`` removed, compiler suffixes
    such as ``.cold``, ``.isra.N``, ``.constprop.N``, ``.part.N`` kept); an address without a
    symbol is kept as its hex text.  ``base`` drops the compiler suffixes.  ``offset`` is
    the text after ``+`` as printed (``0x75/0xd9``; decimal on 2.6 x86_64).
    """

    function: str
    base: str
    offset: str | None
    module: str | None
    unreliable: bool
    context: str | None = None


def _frame(sym: str, offset: str | None, module: str | None, unreliable: bool) -> Frame:
    function = sym.lstrip(".") or sym
    base = function if function.startswith("0x") else function.partition(".")[0] or function
    return Frame(function, base, offset, module, unreliable)


def _old_x86_64_frames(text: str) -> list[Frame | str]:
    """Frames and markers of one 2.6.9-era x86_64 or 2.6.1x i386 line, in order."""
    found: list[Frame | str] = []
    if _OLD_I386_LINE.match(text):
        return [_frame(m.group("sym"), m.group("off"), m.group("mod"), False) for m in _OLD_I386.finditer(text)]
    for m in _OLD_X86_64.finditer(text):
        if m.group("mark"):
            found.append(m.group("mark"))
        else:
            found.append(_frame(m.group("sym"), m.group("off"), None, False))
    return found


def parse_frame(text: str) -> Frame | None:
    """Parse one frame line; None when the line is not a complete frame.

    On the 2.6.9 x86_64 lines that hold several frames the first one is returned
    (:func:`parse_trace` reads them all).

    >>> parse_frame(" [<ffffffffa85debfd>] ? cache_grow_begin+0x9d/0x550")
    Frame(function='cache_grow_begin', base='cache_grow_begin', offset='0x9d/0x550', module=None, unreliable=True, context=None)
    >>> parse_frame("[c00000000090b980] [c00000000013b59c] .___slab_alloc.constprop.64+0x3dc/0x564").base
    '___slab_alloc'
    >>> parse_frame(" <ffffffff8015f9fe>{__alloc_pages+789} <ffffffff8015faa6>{__get_free_pages+11}").offset
    '789'
    >>> [f.function for f in parse_trace(["<f8b6d1f7> e1000_alloc_rx_buffers+0x227/0x3a0 [e1000]  <c0113c57> __wake_up_common+0x37/0x70"])]
    ['e1000_alloc_rx_buffers', '__wake_up_common']
    >>> [f.function for f in parse_trace(["[<ffffffff83250e66>] __dump_stack lib/dump_stack.c:88 [inline]",
    ...                                   "[<ffffffff80443bba>] warn_alloc+0x170/0x212 mm/page_alloc.c:4271"])]
    ['__dump_stack', 'warn_alloc']
    >>> parse_frame(" [<00000000>] 0x0").function
    '0x0'
    >>> parse_frame("Mem-Info:") is None
    True
    """
    return _parse_stripped(text.strip())


# The same frames recur in every report of a host (and its call-trace lines in every report):
# both parsers below are pure functions of the text and Frame is frozen, so they are memoised.
_MEMO = 4096


@functools.lru_cache(maxsize=_MEMO)
def _parse_stripped(text: str) -> Frame | None:
    m = _BARE.fullmatch(text)
    if m:
        return _frame(m.group("sym"), m.group("off"), m.group("mod"), m.group("q") is not None)
    m = _ADDRESSED.fullmatch(text)
    if m:
        if m.group("sym"):
            return _frame(m.group("sym"), m.group("off"), m.group("mod"), m.group("q") is not None)
        if m.group("hex"):
            return _frame(m.group("hex"), None, None, m.group("q") is not None)
        return None
    m = _SYMBOLIC.fullmatch(text)
    if m:
        return _frame(m.group("sym"), m.group("off"), m.group("mod"), False)
    m = _PPC.fullmatch(text)
    if m:
        return _frame(m.group("sym") or m.group("hex"), m.group("off"), m.group("mod"),
                      m.group("unrel") is not None)
    m = _ARM.fullmatch(text)
    if m:
        if m.group("sym"):
            return _frame(m.group("sym"), m.group("off"), m.group("mod"), False)
        return _frame(m.group("sym2"), m.group("off2"), m.group("mod2"), False)
    m = _ARM_NOSYMS.fullmatch(text)
    if m:
        return _frame("0x" + m.group("addr"), None, None, False)
    if _OLD_X86_64_LINE.match(text) or _OLD_I386_LINE.match(text):
        for item in _old_x86_64_frames(text):
            if isinstance(item, Frame):
                return item
    return None


def trace_line_kind(text: str) -> str | None:
    """What a line is within a call trace, or None when it is not part of one.

    ``"frame"`` (also the halves of a frame wrapped over two lines), ``"header"``
    (``Call Trace:``, ``Call trace:``, ``Stack:``, ``Backtrace:``), ``"marker"`` (``<IRQ>``,
    ``</TASK>``, ``<EOI>``, the 2.6 i386 ``=====`` separator, ppc64 ``--- interrupt:``),
    ``"regs"`` (register dump, ``RIP:``, ``Code:`` and its wrapped bytes) or ``"stack"`` (raw
    stack words).

    >>> trace_line_kind("[<c0212d10>] (unwind_backtrace) from [<c020d530>] (show_stack+0x20/0x24)")
    'frame'
    >>> trace_line_kind("[  785.581332] RIP: 0010:tcp_rcv_space_adjust+0x56/0x1c0") is None
    True
    >>> trace_line_kind("<41> 5f 5d c3 65 8b 05 ff 40 09 5b 89 c0 48 0f a3 05 05 2f ec 00 73")
    'regs'
    >>> trace_line_kind("swapper/0: page allocation failure: order:0, mode:0x480020(GFP_ATOMIC), nodemask=(null)") is None
    True
    """
    return _facts(text.strip())[0]


Item = tuple[str, Any, Frame | None]   # what parse_trace takes from one line (_item)

# "[<ffffffff81d249c0>]" at the start of a stripped line (x86 2.6/3.x, ARM32). What the memo
# below holds for such a line does not depend on its address: no pattern keeps the address or
# tests its length (_ADDRESSED, _ARM and _ADDRESS_ONLY take any run of hex digits there, and
# every other pattern fails on "[<" whatever follows). A host's frames share a few symbols but
# their addresses differ from boot to boot (and in the generated logs on every line: 57 % of
# their trace lines occur once), so the memo is asked with the address written as "0".
_ADDRESS_HEAD = re.compile(r"\[<[0-9a-fA-F]+>\]", re.ASCII)


def _facts(text: str) -> tuple[str | None, Item | None]:
    """:func:`_line_facts` of a stripped line, asked without the address it starts with.

    >>> _facts("[<ffffffff81d249c0>] ? __alloc_pages_nodemask+0x757/0x8d0") is _facts("[<ffffffff8112c207>] ? __alloc_pages_nodemask+0x757/0x8d0")
    True
    """
    if text.startswith("[<"):
        head = _ADDRESS_HEAD.match(text)
        if head is not None:
            text = "[<0>]" + text[head.end():]
    return _line_facts(text)


@functools.lru_cache(maxsize=_MEMO)
def _line_facts(text: str) -> tuple[str | None, Item | None]:
    """(kind, item) of a stripped line: what :func:`trace_line_kind` says of it and, for a line
    of a trace (kind not None), what :func:`parse_trace` takes from it (:func:`_item`). The
    assembler asks for the kind of every line of a report and parse_trace then for the item of
    each trace line: made together, the patterns both test run once, behind one memo."""
    if not text:
        return None, None
    first = text[0]   # each pattern below starts with a literal: a line that cannot match skips it
    header = _HEADER.match(text) if first in "CSB" else None
    if header:
        return "header", _item(header.group("rest").strip())
    marker = _MARKER.fullmatch(text) if first == "<" else None
    if marker:
        return "marker", ("mark", marker.group("name"), None)
    if first == "=" and _SEPARATOR.fullmatch(text):
        return "marker", ("separator", None, None)
    if first in "-L" and _OTHER_MARKER.match(text):
        return "marker", _frame_item(text)
    if (_parse_stripped(text) is not None
            or (first == "[" and (_ADDRESS_ONLY.fullmatch(text) or _MODULE_ONLY.fullmatch(text)))):
        return "frame", _frame_item(text)
    if _REGS.match(text) or _CODE_BYTES.fullmatch(text):
        return "regs", _frame_item(text)
    if _STACK.fullmatch(text):
        return "stack", _frame_item(text)
    return None, None


def parse_trace(lines: Iterable[str]) -> list[Frame]:
    """Frames of one trace in printed order (innermost first), each with its stack section.

    Lines that are not frames are skipped; markers set ``context``.  A frame wrapped after
    its address or before its ``[module]`` is joined again (corpus 001, 010).  On 2.6.1x i386
    the ``=====`` line separates an interrupt stack from the interrupted one
    (arch/i386/kernel/traps.c show_trace_log_lvl, 2.6.18): without other markers, frames
    before the last separator are "irq" and frames after it "task" (corpus 002).

    >>> frames = parse_trace(["  [<ffffffffa06de013>]", "xfs_submit_ioend_bio.isra.12+0x33/0x40 [xfs]",
    ...                       " ? pqi_raid_submit_scsi_cmd_with_io_request+0x1c3/0x470", "[smartpqi]"])
    >>> [(f.function, f.module, f.unreliable) for f in frames]
    [('xfs_submit_ioend_bio.isra.12', 'xfs', False), ('pqi_raid_submit_scsi_cmd_with_io_request', 'smartpqi', True)]
    >>> [f.context for f in parse_trace([" [<c10053f9>] do_softirq+0x5e/0xb5", " =======================",
    ...                                  " [<c101f3c4>] irq_exit+0x3a/0x3c"])]
    ['irq', 'task']
    """
    frames: list[Frame] = []
    context: str | None = None
    saw_context_marker = False
    separator_at: int | None = None
    pending_unreliable = False

    def add(frame: Frame) -> None:
        nonlocal pending_unreliable
        if context != frame.context or (pending_unreliable and not frame.unreliable):
            # the constructor, not replace(): this runs for every frame of every report
            frame = Frame(frame.function, frame.base, frame.offset, frame.module,
                          frame.unreliable or pending_unreliable, context)
        frames.append(frame)   # else the parsed frame itself: frozen, and equal to that copy
        pending_unreliable = False

    def mark(name: str) -> None:
        nonlocal context, saw_context_marker
        saw_context_marker = True
        context = _CONTEXT_AFTER.get(name)

    for line in lines:
        stripped = line.strip()
        item = _facts(stripped)[1]
        what, value, frame = item if item is not None else _item(stripped)
        if what == "frame":
            if value is not None:
                mark(value)
            if frame is not None:
                add(frame)
            else:
                pending_unreliable = False
        elif what == "mark":
            mark(value)
        elif what == "separator":
            separator_at = len(frames)
        elif what == "several":
            for item in value:
                if isinstance(item, Frame):
                    add(item)
                else:
                    mark(item)
        elif what == "address":
            pending_unreliable = value
        elif what == "module":
            if frames and frames[-1].module is None:
                frames[-1] = replace(frames[-1], module=value)
    if separator_at is not None and not saw_context_marker and separator_at < len(frames):
        frames = [replace(f, context="irq" if i < separator_at else "task")
                  for i, f in enumerate(frames)]
    return frames


def _item(text: str) -> Item:
    """What one stripped line gives :func:`parse_trace` (a header's rest is read as a line of its
    own): ("skip", None, None); ("mark", name, None); ("separator", None, None); ("several",
    frames and markers of a 2.6-era multi-frame line, None); ("address", the "?" of a wrapped
    frame's address half, None); ("module", the name of a wrapped frame's module half, None);
    else ("frame", a marker before it or None, the frame or None).

    Lines of corpus 006 (5.4.26), a wrapped frame's address half (corpus 001), and a 2.6.32-3.x
    x86_64 line that opens the IRQ stack:

    >>> _item("</IRQ>"), _item("[<ffffffffa06de013>]")
    (('mark', '/IRQ', None), ('address', False, None))
    >>> _item("<IRQ>  [<ffffffff8112c207>] ? __alloc_pages_nodemask+0x757/0x8d0")[:2]
    ('frame', 'IRQ')
    """
    if not text:
        return "skip", None, None
    marker = _MARKER.fullmatch(text)
    if marker:
        return "mark", marker.group("name"), None
    if _SEPARATOR.fullmatch(text):
        return "separator", None, None
    return _frame_item(text)


def _frame_item(text: str) -> Item:
    """:func:`_item` of a non-empty stripped line that is neither a marker nor a separator
    (the patterns' first literals gate them, as in :func:`_line_facts`)."""
    first = text[0]
    if first in "C<" and (_OLD_X86_64_LINE.match(text) or _OLD_I386_LINE.match(text)):
        return "several", tuple(_old_x86_64_frames(text)), None
    if first == "[":
        address_only = _ADDRESS_ONLY.fullmatch(text)
        if address_only:
            return "address", address_only.group("q") is not None, None
        module_only = _MODULE_ONLY.fullmatch(text)
        if module_only:
            return "module", module_only.group("mod"), None
    # only a marker before the address ("<IRQ> [<...>] ...") gives one
    addressed = _ADDRESSED.fullmatch(text) if first == "<" else None
    return "frame", addressed.group("mark") if addressed else None, _parse_stripped(text)
