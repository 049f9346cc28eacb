"""The model of a ``minfree report``: what one HTML page shows, built from what doctor, scan,
tune, the history store and a fleet run already judged (nothing is re-derived here).

Pure: the command hands over a doctor report, a scan, a recording read from the history store
(:class:`minfree.analysis.report_series.Recording`) or a fleet document, and this module
assembles the page's parts: the verdict (status and findings), the per-zone series, the
failures by order, origin and class, the reports themselves, the tune preview, the fleet
table, and what the input cannot show.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from minfree.analysis.doctor import DoctorReport
from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.findings import Context, Finding, recent_failures
from minfree.analysis.prediction import ZonePrediction, predict_zones
from minfree.analysis.report_series import Recording, ZoneSeries, series_by_zone
from minfree.analysis.scan_report import ScanReport
from minfree.analysis.sizing import MIN_FREE, WSF, Proposal, propose, summarize_failures
from minfree.model.record import field, record
from minfree.proc.system import SystemState

KINDS = ("live", "snapshot", "history", "scan", "fleet")

#: What a recording adds to a report made from one instant or from logs.
RECORDING_ADDS = ("free memory of each zone against its min/low/high watermarks over time, with "
                  "the moments failures were logged; free blocks per order over time (a heatmap); "
                  "the unusable index per order over time. Record with `minfree watch --record` "
                  "(a systemd unit ships in deploy/), then `minfree report --from HISTORY.db`.")


@record
class TunePreview:
    """What ``minfree tune`` (dry run) proposes, and the watermarks before and after it."""

    proposal: Proposal
    before: list[ZonePrediction]
    after: list[ZonePrediction]


@record(frozen=False)
class Breakdown:
    """Failures counted by order, by origin (scan's category) and by class (the GFP request
    class the mode decodes to: GFP_ATOMIC, GFP_NOWAIT, blocking, memalloc)."""

    by_order: Counter[str] = field(default_factory=Counter)
    by_origin: Counter[str] = field(default_factory=Counter)
    by_class: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_order.values())


@record(frozen=False)
class FleetTable:
    """The cluster view a ``minfree fleet doctor --json`` run wrote: its rows and outliers."""

    command: str
    rows: list[dict[str, Any]]
    outliers: list[dict[str, Any]]
    unanswered: list[str]

    def outliers_of(self, host: str) -> list[dict[str, Any]]:
        return [o for o in self.outliers if o.get("host") == host]


@record(frozen=False)
class ReportModel:
    """Everything one ``minfree report`` page shows: the verdict (status, findings, headline), the
    input's parts (doctor, scan, recording, fleet), series, breakdown, tune preview, and what is missing."""

    kind: str                        # one of KINDS
    source: str                      # what was read ("live", a path, n log files)
    status: str                      # OK / WARNING / CRITICAL / UNKNOWN
    status_basis: str                # what the status was judged from
    findings: list[Finding] = field(default_factory=list)
    headline: list[str] = field(default_factory=list)   # a few facts at a glance
    doctor: DoctorReport | None = None
    scan: ScanReport | None = None
    recording: Recording | None = None
    series: list[ZoneSeries] = field(default_factory=list)
    breakdown: Breakdown = field(default_factory=Breakdown)
    tune: TunePreview | None = None
    fleet: FleetTable | None = None
    fleet_document: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)     # what this input cannot show, and why


def status_of(findings: list[Finding]) -> str:
    """The monitoring status the worst finding gives (doctor's rule).

    >>> status_of([]), status_of([Finding("x", "warning", "", {}, "", "")])
    ('OK', 'WARNING')
    """
    severities = {f.severity for f in findings}
    return "CRITICAL" if "critical" in severities else "WARNING" if "warning" in severities else "OK"


def tune_preview(state: SystemState, failures: ScanReport | None, profile: str = "generic") -> TunePreview | None:
    """The proposal ``minfree tune --profile PROFILE`` makes without ``--apply`` (the same
    functions: failures summarized from this boot's log, ``sizing.propose``, the watermark
    model before and after); None when the machine's zones or sysctls were not read."""
    if not state.zones or state.sysctls is None:
        return None
    summary = summarize_failures(failures.events) if failures is not None else None
    proposal = propose(state, profile=profile, failures=summary)
    before = predict_zones(state)
    after = predict_zones(state, min_free_kbytes=proposal.effective(MIN_FREE),
                          watermark_scale_factor=proposal.effective(WSF))
    return TunePreview(proposal, before, after)


def breakdown_of_events(events: list[ExplainedEvent]) -> Breakdown:
    """Scan's events counted (each report with its ``repeated`` count: the kernel's "N callbacks
    suppressed" is not added, it names no order)."""
    out = Breakdown()
    for e in events:
        n = e.occurrences
        out.by_order[_order(e.event.order)] += n
        out.by_origin[e.origin.category or "unknown"] += n
        out.by_class[e.decoding.request_class if e.decoding is not None else "unknown"] += n
    return out


def breakdown_of_recording(recording: Recording) -> Breakdown:
    out = Breakdown()
    for f in recording.failures:
        out.by_order[_order(f.order)] += 1
        out.by_origin[f.origin or "unknown"] += 1
        out.by_class[f.request_class or "unknown"] += 1
    return out


def _order(order: int | None) -> str:
    return "unknown" if order is None else str(order)


