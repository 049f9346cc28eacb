"""``minfree doctor``: read a machine (live or captured), judge it, print the findings.

Reading happens here and in ``minfree.sources``; judging in ``minfree.analysis.doctor``;
output in ``minfree.render.doctor_text`` / ``doctor_json``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from minfree.analysis.doctor import DoctorReport, build_report
from minfree.analysis.failed_allocations import FailedAllocations
from minfree.analysis.rates import activity
from minfree.analysis.thresholds import RECENT_FAILURES_SECONDS
from minfree.commands.roots import open_root
from minfree.commands.scan import this_boot_failures
from minfree.commands.durations import duration
from minfree.errors import UsageError
from minfree.sources.root import SystemRoot
from minfree.sources.sampler import sample_window
from minfree.sources.system import load_system

from minfree.store.schema import DEFAULT_DB

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from datetime import datetime

    from minfree.analysis.trends import Trends


def diagnose(root: SystemRoot, window: float = 1.0, kernel_log: bool = True,
             since: float | None = None, now: float | None = None) -> DoctorReport:
    """Read ``root`` (rates and the in-kernel count of failed allocations over ``window``
    seconds when live) and judge it; of the kernel log's reports only those of the last
    ``since`` seconds (None: the whole boot) before ``now`` (default: now on the live host, the
    newest report of a capture) are judged (``report.log_window`` says the rest)."""
    state = load_system(root)
    counter, failed = _failure_counter(root, window)
    try:
        if counter is not None:
            counter.enable()  # opened before: the window starts with the first sample
            started = time.monotonic()
        samples = sample_window(root, window)
        if counter is not None:
            try:
                count = counter.read()
            except OSError as exc:
                failed = FailedAllocations(None, None, None, None, f"the counter could not be read: {exc}")
            else:
                failed = FailedAllocations(counter.kind, time.monotonic() - started, count.total, count.by_order)
    finally:
        if counter is not None:
            counter.close()
    rates = None
    if samples is not None:
        before, after = samples
        rates = activity(before.vmstat, after.vmstat, before.psi, after.psi)
    failures = this_boot_failures(root, state.release) if kernel_log else None
    log_window = None
    if failures is not None:
        failures, log_window = _recent(root, failures, since, now)
    report = build_report(state, rates, failures, window, failed)
    report.log_window = log_window
    return report


def _recent(root: SystemRoot, failures, since: float | None, now: float | None):
    """This boot's reports cut to the last ``since`` seconds: before now on the live host, before
    the capture's newest report otherwise (a capture is judged as of when it was taken)."""
    from minfree.analysis.event_time import split_recent
    from minfree.model.record import replace
    from minfree.sources.readers import read_boot_time

    boot = read_boot_time(root)
    if now is None and root.is_live:
        now = time.time()
    recent, log_window = split_recent(failures.events, since, now, boot)
    return replace(failures, events=recent), log_window


def _failure_counter(root: SystemRoot, window: float):
    """``(counter, None)`` ready to count the window, or ``(None, why there is no count)``.
    Nothing of the counter is imported without a live window."""
    if not root.is_live:
        return None, FailedAllocations(None, None, None, None, "a snapshot: failures are counted on the live host only")
    if window <= 0:
        return None, FailedAllocations(None, None, None, None, "--window 0: no window to count over")
    from minfree.sources.failcount import FailureCounter

    counter, why = FailureCounter.open()
    return counter, None if counter is not None else FailedAllocations(None, None, None, None, why)


EXAMPLES = """examples:
  minfree doctor                     this host: zones, fragmentation, rates over 1 s, findings
  sudo minfree doctor --window 10    and every page allocation that failed in those 10 s, per order
  minfree doctor --window 0 --json   one instant, for scripts and monitoring
  minfree doctor --root snap.tar.gz  a snapshot taken with `minfree snapshot` on another host
  minfree doctor --root sosreport-db1/
  minfree doctor --since 1d          judge the kernel log's failure reports of the last day (default 1h)
  minfree doctor --history           and the trends `minfree watch --record` recorded in the last hour
  minfree doctor --history /srv/minfree.db --history-window 1d
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
                        help="measure reclaim/compaction rates, and as root count failed page allocations "
                             "in the kernel, over this window (default 1; 0: one snapshot)")
    doctor.add_argument("--since", metavar="AGE|TIME", type=_since, default=None,
                        help="judge the kernel log's failure reports of this last span, or since this "
                             f"time, only (default {RECENT_FAILURES_SECONDS // 3600}h on the live host, the whole boot for a "
                             "capture; e.g. 30m, 1d, 2026-12-03T01:00 (local time unless it has a zone), "
                             "or 'boot')")
    doctor.add_argument("--json", action="store_true", help="one JSON document (schema in the README)")
    doctor.add_argument("--history", metavar="DB", nargs="?", const=DEFAULT_DB,
                        help=f"add the trends in the history `minfree watch --record` keeps (default {DEFAULT_DB})")
    doctor.add_argument("--history-window", metavar="AGE", type=duration, default=3600.0,
                        help="how far back --history looks (default 1h; e.g. 30m, 1d)")
    doctor.set_defaults(run=run, exit_at_once=True)


BOOT = "boot"


def _since(text: str) -> float | str | datetime:
    """A span (``30m``), a time (ISO 8601; local time without a zone) or ``boot``."""
    if text == BOOT:
        return BOOT
    try:
        return duration(text)
    except argparse.ArgumentTypeError:
        pass
    from datetime import datetime   # a time given: only then

    try:
        return datetime.fromisoformat(text).astimezone()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a span or a time: {text!r} (e.g. 30m, 12h, 1d, 2026-12-03T01:00, or boot)") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def history_trends(db: str, window: float) -> Trends:
    """The trends of the last ``window`` seconds recorded in ``db`` (a usage error when the
    file is missing, unsafe or not a history)."""
    from minfree.actions.safefs import check_trusted
    from minfree.analysis.trends import trends
    from minfree.store.history import StoreError, read_history

    now = time.time()
    try:
        return trends(read_history(db, now - window, now, trust=check_trusted))
    except StoreError as error:
        raise UsageError(f"--history: {error}") from None


def run(args: argparse.Namespace) -> int:
    root = open_root(args.root)
    with root:
        history = history_trends(args.history, args.history_window) if args.history else None
        since = args.since if args.since is not None else (float(RECENT_FAILURES_SECONDS) if root.is_live else BOOT)
        now = None
        if not isinstance(since, (float, str)):   # a time: the span up to now, for a capture too
            now = time.time()
            since = max(0.0, now - since.timestamp())
        report = diagnose(root, window=args.window, since=None if since == BOOT else since, now=now)
        if args.json:
            from minfree.render.doctor_json import to_json

            document = to_json(report)
            if history is not None:
                from minfree.render.watch_trends import to_json as history_json

                document["history"] = history_json(history, args.history, args.history_window)
            json.dump(document, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            from minfree.render.console import console
            from minfree.render.doctor_text import render

            out = console()
            render(report, out)
            if history is not None:
                from minfree.render.watch_trends import render as render_history

                render_history(history, args.history, args.history_window, out)
    return report.exit_code
