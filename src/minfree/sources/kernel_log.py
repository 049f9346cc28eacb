"""The kernel log of the boot a root describes: what doctor and tune take as "failures in the log".

Live: the records the ring buffer holds now (``/dev/kmsg``, never blocking): this boot only.
A snapshot or sosreport: the log it captured (``specs.KERNEL_LOG``). One meaning everywhere:
the boot being diagnosed, never older boots a journal may keep.
"""
from __future__ import annotations

import io
import os

from minfree.sources import specs
from minfree.sources.kmsg import KMSG_PATH, read_kmsg_snapshot
from minfree.sources.logfiles import Input
from minfree.sources.root import SystemRoot


def this_boot_log(root: SystemRoot) -> Input | None:
    """The log as a scan input, or None (the reason is recorded in ``root.gaps``)."""
    if root.is_live:
        try:
            data = read_kmsg_snapshot()
        except OSError as error:
            root.gaps.append((KMSG_PATH.lstrip("/"), error.strerror or str(error)))
            return None
        return Input(KMSG_PATH, "kmsg", lambda: io.BytesIO(data))
    for rel in specs.KERNEL_LOG.paths:   # bytes as captured: the scanner decodes them itself
        data = root.read_bytes(rel, optional=True)
        if data is not None:
            return Input(os.path.join(str(root.path), rel), "file", lambda: io.BytesIO(data))
    root.gaps.append((specs.KERNEL_LOG.path, "no kernel log in the capture"))
    return None
