"""`minfree scan`: find every page allocation failure report in the given logs.

Inputs come from :mod:`minfree.sources.logfiles`; each is fed to a
:class:`~minfree.logs.scanner.LogScanner` by :func:`minfree.sources.logscan.scan_stream`
(mapped, on two processes when large, or streamed); every event found is then explained
(:mod:`minfree.findings_scan`): its GFP mode decoded for its kernel, its origin taken from the
call trace, and, where the memory dump is present, the kernel's watermark check replayed.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from minfree.analysis.scan_report import ScanReport
from minfree.errors import UsageError
from minfree.model.kversion import KernelVersion, parse_release
from minfree.logs.events import Event
from minfree.logs.scanner import LogScanner
from minfree.sources.logfiles import Input, SourceError
from minfree.sources.logscan import scan_stream
from minfree.analysis.explain import ExplainedEvent, explain_event


def scan_inputs(inputs: list[Input], kernel: str | None = None) -> ScanReport:
    """Scan every input; ``kernel`` overrides the release for logs that do not print one."""
    forced = parse_release(kernel) if kernel else None
    report = ScanReport()
    for source in inputs:
        report.inputs.append(source.name)
        found: list[ExplainedEvent] = []
        scanner = LogScanner(source.name, found.append,
                             prepare=lambda event: explain_event(event, _kernel_for(event, forced)))
        try:
            with source.open() as stream:
                scan_stream(scanner, stream)
        except (OSError, EOFError, ValueError, SourceError) as error:
            # a damaged archive or an unreadable member: what was read still counts
            report.errors.append(f"{source.name}: {error}")
        found.sort(key=lambda e: (e.event.line, e.event.seq))
        report.events.extend(found)
        report.related.update(scanner.assembler.related)
        for host, counts in scanner.assembler.related_by_host.items():
            report.related_by_host.setdefault(host or "-", Counter()).update(counts)
        report.skipped_lines += scanner.skipped_lines
        report.bytes_read += scanner.bytes
    return report


def _kernel_for(event: Event, forced: KernelVersion | None) -> KernelVersion | None:
    if forced is not None:
        return forced
    for release in (event.kernel, event.host_kernel):
        if release and (version := parse_release(release)) is not None:
            return version
    return None


EXAMPLES = """examples:
  minfree scan                       the live kernel log (journald, else dmesg / /dev/kmsg)
  minfree scan /var/log/kern.log*    files, rotated and compressed ones too
  minfree scan sosreport-db1/        a sosreport: its kernel logs and journal copies
  journalctl -k -o json | minfree scan -
  minfree scan --json logs/ > failures.json
  minfree scan --follow              report failures as they happen (Ctrl-C to stop)
"""


def add_parser(subparsers) -> None:
    scan = subparsers.add_parser(
        "scan", help="find page allocation failure reports in kernel logs",
        description="Find every page allocation failure report in kernel logs and explain it.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("paths", nargs="*", metavar="PATH",
                      help="log files, directories, sosreports, compressed files, or - for stdin")
    scan.add_argument("--json", action="store_true", help="one JSON document (schema in the README)")
    scan.add_argument("--events", action="store_true", help="list every event, not only the summary")
    scan.add_argument("--follow", action="store_true", help="tail /dev/kmsg and report events as they happen")
    scan.add_argument("--kernel", metavar="RELEASE",
                      help="kernel release to decode GFP modes with when the log does not print one")
    scan.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from minfree.sources.logfiles import expand_paths, live_inputs

    if args.kernel and parse_release(args.kernel) is None:
        raise UsageError(f"--kernel {args.kernel!r} is not a kernel release (e.g. 5.4.0-42-generic)")
    if args.follow:
        if args.paths:
            raise UsageError("--follow reads the live kernel log; give no PATH with it")
        from minfree.commands.follow import follow

        try:
            return follow(json_lines=args.json, kernel=args.kernel, out=sys.stdout)
        except SourceError as error:
            raise UsageError(str(error)) from None
    try:
        inputs = expand_paths(args.paths) if args.paths else live_inputs()
    except SourceError as error:
        raise UsageError(str(error)) from None
    if not inputs:
        raise UsageError("no log files found in " + " ".join(args.paths))
    report = scan_inputs(inputs, kernel=args.kernel)
    if args.json:
        from minfree.render.scan_json import report_document

        sys.stdout.write(report_document(report) + "\n")
    else:
        from minfree.render.console import console
        from minfree.render.scan_text import render

        render(report, console(), every_event=args.events)
    return 0
