"""``minfree undo``: revert the last change of ``minfree tune --apply`` (live values and files)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from minfree.actions.journal import DEFAULT_STATE_DIR
from minfree.commands.tune import EXIT_OK, EXIT_REFUSED, NOT_ROOT, print_json


def add_parser(subparsers) -> None:
    undo = subparsers.add_parser(
        "undo", help="revert the last change made by minfree tune --apply",
        description="Revert the last applied change (live values and files, from the journal) "
                    "and say what was changed back.")
    undo.add_argument("--list", action="store_true", help="show the history with reasons")
    undo.add_argument("--json", action="store_true", help="one JSON document")
    undo.add_argument("--config-root", default=None, metavar="DIR",
                      help="config root of the change (default: the one it was applied to)")
    undo.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), metavar="DIR")
    undo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from minfree.actions.journal import Journal
    from minfree.actions.sysctl import SysctlWriter
    from minfree.actions.undo import UndoResult, history, undo_last
    from minfree.render import undo_json, undo_text
    from minfree.render.console import console

    journal = Journal(args.state_dir)
    if args.list:
        entries = history(journal)
        if args.json:
            print_json(undo_json.history_to_json(entries))
        else:
            undo_text.render_history(entries, console())
        return EXIT_OK
    if os.geteuid() != 0:
        result = UndoResult(False, None, [NOT_ROOT.format(what="minfree undo")])
    else:
        config_root = Path(args.config_root) if args.config_root else None
        result = undo_last(journal, SysctlWriter("/"), config_root)
    if args.json:
        print_json(undo_json.to_json(result))
    else:
        undo_text.render(result, console())
    return EXIT_OK if result.ok else EXIT_REFUSED
