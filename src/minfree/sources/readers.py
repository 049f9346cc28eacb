"""One reader per /proc and /sys source: read the file(s) its spec names, hand the text to the
pure parser of ``minfree.proc``. The same code reads the live ``/``, a snapshot or a sosreport.

A file that cannot be read is a gap (``root.gaps``), never an error: the reader returns None.
Text that does not parse is a gap too (reason ``unparseable``).

>>> from minfree.sources.root import SystemRoot
>>> root = SystemRoot("/nonexistent-minfree-root")
>>> read_meminfo(root) is None, root.gaps
(True, [('proc/meminfo', 'missing')])
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from minfree.proc.buddyinfo import BuddyRow, parse_buddyinfo
from minfree.proc.extfrag import KernelIndices, parse_kernel_indices
from minfree.proc.meminfo import Meminfo, parse_meminfo, parse_node_meminfo
from minfree.proc.netdev import NetDevice, parse_mtu, parse_operstate, parse_speed
from minfree.proc.numa import NodeMemory, NumaTopology, parse_id_list
from minfree.proc.pagetypeinfo import PageTypeInfo, parse_pagetypeinfo
from minfree.proc.psi import MemoryPressure, parse_psi
from minfree.proc.sysctl import ALWAYS_PRESENT, VM_SYSCTL_NAMES, VmSysctls, parse_sysctl_int, parse_sysctl_ints
from minfree.proc.sysctl_files import BootSetting, boot_order, parse_sysctl_conf
from minfree.proc.thp import KHUGEPAGED_NUMBERS, ThpSettings, parse_khugepaged_flag, parse_thp_choice, per_size_kb
from minfree.proc.version import ProcVersion, parse_osrelease, parse_version
from minfree.proc.vmstat import parse_vmstat
from minfree.proc.zoneinfo import ZoneInfo, parse_zoneinfo
from minfree.sources import specs
from minfree.sources.root import SystemRoot

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from typing import TypeVar

    from minfree.proc.net_dev import ReceiveDrops
    from minfree.proc.slabinfo import SlabCache

    Parsed = TypeVar("Parsed")


def read_spec(root: SystemRoot, spec: specs.Spec, *, optional: bool | None = None) -> tuple[str, str] | None:
    """``(path, text)`` of the first readable location of ``spec``; its absence is a gap unless
    the spec says it is normal here (``optional`` overrides)."""
    if optional is None:
        optional = spec.optional or (spec.offline_optional and not root.is_live)
    return root.read_first(*spec.paths, optional=optional)


def read_text(root: SystemRoot, spec: specs.Spec, *, optional: bool | None = None) -> str | None:
    found = read_spec(root, spec, optional=optional)
    return None if found is None else found[1]


def read_parsed(root: SystemRoot, spec: specs.Spec, parse: Callable[[str], Parsed | None],
                complete: Callable[[Parsed], bool] = bool) -> Parsed | None:
    """``parse`` of the first readable location of ``spec``; text that gives nothing ``complete``
    (nothing at all, by default) is a gap ``(path, "unparseable")``, like a missing file.

    >>> import os, tempfile
    >>> capture = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(capture, "proc"))
    >>> with open(os.path.join(capture, "proc", "vmstat"), "w") as f:
    ...     _ = f.write("dGhpcyBpcyBub3Qgdm1zdGF0\\n")
    >>> root = SystemRoot(capture)
    >>> read_parsed(root, specs.VMSTAT, parse_vmstat) is None, root.gaps
    (True, [('proc/vmstat', 'unparseable')])
    >>> import shutil; shutil.rmtree(capture)
    """
    found = read_spec(root, spec)
    if found is None:
        return None
    path, text = found
    try:
        value = parse(text)
    except ValueError:   # e.g. a number of more digits than int() takes (4300): not this file
        value = None
    if value is None or not complete(value):
        root.gaps.append((path, "unparseable"))
        return None
    return value


def _has_totals(info: Meminfo) -> bool:
    """Every kernel prints MemTotal and MemFree first (fs/proc/meminfo.c, node_read_meminfo)."""
    return info.mem_total_kb is not None and info.mem_free_kb is not None


def read_meminfo(root: SystemRoot) -> Meminfo | None:
    return read_parsed(root, specs.MEMINFO, parse_meminfo, _has_totals)


def read_node_meminfo(root: SystemRoot, node: int) -> Meminfo | None:
    return read_parsed(root, specs.node_meminfo(node), parse_node_meminfo, _has_totals)


def read_zoneinfo(root: SystemRoot) -> list[ZoneInfo] | None:
    return read_parsed(root, specs.ZONEINFO, parse_zoneinfo)


def read_buddyinfo(root: SystemRoot) -> list[BuddyRow] | None:
    return read_parsed(root, specs.BUDDYINFO, parse_buddyinfo)


def read_pagetypeinfo(root: SystemRoot) -> PageTypeInfo | None:
    return read_parsed(root, specs.PAGETYPEINFO, parse_pagetypeinfo)


def read_kernel_indices(root: SystemRoot) -> KernelIndices | None:
    """The kernel's own unusable and extfrag indices (debugfs; None when it is not mounted)."""
    unusable = read_text(root, specs.EXTFRAG_UNUSABLE, optional=True)
    extfrag = read_text(root, specs.EXTFRAG_INDEX, optional=True)
    if unusable is None or extfrag is None:
        return None
    return parse_kernel_indices(unusable, extfrag)


