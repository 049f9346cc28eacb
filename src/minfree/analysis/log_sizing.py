"""`minfree scan` sizes the reserves as `minfree tune` would, when a report carries enough: its
kernel, and a memory dump whose zone lines print ``managed``, ``min``, ``low`` and ``high``.

The machine is rebuilt from the dump (zones, page size) and the two sysctls are read back from
the printed watermarks (:func:`_read_back`, mm/page_alloc.c __setup_per_zone_wmarks). The proposal is then :func:`sizing.propose`, the
function tune uses, with the failures of that host's log as evidence. What a log cannot show
(NICs, THP, NUMA beyond the dump) is said in the notes.
"""
from __future__ import annotations

from itertools import chain
from operator import attrgetter

from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.sizing import FailureFact, FailureSummary, Proposal, add_failure, failure_fact, propose
from minfree.model.record import field, record
from minfree.model.rules import KernelRules
from minfree.model.watermarks import is_lowmem_for_share
from minfree.proc.sysctl import VmSysctls
from minfree.proc.system import SystemState
from minfree.proc.zoneinfo import ZoneInfo

@record(frozen=False)
class LogSizing:
    """The proposal for the host of one report (``event``: the report whose dump sized it)."""

    event: ExplainedEvent
    proposal: Proposal
    notes: list[str] = field(default_factory=list)


def size_from_log(events: list[ExplainedEvent]) -> LogSizing | None:
    """The proposal for the host of the latest report that carries a complete dump and a known
    kernel, with every report of that host as evidence; None when no report carries enough."""
    sizing = StreamSizing()
    for item in events:
        sizing.consider(item, 0)
        sizing.count(evidence(item))
    return sizing.result()


#: Whose evidence a report is: its host, or its file when the log names no host.
EvidenceKey = tuple[str | None, str | None]


def evidence(item: ExplainedEvent) -> tuple[EvidenceKey, FailureFact]:
    host = item.event.host
    return ((host, None) if host else (None, item.event.source)), failure_fact(item)


#: The latest report whose dump rebuilds a machine: (report, input number, line). The machine
#: itself is rebuilt once, for the report that is latest at the end (:meth:`StreamSizing.result`).
Candidate = tuple[ExplainedEvent, int, int]


class StreamSizing:
    """:func:`size_from_log` for a scan that keeps no events (``scan`` streams them out): each
    host's failures counted as they go by (:meth:`count`, in log order), and the latest report
    whose dump rebuilds its machine (:meth:`consider`, where the report is explained: in a
    file's second scanning process too, whose candidate :meth:`take` receives with its lines
    shifted into the whole file)."""

    def __init__(self) -> None:
        self.summaries: dict[EvidenceKey, FailureSummary] = {}
        self.latest: Candidate | None = None

    def consider(self, item: ExplainedEvent, input_no: int) -> None:
        if _rebuild_rules(item) is not None:
            self._keep((item, input_no, item.event.line))

    def take(self, candidate: Candidate | None, shift: int) -> None:
        if candidate is not None:
            item, input_no, line = candidate
            item.event.line = line + shift   # numbered in the whole file, as the events written are
            self._keep((item, input_no, line + shift))

    def _keep(self, candidate: Candidate) -> None:
        if self.latest is None or candidate[1:] >= self.latest[1:]:
            self.latest = candidate

    def count(self, fact: tuple[EvidenceKey, FailureFact]) -> None:
        key, failure = fact
        self.summaries[key] = add_failure(self.summaries.get(key, FailureSummary()), failure)

    def result(self) -> LogSizing | None:
        if self.latest is None:
            return None
        item = self.latest[0]
        state = machine_from_dump(item)   # not None: consider() kept only reports whose dump rebuilds one
        if state is None:
            return None
        failures = self.summaries.get(evidence(item)[0], FailureSummary())
        proposal = propose(state, failures=failures)
        notes = [f"vm.min_free_kbytes {state.sysctls.min_free_kbytes} kB and watermark_scale_factor "
                 f"{_wsf_text(state)} are read back from the dump's watermarks (the lowmem zones' min "
                 "add up to min_free_kbytes, within a few pages per zone; the min-low gap gives the scale factor)",
                 "a log shows no NIC, THP or MTU: tune on the host itself adds that evidence "
                 "(and the THP raise of the kernel default, where THP is on)"]
        return LogSizing(item, proposal, notes)


