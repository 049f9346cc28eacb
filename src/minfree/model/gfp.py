"""GFP flag tables per kernel era, decoding of ``mode:0x..`` masks, plain words.

The same hex mask means different things on different kernels: the bits were
renumbered in 4.4, 4.10, 4.15, 5.1 and 6.10 (then config dependent). The
tables here are data transcribed from the kernel headers and combined with the
kernel's own composite definitions; every era names the versions and files it
comes from. Sources (see /work/shared/reference/gfp-flags-by-version.md for the
trees read):

* bit values: ``include/linux/gfp.h`` (<=5.x), ``include/linux/gfp_types.h``
  (6.0+; an ``enum`` of bit numbers from 6.10, commit 772dd0342727);
* print order: ``include/trace/events/gfpflags.h`` (tracepoints, <=4.5; failure
  reports print only hex there) and ``include/trace/events/mmflags.h``
  ``__def_gfpflag_names`` (4.6+, used by ``%pGg`` in ``warn_alloc``). From 6.15
  (commit ca29a0bf1221) the single bits follow ``TRACE_GFP_FLAGS`` enum order.

Note: mmflags.h has named ``GFP_DMA32`` since it was created (4.6, "mm,
tracing: unify mm flags handling in tracepoints and printk"); the reference
file's 4.9 list omits it, the kernel patches read here do not.

``%pGg`` (lib/vsprintf.c ``format_flags``) walks the table in order, prints
every entry whose whole mask is still set, clears it, and prints what is left
as ``0x..``; :func:`format_names` does the same.

Config-dependent bits (6.x): ``__GFP_SKIP_ZERO``/``__GFP_SKIP_KASAN*`` exist only
with CONFIG_KASAN_HW_TAGS (arm64 MTE), ``__GFP_NOLOCKDEP`` only with
CONFIG_LOCKDEP, ``__GFP_NO_OBJ_EXT`` only with CONFIG_SLAB_OBJ_EXT (MEMCG or
MEM_ALLOC_PROFILING). From 6.10 they are enum members, so whether one exists
moves the ones after it. :class:`GfpConfig` says which exist; the default
(:data:`DISTRO_CONFIG`) is a distribution kernel: no KASAN_HW_TAGS, no LOCKDEP,
SLAB_OBJ_EXT on. A kernel built otherwise is described with
``GfpConfig.from_kconfig(<its .config>)``.

The running kernel can say it itself: its tracefs ``mm_page_alloc`` format holds its own
print table (:mod:`minfree.tracing.gfp_format`); :func:`layout_from_table` makes a layout of
it and :class:`RunningGfp` carries it, with the running kernel's config, to the decoding of
that kernel's own reports. The era tables stay the answer for every other kernel.
"""

from __future__ import annotations

import functools

from minfree.model.kversion import KernelVersion
from minfree.model.record import record

__all__ = [
    "DISTRO_CONFIG",
    "GfpConfig",
    "GfpDecoding",
    "GfpLayout",
    "RunningGfp",
    "TRACEFS_LAYOUT",
    "decode",
    "explain",
    "format_names",
    "layout_for",
    "layout_from_table",
    "mask_from_names",
]

_U64 = (1 << 64) - 1
NEWEST_KNOWN = (6, 18, 0)


@record
class GfpConfig:
    """The kernel config options that add or move GFP bits."""

    lockdep: bool = False
    kasan_hw_tags: bool = False
    slab_obj_ext: bool = True  # MEMCG || MEM_ALLOC_PROFILING (6.10+)

    @classmethod
    def from_kconfig(cls, text: str) -> GfpConfig:
        """Read the options from a kernel ``.config`` (``/proc/config.gz`` text).

        >>> GfpConfig.from_kconfig("CONFIG_SLAB_OBJ_EXT=y\\n# CONFIG_KASAN is not set\\n")
        GfpConfig(lockdep=False, kasan_hw_tags=False, slab_obj_ext=True)
        >>> GfpConfig.from_kconfig("CONFIG_LOCKDEP=y\\n").slab_obj_ext
        False
        """
        enabled = {
            line.split("=", 1)[0].strip()
            for line in text.splitlines()
            if line.strip().endswith(("=y", "=m"))
        }
        return cls(
            lockdep="CONFIG_LOCKDEP" in enabled,
            kasan_hw_tags="CONFIG_KASAN_HW_TAGS" in enabled,
            slab_obj_ext="CONFIG_SLAB_OBJ_EXT" in enabled,
        )


DISTRO_CONFIG = GfpConfig()


@record
class GfpLayout:
    """One kernel's GFP table."""

    name: str  # era, e.g. "2.6.32-4.3", "4.5-4.9", "5.1-6.2", "6.15+"
    flags: tuple[tuple[str, int], ...]  # %pGg order: composites first, then __GFP_* bits
    bits: tuple[tuple[str, int], ...] = ()  # every single __GFP_* bit the kernel defines
    zero_name: str | None = None  # what a 0 mask prints as (gfpflags.h <=4.3: "GFP_NOWAIT")


