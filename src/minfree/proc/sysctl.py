"""vm.* sysctls from /proc/sys/vm that govern reserves, reclaim and compaction.

Knobs that exist only on some kernels are None elsewhere (and are not gaps):
watermark_scale_factor 4.6+, watermark_boost_factor 5.0+, compaction_proactiveness
5.9+, defrag_mode 6.15+, vfs_cache_pressure_denom 6.18, percpu_pagelist_fraction
up to 5.13 (then percpu_pagelist_high_fraction), extra_free_kbytes and
meminfo_legacy_layout RHEL6 only (kernel-memory.md §2.3, §5.1).

``lowmem_reserve_ratio`` is NOT read by ``read_vm_sysctls``: on a live kernel,
reading /proc/sys/vm/lowmem_reserve_ratio runs setup_per_zone_lowmem_reserve()
and recomputes every zone's ``protection:`` (kernel-memory.md §10, seen on
5.10/6.1/6.12). Read /proc/zoneinfo first, then call
``read_lowmem_reserve_ratio`` explicitly.
"""

from __future__ import annotations


from minfree.model.record import field_names, record

# Present on every kernel minfree supports (2.6.32+): missing ones are gaps.
ALWAYS_PRESENT = frozenset({
    "min_free_kbytes", "swappiness", "vfs_cache_pressure", "zone_reclaim_mode",
    "overcommit_memory", "overcommit_ratio", "dirty_ratio", "dirty_background_ratio",
    "nr_hugepages",
})


@record
class VmSysctls:
    """The /proc/sys/vm values minfree reads, one field per file of that name; None where the kernel
    has no such knob or it could not be read (module doc)."""

    min_free_kbytes: int | None = None
    watermark_scale_factor: int | None = None
    watermark_boost_factor: int | None = None
    extra_free_kbytes: int | None = None
    swappiness: int | None = None
    vfs_cache_pressure: int | None = None
    vfs_cache_pressure_denom: int | None = None
    zone_reclaim_mode: int | None = None
    extfrag_threshold: int | None = None
    compaction_proactiveness: int | None = None
    compact_unevictable_allowed: int | None = None
    defrag_mode: int | None = None
    percpu_pagelist_fraction: int | None = None
    percpu_pagelist_high_fraction: int | None = None
    admin_reserve_kbytes: int | None = None
    user_reserve_kbytes: int | None = None
    overcommit_memory: int | None = None
    overcommit_ratio: int | None = None
    dirty_ratio: int | None = None
    dirty_background_ratio: int | None = None
    nr_hugepages: int | None = None
    meminfo_legacy_layout: int | None = None


VM_SYSCTL_NAMES: tuple[str, ...] = field_names(VmSysctls)


def parse_sysctl_int(text: str) -> int | None:
    """One integer sysctl value as the kernel prints it (``proc_dointvec``).

    Sample from this machine (/proc/sys/vm/min_free_kbytes):

    >>> parse_sysctl_int("67584\\n"), parse_sysctl_int("-1\\n"), parse_sysctl_int("Node\\n")
    (67584, -1, None)
    """
    values = parse_sysctl_ints(text)
    return values[0] if values is not None and len(values) == 1 else None


def parse_sysctl_ints(text: str) -> tuple[int, ...] | None:
    """A vector sysctl (``proc_dointvec`` prints tab-separated values).

    Sample from this machine (/proc/sys/vm/lowmem_reserve_ratio, 6.18), and
    RHEL6's three entries (MAX_NR_ZONES-1: DMA, DMA32, Normal):

    >>> parse_sysctl_ints("256\\t256\\t32\\t0\\t0\\n"), parse_sysctl_ints("256\\t256\\t32\\n")
    ((256, 256, 32, 0, 0), (256, 256, 32))
    >>> parse_sysctl_ints("") is None, parse_sysctl_ints("1 x") is None
    (True, True)
    """
    words = text.split()
    if not words or any(len(word.lstrip("-")) > 20 for word in words):   # %d/%lu: 20 digits
        return None
    try:
        return tuple(int(word) for word in words)
    except ValueError:
        return None
