"""``minfree undo``: revert the last change of ``minfree tune --apply`` (live values and files)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from minfree.actions.journal import DEFAULT_STATE_DIR
from minfree.commands.tune import EXIT_OK, EXIT_REFUSED, NOT_ROOT, print_json


UNDO_EXAMPLES = """examples:
  sudo minfree undo                    revert the last change (refused if edited since, naming the edits)
  sudo minfree undo --keep-edits       revert the rest, keep what was edited after the change
  sudo minfree undo --discard-edits    revert everything, edits made after the change too
  minfree undo --list --json           the history, with reasons; unusable journal files named
"""


def add_parser(subparsers) -> None:
    undo = subparsers.add_parser(
        "undo", help="revert the last change made by minfree tune --apply",
        description="Revert the last applied change (live values and files, from the journal)\n"
                    "and say what was changed back. A value or file changed again after the change\n"
                    "is not thrown away silently: undo refuses and names it, unless told to keep\n"
                    "or discard such edits.",
        epilog=UNDO_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    undo.add_argument("--list", action="store_true", help="show the history with reasons")
    undo.add_argument("--json", action="store_true", help="one JSON document")
    undo.add_argument("--config-root", default=None, metavar="DIR",
                      help="refuse unless the change was applied to DIR (default: the one it was applied to)")
    edits = undo.add_mutually_exclusive_group()
    edits.add_argument("--keep-edits", action="store_const", dest="edits", const="keep",
                       help="revert the rest, leave values and files changed after the change as they are")
    edits.add_argument("--discard-edits", action="store_const", dest="edits", const="discard",
                       help="revert values and files changed after the change too")
    undo.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), metavar="DIR",
                      help=f"where tune --apply keeps its journal (default {DEFAULT_STATE_DIR}); used only "
                           "when owned by root and writable by no one else")
    undo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from minfree.actions.journal import Journal
    from minfree.actions.sysctl import SysctlWriter
    from minfree.actions.journal import JournalError
    from minfree.actions.undo import REFUSE, UndoResult, history, undo_last
    from minfree.render import undo_json, undo_text
    from minfree.render.console import console

    journal = Journal(args.state_dir)
    if args.list:
        try:
            entries = history(journal)
        except JournalError as exc:
            undo_text.render_error(str(exc), console())
            return EXIT_REFUSED
        if args.json:
            print_json(undo_json.history_to_json(entries))
        else:
            undo_text.render_history(entries, console())
        return EXIT_OK
    if os.geteuid() != 0:
        result = UndoResult(False, None, [NOT_ROOT.format(what="minfree undo")])
    else:
        config_root = Path(args.config_root) if args.config_root else None
        result = undo_last(journal, SysctlWriter("/"), config_root, args.edits or REFUSE)
    if args.json:
        print_json(undo_json.to_json(result))
    else:
        undo_text.render(result, console())
    return EXIT_OK if result.ok else EXIT_REFUSED