@record
class GfpDecoding:
    """What one allocation mask asked for, in the kernel's words and in ours."""

    mask: int
    names: tuple[str, ...]  # as %pGg prints them (printed names win), leftover bits as "0x.."
    bits: frozenset[str]  # every single __GFP_* bit set
    layout: str  # GfpLayout.name used, or "printed" when only printed names were available
    exact: bool  # False when the kernel version was unknown and the era was guessed
    zone: str  # gfp_zone(): highest usable zone
    can_sleep: bool  # __GFP_DIRECT_RECLAIM (__GFP_WAIT on <=4.3)
    high: bool  # __GFP_HIGH: may dip into the min reserve
    nowarn: bool
    memalloc: bool
    comp: bool
    request_class: str  # "GFP_ATOMIC" | "GFP_NOWAIT" | "blocking" | "memalloc"
    harder: bool = False  # ALLOC_HARDER / ALLOC_NON_BLOCK: a further 1/4 off min


#: ``GfpLayout.name`` of a table the running kernel printed itself (tracefs).
TRACEFS_LAYOUT = "tracefs"


def layout_from_table(table: tuple[tuple[str, int], ...]) -> GfpLayout | None:
    """A kernel's own print table as a layout: the ``(name, value)`` pairs of its tracefs
    ``mm_page_alloc`` format in print order (composites, then single ``__GFP_*`` bits); the
    single-bit ``__GFP_*`` entries are its bits. None when the table names no
    ``__GFP_DIRECT_RECLAIM`` (kernels before 4.6 print short names such as ``GFP_HIGH``,
    which say nothing about sleeping): the era tables decode those kernels.

    Real sample (this machine's Linux 6.18 table, shortened to what 0x820 and 0xcc0 use):

    >>> table = (("GFP_KERNEL", 0xcc0), ("GFP_ATOMIC", 0x820), ("__GFP_RECLAIM", 0xc00),
    ...          ("__GFP_HIGH", 0x20), ("__GFP_IO", 0x40), ("__GFP_FS", 0x80),
    ...          ("__GFP_DIRECT_RECLAIM", 0x400), ("__GFP_KSWAPD_RECLAIM", 0x800))
    >>> layout = layout_from_table(table)
    >>> [name for name, _ in layout.bits][:3], layout.name
    (['__GFP_HIGH', '__GFP_IO', '__GFP_FS'], 'tracefs')
    >>> format_names(0xcc0 | 0x20, layout)
    'GFP_KERNEL|__GFP_HIGH'
    >>> layout_from_table((("GFP_ATOMIC", 0x20), ("GFP_HIGH", 0x20), ("GFP_WAIT", 0x10))) is None
    True
    """
    flags = tuple((name, value & _U64) for name, value in table if value & _U64)
    bits = tuple((name, value) for name, value in flags
                 if name.startswith("__GFP_") and value & (value - 1) == 0)
    if all(name != "__GFP_DIRECT_RECLAIM" for name, _ in bits):
        return None
    return GfpLayout(TRACEFS_LAYOUT, flags, bits)


@record
class RunningGfp:
    """What the running kernel says about its own GFP bits, to decode its own reports with:
    its release (``uname -r``), its print table when tracefs was readable, its config."""

    release: str
    layout: GfpLayout | None = None
    config: GfpConfig = DISTRO_CONFIG


# --------------------------------------------------------------------------
# Era tables. A version tuple v is (major, minor, patch).

Version = tuple[int, int, int]

# Composites shared by every era, in terms of single bits; "-" removes bits.
# include/linux/gfp.h "Useful GFP flag combinations".
_LEGACY_ORDER = (
    # include/trace/events/gfpflags.h (2.6.3x-4.3) order, printed with the
    # __GFP_ prefix that mmflags.h introduced in 4.5/4.6. That file lacks
    # GFP_DMA, __GFP_HIGHMEM, GFP_DMA32, __GFP_FS and __GFP_WRITE; failure
    # reports of these kernels print hex only, so they are appended at the end.
    "GFP_TRANSHUGE", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER",
    "GFP_TEMPORARY", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC",
    "GFP_NOIO", "__GFP_HIGH", "__GFP_WAIT", "__GFP_IO", "__GFP_COLD",
    "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_COMP",
    "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL",
    "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE", "__GFP_NOTRACK",
    "__GFP_NO_KSWAPD", "__GFP_KMEMCG", "__GFP_ACCOUNT", "__GFP_NOACCOUNT",
    "__GFP_OTHER_NODE",
    "GFP_DMA", "__GFP_HIGHMEM", "GFP_DMA32", "__GFP_FS", "__GFP_WRITE",
)

