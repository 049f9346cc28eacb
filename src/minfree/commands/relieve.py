"""``minfree relieve``: compact memory or drop caches now, with free blocks before and after."""
from __future__ import annotations

import argparse
import json
import os
import sys

from minfree.commands.tune import EXIT_OK, EXIT_REFUSED, NOT_ROOT


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
    from minfree.model.fragmentation import format_index
    from minfree.actions.relieve import relieve

    out = sys.stdout
    if os.geteuid() != 0:
        out.write(NOT_ROOT.format(what="minfree relieve") + "\n")
        return EXIT_REFUSED
    try:
        result = relieve(args.action)
    except OSError as exc:
        out.write(f"minfree relieve: {exc}\n")
        return EXIT_REFUSED
    if args.json:
        zone = lambda z: {"node": z.node, "zone": z.zone, "free_blocks": list(z.free_blocks),  # noqa: E731
                          "unusable_index": [format_index(v) for v in z.unusable],
                          "extfrag_index": [format_index(v) for v in z.extfrag]}
        json.dump({"action": result.action, "seconds": round(result.seconds, 6),
                   "sync_seconds": result.sync_seconds,
                   "before": [zone(z) for z in result.before], "after": [zone(z) for z in result.after],
                   "notes": result.notes}, out, indent=1)
        out.write("\n")
        return EXIT_OK
    extra = f" (sync {result.sync_seconds:.3f} s)" if result.sync_seconds is not None else ""
    out.write(f"{result.action}: {result.seconds:.3f} s{extra}\n")
    after = {(z.node, z.zone): z for z in result.after}
    for old in result.before:
        new = after.get((old.node, old.zone))
        if new is None:
            continue
        out.write(f"  node {old.node} {old.zone}: free {old.free_pages} -> {new.free_pages} pages\n")
        out.write("    free blocks per order: " + " ".join(map(str, old.free_blocks)) + "\n"
                  "                       -> " + " ".join(map(str, new.free_blocks)) + "\n")
        top = len(old.unusable) - 1
        for order in sorted({3, top}):
            if order <= top:
                out.write(f"    order {order}: unusable {format_index(old.unusable[order])} -> "
                          f"{format_index(new.unusable[order])}, extfrag {format_index(old.extfrag[order])}"
                          f" -> {format_index(new.extfrag[order])}\n")
    for note in result.notes:
        out.write(f"  note: {note}\n")
    return EXIT_OK
