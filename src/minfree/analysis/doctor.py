"""A doctor report: the machine, its zones, activity, failures in its log, and the findings."""
from __future__ import annotations


from minfree.analysis.depletion import Depletion, depletion
from minfree.analysis.failed_allocations import FailedAllocations
from minfree.analysis.findings import Context, Finding, evaluate
from minfree.analysis.prediction import default_min_free
from minfree.analysis.rates import Activity
from minfree.analysis.scan_report import ScanReport
from minfree.analysis.zones import ZonesReport, build_zones
from minfree.model.min_free import MinFreeResult
from minfree.model.record import record
from minfree.proc.system import SystemState

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from minfree.analysis.event_time import LogWindow

# Monitoring-plugin exit codes (Nagios/Icinga): the DESIGN's contract.
EXIT_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


@record(frozen=False)
class DoctorReport:
    """One doctor run: what its rules read (:class:`Context`), their findings, and the window;
    ``status`` is the worst finding's severity (UNKNOWN without zones)."""

    state: SystemState
    zones: ZonesReport
    activity: Activity | None
    failures: ScanReport | None
    default: MinFreeResult | None
    findings: list[Finding]
    window: float
    depletion: Depletion | None = None
    failed: FailedAllocations | None = None
    log_window: LogWindow | None = None   # which of the log's reports were judged

    @property
    def status(self) -> str:
        if not self.state.zones:
            return "UNKNOWN"
        severities = {f.severity for f in self.findings}
        if "critical" in severities:
            return "CRITICAL"
        return "WARNING" if "warning" in severities else "OK"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def build_report(state: SystemState, activity: Activity | None, failures: ScanReport | None,
                 window: float, failed: FailedAllocations | None = None) -> DoctorReport:
    """Judge one reading of a machine (``failures``: this boot's log, scanned; ``failed``: the
    in-kernel count of failed allocations over the window, or why there is none)."""
    zones = build_zones(state)
    default = default_min_free(state)
    depth = depletion(zones.zones)
    findings = evaluate(Context(state, zones, activity, failures, default, depth, failed))
    return DoctorReport(state, zones, activity, failures, default, findings, window, depth, failed)