_MMFLAGS_ORDER = (
    # include/trace/events/mmflags.h __def_gfpflag_names, 4.6 (commit
    # "mm, tracing: unify mm flags handling in tracepoints and printk") to 6.14;
    # entries are present only while the kernel defines them.
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER",
    "GFP_USER", "GFP_TEMPORARY", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS",
    "GFP_ATOMIC", "GFP_NOIO", "GFP_NOWAIT", "GFP_DMA", "__GFP_HIGHMEM", "GFP_DMA32",
    "__GFP_HIGH", "__GFP_ATOMIC", "__GFP_IO", "__GFP_FS", "__GFP_COLD",
    "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL",
    "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC",
    "__GFP_MEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE", "__GFP_RECLAIMABLE",
    "__GFP_MOVABLE", "__GFP_ACCOUNT", "__GFP_NOACCOUNT", "__GFP_NOTRACK",
    "__GFP_WRITE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
    "__GFP_OTHER_NODE", "__GFP_ZEROTAGS",
    # __def_gfpflag_names_kasan (CONFIG_KASAN_HW_TAGS only)
    "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN_POISON", "__GFP_SKIP_KASAN_UNPOISON",
    "__GFP_SKIP_KASAN",
)

_TRACE_GFP_ORDER = (
    # 6.15+: composites, then TRACE_GFP_FLAGS (enum order of gfp_types.h).
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER",
    "GFP_USER", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC",
    "GFP_NOIO", "GFP_NOWAIT", "GFP_DMA", "GFP_DMA32", "__GFP_RECLAIM",
    "__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE",
    "__GFP_RECLAIMABLE", "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_ZERO",
    "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_WRITE", "__GFP_NOWARN",
    "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_MEMALLOC",
    "__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE",
    "__GFP_ACCOUNT", "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN",
    "__GFP_NOLOCKDEP", "__GFP_NO_OBJ_EXT",
)


def _legacy_bits(v: Version, vendor: str | None) -> dict[str, int]:
    """<=4.3. Verified: v2.6.32, v3.10.108, RHEL6 2.6.32-642, RHEL7 3.10.0-1160
    (include/linux/gfp.h). Other first versions are upstream history."""
    rhel6, rhel7 = vendor == "rhel6", vendor == "rhel7"
    bits = {
        "__GFP_DMA": 0x1, "__GFP_HIGHMEM": 0x2, "__GFP_DMA32": 0x4, "__GFP_MOVABLE": 0x8,
        "__GFP_WAIT": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80,
        "__GFP_COLD": 0x100, "__GFP_NOWARN": 0x200, "__GFP_REPEAT": 0x400,
        "__GFP_NOFAIL": 0x800, "__GFP_NORETRY": 0x1000,
    }
    if v >= (3, 6, 0) or rhel7:
        bits["__GFP_MEMALLOC"] = 0x2000
    bits |= {
        "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000, "__GFP_NOMEMALLOC": 0x10000,
        "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000,
        "__GFP_RECLAIMABLE": 0x80000,
    }
    if rhel7:
        bits["__GFP_ACCOUNT"] = 0x100000
    elif (3, 8, 0) <= v < (3, 17, 0):
        bits["__GFP_KMEMCG"] = 0x100000
    elif v >= (4, 1, 0):
        bits["__GFP_NOACCOUNT"] = 0x100000
    # 0x200000 only with CONFIG_KMEMCHECK in 2.6.32 (0 otherwise: then no
    # allocation carries the bit, so naming it costs nothing).
    bits["__GFP_NOTRACK"] = 0x200000
    if (2, 6, 38) <= v < (4, 0, 0) or rhel6 or rhel7:
        bits["__GFP_NO_KSWAPD"] = 0x400000
    if v >= (2, 6, 39) or rhel6:
        bits["__GFP_OTHER_NODE"] = 0x800000
    if v >= (3, 2, 0) or rhel7:
        bits["__GFP_WRITE"] = 0x1000000
    return bits


def _legacy_composites(v: Version, vendor: str | None, b: dict[str, int]) -> dict[str, int]:
    """include/linux/gfp.h <=4.3: GFP_NOWAIT is 0 (see GfpLayout.zero_name)."""
    c = {
        "GFP_ATOMIC": b["__GFP_HIGH"],
        "GFP_NOIO": b["__GFP_WAIT"],
        "GFP_NOFS": b["__GFP_WAIT"] | b["__GFP_IO"],
    }
    c["GFP_KERNEL"] = c["GFP_NOFS"] | b["__GFP_FS"]
    c["GFP_TEMPORARY"] = c["GFP_KERNEL"] | b["__GFP_RECLAIMABLE"]
    c["GFP_USER"] = c["GFP_KERNEL"] | b["__GFP_HARDWALL"]
    c["GFP_HIGHUSER"] = c["GFP_USER"] | b["__GFP_HIGHMEM"]
    c["GFP_HIGHUSER_MOVABLE"] = c["GFP_HIGHUSER"] | b["__GFP_MOVABLE"]
    if v >= (2, 6, 38) or vendor in ("rhel6", "rhel7"):
        c["GFP_TRANSHUGE"] = (
            c["GFP_HIGHUSER_MOVABLE"] | b["__GFP_COMP"] | b["__GFP_NOMEMALLOC"]
            | b["__GFP_NORETRY"] | b["__GFP_NOWARN"] | b.get("__GFP_NO_KSWAPD", 0)
        )
    if "__GFP_ACCOUNT" in b:
        c["GFP_KERNEL_ACCOUNT"] = c["GFP_KERNEL"] | b["__GFP_ACCOUNT"]
    c["GFP_DMA"] = b["__GFP_DMA"]
    c["GFP_DMA32"] = b["__GFP_DMA32"]
    return c