def read_vmstat(root: SystemRoot, names: Collection[str] | None = None) -> dict[str, int] | None:
    """Every counter, or those of ``names`` (see :func:`parse_vmstat`); a file without
    ``nr_free_pages`` (printed first by every kernel, mm/vmstat.c vmstat_text), or with none of
    ``names``, is not /proc/vmstat."""
    return read_parsed(root, specs.VMSTAT, lambda text: parse_vmstat(text, names),
                       (lambda counters: "nr_free_pages" in counters) if names is None else bool)


def read_psi(root: SystemRoot) -> MemoryPressure | None:
    return read_parsed(root, specs.PSI_MEMORY, parse_psi, lambda psi: psi.some is not None)


def read_slabinfo(root: SystemRoot) -> tuple[SlabCache, ...] | None:
    """The slab caches, or None where slabinfo is unreadable (not root) or absent."""
    from minfree.proc.slabinfo import parse_slabinfo   # one finding reads it, sometimes

    text = read_text(root, specs.SLABINFO)
    return None if text is None else parse_slabinfo(text)[0]


def read_version(root: SystemRoot) -> ProcVersion | None:
    found = read_spec(root, specs.VERSION)
    if found is None:
        return None
    path, text = found
    version = parse_version(text) if path == specs.VERSION.path else parse_osrelease(text)
    if version is None:
        root.gaps.append((path, "unparseable"))
    return version


def read_vm_sysctls(root: SystemRoot) -> VmSysctls | None:
    """Every knob of ``VmSysctls`` (None when /proc/sys/vm gave nothing at all).

    Not ``lowmem_reserve_ratio``: see :func:`read_lowmem_reserve_ratio`.
    """
    values: dict[str, int | None] = {}
    for name in VM_SYSCTL_NAMES:
        spec = specs.vm_sysctl(name, optional=name not in ALWAYS_PRESENT)
        text = read_text(root, spec)
        value = None if text is None else parse_sysctl_int(text)
        if text is not None and value is None:
            root.gaps.append((spec.path, "unparseable"))
        values[name] = value
    if all(value is None for value in values.values()):
        return None
    return VmSysctls(**values)


def read_lowmem_reserve_ratio(root: SystemRoot) -> tuple[int, ...] | None:
    """vm.lowmem_reserve_ratio, one ratio per zone.

    WARNING: on a live root this read makes the kernel recompute every zone's
    lowmem_reserve (``protection:`` in /proc/zoneinfo). Read zoneinfo before.
    """
    text = read_text(root, specs.LOWMEM_RESERVE_RATIO)
    if text is None:
        return None
    values = parse_sysctl_ints(text)
    if values is None:
        root.gaps.append((specs.LOWMEM_RESERVE_RATIO.path, "unparseable"))
    return values


def read_thp(root: SystemRoot) -> ThpSettings | None:
    found = root.read_first(*(f"{d}/enabled" for d in specs.THP_DIRS))
    if found is None:
        return None
    directory = found[0].rsplit("/", 1)[0]
    defrag = root.read_text(f"{directory}/defrag")
    shmem = root.read_text(f"{directory}/shmem_enabled", optional=True)  # 4.7+
    kdefrag = root.read_text(f"{directory}/khugepaged/defrag", optional=True)
    numbers: dict[str, int] = {}
    for name in KHUGEPAGED_NUMBERS:
        text = root.read_text(f"{directory}/khugepaged/{name}", optional=True)
        if text is not None and text.strip().isdecimal() and len(text.strip()) <= 20:   # %u
            numbers[name] = int(text)
    per_size: dict[int, str] = {}
    for entry in root.listdir(directory, optional=True):
        size = per_size_kb(entry)
        text = None if size is None else root.read_text(f"{directory}/{entry}/enabled", optional=True)
        choice = None if text is None else parse_thp_choice(text)
        if size is not None and choice is not None:
            per_size[size] = choice
    return ThpSettings(
        directory=directory,
        enabled=parse_thp_choice(found[1]),
        defrag=None if defrag is None else parse_thp_choice(defrag),
        shmem_enabled=None if shmem is None else parse_thp_choice(shmem),
        khugepaged_defrag=None if kdefrag is None else parse_khugepaged_flag(kdefrag),
        khugepaged=numbers,
        per_size_enabled=dict(sorted(per_size.items())),
    )


