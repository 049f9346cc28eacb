"""Read everything doctor and tune need from one root (live ``/``, a snapshot, a sosreport).

The order of reads matters on a live kernel: the fast-changing memory files first, so that
zoneinfo, buddyinfo and pagetypeinfo describe nearly the same instant, and
``vm.lowmem_reserve_ratio`` last, because reading it makes the kernel recompute every zone's
protection (reference kernel-memory.md §10).
"""
from __future__ import annotations

import os

from minfree.model.zones import PAGE_SIZE_DEFAULT
from minfree.proc.buddyinfo import BuddyRow, parse_buddyinfo
from minfree.proc.cpus import OnlineCpus, read_online_cpus
from minfree.proc.meminfo import Meminfo, read_meminfo
from minfree.proc.netdev import NetDevice, read_netdevs
from minfree.proc.numa import NumaTopology, read_numa
from minfree.proc.pagetypeinfo import PageTypeInfo, parse_pagetypeinfo
from minfree.proc.psi import MemoryPressure, read_psi
from minfree.sources.root import SystemRoot
from minfree.proc.sysctl import VmSysctls, read_lowmem_reserve_ratio, read_vm_sysctls
from minfree.proc.sysctl_files import BootSetting, read_boot_settings
from minfree.proc.thp import ThpSettings, read_thp
from minfree.proc.version import read_version
from minfree.proc.vmstat import read_vmstat
from minfree.proc.system import SystemState
from minfree.proc.zoneinfo import parse_zoneinfo



def load_system(root: SystemRoot) -> SystemState:
    zoneinfo = root.read_text("proc/zoneinfo")
    buddyinfo = root.read_text("proc/buddyinfo")
    pagetypeinfo = root.read_text("proc/pagetypeinfo", optional=not root.is_live)
    meminfo = read_meminfo(root)
    vmstat = read_vmstat(root) or {}
    version = read_version(root)
    state = SystemState(
        origin=str(root.path),
        is_live=root.is_live,
        gaps=root.gaps,
        release=version.release if version else None,
        kernel=version.version if version else None,
        zones=parse_zoneinfo(zoneinfo) if zoneinfo else [],
        buddy=parse_buddyinfo(buddyinfo) if buddyinfo else [],
        pagetypes=parse_pagetypeinfo(pagetypeinfo),
        meminfo=meminfo,
        vmstat=vmstat,
        psi=read_psi(root),
        sysctls=read_vm_sysctls(root),
        thp=read_thp(root),
        numa=read_numa(root),
        netdevs=read_netdevs(root),
        cpus=read_online_cpus(root),
        boot_settings=read_boot_settings(root),
        lowmem_reserve_ratio=read_lowmem_reserve_ratio(root),
        page_size=os.sysconf("SC_PAGE_SIZE") if root.is_live else PAGE_SIZE_DEFAULT,
    )
    if pagetypeinfo is None and root.is_live:
        state.notes.append("/proc/pagetypeinfo is readable by root only (5.4+): high-order checks "
                           "use buddyinfo totals and are approximate")
    return state