def _modern_bits(v: Version, config: GfpConfig) -> dict[str, int]:
    """4.4+ (no __GFP_WAIT). Verified trees: 4.4.178, 4.6.2, 4.9.154, 4.14.67,
    4.19.108, 5.0.1, 5.4.286, 5.10.89, 5.15.135, 6.1.119, 6.6.87; 6.10+ from
    gfp_types.h enum order and this machine's 6.18 tracefs table."""
    base = {"__GFP_DMA": 0x1, "__GFP_HIGHMEM": 0x2, "__GFP_DMA32": 0x4, "__GFP_MOVABLE": 0x8}
    if v < (4, 15, 0):
        bits = base | {
            "__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80,
            "__GFP_COLD": 0x100, "__GFP_NOWARN": 0x200,
            # same bit renamed by "mm, tree wide: replace __GFP_REPEAT by __GFP_RETRY_MAYFAIL" (4.13)
            ("__GFP_REPEAT" if v < (4, 13, 0) else "__GFP_RETRY_MAYFAIL"): 0x400,
            "__GFP_NOFAIL": 0x800, "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000,
            "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000, "__GFP_NOMEMALLOC": 0x10000,
            "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000, "__GFP_ATOMIC": 0x80000,
            # 4.4: opt-out __GFP_NOACCOUNT; 4.5 turned it into opt-in __GFP_ACCOUNT
            ("__GFP_NOACCOUNT" if v < (4, 5, 0) else "__GFP_ACCOUNT"): 0x100000,
            # kmemcheck's bit, mainline until 4.14 (4.14.y stable dropped it)
            "__GFP_NOTRACK": 0x200000,
            "__GFP_DIRECT_RECLAIM": 0x400000,
        }
        if v < (4, 10, 0):
            bits |= {"__GFP_OTHER_NODE": 0x800000, "__GFP_WRITE": 0x1000000,
                     "__GFP_KSWAPD_RECLAIM": 0x2000000}
        else:
            bits |= {"__GFP_WRITE": 0x800000, "__GFP_KSWAPD_RECLAIM": 0x1000000}
            if config.lockdep and v >= (4, 12, 0):
                bits["__GFP_NOLOCKDEP"] = 0x2000000
        return bits
    if v < (5, 1, 0):
        bits = base | {
            "__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80,
            "__GFP_WRITE": 0x100, "__GFP_NOWARN": 0x200, "__GFP_RETRY_MAYFAIL": 0x400,
            "__GFP_NOFAIL": 0x800, "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000,
            "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000, "__GFP_NOMEMALLOC": 0x10000,
            "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000, "__GFP_ATOMIC": 0x80000,
            "__GFP_ACCOUNT": 0x100000, "__GFP_DIRECT_RECLAIM": 0x200000,
            "__GFP_KSWAPD_RECLAIM": 0x400000,
        }
        if config.lockdep:
            bits["__GFP_NOLOCKDEP"] = 0x800000
        return bits
    # 5.1: "mm: shuffle GFP_* flags" (Jan 2019) packed GFP_KERNEL into 0xcc0.
    bits = base | {"__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40,
                   "__GFP_FS": 0x80, "__GFP_ZERO": 0x100}
    if v < (6, 3, 0):
        bits["__GFP_ATOMIC"] = 0x200  # "mm: discard __GFP_ATOMIC" (6.3): 0x200 unused since
    bits |= {
        "__GFP_DIRECT_RECLAIM": 0x400, "__GFP_KSWAPD_RECLAIM": 0x800, "__GFP_WRITE": 0x1000,
        "__GFP_NOWARN": 0x2000, "__GFP_RETRY_MAYFAIL": 0x4000, "__GFP_NOFAIL": 0x8000,
        "__GFP_NORETRY": 0x10000, "__GFP_MEMALLOC": 0x20000, "__GFP_COMP": 0x40000,
        "__GFP_NOMEMALLOC": 0x80000, "__GFP_HARDWALL": 0x100000, "__GFP_THISNODE": 0x200000,
        "__GFP_ACCOUNT": 0x400000,
    }
    if v < (5, 14, 0):
        if config.lockdep:
            bits["__GFP_NOLOCKDEP"] = 0x800000
        return bits
    bits["__GFP_ZEROTAGS"] = 0x800000  # absent in 5.10.89, present in 5.15.135
    if v < (5, 16, 0):  # 5.15.135: unconditional
        bits["__GFP_SKIP_KASAN_POISON"] = 0x1000000
        if config.lockdep:
            bits["__GFP_NOLOCKDEP"] = 0x2000000
    elif v < (6, 0, 0):
        if config.kasan_hw_tags:
            bits |= {"__GFP_SKIP_KASAN_UNPOISON": 0x1000000, "__GFP_SKIP_KASAN_POISON": 0x2000000}
        if config.lockdep:
            bits["__GFP_NOLOCKDEP"] = 0x4000000
    elif v < (6, 3, 0):  # 6.1.119
        if config.kasan_hw_tags:
            bits |= {"__GFP_SKIP_ZERO": 0x1000000, "__GFP_SKIP_KASAN_UNPOISON": 0x2000000,
                     "__GFP_SKIP_KASAN_POISON": 0x4000000}
        if config.lockdep:
            bits["__GFP_NOLOCKDEP"] = 0x8000000
    elif v < (6, 10, 0):  # 6.6.87
        if config.kasan_hw_tags:
            bits |= {"__GFP_SKIP_ZERO": 0x1000000, "__GFP_SKIP_KASAN": 0x2000000}
        if config.lockdep:
            bits["__GFP_NOLOCKDEP"] = 0x4000000
    else:  # enum ___GFP_*_BIT: optional members shift the ones after them
        position = 24
        optional = (
            (config.kasan_hw_tags, ("__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN")),
            (config.lockdep, ("__GFP_NOLOCKDEP",)),
            (config.slab_obj_ext, ("__GFP_NO_OBJ_EXT",)),
        )
        for present, names in optional:
            for name in names if present else ():
                bits[name] = 1 << position
                position += 1
    return bits