def read_netdev(root: SystemRoot, name: str) -> NetDevice:
    mtu = read_text(root, specs.netdev_file(name, "mtu"))
    speed = read_text(root, specs.netdev_file(name, "speed"))
    state = read_text(root, specs.netdev_file(name, "operstate"))
    is_virtual = not root.exists(specs.netdev_link(name, "device"))
    driver = None if is_virtual else root.readlink_name(specs.netdev_link(name, "device/driver"), optional=True)
    return NetDevice(
        name=name,
        mtu=None if mtu is None else parse_mtu(mtu),
        speed_mbps=None if speed is None else parse_speed(speed),
        driver=driver,
        operstate=None if state is None else parse_operstate(state),
        is_virtual=is_virtual,
    )


def netdev_names(root: SystemRoot, *, optional: bool = False) -> list[str]:
    return [name for name in root.listdir(specs.NET_DIR, optional=optional) if "/" not in name]


def read_netdevs(root: SystemRoot) -> tuple[NetDevice, ...] | None:
    """Every interface in /sys/class/net, by name; None when the directory is absent."""
    if not root.exists(specs.NET_DIR):
        root.gaps.append((specs.NET_DIR, "missing"))
        return None
    return tuple(read_netdev(root, name) for name in netdev_names(root))


def _ids(root: SystemRoot, spec: specs.Spec) -> tuple[int, ...] | None:
    return read_parsed(root, spec, parse_id_list, lambda ids: True)   # "" (no node) is an answer


def read_numa(root: SystemRoot) -> NumaTopology | None:
    """Node lists and per-node memory; None without /sys/devices/system/node/online."""
    online = _ids(root, specs.NODE_ONLINE)
    if online is None:
        return None
    nodes = []
    for node in online:
        info = read_node_meminfo(root, node)
        nodes.append(NodeMemory(
            node=node,
            mem_total_kb=None if info is None else info.mem_total_kb,
            mem_free_kb=None if info is None else info.mem_free_kb,
        ))
    return NumaTopology(
        online=online,
        possible=_ids(root, specs.NODE_POSSIBLE),
        has_memory=_ids(root, specs.NODE_HAS_MEMORY),
        nodes=tuple(nodes),
    )


def sysctl_config_files(root: SystemRoot, *, also: tuple[str, ...] = ()) -> list[str]:
    """The sysctl configuration files in the order they are applied at boot; ``also`` adds
    files (config-root relative) as if they existed already (tune's drop-in)."""
    listing = {d: root.listdir(d, optional=True) for d in specs.SYSCTL_D_DIRS}
    for path in also:
        directory, name = path.rsplit("/", 1)
        listing.setdefault(directory, []).append(name)
    return boot_order(listing, specs.SYSCTL_CONF if root.exists(specs.SYSCTL_CONF) else None)


def read_boot_settings(root: SystemRoot) -> dict[str, BootSetting]:
    """The winning boot-time assignment of every key the configuration sets."""
    winners: dict[str, BootSetting] = {}
    for path in sysctl_config_files(root):
        text = root.read_text(path)
        if text is None:
            continue
        for setting in parse_sysctl_conf(text).settings:
            winners[setting.key] = BootSetting(setting.key, setting.value, path, setting.lineno)
    return winners


def read_receive_drops(root: SystemRoot) -> list[ReceiveDrops] | None:
    from minfree.proc.net_dev import parse_net_dev   # the network counters: exporter and watch only

    text = read_text(root, specs.NET_DEV)
    return None if text is None else parse_net_dev(text)


def read_net_snmp(root: SystemRoot, protocols: Collection[str] | None = None) -> dict[str, dict[str, int]]:
    """Protocol counters of /proc/net/snmp and /proc/net/netstat together (``Tcp``,
    ``TcpExt``...; all, or ``protocols``); a missing file is a gap and adds nothing."""
    from minfree.proc.net_snmp import parse_net_snmp

    found: dict[str, dict[str, int]] = {}
    for spec in (specs.SNMP, specs.NETSTAT):
        text = read_text(root, spec)
        if text is not None:
            found.update(parse_net_snmp(text, protocols))
    return found


def read_softnet_dropped(root: SystemRoot) -> int | None:
    from minfree.proc.softnet import parse_softnet_dropped

    text = read_text(root, specs.SOFTNET_STAT)
    return None if text is None else parse_softnet_dropped(text)


def read_boot_time(root: SystemRoot) -> int | None:
    """``btime`` of ``/proc/stat``: the epoch second the boot began (dates printk stamps)."""
    from minfree.proc.stat import parse_btime

    text = read_text(root, specs.PROC_STAT)
    return None if text is None else parse_btime(text)