#: What every zone of a dump that rebuilds a machine prints (asked of every report: C calls only)
_REBUILT_FROM = attrgetter("node", "managed_kb", "min_kb", "low_kb", "high_kb", "free_kb")


def _rebuild_rules(item: ExplainedEvent) -> KernelRules | None:
    """The rules of the report's kernel when its dump rebuilds a machine, else None: every zone
    needs ``managed``, ``min``, ``low`` and ``high``, and a lowmem zone with pages must be
    there to read the sysctls back from (:func:`_read_back`)."""
    dump, kernel = item.dump, item.kernel
    if dump is None or kernel is None or not dump.zones:
        return None
    if None in chain.from_iterable(map(_REBUILT_FROM, dump.zones)):
        return None
    rules = KernelRules.for_version(kernel)
    page_kb = dump.page_kb or 4
    if not any(is_lowmem_for_share(z.zone, rules) and z.managed_kb // page_kb for z in dump.zones):
        return None
    return rules


def machine_from_dump(item: ExplainedEvent) -> SystemState | None:
    """The machine a report's dump shows, or None when the dump or kernel is not enough
    (:func:`_rebuild_rules`)."""
    rules, dump, kernel = _rebuild_rules(item), item.dump, item.kernel
    if rules is None or dump is None or kernel is None:
        return None
    page_kb = dump.page_kb or 4
    zones = []
    for z in dump.zones:
        wmin, low = z.min_kb // page_kb, z.low_kb // page_kb
        if z.boost_kb is not None:
            boost = z.boost_kb // page_kb
        elif rules.has_boost and rules.scale_factor_gaps:
            # 5.0-5.10 add boost to every printed mark but print no boost: where the gap is min/4
            # the unboosted min is 4 x gap .. 4 x gap + 3 (the kernel shifts), never above the printed
            boost = wmin - min(wmin, 4 * (low - wmin) + 3)
        else:
            boost = 0
        zones.append(ZoneInfo(z.node, z.zone, z.free_kb // page_kb, wmin, low, z.high_kb // page_kb, boost=boost,
                              managed=z.managed_kb // page_kb,
                              present=z.present_kb // page_kb if z.present_kb is not None else None))
    state = SystemState(origin=f"{item.event.source}:{item.event.line}", is_live=False, gaps=[],
                        release=kernel.release, kernel=kernel, zones=zones, buddy=[], kernel_indices=None,
                        pagetypes=None, meminfo=None, psi=None, sysctls=None, thp=None, numa=None,
                        netdevs=None, boot_settings={}, lowmem_reserve_ratio=None, page_size=page_kb * 1024)
    state.sysctls = _read_back(state, rules)
    return state


def _read_back(state: SystemState, rules: KernelRules) -> VmSysctls:
    """The two sysctls the printed watermarks imply (mm/page_alloc.c __setup_per_zone_wmarks,
    4.6-6.18; 2.6.32-4.5 without the scale factor):

    * each lowmem zone's min is ``pages_min * managed / lowmem_pages``, floored, so the lowmem
      zones' mins add up to ``pages_min`` less under one page per zone, whatever ``managed``
      was when they were computed: ``min_free_kbytes`` is that sum, boost taken off (as
      printed, or as :func:`machine_from_dump` estimates it on 5.0-5.10);
    * the gap ``low - min`` is ``max(min >> 2, managed * watermark_scale_factor / 10000)``: where
      it is larger than ``min >> 2`` the factor is ``gap * 10000 / managed``; where no zone's is,
      the factor changes nothing and the default 10 is taken.
    """
    lowmem = [z for z in state.zones if is_lowmem_for_share(z.zone, rules) and z.managed]   # one at least
    pages_min = sum(z.min - (z.boost or 0) for z in lowmem)
    mfk = pages_min * state.page_size // 1024
    if not rules.scale_factor_gaps:
        return VmSysctls(min_free_kbytes=mfk)
    set_by_factor = [z for z in lowmem if z.low - z.min > ((z.min - (z.boost or 0)) >> 2) + 1]
    if not set_by_factor:
        return VmSysctls(min_free_kbytes=mfk, watermark_scale_factor=10)
    largest = max(set_by_factor, key=lambda z: z.managed or 0)
    return VmSysctls(min_free_kbytes=mfk,
                     watermark_scale_factor=max(1, round((largest.low - largest.min) * 10_000 / largest.managed)))


def _wsf_text(state: SystemState) -> str:
    wsf = state.sysctls.watermark_scale_factor if state.sysctls else None
    return "(none before 4.6)" if wsf is None else str(wsf)