def _modern_composites(v: Version, b: dict[str, int]) -> dict[str, int]:
    """include/linux/gfp.h / gfp_types.h combinations, 4.4+."""
    reclaim = b["__GFP_DIRECT_RECLAIM"] | b["__GFP_KSWAPD_RECLAIM"]
    c = {
        "__GFP_RECLAIM": reclaim,
        "GFP_ATOMIC": b["__GFP_HIGH"] | b.get("__GFP_ATOMIC", 0) | b["__GFP_KSWAPD_RECLAIM"],
        "GFP_KERNEL": reclaim | b["__GFP_IO"] | b["__GFP_FS"],
        # "gfp: include __GFP_NOWARN in GFP_NOWAIT" (16f5dfbc851b, v6.8 merge window)
        "GFP_NOWAIT": b["__GFP_KSWAPD_RECLAIM"] | (b["__GFP_NOWARN"] if v >= (6, 8, 0) else 0),
        "GFP_NOIO": reclaim,
        "GFP_NOFS": reclaim | b["__GFP_IO"],
        "GFP_DMA": b["__GFP_DMA"],
        "GFP_DMA32": b["__GFP_DMA32"],
    }
    if "__GFP_ACCOUNT" in b:
        c["GFP_KERNEL_ACCOUNT"] = c["GFP_KERNEL"] | b["__GFP_ACCOUNT"]
    if v < (4, 14, 0):  # "mm: treewide: remove GFP_TEMPORARY allocation flag" (4.14)
        c["GFP_TEMPORARY"] = c["GFP_KERNEL"] | b["__GFP_RECLAIMABLE"]
    c["GFP_USER"] = c["GFP_KERNEL"] | b["__GFP_HARDWALL"]
    c["GFP_HIGHUSER"] = c["GFP_USER"] | b["__GFP_HIGHMEM"]
    skip_kasan = (b.get("__GFP_SKIP_KASAN_POISON", 0) | b.get("__GFP_SKIP_KASAN_UNPOISON", 0)
                  | b.get("__GFP_SKIP_KASAN", 0))
    c["GFP_HIGHUSER_MOVABLE"] = c["GFP_HIGHUSER"] | b["__GFP_MOVABLE"] | skip_kasan
    thp_base = c["GFP_HIGHUSER_MOVABLE"] | b["__GFP_COMP"] | b["__GFP_NOMEMALLOC"] | b["__GFP_NOWARN"]
    if v >= (4, 8, 0):
        c["GFP_TRANSHUGE_LIGHT"] = thp_base & ~reclaim
        c["GFP_TRANSHUGE"] = c["GFP_TRANSHUGE_LIGHT"] | b["__GFP_DIRECT_RECLAIM"]
    elif v >= (4, 6, 0):
        c["GFP_TRANSHUGE"] = (thp_base | b["__GFP_NORETRY"]) & ~reclaim
    else:
        c["GFP_TRANSHUGE"] = (thp_base | b["__GFP_NORETRY"]) & ~b["__GFP_KSWAPD_RECLAIM"]
    return c


def _table(order: tuple[str, ...], values: dict[str, int], unnamed: frozenset[str]) -> tuple[tuple[str, int], ...]:
    return tuple((n, values[n]) for n in order if n in values and n not in unnamed and values[n])


