"""`minfree scan --follow`: report failures from /dev/kmsg as the kernel logs them.

Records are read by a thread (blocking reads) and parsed here; a report is printed when it is
complete, or when the kernel has been quiet for :data:`QUIET_SECONDS` after it. Every event is
the running kernel's: its mode is decoded with that kernel's own GFP table and config where
they are readable (:func:`minfree.commands.scan.running_gfp`, passed in as ``running``).
"""
from __future__ import annotations

import queue
import threading
from typing import TextIO

from minfree.analysis.explain import explain_event
from minfree.logs.events import Event
from minfree.logs.scanner import LogScanner
from minfree.model.gfp import RunningGfp
from minfree.model.kversion import parse_release
from minfree.render.scan_json import event_line
from minfree.render.scan_text import one_line
from minfree.sources.kmsg import KMSG_PATH, follow_kmsg
from minfree.sources.logfiles import SourceError

QUIET_SECONDS = 1.5


def follow(json_lines: bool, kernel: str | None, out: TextIO, running: RunningGfp,
           path: str = KMSG_PATH, max_events: int | None = None, from_end: bool = True,
           boot_time: float | None = None, started: TextIO | None = None) -> int:
    """Run until interrupted (or ``max_events`` reported); returns the exit status. ``kernel``
    (``--kernel``) overrides the running release the events are decoded for; ``boot_time``
    (``btime``) dates the records' printk stamps; ``started`` (stderr) is told, once the log is
    open, what is followed and how to stop."""
    try:
        records = follow_kmsg(path, from_end=from_end)
    except OSError as error:
        raise SourceError(f"cannot follow {path}: {error.strerror or error}") from None
    if started is not None:
        started.write(f"minfree scan --follow: reporting page allocation failures from {path} as the kernel "
                      "logs them (new records only; `minfree scan` reads the older ones). Ctrl-C to stop.\n")
        started.flush()
    version = parse_release(kernel or running.release)
    reported = 0

    def emit(event: Event) -> None:
        nonlocal reported
        explained = explain_event(event, version, running)
        out.write((event_line(explained, boot_time) if json_lines else one_line(explained, boot_time)) + "\n")
        out.flush()
        reported += 1

    inbox: queue.Queue[bytes] = queue.Queue(maxsize=10000)
    threading.Thread(target=_pump, args=(records, inbox), daemon=True).start()
    scanner = LogScanner(path, emit)
    lineno = 0
    while max_events is None or reported < max_events:
        try:
            record = inbox.get(timeout=QUIET_SECONDS)
        except queue.Empty:
            scanner.pause()
            continue
        # "6,339,5140900,-;text" plus " KEY=value" dictionary lines, which normalize drops
        for raw in record.decode("utf-8", "replace").splitlines():
            lineno += 1
            scanner.feed_line(raw, lineno)
    return 0


def _pump(records, inbox: queue.Queue[bytes]) -> None:
    for record in records:
        inbox.put(record)
