"""Read everything doctor and tune need from one root (live ``/``, a snapshot, a sosreport).

The order of reads matters on a live kernel: the fast-changing memory files first, so that
zoneinfo, buddyinfo and pagetypeinfo describe nearly the same instant, and
``vm.lowmem_reserve_ratio`` last, because reading it makes the kernel recompute every zone's
protection (reference kernel-memory.md §10).
"""
from __future__ import annotations

import functools
import os

from minfree.model.zones import PAGE_SIZE_DEFAULT
from minfree.proc.system import SystemState
from minfree.sources.readers import (read_boot_settings, read_buddyinfo, read_kernel_indices,
                                     read_lowmem_reserve_ratio, read_meminfo, read_netdevs, read_numa,
                                     read_pagetypeinfo, read_psi, read_slabinfo, read_thp, read_version,
                                     read_vm_sysctls, read_zoneinfo)
from minfree.sources.root import SystemRoot


def load_system(root: SystemRoot) -> SystemState:
    """Read and parse every source of ``root`` (missing ones are None and listed in ``gaps``);
    slabinfo is read when first asked for (``SystemState.slab_caches``), before ``root`` closes."""
    zones = read_zoneinfo(root)
    buddy = read_buddyinfo(root)
    pagetypes = read_pagetypeinfo(root)
    kernel_indices = read_kernel_indices(root)
    meminfo = read_meminfo(root)
    version = read_version(root)
    state = SystemState(
        origin=root.path,
        is_live=root.is_live,
        gaps=root.gaps,
        release=version.release if version else None,
        kernel=version.version if version else None,
        zones=zones or [],
        buddy=buddy or [],
        kernel_indices=kernel_indices,
        pagetypes=pagetypes,
        meminfo=meminfo,
        psi=read_psi(root),
        sysctls=read_vm_sysctls(root),
        thp=read_thp(root),
        numa=read_numa(root),
        netdevs=read_netdevs(root),
        boot_settings=read_boot_settings(root),
        read_slabs=functools.partial(read_slabinfo, root),   # while ``root`` is open
        lowmem_reserve_ratio=read_lowmem_reserve_ratio(root),
        page_size=os.sysconf("SC_PAGE_SIZE") if root.is_live else PAGE_SIZE_DEFAULT,
    )
    if pagetypes is None and root.is_live:
        state.notes.append("/proc/pagetypeinfo is readable by root only (5.4+): high-order checks "
                           "use buddyinfo totals and are approximate")
    return state
