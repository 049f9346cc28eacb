"""Files of tracefs, the kernel's tracing file system, as text.

tracefs is mounted at ``/sys/kernel/tracing`` (4.1+); older systems, and those that mount
only debugfs, reach it as ``/sys/kernel/debug/tracing`` (debugfs mounts tracefs there on
first access). The first of the two that has a file wins. Nothing is mounted here: a
missing or unreadable tracefs (it is root-only) is an answer, None.
"""
from __future__ import annotations

import os

#: Where tracefs is found, relative to the root, first readable wins.
TRACEFS_DIRS = ("sys/kernel/tracing", "sys/kernel/debug/tracing")
#: The tracepoint whose format prints the kernel's GFP flag table.
PAGE_ALLOC_EVENT = "kmem/mm_page_alloc"


def read_event_format(event: str = PAGE_ALLOC_EVENT, root: str = "/") -> str | None:
    """The ``events/<event>/format`` file of the first tracefs mount that has it, or None
    (tracefs not mounted, no permission, no such tracepoint)."""
    for directory in TRACEFS_DIRS:
        path = os.path.join(root, directory, "events", event, "format")
        try:
            with open(path, encoding="utf-8", errors="replace") as text:
                return text.read()
        except OSError:
            continue
    return None
