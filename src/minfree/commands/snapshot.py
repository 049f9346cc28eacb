"""``minfree snapshot OUT``: capture what doctor and scan read, for use on another machine."""
from __future__ import annotations

import argparse
import os

from minfree.errors import UsageError


def add_parser(subparsers) -> None:
    snapshot = subparsers.add_parser(
        "snapshot", help="capture what doctor and scan read, for use elsewhere",
        description="Capture everything doctor and scan read into OUT (a directory, or a .tar.gz "
                    "when OUT ends so); then `minfree doctor --root OUT` and `minfree scan OUT` "
                    "give the same answers on another machine.")
    snapshot.add_argument("out", metavar="OUT")
    snapshot.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from minfree.actions.snapshot import capture

    try:
        result = capture(args.out)
    except FileNotFoundError:
        raise UsageError(f"cannot write snapshot {args.out}: {os.path.dirname(os.path.abspath(args.out))} "
                         "does not exist (minfree creates OUT, never the directories above it)") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write snapshot {args.out}: {getattr(error, 'strerror', None) or error}") from None
    print(f"snapshot written to {result.out}: {result.files} files in {result.seconds:.2f} s"
          + (f"; {len(result.missing)} source(s) absent on this host" if result.missing else ""))
    return 0
