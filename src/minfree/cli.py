"""Command line: a thin layer over the modules; heavy imports happen inside commands."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

EXIT_OK = 0
EXIT_USAGE = 2

SCAN_EXAMPLES = """examples:
  minfree scan                       the live kernel log (journald, else dmesg / /dev/kmsg)
  minfree scan /var/log/kern.log*    files, rotated and compressed ones too
  minfree scan sosreport-db1/        a sosreport: its kernel logs and journal copies
  journalctl -k -o json | minfree scan -
  minfree scan --json logs/ > failures.json
  minfree scan --follow              report failures as they happen (Ctrl-C to stop)
"""


DOCTOR_EXAMPLES = """examples:
  minfree doctor                     this host: zones, fragmentation, rates over 1 s, findings
  minfree doctor --window 0 --json   one instant, for scripts and monitoring
  minfree doctor --root snap.tar.gz  a snapshot taken with `minfree snapshot` on another host
  minfree doctor --root sosreport-db1/
"""


class UsageError(Exception):
    """A one-line message for the user; exit status 2."""


TUNE_COMMANDS = ("tune", "undo", "relieve")


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; the tune family (heavier imports) only when it may be used."""
    parser = argparse.ArgumentParser(
        prog="minfree", description="Find, explain and prevent Linux page allocation failures.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    scan = commands.add_parser(
        "scan", help="find page allocation failure reports in kernel logs",
        description="Find every page allocation failure report in kernel logs and explain it.",
        epilog=SCAN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("paths", nargs="*", metavar="PATH",
                      help="log files, directories, sosreports, compressed files, or - for stdin")
    scan.add_argument("--json", action="store_true", help="one JSON document (schema in the README)")
    scan.add_argument("--events", action="store_true", help="list every event, not only the summary")
    scan.add_argument("--follow", action="store_true", help="tail /dev/kmsg and report events as they happen")
    scan.add_argument("--kernel", metavar="RELEASE",
                      help="kernel release to decode GFP modes with when the log does not print one")
    scan.set_defaults(run=_run_scan)

    doctor = commands.add_parser(
        "doctor", help="diagnose this host's memory reserves (or a snapshot's)",
        description="Read the kernel (or a captured snapshot) and explain its memory reserves. "
                    "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin style).",
        epilog=DOCTOR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--root", metavar="DIR", default="/",
                        help="a snapshot directory or .tar.gz, or a sosreport (default: the live host)")
    doctor.add_argument("--window", metavar="SECONDS", type=_seconds, default=1.0,
                        help="measure reclaim/compaction rates over this window (default 1; 0: one snapshot)")
    doctor.add_argument("--json", action="store_true", help="one JSON document (schema in the README)")
    doctor.set_defaults(run=_run_doctor)

    snapshot = commands.add_parser(
        "snapshot", help="capture what doctor and scan read, for use elsewhere",
        description="Capture everything doctor and scan read into OUT (a directory, or a .tar.gz "
                    "when OUT ends so); then `minfree doctor --root OUT` and `minfree scan OUT` "
                    "give the same answers on another machine.")
    snapshot.add_argument("out", metavar="OUT")
    snapshot.set_defaults(run=_run_snapshot)
    if command is None or command in TUNE_COMMANDS:
        _add_tune_commands(commands)
    return parser


def _add_tune_commands(commands) -> None:
    try:
        from minfree.commands.tune import add_relieve_parser, add_tune_parser, add_undo_parser
    except ImportError:
        return
    add_tune_parser(commands)
    add_undo_parser(commands)
    add_relieve_parser(commands)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def _run_doctor(args: argparse.Namespace) -> int:
    from minfree.sources.root import SystemRoot

    if args.root != "/" and not os.path.exists(args.root):
        raise UsageError(f"--root {args.root}: no such directory or archive")
    try:
        root = SystemRoot(args.root)
    except OSError as error:
        raise UsageError(f"--root {args.root}: {error.strerror or error}") from None
    from minfree.commands.doctor import diagnose

    with root:
        report = diagnose(root, window=args.window)
        if args.json:
            from minfree.commands.doctor import to_json

            json.dump(to_json(report), sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            from minfree.render.doctor_text import render

            render(report, _console())
    return report.exit_code


def _run_snapshot(args: argparse.Namespace) -> int:
    from minfree.actions.snapshot import capture

    try:
        result = capture(args.out)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write snapshot {args.out}: {getattr(error, 'strerror', None) or error}") from None
    print(f"snapshot written to {result.out}: {result.files} files in {result.seconds:.2f} s"
          + (f"; {len(result.missing)} source(s) absent on this host" if result.missing else ""))
    return EXIT_OK


def _version() -> str:
    from minfree import __version__

    return f"minfree {__version__}"


def _console(stream=None):
    from rich.console import Console

    return Console(file=stream or sys.stdout, no_color="NO_COLOR" in os.environ,
                   highlight=False, soft_wrap=True)


def _run_scan(args: argparse.Namespace) -> int:
    from minfree.sources.logfiles import SourceError, expand_paths, live_inputs

    if args.follow:
        if args.paths:
            raise UsageError("--follow reads the live kernel log; give no PATH with it")
        from minfree.commands.follow import follow

        return follow(json_lines=args.json, kernel=args.kernel, out=sys.stdout)
    if args.kernel:
        from minfree.model.kversion import parse_release

        if parse_release(args.kernel) is None:
            raise UsageError(f"--kernel {args.kernel!r} is not a kernel release (e.g. 5.4.0-42-generic)")
    try:
        inputs = expand_paths(args.paths) if args.paths else live_inputs()
    except SourceError as error:
        raise UsageError(str(error)) from None
    if not inputs:
        raise UsageError("no log files found in " + " ".join(args.paths))
    from minfree.commands.scan import scan_inputs

    report = scan_inputs(inputs, kernel=args.kernel)
    if args.json:
        from minfree.render.scan_json import report_to_json

        # compact, and dumps() rather than dump(): only dumps uses the C encoder (`jq .` pretty-prints)
        sys.stdout.write(json.dumps(report_to_json(report), separators=(",", ":")) + "\n")
    else:
        from minfree.render.scan_text import render

        render(report, _console(), every_event=args.events)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    known = {"scan", "doctor", "snapshot"}
    parser = _parser(command if command in known else None)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"minfree: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (minfree scan | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