def from_doctor(kind: str, source: str, report: DoctorReport, recording: Recording | None = None,
                profile: str = "generic") -> ReportModel:
    """A report of a machine read live or from a snapshot (with its history when given)."""
    model = ReportModel(kind, source, report.status, "doctor's findings on this reading",
                        findings=list(report.findings), doctor=report, scan=report.failures,
                        tune=tune_preview(report.state, report.failures, profile))
    if report.failures is not None:
        model.breakdown = breakdown_of_events(report.failures.events)
    else:
        model.missing.append("the kernel log was not readable: no failure reports are shown")
    if recording is not None:
        _add_recording(model, recording)
    else:
        model.missing.append("This report shows one instant. A recording would add " + RECORDING_ADDS)
    return model


def from_recording(source: str, recording: Recording) -> ReportModel:
    """A report of a history alone. Its status is a heuristic, said as such: CRITICAL when the
    kernel logged failure reports while recording, WARNING when a zone's free memory went
    below its min watermark (atomic requests were dipping into the reserve), OK otherwise."""
    under_min = any(s.under_min for s in series_by_zone(recording))
    status = "CRITICAL" if recording.failures else "WARNING" if under_min else "OK"
    model = ReportModel("history", source, status,
                        "heuristic from the recording: CRITICAL when failure reports were logged, "
                        "WARNING when free memory fell below a zone's min watermark")
    _add_recording(model, recording)
    model.breakdown = breakdown_of_recording(recording)
    model.missing.append("A history holds no doctor findings, tune proposal or full failure reports: "
                         "run `minfree report` on the host (with --history) for those.")
    return model


def _add_recording(model: ReportModel, recording: Recording) -> None:
    model.recording = recording
    model.series = series_by_zone(recording)
    if not recording.samples:
        model.missing.append("nothing was recorded in the window read: is `minfree watch --record` running?")
    mib = recording.page_size / 2**20
    for s in model.series:
        model.headline.append(
            f"recorded: free in {s.label} was under low in {s.under_low:,} of {s.samples:,} samples "
            f"({s.under_low / max(s.samples, 1):.1%}), under min in {s.under_min:,}; lowest "
            f"{s.lowest.free * mib:,.1f} MiB (min {s.lowest.min * mib:,.1f}, low {s.lowest.low * mib:,.1f} MiB)")
    model.headline.append(f"recorded: {len(recording.failures)} failure report(s) logged while recording")
    if recording.psi_some_max is not None:
        model.headline.append(f"recorded: highest memory pressure (PSI some avg10) {recording.psi_some_max:.2f} %")


def from_scan(source: str, scan: ScanReport) -> ReportModel:
    """A report of logs alone: doctor's rule for failures in a log judges them (it reads
    nothing but the scan), and the rest says what the logs cannot show."""
    findings = list(recent_failures(Context(None, None, None, scan, None)))  # type: ignore[arg-type]
    model = ReportModel("scan", source, status_of(findings), "doctor's rule for failure reports in a log",
                        findings=findings, scan=scan, breakdown=breakdown_of_events(scan.events))
    model.missing.append("Logs show the reports the kernel printed (rate-limited; __GFP_NOWARN "
                         "failures never print), and each report's own memory dump. A snapshot "
                         "(`minfree snapshot`) would add the zones, watermarks and tune's proposal; "
                         "a recording would add " + RECORDING_ADDS)
    return model


class FleetDocumentError(ValueError):
    """The file is not a fleet run this minfree can read (one line for the user)."""


def from_fleet(source: str, doc: dict[str, Any]) -> ReportModel:
    """A report of a ``minfree fleet doctor --json`` run: its status, one row per host and the
    outliers fleet marked (``analysis.fleet``); each host's own findings stay in its entry."""
    hosts, rows, outliers = doc.get("hosts"), doc.get("nodes", []), doc.get("outliers", [])
    if not isinstance(hosts, list) or not isinstance(rows, list) or not isinstance(outliers, list) \
            or not all(isinstance(x, dict) for x in (*hosts, *rows, *outliers)):
        raise FleetDocumentError("not a `minfree fleet ... --json` document (hosts, nodes, outliers)")
    command = str(doc.get("command", "?"))
    unanswered = [str(h.get("name")) for h in hosts if h.get("error") is not None]
    status = doc.get("status") if doc.get("status") in ("OK", "WARNING", "CRITICAL", "UNKNOWN") else "UNKNOWN"
    findings = []
    for host in hosts:
        for f in host.get("findings") if isinstance(host.get("findings"), list) else ():
            if isinstance(f, dict) and f.get("severity") in ("warning", "critical"):
                findings.append(Finding(str(f.get("id")), f["severity"], f"{host.get('name')}: {f.get('title')}",
                                        f.get("evidence") if isinstance(f.get("evidence"), dict) else {},
                                        str(f.get("explanation", "")), str(f.get("fix", ""))))
    model = ReportModel("fleet", source, status, f"fleet {command}: the worst host's status",
                        findings=findings, fleet=FleetTable(command, rows, outliers, unanswered),
                        fleet_document=doc)
    for row in rows:
        for key, counter in (("by_order", model.breakdown.by_order), ("by_origin", model.breakdown.by_origin)):
            counts = row.get(key)
            for name, n in (counts.items() if isinstance(counts, dict) else ()):
                if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                    counter[str(name)] += n
    model.missing.append("A fleet run holds each host's verdict and settings, not their history or "
                         "full reports: `minfree report --from` a host's snapshot or history for those.")
    return model