@functools.lru_cache(maxsize=256)
def _build(v: Version, vendor: str | None, config: GfpConfig) -> GfpLayout:
    if v < (4, 4, 0):
        bits = _legacy_bits(v, vendor)
        values = bits | _legacy_composites(v, vendor, bits)
        name = "2.6.32-4.3" + (f"+{vendor}" if vendor in ("rhel6", "rhel7") else "")
        return GfpLayout(name, _table(_LEGACY_ORDER, values, frozenset()),
                         tuple(bits.items()), zero_name="GFP_NOWAIT")
    bits = _modern_bits(v, config)
    values = bits | _modern_composites(v, bits)
    if v >= (6, 15, 0):
        return GfpLayout("6.15+", _table(_TRACE_GFP_ORDER, values, frozenset()), tuple(bits.items()))
    # Before 6.15 mmflags.h has no name for these: they print as hex.
    unnamed = frozenset({"__GFP_NOLOCKDEP", "__GFP_NO_OBJ_EXT", "__GFP_DMA", "__GFP_DMA32"})
    if not config.kasan_hw_tags and v >= (5, 16, 0):
        unnamed |= {"__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN_POISON",
                    "__GFP_SKIP_KASAN_UNPOISON", "__GFP_SKIP_KASAN"}
    eras = ((4, 5, 0, "4.4"), (4, 10, 0, "4.5-4.9"), (4, 15, 0, "4.10-4.14"), (5, 1, 0, "4.15-5.0"),
            (6, 3, 0, "5.1-6.2"), (6, 8, 0, "6.3-6.7"), (6, 10, 0, "6.8-6.9"), (6, 15, 0, "6.10-6.14"))
    name = next(label for *first, label in eras if v < tuple(first))
    return GfpLayout(name, _table(_MMFLAGS_ORDER, values, unnamed), tuple(bits.items()))


def _clamp_version(kernel: KernelVersion) -> Version:
    try:
        v = (int(kernel.major), int(kernel.minor), int(kernel.patch))
    except (TypeError, ValueError, AttributeError):
        return NEWEST_KNOWN
    return min(max(v, (0, 0, 0)), NEWEST_KNOWN)


def layout_for(kernel: KernelVersion | None, config: GfpConfig = DISTRO_CONFIG) -> GfpLayout:
    """The GFP table of ``kernel`` (None: the newest known, 6.18).

    Era boundaries (first version of each): 4.4 (``__GFP_WAIT`` split into
    DIRECT/KSWAPD_RECLAIM), 4.5 (``__GFP_ACCOUNT``), 4.10 (``__GFP_OTHER_NODE``
    gone, reclaim bits moved), 4.15 (COLD/NOTRACK gone), 5.1 (shuffle), 6.3
    (``__GFP_ATOMIC`` gone), 6.8 (``GFP_NOWAIT`` includes ``__GFP_NOWARN``),
    6.10 (enum bits), 6.15 (print table from ``TRACE_GFP_FLAGS``). Versions
    before 2.6.32 use the 2.6.32 bits; versions after 6.18 use 6.18's.

    >>> from minfree.model.kversion import parse_release
    >>> dict(layout_for(parse_release("4.4.49-hotplug19-default")).flags)["GFP_ATOMIC"] == 0x2080020
    True
    >>> layout_for(parse_release("3.10.0-327.el7.x86_64")).name
    '2.6.32-4.3+rhel7'
    """
    if kernel is None:
        return _build(NEWEST_KNOWN, None, config)
    vendor = kernel.vendor if isinstance(kernel.vendor, str) else None
    return _build(_clamp_version(kernel), vendor, config)


def format_names(mask: int, layout: GfpLayout) -> str:
    """The ``%pGg`` text of ``mask`` with ``layout`` (lib/vsprintf.c format_flags).

    >>> format_names(0x204020, layout_for(KernelVersion(3, 10, 108)))
    'GFP_ATOMIC|__GFP_COMP|__GFP_NOTRACK'
    >>> format_names(0xcc4, layout_for(KernelVersion(6, 6, 87)))
    'GFP_KERNEL|GFP_DMA32'
    """
    return "|".join(_names(_normalize(mask), layout))


def mask_from_names(printed: str, layout: GfpLayout) -> int | None:
    """The mask a tracepoint printed as names (``__print_flags``: every name is a table entry,
    leftover bits as ``0x..``, a zero mask as ``none``); None when a name is not in ``layout``.
    Exact: the names are the table's own, so their values OR back to the mask.

    >>> layout = layout_for(KernelVersion(6, 1, 0))
    >>> hex(mask_from_names("GFP_ATOMIC|__GFP_NOWARN", layout)), mask_from_names("none", layout)
    ('0x2a20', 0)
    >>> hex(mask_from_names("GFP_KERNEL|0x1000000", layout)), mask_from_names("GFP_BOGUS", layout)
    ('0x1000cc0', None)
    """
    values = dict(layout.flags)
    mask = 0
    for name in _parse_printed(printed):
        if name == "none" or name == layout.zero_name:
            continue
        if name.startswith("0x"):
            try:
                mask |= int(name, 16)
            except ValueError:
                return None
        elif name in values:
            mask |= values[name]
        else:
            return None
    return mask & _U64


def _normalize(mask: object) -> int:
    try:
        return int(mask) & _U64  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0


def _names(mask: int, layout: GfpLayout) -> tuple[str, ...]:
    if mask == 0:
        return (layout.zero_name,) if layout.zero_name else ()
    names: list[str] = []
    rest = mask
    for name, value in layout.flags:
        if not rest:
            break
        if rest & value == value:
            names.append(name)
            rest &= ~value
    if rest:
        names.append(hex(rest))
    return tuple(names)


