"""Everything read from one machine, parsed: the record doctor, tune and the model work on.

Built by ``minfree.sources.system.load_system`` from a live root, a snapshot or a sosreport;
every field is a parsed record of ``minfree.proc``, or None when its file was missing.
"""
from __future__ import annotations


from minfree.model.kversion import KernelVersion
from minfree.model.record import field, record
from minfree.model.rules import KernelRules
from minfree.model.zones import PAGE_SIZE_DEFAULT, USER_ZONES
from minfree.proc.buddyinfo import BuddyRow
from minfree.proc.extfrag import KernelIndices
from minfree.proc.meminfo import Meminfo
from minfree.proc.netdev import NetDevice
from minfree.proc.numa import NumaTopology
from minfree.proc.pagetypeinfo import PageTypeInfo
from minfree.proc.psi import MemoryPressure
from minfree.proc.sysctl import VmSysctls
from minfree.proc.sysctl_files import BootSetting
from minfree.proc.thp import ThpSettings
from minfree.proc.vmstat import VmstatSample
from minfree.proc.zoneinfo import ZoneInfo

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from collections.abc import Callable

    from minfree.proc.slabinfo import SlabCache

DEFAULT_PAGEBLOCK_ORDER = 9   # x86-64 with 4 KiB pages (HPAGE_PMD_ORDER); read from pagetypeinfo when possible


@record(frozen=False)
class SystemState:
    """One reading of a machine. Missing sources are None and listed in ``gaps``."""

    origin: str            # where it was read: "/" (live), a snapshot, a sosreport
    is_live: bool
    gaps: list[tuple[str, str]]   # (path, reason) of every file that could not be read
    release: str | None
    kernel: KernelVersion | None
    zones: list[ZoneInfo]
    buddy: list[BuddyRow]
    kernel_indices: KernelIndices | None   # debugfs extfrag files, read right after buddyinfo
    pagetypes: PageTypeInfo | None
    meminfo: Meminfo | None
    psi: MemoryPressure | None
    sysctls: VmSysctls | None
    thp: ThpSettings | None
    numa: NumaTopology | None
    netdevs: tuple[NetDevice, ...] | None
    boot_settings: dict[str, BootSetting]
    lowmem_reserve_ratio: tuple[int, ...] | None
    slabs: tuple[SlabCache, ...] | None = None   # /proc/slabinfo (root-only); see slab_caches()
    # reads slabinfo when slab_caches() is first asked: one finding needs it, and only sometimes
    read_slabs: Callable[[], tuple[SlabCache, ...] | None] | None = None
    page_size: int = PAGE_SIZE_DEFAULT
    notes: list[str] = field(default_factory=list)

    def slab_caches(self) -> tuple[SlabCache, ...] | None:
        """The slab caches (None: slabinfo unreadable), read on first use when ``read_slabs`` is set."""
        if self.read_slabs is not None:
            self.slabs, self.read_slabs = self.read_slabs(), None
        return self.slabs

    @property
    def rules(self) -> KernelRules | None:
        return KernelRules.for_version(self.kernel) if self.kernel else None

    def managed_kb(self, *, lowmem_only: bool = False) -> int:
        """Memory the kernel manages (zoneinfo ``managed``, never MemTotal: reference §8), in kB;
        ``lowmem_only``: DMA, DMA32 and Normal."""
        return sum((z.managed or 0) for z in self.zones
                   if not lowmem_only or z.zone in USER_ZONES) * self.page_size // 1024

    @property
    def pageblock_order(self) -> int:
        if self.pagetypes is not None and self.pagetypes.pageblock_order is not None:
            return self.pagetypes.pageblock_order
        return DEFAULT_PAGEBLOCK_ORDER

    @property
    def thp_enabled(self) -> bool | None:
        """Whether khugepaged runs (THP enabled always or madvise): the THP min_free rule."""
        if self.thp is None or self.thp.enabled is None:
            return None
        if self.thp.enabled in ("always", "madvise"):
            return True
        return any(v in ("always", "madvise") for v in self.thp.per_size_enabled.values())


@record
class MemoryReading:
    """The fast-moving memory files at one instant, parsed: what ``minfree watch`` shows and
    records every interval (``minfree.sources.sampler.read_memory``)."""

    wall: float                    # Unix time of the reading (history timestamps)
    vmstat: VmstatSample           # counters and the monotonic time (rates)
    psi: MemoryPressure | None
    zones: list[ZoneInfo]
    buddy: list[BuddyRow]
