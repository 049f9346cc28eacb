"""``minfree relieve``: compact memory or drop caches now, with free blocks before and after."""
from __future__ import annotations

import argparse
import os

from minfree.commands.tune import EXIT_OK, EXIT_REFUSED, NOT_ROOT, print_json


def add_parser(subparsers) -> None:
    relieve = subparsers.add_parser(
        "relieve", help="compact memory or drop caches now, with before/after free blocks",
        description="Compact memory (or sync and drop caches) and show free blocks per order "
                    "and fragmentation indices before and after.")
    what = relieve.add_mutually_exclusive_group(required=True)
    what.add_argument("--compact", action="store_const", dest="action", const="compact",
                      help="write 1 to /proc/sys/vm/compact_memory")
    what.add_argument("--drop-caches", action="store_const", dest="action", const="drop_caches",
                      help="sync, then write 3 to /proc/sys/vm/drop_caches (costly: cold cache)")
    relieve.add_argument("--json", action="store_true", help="one JSON document")
    relieve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from minfree.actions.relieve import relieve
    from minfree.render import relieve_text
    from minfree.render.console import console

    if os.geteuid() != 0:
        relieve_text.render_error(NOT_ROOT.format(what="minfree relieve"), console())
        return EXIT_REFUSED
    try:
        result = relieve(args.action)
    except OSError as exc:
        relieve_text.render_error(f"minfree relieve: {exc}", console())
        return EXIT_REFUSED
    if args.json:
        from minfree.render.relieve_json import to_json

        print_json(to_json(result))
    else:
        relieve_text.render(result, console())
    return EXIT_OK
