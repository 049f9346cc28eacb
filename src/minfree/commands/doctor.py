"""Assemble a doctor report and its JSON document (schema in the README, "doctor JSON")."""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from minfree.errors import UsageError
from minfree.analysis.findings import Context, Finding, evaluate
from minfree.sources.sampler import Activity, measure
from minfree.analysis.zones import ZonesReport, build_zones
from minfree.model.min_free import MinFreeResult
from minfree.analysis.prediction import default_min_free
from minfree.sources.root import SystemRoot
from minfree.proc.system import SystemState
from minfree.sources.system import load_system

if TYPE_CHECKING:
    from minfree.analysis.scan_report import ScanReport

# Monitoring-plugin exit codes (Nagios/Icinga): the DESIGN's contract.
EXIT_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


@dataclass(slots=True)
class DoctorReport:
    state: SystemState
    zones: ZonesReport
    activity: Activity | None
    failures: ScanReport | None
    default: MinFreeResult | None
    findings: list[Finding]
    window: float

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


def diagnose(root: SystemRoot, window: float = 1.0, kernel_log: bool = True) -> DoctorReport:
    state = load_system(root)
    activity = measure(root, window)
    zones = build_zones(state)
    failures = read_failures(root, state) if kernel_log else None
    default = default_min_free(state)
    findings = evaluate(Context(state, zones, activity, failures, default))
    return DoctorReport(state, zones, activity, failures, default, findings, window)


def read_failures(root: SystemRoot, state: SystemState) -> ScanReport | None:
    """Failure reports in the kernel log of this boot (live: /dev/kmsg; snapshot: var/log/dmesg)."""
    from minfree.sources.logfiles import Input
    from minfree.commands.scan import scan_inputs

    if root.is_live:
        from minfree.sources.kmsg import read_kmsg_snapshot

        try:
            data = read_kmsg_snapshot()
        except OSError as error:
            root.gaps.append(("dev/kmsg", error.strerror or str(error)))
            return None
        source = Input("/dev/kmsg", "kmsg", lambda: io.BytesIO(data))
    else:
        text = root.read_text("var/log/dmesg", optional=True) or root.read_text(
            "sos_commands/kernel/dmesg", optional=True)
        if text is None:
            root.gaps.append(("var/log/dmesg", "no kernel log in the snapshot"))
            return None
        data = text.encode("utf-8", "surrogateescape")
        source = Input(os.path.join(str(root.path), "var/log/dmesg"), "file", lambda: io.BytesIO(data))
    return scan_inputs([source], kernel=state.release)


def to_json(report: DoctorReport) -> dict[str, Any]:
    state = report.state
    sysctls = state.sysctls
    default = report.default
    return {
        "schema": 1,
        "kernel": state.release,
        "status": report.status,
        "root": state.origin,
        "min_free_kbytes": {
            "current": sysctls.min_free_kbytes if sysctls else None,
            "kernel_default": default.kbytes if default else None,
            "rule": default.rule if default else None,
            "sqrt_rule_kbytes": default.sqrt_kbytes if default else None,
            "thp_rule_kbytes": default.thp_kbytes if default else None,
            "explanation": default.explanation if default else None,
        },
        "sysctls": {} if sysctls is None else {
            k: getattr(sysctls, k) for k in sysctls.__slots__ if getattr(sysctls, k) is not None},
        "lowmem_reserve_ratio": state.lowmem_reserve_ratio,
        "thp": None if state.thp is None else {"enabled": state.thp.enabled, "defrag": state.thp.defrag},
        "page_size": state.page_size,
        "pageblock_order": state.pageblock_order,
        "zones": [_zone_json(z, state.page_size) for z in report.zones.zones],
        "atomic": [{"order": a.order, "ok": a.ok, "zone": a.zone, "approximate": a.approximate,
                    "explanation": a.explanation} for a in report.zones.atomic],
        "rates": None if report.activity is None else {
            "window_s": round(report.activity.seconds, 3),
            "per_second": {k: round(v, 3) for k, v in report.activity.per_second.items()},
            "psi_some_avg10": report.activity.psi_some_avg10,
            "psi_full_avg10": report.activity.psi_full_avg10,
            "psi_some_stall_ms": report.activity.psi_some_stall_ms},
        "failures_in_log": None if report.failures is None else {
            "events": len(report.failures.events),
            "related": dict(report.failures.related)},
        "findings": [f.to_json() for f in report.findings],
        "gaps": [{"path": p, "reason": r} for p, r in state.gaps],
        "notes": state.notes,
    }


def _zone_json(z, page_size: int) -> dict[str, Any]:
    info = z.info
    predicted = None
    if z.predicted is not None:
        marks = z.predicted.watermarks
        predicted = {"min": marks.min, "low": marks.low, "high": marks.high, "promo": marks.promo,
                     "protection": list(z.predicted.protection)}
    return {
        "node": info.node, "zone": info.zone, "managed": info.managed, "present": info.present,
        "free": info.free, "boost": info.boost, "min": info.min, "low": info.low, "high": info.high,
        "promo": info.promo, "protection": list(info.protection) if info.protection else None,
        "predicted": predicted, "stale": z.stale,
        "atomic_reserve_pages": z.atomic_reserve, "atomic_floor_pages": z.atomic_floor,
        "free_blocks": list(z.free_blocks),
        "unusable_index": [v / 1000 for v in z.unusable],
        "extfrag_index": [v / 1000 for v in z.extfrag],
        "page_size": page_size,
    }


EXAMPLES = """examples:
  minfree doctor                     this host: zones, fragmentation, rates over 1 s, findings
  minfree doctor --window 0 --json   one instant, for scripts and monitoring
  minfree doctor --root snap.tar.gz  a snapshot taken with `minfree snapshot` on another host
  minfree doctor --root sosreport-db1/
"""


def add_parser(subparsers) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="diagnose this host's memory reserves (or a snapshot's)",
        description="Read the kernel (or a captured snapshot) and explain its memory reserves. "
                    "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin style).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--root", metavar="DIR", default="/",
                        help="a snapshot directory or .tar.gz, or a sosreport (default: the live host)")
    doctor.add_argument("--window", metavar="SECONDS", type=_seconds, default=1.0,
                        help="measure reclaim/compaction rates over this window (default 1; 0: one snapshot)")
    doctor.add_argument("--json", action="store_true", help="one JSON document (schema in the README)")
    doctor.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def run(args: argparse.Namespace) -> int:
    if args.root != "/" and not os.path.exists(args.root):
        raise UsageError(f"--root {args.root}: no such directory or archive")
    try:
        root = SystemRoot(args.root)
    except OSError as error:
        raise UsageError(f"--root {args.root}: {error.strerror or error}") from None
    with root:
        report = diagnose(root, window=args.window)
        if args.json:
            json.dump(to_json(report), sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            from minfree.render.console import console
            from minfree.render.doctor_text import render

            render(report, console())
    return report.exit_code
