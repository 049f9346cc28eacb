"""`minfree scan`: find every page allocation failure report in the given logs.

Inputs come from :mod:`minfree.sources.logfiles`; each is fed to a
:class:`~minfree.logs.scanner.LogScanner` by :func:`minfree.sources.logscan.scan_stream`
(mapped, on two processes when large, or streamed); every event found is explained by
:mod:`minfree.analysis.explain`: its GFP mode decoded for its kernel, its origin taken from
the call trace, and, where the memory dump is present, the kernel's watermark check replayed.
Reports of the running kernel in its live log are decoded with that kernel's own GFP table
(tracefs) and config (:func:`running_gfp`). Output: :mod:`minfree.render.scan_text` or
:mod:`minfree.render.scan_json`.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from collections import Counter
from collections.abc import Callable

from minfree.analysis.scan_report import ScanReport
from minfree.errors import UsageError
from minfree.sources.kernel_log import read_boot_log
from minfree.sources.root import SystemRoot

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:   # the log machinery is imported where it runs: doctor on a clean log needs none of it
    from typing import Any, Protocol

    from minfree.analysis.explain import ExplainedEvent
    from minfree.analysis.log_sizing import StreamSizing
    from minfree.logs.events import Event
    from minfree.model import gfp
    from minfree.sources.logfiles import Input, Skipped

    class EventOut(Protocol):
        """Where a scan writes events as they are explained (:class:`~minfree.render.scan_json.JsonStream`,
        :class:`~minfree.render.scan_text.TextDigest`): ``prepare`` turns an explained event into
        a small picklable item, in whichever process found it; ``relocate`` gives an item of a
        file's second half its line in the whole file; ``write`` takes items in log order."""

        def prepare(self, explained: ExplainedEvent) -> Any: ...

        def relocate(self, item: Any, line: int) -> Any: ...

        def write(self, item: Any) -> None: ...


def scan_inputs(inputs: list[Input], kernel: str | None = None,
                running: Callable[[], gfp.RunningGfp] | None = None,
                out: EventOut | None = None, sizing: StreamSizing | None = None) -> ScanReport:
    """Scan every input; ``kernel`` overrides the release for logs that do not print one;
    ``running`` (:func:`running_gfp`) gives what decodes the running kernel's own reports. It is
    called only once there is an event to explain: a healthy log costs no tracefs read.
    With ``out``, events are written to it as they are explained (in input and log order)
    and the report keeps none; ``sizing`` then gathers what `scan`'s sizing needs of them."""
    from minfree.analysis.explain import event_kernel, explain_event
    from minfree.logs.scanner import LogScanner
    from minfree.model.kversion import parse_release
    from minfree.sources.logfiles import SourceError
    from minfree.sources.logscan import scan_stream

    forced = parse_release(kernel) if kernel else None
    report = ScanReport()

    def explain(event: Event) -> ExplainedEvent:
        return explain_event(event, event_kernel(event, forced), running() if running else None)

    for input_no, source in enumerate(inputs):
        report.inputs.append(source.name)
        found: list[ExplainedEvent] = []
        if out is None:
            scanner = LogScanner(source.name, found.append, prepare=explain)
        elif sizing is None:
            scanner = LogScanner(source.name, out.write, prepare=lambda event: out.prepare(explain(event)),
                                 relocate=out.relocate)
        else:
            sized = _Sized(out, sizing, input_no, explain)
            scanner = LogScanner(source.name, sized.write, prepare=sized.prepare, relocate=sized.relocate,
                                 carry=lambda: sizing.latest, take=sizing.take)
        try:
            with source.open() as stream:
                scan_stream(scanner, stream)
        except BrokenPipeError:
            raise   # our reader went away (events are written as the scan goes): not the input's fault
        except (OSError, EOFError, ValueError, SourceError) as error:
            # a damaged archive or an unreadable member: what was read still counts
            scanner.broke_off()
            report.errors.append(f"{source.name}: {error}")
        report.events.extend(found)   # in log order: the scanner emits so
        report.related.update(scanner.assembler.related)
        for host, counts in scanner.assembler.related_by_host.items():
            report.related_by_host.setdefault(host or "-", Counter()).update(counts)
        report.skipped_lines += scanner.skipped_lines
        report.bytes_read += scanner.bytes
    return report


