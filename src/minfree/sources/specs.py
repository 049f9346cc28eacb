"""Every file minfree reads from a machine, named once (after insights-core's spec registry).

Paths are relative to a root (``minfree.sources.root``): the live ``/``, a ``minfree snapshot``
(directory or tarball) or a sosreport. A :class:`Spec` lists a file's locations, first readable
wins (an old and a new kernel location, or a sosreport's copy). ``load_system`` reads through
these specs, ``minfree snapshot`` captures them in :data:`CAPTURE_ORDER`, and a remote collector
(fleet) fetches the same list, so what is captured is exactly what is read.

Order matters on a live kernel: the fast-changing memory files first, back to back, so they
describe nearly one instant; ``vm.lowmem_reserve_ratio`` last, because reading it makes the
kernel recompute every zone's ``protection:`` (reference kernel-memory.md §10).

Never read: ``compact_memory`` and ``drop_caches`` (write-only) and ``stat_refresh`` (a read
forces a vmstat refresh on every CPU).

>>> ZONEINFO.paths, VERSION.paths
(('proc/zoneinfo',), ('proc/version', 'proc/sys/kernel/osrelease'))
>>> node_meminfo(1).paths, netdev_file("eth0", "mtu").paths
(('sys/devices/system/node/node1/meminfo',), ('sys/class/net/eth0/mtu',))
"""
from __future__ import annotations

from minfree.model.record import record


#: The most a file of one value or of a few hundred lines (meminfo, vmstat, a sysctl, a
#: sysctl.d file, a tracefs format) can hold; a larger one is not that file (a gap, never read
#: whole: a snapshot's ``proc/meminfo`` may be a 2 GB file or ``/dev/zero``).
SMALL_FILE_BYTES = 1 << 20


@record
class Spec:
    """One file of a machine: its locations (first readable wins) and whether absence is normal.

    ``optional``: the file exists only on some kernels or configurations, so its absence is not
    a gap. ``offline_optional``: always present live, often missing from captures (root-only
    files that sosreports and old snapshots lack). ``max_bytes``: the most this file can hold
    on any machine (reads stop there; a larger file is a gap).
    """

    paths: tuple[str, ...]
    optional: bool = False
    offline_optional: bool = False
    max_bytes: int = SMALL_FILE_BYTES

    @property
    def path(self) -> str:
        return self.paths[0]


def _spec(*paths: str, optional: bool = False, offline_optional: bool = False,
          max_bytes: int = SMALL_FILE_BYTES) -> Spec:
    return Spec(paths, optional, offline_optional, max_bytes)


# --- memory state (read first, back to back) -----------------------------------------------
# The files that grow with the machine, bounded for the largest one Linux supports (8192 CPUs,
# 1024 nodes: NR_CPUS and NODES_SHIFT=10 maxima in arch/x86/Kconfig, 6.18): zoneinfo prints a
# pageset block (~120 bytes) per CPU per zone; cpuinfo ~1.5 KiB per CPU; buddyinfo and
# pagetypeinfo one ~150-byte row per node, zone (and migratetype).
ZONEINFO = _spec("proc/zoneinfo", max_bytes=64 << 20)
BUDDYINFO = _spec("proc/buddyinfo", max_bytes=4 << 20)
PAGETYPEINFO = _spec("proc/pagetypeinfo", offline_optional=True, max_bytes=16 << 20)   # root-only since 5.4
EXTFRAG_UNUSABLE = _spec("sys/kernel/debug/extfrag/unusable_index")   # debugfs: a gap when unmounted
EXTFRAG_INDEX = _spec("sys/kernel/debug/extfrag/extfrag_index")
MEMINFO = _spec("proc/meminfo")
VMSTAT = _spec("proc/vmstat")
PSI_MEMORY = _spec("proc/pressure/memory")   # 4.20+, CONFIG_PSI
NODE_DIR = "sys/devices/system/node"


def node_meminfo(node: int) -> Spec:
    return _spec(f"{NODE_DIR}/node{node}/meminfo")


# --- facts ---------------------------------------------------------------------------------
VERSION = _spec("proc/version", "proc/sys/kernel/osrelease")
OSRELEASE = _spec("proc/sys/kernel/osrelease", optional=True)
HOSTNAME = _spec("proc/sys/kernel/hostname", optional=True)
CMDLINE = _spec("proc/cmdline")
CPU_ONLINE = _spec("sys/devices/system/cpu/online")
CPUINFO = _spec("proc/cpuinfo", max_bytes=64 << 20)
CPU_POSSIBLE = _spec("sys/devices/system/cpu/possible", optional=True)
NODE_ONLINE = _spec(f"{NODE_DIR}/online")
NODE_POSSIBLE = _spec(f"{NODE_DIR}/possible", optional=True)
NODE_HAS_MEMORY = _spec(f"{NODE_DIR}/has_memory", optional=True)   # 2.6.32+ with N_HIGH_MEMORY
NODE_HAS_NORMAL_MEMORY = _spec(f"{NODE_DIR}/has_normal_memory", optional=True)
#: Root-only (0400); absent without CONFIG_SLUB_DEBUG or CONFIG_SLAB (2.6.23+ SLUB).
SLABINFO = _spec("proc/slabinfo", optional=True)
#: btime: when the machine booted, so the fleet timeline can date printk timestamps.
PROC_STAT = _spec("proc/stat", optional=True, max_bytes=16 << 20)   # one "intr" count per IRQ

# --- sysctls -------------------------------------------------------------------------------
VM_DIR = "proc/sys/vm"
#: Files of /proc/sys/vm that must never be read (see module doc).
NEVER_READ_VM = frozenset({"compact_memory", "drop_caches", "stat_refresh"})
#: Read LAST: the read recomputes every zone's protection.
LOWMEM_RESERVE_RATIO = _spec(f"{VM_DIR}/lowmem_reserve_ratio")


