"""``minfree report``: one self-contained HTML file from a host, a snapshot, a history, logs
or a fleet run.

Orchestration only: the input is recognised by its content (:func:`detect`), read through the
same code as doctor (``diagnose``), scan (``scan_inputs``), the history store
(``read_recording``) or a fleet run's JSON; :mod:`minfree.analysis.report` builds the model;
:mod:`minfree.render.report_html` draws it; the file is written atomically (``safefs``).
"""
from __future__ import annotations

import argparse
import json
import os
import time

from minfree.commands.durations import duration
from minfree.errors import UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"
#: A fleet run's JSON is read whole: larger than this is not one.
FLEET_MAX_BYTES = 256 * 2**20

EXAMPLES = """examples:
  minfree report -o report.html                          this host now (doctor, this boot's log, tune)
  minfree report --history -o report.html                 and the history `minfree watch --record` keeps
  minfree report --from /var/lib/minfree/history.db -o day.html --window 1d
  minfree report --from snap.tar.gz -o db1.html          a snapshot (`minfree snapshot`) or a sosreport
  minfree report --from /var/log/kern.log* -o logs.html  logs, as `minfree scan` reads them
  minfree fleet doctor -i hosts --json > run.json && minfree report --from run.json -o fleet.html
"""


def add_parser(subparsers) -> None:
    from minfree.store.schema import DEFAULT_DB

    report = subparsers.add_parser(
        "report", help="write one self-contained HTML report (plots, findings, data)",
        description="Write one HTML file that opens offline: the verdict, per-zone free memory against "
                    "the watermarks over time, free blocks per order, failures explained, tune's proposal, "
                    "or a fleet's table. The input is recognised by its content.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("--from", dest="sources", nargs="+", default=["live"], metavar="SOURCE",
                        help="live (default), a snapshot directory or tarball, a history database, "
                             "log files, or a `minfree fleet ... --json` file")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    report.add_argument("--history", metavar="DB", nargs="?", const=DEFAULT_DB,
                        help=f"with a live report, add the recorded history (default {DEFAULT_DB})")
    report.add_argument("--window", metavar="AGE", type=duration, default=86400.0,
                        help="how much history, ending at its last sample (default 1d; e.g. 6h, 7d)")
    report.add_argument("--profile", default="generic", help="tune's workload profile (default generic)")
    report.set_defaults(run=run)


def detect(sources: list[str]) -> str:
    """``live``, ``history``, ``fleet``, ``snapshot`` or ``logs``, from what the input holds."""
    if sources == ["live"]:
        return "live"
    if len(sources) == 1 and os.path.isfile(sources[0]):
        with open(sources[0], "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        if head == SQLITE_MAGIC:
            return "history"
        if head.lstrip()[:1] == b"{" and _fleet_document(sources[0]) is not None:
            return "fleet"
    if len(sources) == 1 and _is_snapshot(sources[0]):
        return "snapshot"
    return "logs"


def _fleet_document(path: str) -> dict | None:
    if os.path.getsize(path) > FLEET_MAX_BYTES:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "hosts" in doc else None


def _is_snapshot(path: str) -> bool:
    """A directory or tarball ``doctor --root`` reads: it holds a zoneinfo (snapshot, sosreport)."""
    from minfree.sources.root import TAR_SUFFIXES, SystemRoot

    if not (os.path.isdir(path) or (os.path.isfile(path) and path.endswith(TAR_SUFFIXES))):
        return False
    try:
        with SystemRoot(path) as root:
            return root.read_text("proc/zoneinfo", optional=True) is not None
    except (OSError, ValueError):
        return False


def _recording(db: str, window: float):
    from minfree.actions.safefs import check_trusted
    from minfree.store.history import StoreError, read_recording, read_span

    try:
        span = read_span(db, trust=check_trusted)
        if span is None:
            raise UsageError(f"{db}: nothing recorded yet (is `minfree watch --record` running?)")
        return read_recording(db, max(span[0], span[1] - window), span[1], trust=check_trusted)
    except StoreError as error:
        raise UsageError(str(error)) from None


def build(args: argparse.Namespace):
    """The report model of what ``--from`` names."""
    from minfree.analysis import report as model

    kind = detect(args.sources)
    if args.history and kind != "live":
        raise UsageError("--history adds a recording to a live report; give a history with --from instead")
    if kind in ("live", "snapshot"):
        from minfree.commands.doctor import diagnose
        from minfree.commands.roots import open_root

        with open_root("/" if kind == "live" else args.sources[0]) as root:
            doctor = diagnose(root, window=1.0 if kind == "live" else 0.0)
        recording = _recording(args.history, args.window) if args.history else None
        return model.from_doctor(kind, f"this host ({os.uname().nodename})" if kind == "live" else args.sources[0], doctor, recording,
                                 args.profile)
    if kind == "history":
        return model.from_recording(args.sources[0], _recording(args.sources[0], args.window))
    if kind == "fleet":
        try:
            return model.from_fleet(args.sources[0], _fleet_document(args.sources[0]) or {})
        except model.FleetDocumentError as error:
            raise UsageError(f"{args.sources[0]}: {error}") from None
    from minfree.commands.scan import scan_inputs
    from minfree.sources.logfiles import SourceError, expand_paths

    try:
        inputs = expand_paths(args.sources, [])
    except SourceError as error:
        raise UsageError(str(error)) from None
    if not inputs:
        raise UsageError("no log files found in " + " ".join(args.sources))
    scan = scan_inputs(inputs)
    name = args.sources[0] if len(args.sources) == 1 else f"{len(args.sources)} log inputs"
    return model.from_scan(name, scan)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from minfree.actions.safefs import write_file
    from minfree.analysis.sizing import PROFILES
    from minfree.render.report_html import render

    if args.profile not in PROFILES:
        raise UsageError(f"--profile {args.profile!r}: one of {', '.join(sorted(PROFILES))}")
    page = render(build(args), generated=time.time())
    try:
        out = Path(os.path.abspath(args.output))
        write_file(out.parent, out.name, page.encode(), 0o644)   # atomic, never through a link
    except OSError as error:
        raise UsageError(f"-o {args.output}: {error.strerror or error}") from None
    print(args.output)
    return 0