def _set_bits(mask: int, layout: GfpLayout) -> frozenset[str]:
    return frozenset(name for name, value in layout.bits if value and mask & value == value)


# gfp_zone() (include/linux/gfp.h GFP_ZONE_TABLE): zone modifier bits -> zone.
# "HighMem" is OPT_ZONE_HIGHMEM: ZONE_NORMAL on kernels without CONFIG_HIGHMEM.
_ZONES = {
    0: "Normal", 0x1: "DMA", 0x2: "HighMem", 0x4: "DMA32",
    0x8: "Normal", 0x9: "DMA", 0xA: "Movable", 0xC: "DMA32",
}


def _zone(mask: int) -> str:
    return _ZONES.get(mask & 0xF, "invalid")


def _guess_candidates(config: GfpConfig) -> tuple[GfpLayout, ...]:
    """One table per era, newest first (used when the kernel version is unknown)."""
    versions = ((6, 18, 0), (6, 12, 0), (6, 9, 0), (6, 6, 0), (6, 1, 0), (5, 15, 0), (5, 10, 0),
                (4, 19, 0), (4, 12, 0), (4, 9, 0), (4, 4, 0), (3, 10, 0))
    return tuple(_build(v, None, config) for v in versions)


def _score(names: tuple[str, ...]) -> tuple[bool, int, int]:
    """Fewer, composite names explain a mask better; leftover hex is worst.
    An empty decoding explains nothing and counts as one bare bit."""
    leftover = any(n.startswith("0x") for n in names)
    return (leftover, len(names) or 1, sum(n.startswith("__") for n in names) if names else 1)


def _parse_printed(printed: str) -> tuple[str, ...]:
    text = printed.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return tuple(part.strip() for part in text.split("|") if part.strip())


def decode(mask: int, kernel: KernelVersion | None = None, printed: str | None = None,
           config: GfpConfig = DISTRO_CONFIG, layout: GfpLayout | None = None) -> GfpDecoding:
    """Decode an allocation mask for ``kernel``; ``printed`` is the log's ``%pGg`` text.

    ``layout`` (the kernel's own table, :func:`layout_from_table`) is used as given; else
    ``kernel`` and ``config`` choose an era table.

    Without a kernel version the era is chosen by what reproduces ``printed``,
    else by the table that explains ``mask`` with the fewest, most composite
    names; ``exact`` is then False (True again when a table reproduces the
    printed names: the kernel confirmed the decoding).

    >>> decode(0x2080020, KernelVersion(4, 4, 0)).names
    ('GFP_ATOMIC',)
    >>> d = decode(0xa20)
    >>> d.names, d.layout, d.exact, d.request_class
    (('GFP_ATOMIC',), '5.1-6.2', False, 'GFP_ATOMIC')
    >>> decode(0, KernelVersion(2, 6, 32)).request_class
    'GFP_NOWAIT'
    """
    value = _normalize(mask)
    printed_names = _parse_printed(printed) if isinstance(printed, str) else None
    if layout is None and kernel is not None:
        layout = layout_for(kernel, config)
    if layout is not None:
        names = printed_names if printed_names is not None else _names(value, layout)
        return _decoding(value, names, layout, layout.name, exact=True)
    candidates = _guess_candidates(config)
    if printed_names is not None:
        for layout in candidates:
            if _names(value, layout) == printed_names:
                return _decoding(value, printed_names, layout, layout.name, exact=True)
    best = min(candidates, key=lambda layout: _score(_names(value, layout)))
    if printed_names is not None:
        return _decoding(value, printed_names, best, "printed", exact=False)
    return _decoding(value, _names(value, best), best, best.name, exact=False)


def _decoding(mask: int, names: tuple[str, ...], layout: GfpLayout, label: str, exact: bool) -> GfpDecoding:
    bits = _set_bits(mask, layout)
    can_sleep = bool(bits & {"__GFP_DIRECT_RECLAIM", "__GFP_WAIT"})
    high = "__GFP_HIGH" in bits
    nomemalloc = "__GFP_NOMEMALLOC" in bits
    memalloc = "__GFP_MEMALLOC" in bits
    defined = {name for name, _ in layout.bits}
    # mm/page_alloc.c gfp_to_alloc_flags(): who gets ALLOC_HARDER / ALLOC_NON_BLOCK.
    if "__GFP_WAIT" in defined:  # <=4.3: every !wait request (3.10)
        harder = not can_sleep and not nomemalloc
    elif "__GFP_ATOMIC" in defined:  # 4.4-6.2: only __GFP_ATOMIC
        harder = "__GFP_ATOMIC" in bits and not nomemalloc
    else:  # 6.3+: NON_BLOCK lowers min only together with ALLOC_MIN_RESERVE (__GFP_HIGH)
        harder = high and not can_sleep and not nomemalloc
    if memalloc and not nomemalloc:
        request_class = "memalloc"  # gfp_pfmemalloc_allowed(): ALLOC_NO_WATERMARKS
    elif not can_sleep:
        request_class = "GFP_ATOMIC" if high else "GFP_NOWAIT"
    else:
        request_class = "blocking"
    return GfpDecoding(
        mask=mask, names=names, bits=bits, layout=label, exact=exact, zone=_zone(mask),
        can_sleep=can_sleep, high=high, nowarn="__GFP_NOWARN" in bits, memalloc=memalloc,
        comp="__GFP_COMP" in bits, request_class=request_class, harder=harder,
    )