def vm_sysctl(name: str, *, optional: bool = False) -> Spec:
    if name in NEVER_READ_VM:
        raise ValueError(f"/proc/sys/vm/{name} must never be read")
    return _spec(f"{VM_DIR}/{name}", optional=optional)


# --- transparent hugepages (RHEL6: redhat_transparent_hugepage) -----------------------------
THP_DIRS = ("sys/kernel/mm/transparent_hugepage", "sys/kernel/mm/redhat_transparent_hugepage")

# --- network interfaces --------------------------------------------------------------------
NET_DIR = "sys/class/net"
#: Per-interface files; ``speed`` fails with EINVAL on virtual and down links.
NET_FILES = {"mtu": False, "speed": True, "operstate": False}


def netdev_file(name: str, leaf: str) -> Spec:
    return _spec(f"{NET_DIR}/{name}/{leaf}", optional=NET_FILES.get(leaf, True))


#: Per-interface drop counters (include/uapi/linux/if_link.h rtnl_link_stats64).
NET_DROP_COUNTERS = ("rx_dropped", "rx_missed_errors", "rx_fifo_errors", "rx_over_errors")


def netdev_stat(name: str, counter: str) -> Spec:
    return _spec(f"{NET_DIR}/{name}/statistics/{counter}", optional=True)


def netdev_link(name: str, leaf: str) -> str:
    """``device`` or ``device/driver`` symlink of an interface."""
    return f"{NET_DIR}/{name}/{leaf}"


# --- network counters (the exporter; trace's correlation): every interface in one file -------
#: One line per interface: hosts with thousands of veths (containers) exceed a small file.
NET_DEV = _spec("proc/net/dev", max_bytes=64 << 20)
NETSTAT = _spec("proc/net/netstat")    # TcpExt
SNMP = _spec("proc/net/snmp")          # Tcp
SOFTNET_STAT = _spec("proc/net/softnet_stat", optional=True)

# --- sysctl configuration (boot order: minfree.proc.sysctl_files) ---------------------------
SYSCTL_CONF = "etc/sysctl.conf"
SYSCTL_D_DIRS = (
    "etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d",
)

# --- the running kernel's own descriptions of itself (live only) ----------------------------
#: tracefs: its mount point (4.1+), else where debugfs mounts it on first access.
TRACEFS_DIRS = ("sys/kernel/tracing", "sys/kernel/debug/tracing")
#: The tracepoint whose format prints the kernel's GFP flag table.
PAGE_ALLOC_EVENT = "kmem/mm_page_alloc"
#: A new random UUID at every boot (2.6.x+): history compares counters within one boot only.
BOOT_ID = _spec("proc/sys/kernel/random/boot_id", optional=True)
#: The kernel's own .config (CONFIG_IKCONFIG_PROC, gzip); distributions install it in /boot.
PROC_CONFIG = _spec("proc/config.gz", optional=True)


#: Kernel symbols (addresses need root and kptr_restrict <= 1): trace's call sites.
#: One line per symbol: ~5 MiB on this 6.18 VM, tens of MiB with many modules loaded.
KALLSYMS = _spec("proc/kallsyms", optional=True, max_bytes=256 << 20)


def tracefs_event_format(event: str) -> Spec:
    return _spec(*(f"{d}/events/{event}/format" for d in TRACEFS_DIRS), optional=True)


def boot_config(release: str) -> Spec:
    return _spec(f"boot/config-{release}", optional=True)


# --- the kernel log of the boot the capture describes ----------------------------------------
#: Where ``minfree snapshot`` keeps the kernel log, then a sosreport's ``dmesg`` output.
#: Bounded by the ring buffer: 32 MiB at most by CONFIG_LOG_BUF_SHIFT (range 12..25, init/Kconfig),
#: up to 2 GiB with ``log_buf_len=`` (LOG_BUF_LEN_MAX, kernel/printk/printk.c, 6.18); 256 MiB of
#: text covers every buffer below 128 MiB, a larger capture is a gap rather than all memory.
KERNEL_LOG = _spec("var/log/dmesg", "sos_commands/kernel/dmesg", optional=True, max_bytes=256 << 20)

# --- capture order of the fixed files (per-node, per-interface, THP and config files are
# listed by the capture itself, between FACTS and LOWMEM_RESERVE_RATIO) ----------------------
#: The bound of every file above that holds more than a small file (see :func:`max_bytes`).
_LARGE = {path: spec.max_bytes for spec in (ZONEINFO, BUDDYINFO, PAGETYPEINFO, CPUINFO, KERNEL_LOG,
                                             NET_DEV, KALLSYMS, PROC_STAT)
          for path in spec.paths}


def max_bytes(rel: str) -> int:
    """The most the file at ``rel`` can hold: what every read of a root is bounded by.

    >>> max_bytes("proc/zoneinfo") >> 20, max_bytes("proc/meminfo") >> 20
    (64, 1)
    """
    return _LARGE.get(rel, SMALL_FILE_BYTES)


MEMORY_STATE = (ZONEINFO, BUDDYINFO, PAGETYPEINFO, EXTFRAG_UNUSABLE, EXTFRAG_INDEX, MEMINFO, VMSTAT,
                PSI_MEMORY)
FACTS = (VERSION, OSRELEASE, HOSTNAME, CMDLINE, CPU_ONLINE, CPUINFO, CPU_POSSIBLE, NODE_ONLINE,
         NODE_POSSIBLE, NODE_HAS_MEMORY, NODE_HAS_NORMAL_MEMORY, SLABINFO, PROC_STAT)