class _Sized:
    """``out`` (an :class:`EventOut`) that also gathers, from each explained event, what
    :class:`~minfree.analysis.log_sizing.StreamSizing` needs: the machine of the latest report
    whose dump rebuilds one (kept where the event was explained, and carried back from a
    file's second scanning process), and each host's failures (counted here, in log order)."""

    def __init__(self, out: EventOut, sizing: StreamSizing, input_no: int,
                 explain: Callable[[Event], ExplainedEvent]) -> None:
        from minfree.analysis.log_sizing import evidence

        self.out, self.sizing, self.input_no, self.explain = out, sizing, input_no, explain
        self.evidence = evidence

    def prepare(self, event: Event) -> tuple[Any, Any]:
        explained = self.explain(event)
        self.sizing.consider(explained, self.input_no)
        return self.out.prepare(explained), self.evidence(explained)

    def relocate(self, item: tuple[Any, Any], line: int) -> tuple[Any, Any]:
        return self.out.relocate(item[0], line), item[1]

    def write(self, item: tuple[Any, Any]) -> None:
        self.out.write(item[0])
        self.sizing.count(item[1])


@functools.cache
def running_gfp() -> gfp.RunningGfp:
    """The running kernel's own GFP knowledge: its print table where tracefs is readable,
    its config where ``/proc/config.gz`` or ``/boot/config-$(uname -r)`` is; the era tables
    and a distribution config stand in for what is missing. Read once per process."""
    from minfree.model import gfp
    from minfree.sources import kconfig, tracefs
    from minfree.tracing.gfp_format import parse_format

    live = SystemRoot("/")
    text = tracefs.read_event_format(live)
    config = kconfig.read_running_config(live)
    return gfp.RunningGfp(
        release=os.uname().release,
        layout=gfp.layout_from_table(parse_format(text)) if text else None,
        config=gfp.GfpConfig.from_kconfig(config) if config else gfp.DISTRO_CONFIG)


def this_boot_failures(root: SystemRoot, release: str | None) -> ScanReport | None:
    """Failure reports in the kernel log of the boot ``root`` describes (None: no log): what
    doctor and tune mean by "failures in the log". The running kernel's reports decode with its
    own GFP table."""
    log = read_boot_log(root)
    if log is None:
        return None
    if not log.may_hold_report():   # a healthy live log: what a scan finds, without the scanner
        return ScanReport(inputs=[log.name], bytes_read=len(log.data))
    return scan_inputs([log.as_input()], kernel=release, running=running_gfp if root.is_live else None)


def live_boot_time() -> int | None:
    """When this boot began (``btime``), to date the live log's printk stamps."""
    from minfree.sources.readers import read_boot_time

    return read_boot_time(SystemRoot("/"))


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
    scan.set_defaults(run=run, exit_at_once=True)


def run(args: argparse.Namespace) -> int:
    from minfree.model.kversion import parse_release
    from minfree.sources.logfiles import SourceError, expand_paths, live_inputs

    if args.kernel and parse_release(args.kernel) is None:
        raise UsageError(f"--kernel {args.kernel!r} is not a kernel release (e.g. 5.4.0-42-generic)")
    if args.follow:
        if args.paths:
            raise UsageError("--follow reads the live kernel log; give no PATH with it")
        from minfree.commands.follow import follow

        try:   # what is followed is said on stderr: --json lines on stdout stay one object each
            return follow(json_lines=args.json, kernel=args.kernel, out=sys.stdout, running=running_gfp(),
                          boot_time=live_boot_time(), started=sys.stderr)
        except SourceError as error:
            raise UsageError(str(error)) from None
    skipped: list[Skipped] = []   # left out of a directory: said, never silent
    try:
        inputs = expand_paths(args.paths, skipped) if args.paths else live_inputs()
    except SourceError as error:
        raise UsageError(str(error)) from None
    if not inputs:
        why = "".join(f"; {s.path}: {s.reason}" for s in skipped[:3])
        raise UsageError("no log files found in " + " ".join(args.paths) + why)
    running = None if args.paths else running_gfp
    boot_time = None if args.paths else live_boot_time()   # dmesg and /dev/kmsg are this boot's
    from minfree.analysis.log_sizing import StreamSizing

    sizing = StreamSizing()
    if args.json:
        from minfree.render.scan_json import JsonStream

        out = JsonStream(sys.stdout, boot_time)
        report = scan_inputs(inputs, kernel=args.kernel, running=running, out=out, sizing=sizing)
        report.skipped = [(s.path, s.reason) for s in skipped]
        report.boot_time, report.sizing = boot_time, sizing.result()
        out.finish(report)
    else:
        from minfree.render.console import console
        from minfree.render.scan_text import TextDigest, render_digest

        digest = TextDigest(every_event=args.events, boot_time=boot_time)
        report = scan_inputs(inputs, kernel=args.kernel, running=running, out=digest, sizing=sizing)
        report.skipped = [(s.path, s.reason) for s in skipped]
        report.boot_time, report.sizing = boot_time, sizing.result()
        render_digest(report, digest, console())
    return 0
