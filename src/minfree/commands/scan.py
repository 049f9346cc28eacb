"""`minfree scan`: find every page allocation failure report in the given logs.

Inputs come from :mod:`minfree.sources.logfiles`; each is streamed through
:class:`~minfree.logs.scanner.LogScanner`; every event found is then explained
(:mod:`minfree.findings_scan`): its GFP mode decoded for its kernel, its origin taken from the
call trace, and, where the memory dump is present, the kernel's watermark check replayed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from minfree.model.kversion import KernelVersion, parse_release
from minfree.logs.events import Event
from minfree.logs.scanner import LogScanner
from minfree.sources.logfiles import Input, SourceError
from minfree.analysis.explain import ExplainedEvent, explain_event


@dataclass(slots=True)
class ScanReport:
    """Everything one scan found, in input order."""

    events: list[ExplainedEvent] = field(default_factory=list)
    related: Counter[str] = field(default_factory=Counter)
    related_by_host: dict[str, Counter[str]] = field(default_factory=dict)
    skipped_lines: int = 0
    bytes_read: int = 0
    inputs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # inputs that broke off (truncated archives...)


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
                scanner.scan(stream)
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
