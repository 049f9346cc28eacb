"""``minfree undo``: revert the last change of ``minfree tune --apply`` (live values and files)."""
from __future__ import annotations

import argparse
import os
import sys

from minfree.actions.journal import DEFAULT_STATE_DIR
from minfree.commands.tune import EXIT_OK, EXIT_REFUSED, NOT_ROOT


def add_parser(subparsers) -> None:
    undo = subparsers.add_parser(
        "undo", help="revert the last change made by minfree tune --apply",
        description="Revert the last applied change (live values and files, from the journal).")
    undo.add_argument("--list", action="store_true", help="show the history with reasons")
    undo.add_argument("--config-root", default=None, metavar="DIR",
                      help="config root of the change (default: the one it was applied to)")
    undo.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), metavar="DIR")
    undo.set_defaults(run=run)



def run(args: argparse.Namespace) -> int:
    from minfree.actions.apply import SysctlWriter
    from minfree.actions.journal import Journal
    from minfree.actions.undo import history, undo_last

    journal = Journal(args.state_dir)
    out = sys.stdout
    if args.list:
        entries = history(journal)
        if not entries:
            out.write("no changes recorded\n")
        for e in entries:
            live = ", ".join(f"vm.{k} {v.before}->{v.after}" for k, v in e.live.items())
            files = ", ".join("/" + f.path for f in e.files)
            out.write(f"{e.id}  {e.created}  {e.status}\n    {live}\n    files: {files}\n    why: {e.reason}\n")
            for message in e.messages:
                out.write(f"    {message}\n")
        return EXIT_OK
    if os.geteuid() != 0:
        out.write(NOT_ROOT.format(what="minfree undo") + "\n")
        return EXIT_REFUSED
    config_root = Path(args.config_root) if args.config_root else None
    result = undo_last(journal, SysctlWriter("/"), config_root)
    for message in result.messages:
        out.write(message + "\n")
    return EXIT_OK if result.ok else EXIT_REFUSED
