"""Files of tracefs, the kernel's tracing file system, as text.

tracefs is mounted at ``/sys/kernel/tracing`` (4.1+); older systems, and those that mount only
debugfs, reach it as ``/sys/kernel/debug/tracing`` (``specs.TRACEFS_DIRS``; the first that has
the file wins). Nothing is mounted here: a missing or unreadable tracefs (it is root-only) is an
answer, None, and no gap (most hosts run without it).
"""
from __future__ import annotations

from minfree.sources import specs
from minfree.sources.readers import read_text
from minfree.sources.root import SystemRoot


def read_event_format(root: SystemRoot, event: str = specs.PAGE_ALLOC_EVENT) -> str | None:
    """The ``events/<event>/format`` file of the first tracefs mount that has it, or None."""
    return read_text(root, specs.tracefs_event_format(event))