def _reserve_words(dec: GfpDecoding) -> str:
    if dec.request_class == "memalloc":
        return "it may use all reserves (no watermark check)"
    if dec.high and dec.harder:
        return "it can dip into part of the min reserve (min lowered by 1/2, then by 1/4 more)"
    if dec.high:
        return "it can dip into half of the min reserve"
    if dec.harder:
        return "it can dip into a quarter of the min reserve"
    return ("it gets no share of the min reserve (its floor is min itself, so a larger "
            "min_free_kbytes raises the floor with the reserve)")


def explain(dec: GfpDecoding, order: int) -> str:
    """Plain words for one failed request (4 KiB pages assumed).

    >>> print(explain(decode(0x20, KernelVersion(2, 6, 32)), 1))  # doctest: +NORMALIZE_WHITESPACE
    order:1, mode:0x20 on 2.6.32-4.3 kernels is GFP_ATOMIC: a request for 2 contiguous pages
    (8 KiB) that may not sleep (interrupt/softirq context or a held lock); it can dip into part
    of the min reserve (min lowered by 1/2, then by 1/4 more) but cannot reclaim or compact, so
    it fails when no free block of order >= 1 sits above the zone's watermark.
    >>> print(explain(decode(0x10, KernelVersion(3, 10, 0)), 0))  # doctest: +NORMALIZE_WHITESPACE
    order:0, mode:0x10 on 2.6.32-4.3 kernels is GFP_NOIO: a request for 1 contiguous page (4 KiB)
    that may sleep but not start I/O (GFP_NOIO): reclaim can only drop clean pages and compaction
    is skipped, so it fails when that left no free page above the zone's watermark.
    """
    order = order if isinstance(order, int) and 0 <= order < 64 else 0
    pages = 1 << order
    size_kib = 4 * pages
    size = f"{size_kib // 1024} MiB" if size_kib >= 1024 else f"{size_kib} KiB"
    what = "|".join(dec.names) if dec.names else "no flags"
    era = "an unknown kernel (era guessed)" if not dec.exact else f"{dec.layout} kernels"
    if dec.layout == "printed":
        era = "this kernel"
    elif dec.layout == TRACEFS_LAYOUT:
        era = "this kernel (its own table, from tracefs)"
    block = "free page" if order == 0 else f"free block of order >= {order}"
    head = (f"order:{order}, mode:{dec.mask:#x} on {era} is {what}: a request for "
            f"{pages} contiguous page{'s' if pages > 1 else ''} ({size})")
    if dec.can_sleep and "__GFP_IO" not in dec.bits:
        # GFP_NOIO: reclaim may not start I/O (no swap-out, no writeback) and
        # try_to_compact_pages() returns COMPACT_SKIPPED without __GFP_IO (mm/compaction.c,
        # 3.x-6.18)
        tail = ("that may sleep but not start I/O (GFP_NOIO): reclaim can only drop clean pages "
                "and compaction is skipped, so it fails when that left no " + block
                + " above the zone's watermark")
    elif dec.can_sleep and "__GFP_FS" not in dec.bits:
        # GFP_NOFS: no filesystem callbacks: dirty file pages and dentry/inode caches stay
        tail = ("that may sleep but not enter the filesystem (GFP_NOFS): reclaim skips dirty file "
                "pages and the dentry/inode caches" + (", compaction still runs" if order else "")
                + ", so it fails when that left no " + block + " above the zone's watermark")
    elif dec.can_sleep:
        tail = ("that may sleep: it can reclaim" + (" and compact" if order else "")
                + " memory before failing, so a failure means reclaim"
                + (" and compaction" if order else "") + " left no "
                + block + " above the zone's watermark")
        if "__GFP_NORETRY" in dec.bits:
            tail += "; __GFP_NORETRY made it give up after one light attempt"
        if "__GFP_RETRY_MAYFAIL" in dec.bits or "__GFP_REPEAT" in dec.bits:
            tail += "; it retried before giving up"
    else:
        tail = ("that may not sleep (interrupt/softirq context or a held lock); "
                f"{_reserve_words(dec)} but cannot reclaim or compact, so it fails when no "
                f"{block} sits above the zone's watermark")
    notes = []
    if dec.zone not in ("Normal", "Movable", "HighMem"):
        notes.append(f"only the {dec.zone} zone or lower can serve it")
    if dec.nowarn:
        notes.append("__GFP_NOWARN: such failures are normally silent")
    text = f"{head} {tail}."
    return text if not notes else f"{text} Also: {'; '.join(notes)}."
